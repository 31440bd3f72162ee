/**
 * The fleet's scheduler: jobs with prerequisites, at most `concurrency` at a
 * time, each started as soon as everything it needs has succeeded. It knows
 * nothing of AMIs: build-all makes one job per template, architecture and
 * region ("have this image in this region"), the build in the home region and
 * a copy in each other, and a child template's job needs its parent's job in
 * the same region.
 *
 * What happens to the rest when something goes wrong:
 * - a job fails: the jobs that need it (directly or not) are skipped, naming it;
 *   every other job carries on (a fleet is worth finishing);
 * - `failFast`: the first failure also cancels the rest: running jobs see their
 *   signal abort (they clean up and end), pending ones never start; a running
 *   job that fails on its own as the cancel comes is still failed
 *   (`failedOnItsOwn`);
 * - the caller's signal aborts (Ctrl-C): the same, reported as interrupted.
 * A job's own cleanup is its business; the scheduler waits for every started
 * job to end before it returns, so nothing is left running behind its back.
 */

export interface Job<T> {
  readonly id: string;
  /** Ids of the jobs that must succeed first. */
  readonly needs: readonly string[];
  /** Runs the job; gets the fleet's signal, aborted on fail-fast (its reason FAIL_FAST_REASON) or interrupt (the caller's reason, e.g. "SIGINT"). */
  run(signal: AbortSignal): Promise<T>;
}

export type JobOutcome<T> =
  | { status: "succeeded"; value: T; seconds: number }
  | { status: "failed"; error: unknown; seconds: number }
  /** A job it needs failed or was skipped; `because` is the failed job at the root. */
  | { status: "skipped"; because: string }
  /** Never started (or stopped) because the fleet was cancelled: fail-fast or an interrupt. */
  | { status: "cancelled"; reason: "fail-fast" | "interrupted"; error?: unknown; seconds?: number };

/**
 * Why the jobs still running are stopped after a failure with `failFast`: the
 * abort reason of their signal, which a build names in what it reports
 * ("interrupted by --fail-fast after a failure"; the error of the failure is
 * the failed job's own outcome). Text, as a signal's name is, so that no job
 * takes the stop for Ctrl-C.
 */
export const FAIL_FAST_REASON = "--fail-fast after a failure";

export interface ScheduleOptions {
  concurrency: number;
  signal?: AbortSignal;
  failFast?: boolean;
  now?: () => number;
  /**
   * Whether an error a job throws once the fleet is being cancelled is a failure of its own (a verdict it
   * reached before the stop, e.g. an image judged failed), which is reported `failed` rather than `cancelled`.
   * By default every error after a cancel is the cancel's.
   */
  failedOnItsOwn?(error: unknown): boolean;
  /** Told when a job starts and ends, for progress. */
  onStart?(id: string): void;
  onEnd?(id: string, outcome: JobOutcome<unknown>): void;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    readonly value: string,
  ) {
    super(message);
    this.name = "ScheduleError";
  }
}

/** Jobs in an order where each comes after what it needs; a missing job or a cycle is an error naming it. */
export function checkJobs(jobs: readonly Pick<Job<unknown>, "id" | "needs">[]): void {
  const byId = new Map<string, Pick<Job<unknown>, "id" | "needs">>();
  for (const job of jobs) {
    if (byId.has(job.id)) throw new ScheduleError(`two jobs are named ${job.id}`, job.id);
    byId.set(job.id, job);
  }
  for (const job of jobs) {
    for (const need of job.needs) if (!byId.has(need)) throw new ScheduleError(`${job.id} needs ${need}, which is not a job`, need);
  }
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting") {
      const cycle = [...path.slice(path.indexOf(id)), id];
      throw new ScheduleError(`jobs need each other in a cycle: ${cycle.join(" -> ")}`, cycle.join(" -> "));
    }
    state.set(id, "visiting");
    for (const need of byId.get(id)!.needs) visit(need, [...path, id]);
    state.set(id, "done");
  };
  for (const job of jobs) visit(job.id, []);
}

export async function runJobs<T>(jobs: readonly Job<T>[], options: ScheduleOptions): Promise<Map<string, JobOutcome<T>>> {
  checkJobs(jobs);
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new ScheduleError(`concurrency must be a whole number of at least 1, got ${options.concurrency}`, String(options.concurrency));
  const now = options.now ?? (() => performance.now());
  const outcomes = new Map<string, JobOutcome<T>>();
  const fleet = new AbortController();
  let cancelled: "fail-fast" | "interrupted" | undefined;
  const cancel = (reason: "fail-fast" | "interrupted", why: unknown) => {
    if (cancelled) return;
    cancelled = reason;
    fleet.abort(why);
  };
  const onAbort = () => cancel("interrupted", options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const end = (id: string, outcome: JobOutcome<T>) => {
    outcomes.set(id, outcome);
    options.onEnd?.(id, outcome);
  };
  const pending = new Map(jobs.map((job) => [job.id, job]));
  const running = new Set<Promise<void>>();

  /** Skip what can no longer run: a job whose prerequisite failed, was skipped or cancelled. */
  const settleBlocked = () => {
    let changed = true;
    while (changed) {
      changed = false;
      for (const job of pending.values()) {
        const blocker = job.needs.map((need) => [need, outcomes.get(need)] as const).find(([, o]) => o !== undefined && o.status !== "succeeded");
        if (!blocker) continue;
        const [need, outcome] = blocker;
        pending.delete(job.id);
        if (outcome!.status === "cancelled") end(job.id, { status: "cancelled", reason: outcome!.reason });
        else end(job.id, { status: "skipped", because: outcome!.status === "skipped" ? outcome!.because : need });
        changed = true;
      }
    }
  };

  const start = (job: Job<T>) => {
    pending.delete(job.id);
    options.onStart?.(job.id);
    const started = now();
    const seconds = () => Math.round((now() - started) / 100) / 10;
    const task = (async () => {
      try {
        const value = await job.run(fleet.signal);
        // A job that finished its work as the fleet was cancelled still succeeded: what it made exists.
        end(job.id, { status: "succeeded", value, seconds: seconds() });
      } catch (error) {
        if (cancelled && options.failedOnItsOwn?.(error) !== true) {
          end(job.id, { status: "cancelled", reason: cancelled, error, seconds: seconds() });
        } else {
          end(job.id, { status: "failed", error, seconds: seconds() });
          if (options.failFast) cancel("fail-fast", FAIL_FAST_REASON);
        }
      }
    })();
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
  };

  try {
    for (;;) {
      settleBlocked();
      if (cancelled) {
        for (const job of pending.values()) end(job.id, { status: "cancelled", reason: cancelled });
        pending.clear();
      }
      // Ready: every need succeeded. Started in the order the jobs were given.
      for (const job of [...pending.values()]) {
        if (running.size >= options.concurrency) break;
        if (job.needs.every((need) => outcomes.get(need)?.status === "succeeded")) start(job);
      }
      if (running.size === 0) {
        // Nothing running and nothing startable: whatever is left waits on something that will never succeed.
        settleBlocked();
        if (pending.size === 0) break;
        // Unreachable after checkJobs (no cycles, no missing jobs); kept so a bug cannot hang the fleet.
        for (const job of pending.values()) end(job.id, { status: "skipped", because: job.needs.join(", ") });
        break;
      }
      await Promise.race(running);
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return outcomes;
}
