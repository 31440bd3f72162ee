import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { CwsError } from "../errors.js";
import { fileError, readRegularFile } from "../file-access.js";
import { ownerState } from "../process-owner.js";
import type { ProcessProbe } from "../process-probe.js";
import { writeFileAtomic } from "../write-file-atomic.js";

/**
 * The registry's lock, `<registry>.lock`: one writer at a time across
 * processes. The lock file says who holds it (process id, host, when it was
 * taken, the command), so that whoever waits can say at once for whom, and a
 * lock whose process is gone can be taken over at once instead of after a
 * timeout:
 *
 * - held by a process on this host that is running: wait (up to `timeoutMs`);
 * - held by a process on this host that is gone (no such process, or one that
 *   started after the lock was taken: its id was reused): take it over;
 * - held by a process on another host: that cannot be judged from here, so
 *   wait, and on timeout say which host and process to check;
 * - naming no process that can be checked (written by an older cws, or with no
 *   ProcessProbe to check with): taken over once older than `staleMs`, since a
 *   registry write takes milliseconds.
 *
 * A takeover is safe against other processes taking over the same stale lock
 * at the same moment: only the process that creates `<lock>.takeover-<id>`
 * (exclusively; `id` is the stale lock's own token) may replace that lock, and
 * it replaces it with a rename, so there is never a moment without a lock.
 * The takeover file is a lock like any other, so one left by a process that
 * died mid-takeover is itself taken over the same way.
 */

export const LOCK_TIMEOUT_MS = 60_000;
export const LOCK_STALE_MS = 120_000;
/** A lock file is a few hundred bytes; anything larger is not one cws wrote. */
const MAX_LOCK_BYTES = 64 * 1024;

export interface RegistryLockOptions {
  /** Who this process is and whether others are alive; without it, only a lock's age can show it is stale. */
  processes?: ProcessProbe;
  /** Told at once when the lock is held by another process (and for whom), and when a dead process's lock is taken over. */
  onWait?: (message: string) => void;
  /** How long to wait for a live holder. Default LOCK_TIMEOUT_MS. */
  timeoutMs?: number;
  /** When a lock naming no process that can be checked counts as abandoned. Default LOCK_STALE_MS. */
  staleMs?: number;
  /** This host's name (tests pretend to be elsewhere). Default os.hostname(). */
  hostname?: string;
}

/** What a lock file says about its holder; every field is optional (an older cws wrote `host token time`). */
interface Holder {
  pid?: number;
  host?: string;
  acquired?: string;
  command?: string;
  token?: string;
}

/** A lock file as found. */
interface Seen {
  holder: Holder;
  /** The start of what the file holds, when that is no lock record cws (of any version) writes: then no holder can be judged. */
  foreign?: string;
  /** The holder's token, or (for a lock without one) the file's identity, which a replacement changes. */
  id: string;
  modified: Date;
}

type Verdict =
  | { stale: true; why: string }
  | { stale: false; state: "running" | "elsewhere" | "unknown" };

function parseHolder(text: string): Holder {
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    if (data && typeof data === "object") {
      const holder: Holder = {};
      if (Number.isSafeInteger(data.pid) && (data.pid as number) > 0) holder.pid = data.pid as number;
      for (const key of ["host", "acquired", "command", "token"] as const) if (typeof data[key] === "string") holder[key] = data[key];
      return holder;
    }
  } catch {
    // Not JSON: an older cws's `host token time`, or something else.
  }
  const [host, token, acquired] = text.trim().split(" ");
  return token && acquired && !Number.isNaN(Date.parse(acquired)) ? { host: host!, token, acquired } : {};
}

const ROLE = { expected: "file", role: "the registry lock" } as const;

function readLock(path: string): Seen | undefined {
  const read = readRegularFile(path, { ...ROLE, maxBytes: MAX_LOCK_BYTES, ifMissing: "undefined", suggestion: `remove it: cws keeps a small file there only while it writes the registry` });
  if (read === undefined) return undefined;
  const text = read.bytes.toString("utf8");
  const holder = read.size <= MAX_LOCK_BYTES ? parseHolder(text) : {};
  // An empty file is a lock being created (or one whose writer stopped before writing): it names no process. Anything
  // else without a host or token is no lock record cws writes.
  const foreign = text.trim() !== "" && holder.host === undefined && holder.token === undefined ? quoteStart(text) : undefined;
  return { holder, ...(foreign === undefined ? {} : { foreign }), id: holder.token ?? `${read.stats.ino}-${read.stats.mtimeMs}-${read.size}`, modified: read.stats.mtime };
}

/** The first line of a text, at most 40 characters, as a JSON string (control characters escaped). */
function quoteStart(text: string): string {
  const line = text.trim().split("\n")[0]!;
  return JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
}

/** How long ago, as a person reads it: `3 s`, `5 min`, `2 h`, `3 days`, `6.9 years`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 120 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  const days = s / 86_400;
  return days < 730 ? `${Math.round(days)} days` : `${(days / 365.25).toFixed(1)} years`;
}

/** Create the lock file only if there is none; false when there is. */
async function createExclusively(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw fileError(path, error, { ...ROLE, action: "write" });
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

function foreignLock(path: string, content: string): CwsError {
  return new CwsError(
    "REGISTRY_LOCK_UNREADABLE",
    `${path}: the registry lock holds no lock record cws writes (it begins ${content}), so cws cannot tell whether a process holds it or which`,
    { value: path, suggestion: `if no cws is running, remove it: rm ${path}` },
  );
}

/**
 * That `<file>.lock` can be taken, checked before a command changes anything
 * it then records: whatever is there must be a lock cws can read and judge.
 * A directory, a file it may not read, or one that holds no lock record cws
 * writes would stop the write after the work was done (exit 2, as taking the
 * lock would). A lock a process holds is fine: the write waits for it.
 */
export function checkRegistryLock(file: string): void {
  const path = `${file}.lock`;
  const seen = readLock(path);
  if (seen?.foreign !== undefined) throw foreignLock(path, seen.foreign);
}

export class RegistryLock {
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly staleMs: number;

  constructor(
    readonly path: string,
    private readonly options: RegistryLockOptions = {},
  ) {
    this.host = options.hostname ?? hostname();
    this.timeoutMs = options.timeoutMs ?? LOCK_TIMEOUT_MS;
    this.staleMs = options.staleMs ?? LOCK_STALE_MS;
  }

  private describe(seen: Seen): string {
    const { holder } = seen;
    const since = holder.acquired && !Number.isNaN(Date.parse(holder.acquired)) ? new Date(holder.acquired) : seen.modified;
    const ago = durationText((Date.now() - since.getTime()) / 1000);
    const who =
      holder.pid === undefined
        ? seen.foreign === undefined
          ? "a process it does not name"
          : `an unknown writer (the file begins ${seen.foreign}, no lock record cws writes)`
        : `pid ${holder.pid}${holder.host !== undefined && holder.host !== this.host ? ` on host ${holder.host}` : ""}${holder.command ? ` (${holder.command})` : ""}`;
    return `${who} since ${iso(since)} (${ago} ago)`;
  }

  private async judge(seen: Seen): Promise<Verdict> {
    const { holder } = seen;
    if (holder.pid !== undefined && holder.host !== undefined) {
      if (holder.host !== this.host) return { stale: false, state: "elsewhere" };
      const probe = this.options.processes;
      const taken = Date.parse(holder.acquired ?? "") || seen.modified.getTime();
      const state = probe === undefined ? "unknown" : ownerState(probe, holder.pid, taken);
      if (state === "gone") return { stale: true, why: "is no longer running" };
      if (state === "reused") return { stale: true, why: "is no longer running (its process id now belongs to a later process)" };
      if (state === "running") return { stale: false, state: "running" };
    }
    // Nothing here to check a process by: the lock's age decides.
    if (Date.now() - seen.modified.getTime() > this.staleMs) return { stale: true, why: `names no process cws can check, and has not changed for over ${Math.round(this.staleMs / 1000)} s` };
    return { stale: false, state: "unknown" };
  }

  private content(token: string): string {
    const probe = this.options.processes;
    const holder: Holder = {
      ...(probe ? { pid: probe.pid } : {}),
      host: this.host,
      acquired: new Date().toISOString(),
      ...(probe?.command ? { command: probe.command } : {}),
      token,
    };
    return `${JSON.stringify(holder)}\n`;
  }

  /**
   * One attempt at `path`: create it, or replace it if its holder is gone (as
   * the holder of its takeover lock only). Returns what holds it otherwise.
   */
  private async attempt(path: string, token: string, depth: number): Promise<{ taken: true; from?: { seen: Seen; why: string } } | { taken: false; seen?: Seen; verdict?: Verdict }> {
    if (await createExclusively(path, this.content(token))) return { taken: true };
    const seen = readLock(path);
    if (seen === undefined) return { taken: false };
    const verdict = await this.judge(seen);
    // Depth: a takeover of a takeover lock happens only when a process died mid-takeover; more is a file system gone wrong.
    if (!verdict.stale || depth >= 4) return { taken: false, seen, verdict };
    const takeover = `${path}.takeover-${seen.id.replace(/[^A-Za-z0-9-]/g, "")}`;
    const claim = await this.attempt(takeover, token, depth + 1);
    if (!claim.taken) return { taken: false, seen, verdict };
    try {
      // Still the lock that was judged stale (another process may have replaced it and finished): only then replace it.
      if (readLock(path)?.id !== seen.id) return { taken: false };
      await writeFileAtomic(path, this.content(token), { fsync: false });
      return { taken: true, from: { seen, why: verdict.why } };
    } finally {
      await this.release(takeover, token);
    }
  }

  /** Take the lock, waiting for a live holder up to the timeout. Returns the token that proves it is ours. */
  async acquire(): Promise<string> {
    await mkdir(dirname(this.path), { recursive: true }).catch((error: unknown) => {
      throw fileError(dirname(this.path), error, { expected: "directory", action: "write", role: "the registry's directory" });
    });
    const token = randomBytes(9).toString("hex");
    const started = Date.now();
    let announced: string | undefined;
    let delay = 10;
    for (;;) {
      const result = await this.attempt(this.path, token, 0);
      if (result.taken) {
        if (result.from) this.options.onWait?.(`${this.path}: took over the registry lock of ${this.describe(result.from.seen)}, which ${result.from.why}`);
        return token;
      }
      const { seen, verdict } = result;
      // Not a lock cws wrote, and changed in the last staleMs (an older one was taken over): there is no holder to wait
      // for or to judge gone, so say so now rather than after the timeout.
      if (seen?.foreign !== undefined) throw foreignLock(this.path, seen.foreign);
      if (seen && verdict) {
        const state = verdict.stale ? "taking-over" : verdict.state;
        // Said once per holder, at once; a lock just being created (empty for an instant) is not worth a line yet.
        const fresh = seen.holder.token === undefined && Date.now() - seen.modified.getTime() < 1_000;
        if (announced !== seen.id && !fresh && !verdict.stale) {
          announced = seen.id;
          this.options.onWait?.(this.waitMessage(seen, verdict.state));
        }
        if (Date.now() - started > this.timeoutMs) throw this.timedOut(seen, state);
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
      delay = Math.min(200, delay * 2);
    }
  }

  private waitMessage(seen: Seen, state: "running" | "elsewhere" | "unknown"): string {
    const limit = `waiting up to ${Math.round(this.timeoutMs / 1000)} s`;
    const held = `${this.path}: the registry lock is held by ${this.describe(seen)}`;
    if (state === "elsewhere") return `${held}; cws cannot tell from here whether that process is still running, so it is ${limit}`;
    if (state === "unknown") return `${held}; ${limit} (a lock that names no process is taken over once it is ${Math.round(this.staleMs / 1000)} s old)`;
    return `${held}; ${limit}`;
  }

  private timedOut(seen: Seen, state: "running" | "elsewhere" | "unknown" | "taking-over"): CwsError {
    const { holder } = seen;
    const remove = `rm ${this.path}`;
    const suggestion = {
      running: `let it finish and run the command again; if that process is stuck, stop it (kill ${holder.pid}): a lock whose process is gone is taken over`,
      elsewhere: `if no cws is running on ${holder.host}, remove the lock: ${remove}`,
      unknown: `if no cws is running, remove the lock: ${remove}`,
      "taking-over": `its process is gone, but taking the lock over did not finish; if no cws is running, remove it: ${remove} ${this.path}.takeover-*`,
    }[state];
    return new CwsError("REGISTRY_LOCKED", `${this.path}: the registry lock is still held after ${Math.round(this.timeoutMs / 1000)} s, by ${this.describe(seen)}`, {
      value: this.path,
      suggestion,
    });
  }

  /** Remove the lock if it is still ours (a lock is only ever replaced when its holder is gone, so ours stays ours). */
  async release(path: string, token: string): Promise<void> {
    let seen: Seen | undefined;
    try {
      seen = readLock(path);
    } catch {
      return;
    }
    if (seen?.holder.token === token) await rm(path, { force: true });
  }
}

/** Hold `<file>.lock` while `fn` runs. */
export async function withRegistryLock<T>(file: string, fn: () => Promise<T>, options: RegistryLockOptions = {}): Promise<T> {
  // Writers in this process (build-all's builds and copies) take turns here first: the lock file is for other processes,
  // and a holder that is this very process would look alive to its own waiters, which would poll for it.
  const key = resolve(file);
  const previous = inProcess.get(key) ?? Promise.resolve();
  let done!: () => void;
  const turn = new Promise<void>((release) => (done = release));
  const queued = previous.then(() => turn);
  inProcess.set(key, queued);
  await previous;
  try {
    const lock = new RegistryLock(`${file}.lock`, options);
    const token = await lock.acquire();
    try {
      return await fn();
    } finally {
      await lock.release(lock.path, token);
    }
  } finally {
    done();
    if (inProcess.get(key) === queued) inProcess.delete(key);
  }
}

/** The last writer in line for each registry file in this process; each waits for the one before. */
const inProcess = new Map<string, Promise<void>>();
