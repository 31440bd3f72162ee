import { close, fchmod, fsync, lstatSync, open, realpathSync, rename, rm, writeFile } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { fileError } from "./file-access.js";

/**
 * The one way cws replaces a file it owns (the registry, a template's
 * `amis:` block, the lint cache): write a temporary file beside it, flush it,
 * rename it over the target. A reader, or a crash, sees the old file or the
 * new one, never half of either; on any failure the temporary file is removed
 * and the target is left as it was.
 *
 * Built on node:fs's callback API rather than node:fs/promises: the lint cache
 * is written through it, and `cws ami lint` loads no fs/promises
 * (docs/decisions.md §17).
 */

const openFile = promisify(open);
const writeAll = promisify(writeFile);
const chmodFile = promisify(fchmod);
const flushFile = promisify(fsync);
const closeFile = promisify(close);
const renameFile = promisify(rename);
const removeFile = promisify(rm);

export interface WriteFileAtomicOptions {
  /** The new file's permission bits, exactly (the umask does not apply). Default: a new file's, 0o666 less the umask. */
  mode?: number;
  /** Flush the data to disk before the rename (default). A cache, which may be lost, can skip it. */
  fsync?: boolean;
  /** Runs when the temporary file is complete, just before the rename; throwing abandons the write. */
  beforeRename?: () => Promise<void> | void;
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  // A symbolic link is written through: the file it names is replaced and the link stays a link.
  const target = linkedFile(file);
  // Hidden, in the target's directory (a rename does not cross file systems), and never an existing file ("wx").
  const temp = join(dirname(target), `.${basename(target)}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}.tmp`);
  let created = false;
  try {
    const fd = await openFile(temp, "wx", options.mode ?? 0o666);
    created = true;
    try {
      await writeAll(fd, data);
      if (options.mode !== undefined) await chmodFile(fd, options.mode);
      if (options.fsync !== false) await flushFile(fd);
    } finally {
      await closeFile(fd);
    }
    await options.beforeRename?.();
    await renameFile(temp, target);
  } catch (error) {
    if (created) await removeFile(temp, { force: true });
    // `registry/amis.json: cannot be written: permission denied`, not an errno and a stack.
    throw fileError(file, error, { expected: "file", action: "write" });
  }
}

/** The file a link names (resolved to the end), or `file` itself when it is not a link or leads nowhere. */
export function linkedFile(file: string): string {
  try {
    return lstatSync(file).isSymbolicLink() ? realpathSync(file) : file;
  } catch {
    return file;
  }
}
