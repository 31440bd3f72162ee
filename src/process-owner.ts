import type { ProcessProbe } from "./process-probe.js";

/**
 * What became of a process that recorded itself somewhere (a registry lock's
 * holder, a build's owner), judged through a ProcessProbe. In a module of its
 * own, apart from process-probe.ts, which every program's entry file holds:
 * only the commands that judge a record load this.
 */

/** The boot time in /proc/stat has whole seconds: a process started more than this after it recorded itself is another one. */
const START_TIME_SLACK_MS = 2_000;

/**
 * What became of a process on this host that recorded itself (a lock's holder,
 * a build's owner) as `pid` at `recordedAt` (ms since the epoch):
 * - `running`: a process with that id exists and did not start after the record;
 * - `gone`: no process has that id;
 * - `reused`: a process has that id but started after the record, so the
 *   system gave the id to another process once the recorder ended;
 * - `unknown`: the probe cannot tell (no permission to ask, an unusual system).
 * Only meaningful on the host the record was made on: elsewhere the id names
 * some unrelated process.
 */
export type OwnerState = "running" | "gone" | "reused" | "unknown";

export function ownerState(probe: ProcessProbe, pid: number, recordedAt: number): OwnerState {
  const exists = probe.exists(pid);
  if (exists === false) return "gone";
  if (exists === undefined) return "unknown";
  const started = probe.startedAt?.(pid);
  return started !== undefined && started > recordedAt + START_TIME_SLACK_MS ? "reused" : "running";
}
