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
 * A run of many targets (build-all, validate --all) stopped by a signal: as
 * abortOnSignal, and a second signal says what each target still has alive,
 * one line each, as `cws ami build` says its own. The run tells `inFlight`
 * what each job makes and when it ends.
 */
export async function abortRunOnSignal(
  io: Pick<CliIO, "onSignal">,
  controller: AbortController,
  { doing, say }: { doing: string; say(line: string): void },
): Promise<{ inFlight: FleetInFlight; unsubscribe: (() => void) | undefined }> {
  const { FleetInFlight } = await import("../fleet/in-flight.js");
  const inFlight = new FleetInFlight();
  const again = () => {
    const alive = inFlight.alive();
    if (alive.length === 0) say("still cleaning up; nothing any target made is alive any more");
    else for (const line of ["still cleaning up; alive:", ...alive.map((what) => `  ${what}`)]) say(line);
  };
  return { inFlight, unsubscribe: abortOnSignal(io, controller, { doing, say, again }) };
}

/**
 * One turn of the event loop, for a command to take before it decides whether a signal stopped it. A
 * signal the kernel delivered while the last call's answer was on its way reaches the handler from the
 * same turn that read the answer, after it when libuv happens to list the socket first: checked at
 * once, the signal was not seen yet, and once the handler was unsubscribed it was dropped, so reap
 * exited 0 as if nothing had come (issue 11's fresh-user test).
 */
export function signalsDelivered(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
