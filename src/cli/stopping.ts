import type { StopSignal } from "../errors.js";

/**
 * The first notice of a long command stopped by a signal (build, build-all):
 * the signal, what it is doing about it, and how to list what is still alive
 * while it cleans up, in the words of the signal that came. Ctrl-C is a key
 * to press again; SIGTERM comes from a program (`kill`, a cancelled CI job)
 * and is sent again; after SIGHUP the terminal is gone, and the notice is
 * for a log that outlives it.
 */
export function stoppingNotice(signal: StopSignal, doing: string): string {
  switch (signal) {
    case "SIGINT":
      return `${signal}: ${doing} (press Ctrl-C again to list what is still alive)`;
    case "SIGTERM":
      return `${signal}: ${doing} (send SIGTERM again to list what is still alive)`;
    case "SIGHUP":
      return `${signal}: the terminal closed; ${doing} all the same`;
  }
}
