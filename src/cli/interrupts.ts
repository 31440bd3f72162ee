import type { CliIO } from "./io.js";

/**
 * Ctrl-C (SIGINT) or SIGTERM during a long command: the first aborts the
 * controller, so every step stops and cleans up, and `first` says so; each
 * later one calls `again` (say what is still being cleaned up) rather than
 * abandon the cleanup. Returns the unsubscribe function.
 */
export function abortOnSignal(io: Pick<CliIO, "onSignal">, controller: AbortController, say: { first(signal: "SIGINT" | "SIGTERM"): void; again(): void }): (() => void) | undefined {
  let interrupts = 0;
  return io.onSignal?.((signal) => {
    interrupts++;
    if (interrupts === 1) {
      say.first(signal);
      controller.abort(signal);
    } else say.again();
  });
}
