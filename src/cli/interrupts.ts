import type { StopSignal } from "../errors.js";
import type { FleetInFlight } from "../fleet/in-flight.js";
import type { CliIO } from "./io.js";
import { stoppingNotice } from "./stopping.js";

/**
 * A stop signal (SIGINT, SIGTERM, SIGHUP) during a long command (build,
 * build-all, validate): the first aborts the controller with the signal as
 * its reason, so every step stops and cleans up and the command exits
 * 128 + its number (exitCodeOfSignal), and `say` tells it in the signal's
 * words (stoppingNotice) with what the command is `doing` about it; each
 * later one calls `again` (list what is still alive) rather than abandon the
 * cleanup. Returns the unsubscribe function.
 */
export function abortOnSignal(
  io: Pick<CliIO, "onSignal">,
  controller: AbortController,
  { doing, say, again }: { doing: string; say(line: string): void; again(): void },
): (() => void) | undefined {
  let interrupts = 0;
  return io.onSignal?.((signal: StopSignal) => {
    interrupts++;
    if (interrupts === 1) {
      say(stoppingNotice(signal, doing));
      controller.abort(signal);
    } else again();
  });
}

/**
 * A second signal in a run of many (build-all, validate --all): what each
 * target still has alive, one line each, as `cws ami build` says its own.
 */
export function sayAlive(inFlight: Pick<FleetInFlight, "alive">, say: (line: string) => void): void {
  const alive = inFlight.alive();
  if (alive.length === 0) say("still cleaning up; nothing any target made is alive any more");
  else for (const line of ["still cleaning up; alive:", ...alive.map((what) => `  ${what}`)]) say(line);
}
