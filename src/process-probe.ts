import { readFileSync } from "node:fs";

/**
 * What cws needs to know about processes: this one's id, what it is doing,
 * and whether another one is still there. Made from the real `process` by
 * src/cli/process.ts (the one module that touches it) and handed down through
 * CliIO; a library caller makes one with `processProbe(process)`. Two things
 * record a process and judge it later with `ownerState` (process-owner.ts):
 * the registry lock (src/registry/lock.ts) and a running build
 * (src/builder/build-owner.ts, which `cws ami reap` reads). Imports only
 * node:fs, which every start of the CLI has loaded already; it is part of
 * every program's entry file, so nothing here may be imported by lazily
 * loaded code (esbuild would move it into a chunk of its own, one more file
 * for `cws --help` to open).
 */
export interface ProcessProbe {
  /** This process's id, written into the lock it takes and the build it runs. */
  readonly pid: number;
  /** What this process is doing ("cws ami build r-research"), shown to whoever waits for its lock. */
  readonly command?: string;
  /** Whether a process with this id exists on this host: false when none does; undefined when that cannot be told. */
  exists(pid: number): boolean | undefined;
  /**
   * When the process with this id started (ms since the epoch), to tell a
   * process id the system has given to a later process; undefined when that
   * cannot be read (no /proc). Without it a live id counts as the same process.
   */
  startedAt?(pid: number): number | undefined;
}

export function processProbe(proc: { readonly pid: number; kill(pid: number, signal: number): unknown }, command?: string): ProcessProbe {
  return {
    pid: proc.pid,
    ...(command === undefined ? {} : { command }),
    exists(pid) {
      try {
        // Signal 0 delivers nothing: it only asks whether the process is there.
        proc.kill(pid, 0);
        return true;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // EPERM: it exists, but belongs to another user.
        return code === "ESRCH" ? false : code === "EPERM" ? true : undefined;
      }
    },
    startedAt: processStartTime,
  };
}

/** When a process started, from /proc on Linux (ms since the epoch); undefined elsewhere or when it cannot be read. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, starttime, in clock ticks (USER_HZ, 100 on Linux) after boot; fields after the command name, which may hold spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
