import { decodeUtf8, formatBytes } from "../file-access.js";

/** Templates are small; anything larger is a mistake (a log or a binary saved under the wrong name). */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

/** The text, or the problem with it and, in a few words, why it is not read (`larger than 1 MiB, not read`). */
export type DecodedText = { text: string } | { problem: string; line: number; column: number; suggestion?: string; unread: string };

/**
 * Turn a file's bytes into text, or say why it is not a template: too large,
 * binary (a NUL byte) or not UTF-8. `size` is the file's real size when only
 * its first bytes were read.
 */
export function decodeText(
  input: string | Uint8Array,
  /** The file's real size, when only its first bytes were read. */
  size: number | undefined,
): DecodedText {
  if (typeof input === "string") {
    const nul = input.indexOf("\0");
    if (nul >= 0) return { problem: `not a text file: it contains a NUL character at offset ${nul}`, line: 1, column: 1, unread: "not a text file" };
    return lineEndingsChecked(input.replace(/^\uFEFF/, ""));
  }
  const total = size ?? input.byteLength;
  if (total > MAX_TEMPLATE_BYTES) {
    return {
      problem: `the file is ${formatBytes(total)}; a template may be at most ${formatBytes(MAX_TEMPLATE_BYTES)}`,
      line: 1,
      column: 1,
      unread: `larger than ${MAX_TEMPLATE_BYTES / (1024 * 1024)} MiB, not read`,
      // build_steps would not make the file smaller: what is large has to live outside it.
      suggestion: "keep large content out of the template: have the script download it at build time (and check its sha256sum), or install it from a package",
    };
  }
  const nul = input.indexOf(0);
  if (nul >= 0) {
    return { problem: `not a text file: it contains a NUL byte at offset ${nul}`, line: 1, column: 1, suggestion: "templates are UTF-8 YAML", unread: "not a text file" };
  }
  const decoded = decodeUtf8(input);
  if ("text" in decoded) return lineEndingsChecked(decoded.text.replace(/^\uFEFF/, ""));
  return { problem: decoded.problem, line: decoded.line, column: decoded.column, suggestion: "save the template as UTF-8", unread: "not UTF-8 text" };
}

/**
 * LF or CRLF line endings. A carriage return on its own (old Mac OS line
 * endings, or a stray byte) is a line break to one YAML parser and part of a
 * value to the other, so it is refused rather than guessed at.
 */
function lineEndingsChecked(text: string): DecodedText {
  const lone = /\r(?!\n)/.exec(text);
  if (!lone) return { text };
  const lines = text.slice(0, lone.index).split("\n");
  return {
    problem: "a carriage return (\\r) without a line feed: templates use LF or CRLF line endings",
    line: lines.length,
    column: (lines.at(-1)?.length ?? 0) + 1,
    suggestion: "save the file with LF (or CRLF) line endings",
    unread: "a carriage return without a line feed",
  };
}
