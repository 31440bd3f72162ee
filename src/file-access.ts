import { accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, writeSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { CwsError, EXIT, type ExitCode } from "./errors.js";

/**
 * The one way cws reads a file or a directory it was pointed at (templates,
 * the templates directory, the registry and its lock, files to merge, the
 * lint cache, cws.config.json), and the one way a file system error becomes a
 * message: `path: what is wrong`, with what to do; exit 2 when the path is at
 * fault, exit 1 when the machine is (a full disk, an I/O error). Never a
 * stack trace, and never a wait: a file is opened without blocking and
 * checked to be a regular file before a byte is read, so a named pipe, a
 * device such as /dev/zero or a socket is refused instead of read forever.
 */

/** A file system problem with one path, as a message a user can act on. */
export class FileAccessError extends CwsError {
  /** The path as the user gave it. */
  readonly path: string;
  /** What is wrong with it, without the path: "is a directory, not a regular file". */
  readonly problem: string;

  constructor(code: string, path: string, problem: string, options: { suggestion?: string | undefined; exitCode?: ExitCode; cause?: unknown } = {}) {
    const { suggestion, ...rest } = options;
    super(code, `${path}: ${problem}`, { value: path, ...rest, ...(suggestion === undefined ? {} : { suggestion }) });
    this.name = "FileAccessError";
    this.path = path;
    this.problem = problem;
  }
}

export function isFileAccessError(error: unknown): error is FileAccessError {
  return error instanceof FileAccessError;
}

/** What a path should be, and what it is to the user ("the registry"), for the message. */
export interface PathRole {
  expected: "file" | "directory";
  /** Names the path's job at the start of the problem: `registry.json: the registry is a directory, …`. */
  role?: string;
  /** What to do, when the path's job says better than the error (e.g. which flag to pass). */
  suggestion?: string;
  /** How messages name the path, when not as given (an absolute path shown relative to the project). */
  shownAs?: string;
}

/** `a named pipe (FIFO)`, `a directory`: what a file system entry is, in words. */
export function describeKind(stats: Stats): string {
  if (stats.isFile()) return "a regular file";
  if (stats.isDirectory()) return "a directory";
  if (stats.isSymbolicLink()) return "a symbolic link";
  if (stats.isFIFO()) return "a named pipe (FIFO)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "neither a file nor a directory";
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** The target of the link at `path`, quoted; undefined when `path` is not a link. */
function linkTarget(path: string): string | undefined {
  if (!lstatOrUndefined(path)?.isSymbolicLink()) return undefined;
  try {
    return JSON.stringify(readlinkSync(path));
  } catch {
    return "a target it cannot show";
  }
}

function failure(path: string, role: PathRole, code: string, problem: string, suggestion: string | undefined, exitCode: ExitCode = EXIT.usage, cause?: unknown): FileAccessError {
  return new FileAccessError(code, role.shownAs ?? path, role.role ? `${role.role} ${problem}` : problem, {
    suggestion: role.suggestion ?? suggestion,
    exitCode,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * What to do about a path that is not a regular file. A device, or anything
 * under /dev, belongs to the system: the advice is to name another file,
 * never to remove it (`--registry /dev/null` must not end in "remove it"). A
 * link to a device is the user's own: removing the link is fine.
 */
function notAFileAdvice(path: string, stats: Stats | undefined): string {
  const device = stats !== undefined && (stats.isCharacterDevice() || stats.isBlockDevice()) && !lstatOrUndefined(path)?.isSymbolicLink();
  return device || path === "/dev" || path.startsWith("/dev/") ? "name a regular file instead" : "remove it or replace it with a regular file";
}

/** The entry is there but is the wrong kind of thing: `is a named pipe (FIFO), not a regular file`. */
export function wrongKind(path: string, stats: Stats, role: PathRole): FileAccessError {
  const file = role.expected === "file";
  const why = file && stats.isFIFO() ? " (reading it would wait for a writer)" : "";
  const target = linkTarget(path);
  const is = target === undefined ? `is ${describeKind(stats)}` : `is a symbolic link to ${target}, which is ${describeKind(stats)}`;
  return failure(
    path,
    role,
    file ? "NOT_A_FILE" : "NOT_A_DIRECTORY",
    `${is}, not ${file ? "a regular file" : "a directory"}${why}`,
    file ? notAFileAdvice(path, stats) : "give the path of a directory",
  );
}

/** For ENOTDIR: the nearest ancestor of `path` that exists and is not a directory. */
function blockingAncestor(path: string): { path: string; stats: Stats } | undefined {
  for (let previous = path, dir = dirname(path); dir !== previous; previous = dir, dir = dirname(dir)) {
    let stats: Stats | undefined;
    try {
      stats = statSync(dir, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (stats && !stats.isDirectory()) return { path: dir, stats };
  }
  return undefined;
}

/**
 * A Node file system error about `path` → a FileAccessError naming the path
 * and what is wrong. Anything that is not a file system error is returned as
 * it was (a bug stays a bug).
 */
export function fileError(path: string, error: unknown, role: PathRole & { action?: "read" | "write" }): unknown {
  if (error instanceof CwsError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) return error;
  const verb = role.action === "write" ? "cannot be written" : "cannot be read";
  const make = (errorCode: string, problem: string, suggestion: string | undefined, exitCode: ExitCode = EXIT.usage) =>
    failure(path, role, errorCode, problem, suggestion, exitCode, error);
  switch (code) {
    case "ENOENT": {
      const stats = lstatOrUndefined(path);
      if (stats?.isSymbolicLink()) return make("DANGLING_LINK", `is a symbolic link to ${linkTarget(path)}, which does not exist`, "fix the link or remove it");
      if (stats === undefined && role.action === "write" && lstatOrUndefined(dirname(path)) === undefined) {
        return make("NOT_FOUND", `${verb}: its directory ${dirname(path)} does not exist`, `create ${dirname(path)} first`);
      }
      return make("NOT_FOUND", "does not exist", "check the path");
    }
    case "ELOOP":
      return make("LINK_LOOP", "is a symbolic link that never reaches a file (it leads in a circle, or through too many links)", "fix the link or remove it");
    case "EISDIR":
    case "EEXIST": // mkdir over something that is not a directory
    case "ENXIO":
    case "ENODEV":
    case "EOPNOTSUPP": {
      // A directory, a socket, a device with nothing behind it: say what it is.
      const stats = lstatOrUndefined(path);
      if (stats && !stats.isSymbolicLink()) return wrongKind(path, stats, role);
      try {
        return wrongKind(path, statSync(path), role);
      } catch {
        return make("NOT_A_FILE", `${verb} (${code}): it is not a regular file`, notAFileAdvice(path, undefined));
      }
    }
    case "ENOTDIR": {
      const stats = lstatOrUndefined(path);
      if (stats && !stats.isSymbolicLink() && role.expected === "directory") return wrongKind(path, stats, role);
      const blocking = blockingAncestor(path);
      if (blocking) {
        // Named as the path is: `.cws/cache/lint.json` is inside `.cws`, not inside `/home/…/.cws`.
        const shown = role.shownAs !== undefined && path.endsWith(role.shownAs) ? path.slice(0, path.length - role.shownAs.length) : "";
        const where = shown !== "" && blocking.path.startsWith(shown) ? blocking.path.slice(shown.length) : blocking.path;
        return make("NOT_A_DIRECTORY", `is inside ${where}, which is ${describeKind(blocking.stats)}, not a directory`, `${where} must be a directory`);
      }
      return make("NOT_A_DIRECTORY", "is not a directory, or a part of its path is not", "check the path");
    }
    case "EACCES":
    case "EPERM":
      return role.action === "write"
        ? make("PERMISSION_DENIED", `${verb}: permission denied`, `check the permissions of ${path} and of ${dirname(path)} (ls -ld)`)
        : make("PERMISSION_DENIED", `${verb}: permission denied`, `check its permissions (ls -ld ${path}), or run cws as a user who may read it`);
    case "ENAMETOOLONG":
      return make("NAME_TOO_LONG", "is too long a path for the file system", "use a shorter path");
    case "EROFS":
      return make("READ_ONLY", `${verb}: the file system is read-only`, "point cws at a writable location");
    case "ENOSPC":
    case "EDQUOT":
      return make("NO_SPACE", `${verb}: ${code === "ENOSPC" ? "no space left on the device" : "disk quota exceeded"}`, "free some space and run the command again", EXIT.failed);
    case "EMFILE":
    case "ENFILE":
      return make("TOO_MANY_OPEN_FILES", `${verb}: too many open files`, "raise the limit (ulimit -n) or close other programs, and run the command again", EXIT.failed);
    case "EIO":
      return make("IO_ERROR", `${verb}: input/output error`, "check the disk or the network file system", EXIT.failed);
    default:
      return make("FILE_ERROR", `${verb} (${code})`, "check the path and the file system, and run the command again", EXIT.failed);
  }
}

export interface RegularFile {
  /** At most `maxBytes + 1` bytes: one more than allowed shows a file is too large without loading it. */
  bytes: Buffer;
  /** The file's real size. */
  size: number;
  stats: Stats;
}

// Without blocking: a named pipe opens at once (and is then refused) instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Read a regular file, or throw a FileAccessError saying why it is not one:
 * missing, a dangling or looping link, a directory, a pipe, a device, a
 * socket, unreadable. The file is checked through the descriptor it is read
 * from, so nothing can be swapped in between the check and the read. With
 * `ifMissing: "undefined"`, a path with nothing at all there (not even a
 * dangling link) is undefined rather than an error.
 */
export function readRegularFile(path: string, options: PathRole & { maxBytes: number }): RegularFile;
export function readRegularFile(path: string, options: PathRole & { maxBytes: number; ifMissing: "undefined" }): RegularFile | undefined;
export function readRegularFile(path: string, options: PathRole & { maxBytes: number; ifMissing?: "undefined" }): RegularFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && options.ifMissing === "undefined" && lstatOrUndefined(path) === undefined) return undefined;
    throw fileError(path, error, options);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw wrongKind(path, stats, options);
    const length = Math.min(stats.size, options.maxBytes + 1);
    const bytes = Buffer.alloc(length);
    let offset = 0;
    while (offset < length) {
      const read = readSync(fd, bytes, offset, length - offset, offset);
      if (read === 0) break;
      offset += read;
    }
    return { bytes: offset === length ? bytes : bytes.subarray(0, offset), size: stats.size, stats };
  } catch (error) {
    throw fileError(path, error, options);
  } finally {
    closeSync(fd);
  }
}

// Without blocking, for the same reason: a named pipe with no reader fails to open (ENXIO) instead of waiting for one.
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0);

/**
 * Append text to a regular file, creating it if there is nothing there (a
 * job summary, a log); a FileAccessError for anything else: a directory, a
 * pipe, a device (unless `deviceDiscards`: then a character device gets
 * nothing, quietly), a path that cannot be written.
 */
export function appendToRegularFile(path: string, text: string, role: Omit<PathRole, "expected"> & { deviceDiscards?: boolean }): void {
  const { deviceDiscards, ...rest } = role;
  const options = { ...rest, expected: "file" as const, action: "write" as const };
  let fd: number;
  try {
    fd = openSync(path, APPEND_FLAGS, 0o644);
  } catch (error) {
    throw fileError(path, error, options);
  }
  try {
    const stats = fstatSync(fd);
    // `deviceDiscards`: a character device (/dev/null) is how one says "none of this, thanks"; nothing is written to it.
    if (deviceDiscards === true && stats.isCharacterDevice()) return;
    if (!stats.isFile()) throw wrongKind(path, stats, options);
    const bytes = Buffer.from(text, "utf8");
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
  } catch (error) {
    throw fileError(path, error, options);
  } finally {
    closeSync(fd);
  }
}

/** The names in a directory, or a FileAccessError saying why `path` is not a readable directory. */
export function readDirectoryNames(path: string, role: Omit<PathRole, "expected"> = {}): string[] {
  try {
    return readdirSync(path);
  } catch (error) {
    throw fileError(path, error, { ...role, expected: "directory" });
  }
}

/**
 * That cws may create and rename files in the directory that holds (or will
 * hold) `path`: the nearest directory of it that exists, since cws creates
 * the missing ones. A FileAccessError saying why not (permission denied, a
 * read-only file system). For a check before work that cannot be undone
 * (a build makes an AMI, then records it), so that the record cannot fail
 * for want of a permission.
 */
export function checkWritableDirectory(path: string, role: Omit<PathRole, "expected">): void {
  let dir = dirname(path);
  while (lstatOrUndefined(dir) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw fileError(dir, error, { ...role, expected: "directory", action: "write" });
  }
}

/**
 * A size exactly, as a limit is checked, with its unit for a person to read:
 * `512 bytes`, `1,048,576 bytes (1 MiB)`, `1,070,751 bytes (about 1.02 MiB)`.
 * Exact, because a file just over a limit and the limit round to the same
 * `1.0 MiB`.
 */
export function formatBytes(bytes: number): string {
  const exact = `${String(bytes).replace(/\B(?=(\d{3})+$)/g, ",")} byte${bytes === 1 ? "" : "s"}`;
  const units: [number, string][] = [
    [1024 ** 3, "GiB"],
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ];
  const unit = units.find(([size]) => bytes >= size);
  if (!unit) return exact;
  const [size, name] = unit;
  return bytes % size === 0 ? `${exact} (${bytes / size} ${name})` : `${exact} (about ${(bytes / size).toFixed(2)} ${name})`;
}

/**
 * Bytes as UTF-8 text, or where they stop being UTF-8: the first bad byte, its
 * offset, and its line and column (a column counts characters, as editors
 * do), for `file:line:col not valid UTF-8 text (bad byte 0xe9 at offset 57)`.
 * Every file cws reads as text goes through this, never through a decoder
 * that silently puts U+FFFD in place of what it cannot read.
 */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { problem: string; offset: number; line: number; column: number } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const lines = new TextDecoder("utf-8").decode(bytes.subarray(0, offset)).replace(/^\uFEFF/, "").split("\n");
    return {
      problem: `not valid UTF-8 text (bad byte 0x${bytes[offset]?.toString(16).padStart(2, "0")} at offset ${offset})`,
      offset,
      line: lines.length,
      column: (lines.at(-1)?.length ?? 0) + 1,
    };
  }
}

/**
 * The offset of the first byte of the first ill-formed sequence (the
 * well-formed byte sequences of the Unicode Standard, table 3-7): the byte an
 * author should look at, such as the Latin-1 `é` (0xe9) before a newline,
 * rather than the newline where a decoder gives up.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const continuation = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (continuation === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= continuation; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += continuation + 1;
  }
  return bytes.length;
}
