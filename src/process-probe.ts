/**
 * What the registry lock needs to know about processes: this one's id, what
 * it is doing, and whether another is still there. Made from the real
 * `process` by src/cli/process.ts (the one module that touches it) and handed
 * down through CliIO; a library caller makes one with `processProbe(process)`.
 * Imports nothing, so it costs the CLI's start-up nothing.
 */
export interface ProcessProbe {
  /** This process's id, written into the lock it takes. */
  readonly pid: number;
  /** What this process is doing ("cws ami build r-research"), shown to whoever waits for its lock. */
  readonly command?: string;
  /** Whether a process with this id exists on this host: false when none does; undefined when that cannot be told. */
  exists(pid: number): boolean | undefined;
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
  };
}
