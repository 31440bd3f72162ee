import { CwsError } from "../errors.js";
import { decodeUtf8, FileAccessError, formatBytes, readRegularFile } from "../file-access.js";

/**
 * Reading a registry file: through the one reader of regular files, so a
 * directory, a pipe, a device or a dangling link where the registry should be
 * is one line naming it (exit 2), never a hang or a stack trace. No zod here:
 * `cws ami list` reads the registry through this on its fast path.
 */

/** Tens of thousands of AMIs; a larger file is not a registry cws wrote. */
export const REGISTRY_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The text of the registry file; undefined when there is nothing at all at
 * `file` (a new registry), or with `required`, an error. `role` names the file
 * in messages: "the registry", "the file to merge".
 */
export function readRegistryText(file: string, options?: { role?: string; suggestion?: string }): string | undefined;
export function readRegistryText(file: string, options: { role: string; required: true; suggestion?: string }): string;
export function readRegistryText(file: string, options: { role?: string; required?: boolean; suggestion?: string } = {}): string | undefined {
  const role = options.role ?? "the registry";
  const read = readRegularFile(file, {
    expected: "file",
    role,
    maxBytes: REGISTRY_MAX_BYTES,
    ...(options.required ? {} : { ifMissing: "undefined" as const }),
    ...(options.suggestion === undefined ? {} : { suggestion: options.suggestion }),
  });
  if (read === undefined) return undefined;
  if (read.size > REGISTRY_MAX_BYTES) {
    throw new FileAccessError("FILE_TOO_LARGE", file, `${role} is ${formatBytes(read.size)}; a registry may be at most ${formatBytes(REGISTRY_MAX_BYTES)}`, {
      suggestion: "check that the path names the registry JSON file",
    });
  }
  // Refused, as a template is: a decoder's U+FFFD in place of a byte would be written back by the next command.
  const decoded = decodeUtf8(read.bytes);
  if ("text" in decoded) return decoded.text;
  throw new CwsError("REGISTRY_INVALID", `${file}:${decoded.line}:${decoded.column} ${role} is ${decoded.problem}`, {
    value: file,
    suggestion: "save it as UTF-8 (git diff shows what changed); cws never overwrites an invalid registry",
  });
}
