import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../src/builder/runner.js";
import { checkJobs, FAIL_FAST_REASON, runJobs, ScheduleError, type Job } from "../../src/fleet/schedule.js";

/** A job that records when it ran, waits `ms` (or until aborted), and fails when told to. */
function recorder() {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const job = (id: string, needs: string[] = [], { ms = 5, fail = false } = {}): Job<string> => ({
    id,
    needs,
    async run(signal) {
      running++;
      peak = Math.max(peak, running);
      log.push(`start ${id}`);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            log.push(`abort ${id}`);
            reject(new Error(`${id} aborted`));
          });
        });
        if (fail) throw new Error(`${id} broke`);
        return `${id} done`;
      } finally {
        running--;
        log.push(`end ${id}`);
      }
    },
  });
  return { log, job, peak: () => peak, running: () => running };
}

describe("runJobs", () => {
  it("starts each job only after everything it needs has succeeded, and returns every value", async () => {
    const r = recorder();
    const outcomes = await runJobs([r.job("child", ["parent"]), r.job("parent"), r.job("copy", ["child"])], { concurrency: 4 });
    expect(r.log.indexOf("start child")).toBeGreaterThan(r.log.indexOf("end parent"));
    expect(r.log.indexOf("start copy")).toBeGreaterThan(r.log.indexOf("end child"));
    expect(outcomes.get("copy")).toMatchObject({ status: "succeeded", value: "copy done" });
    expect([...outcomes.keys()].sort()).toEqual(["child", "copy", "parent"]);
  });

  it.each([1, 2, 3])("never runs more than %i at once, and runs that many when it can", async (concurrency) => {
    const r = recorder();
    const jobs = Array.from({ length: 7 }, (_, i) => r.job(`j${i}`, [], { ms: 10 }));
    await runJobs(jobs, { concurrency });
    expect(r.peak()).toBe(concurrency);
  });

  it("skips what depends on a failure, transitively, naming the root failure, and finishes the rest", async () => {
    const r = recorder();
    const outcomes = await runJobs(
      [r.job("parent", [], { fail: true }), r.job("child", ["parent"]), r.job("grandchild", ["child"]), r.job("other", [], { ms: 20 })],
      { concurrency: 2 },
    );
    expect(outcomes.get("parent")).toMatchObject({ status: "failed" });
    expect(outcomes.get("child")).toEqual({ status: "skipped", because: "parent" });
    expect(outcomes.get("grandchild")).toEqual({ status: "skipped", because: "parent" });
    expect(outcomes.get("other")).toMatchObject({ status: "succeeded" });
    expect(r.log).not.toContain("start child");
  });

  it("with failFast, aborts what runs, starts nothing more, and waits for the running jobs to end", async () => {
    const r = recorder();
    const outcomes = await runJobs([r.job("slow", [], { ms: 5_000 }), r.job("broken", [], { ms: 5, fail: true }), r.job("later", [], { ms: 5 })], {
      concurrency: 2,
      failFast: true,
    });
    expect(outcomes.get("broken")).toMatchObject({ status: "failed" });
    expect(outcomes.get("slow")).toMatchObject({ status: "cancelled", reason: "fail-fast" });
    expect(outcomes.get("later")).toEqual({ status: "cancelled", reason: "fail-fast" });
    expect(r.log).toContain("abort slow");
    expect(r.log).not.toContain("start later");
    expect(r.running()).toBe(0);
  });

  it("with failFast, a running job whose own failure ends it as the cancel comes is failed, when failedOnItsOwn says so", async () => {
    class Verdict extends Error {}
    // Runs until the fleet is cancelled, then ends with a failure of its own (a verdict reached before the stop).
    const judged: Job<string> = {
      id: "judged",
      needs: [],
      run: (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Verdict("judged failed")))),
    };
    const broken: Job<string> = { id: "broken", needs: [], run: () => Promise.reject(new Error("broke")) };
    const child: Job<string> = { id: "child", needs: ["judged"], run: async () => "never" };
    const outcomes = await runJobs([judged, broken, child], { concurrency: 2, failFast: true, failedOnItsOwn: (error) => error instanceof Verdict });
    expect(outcomes.get("judged")).toMatchObject({ status: "failed" });
    expect(outcomes.get("child")).toEqual({ status: "skipped", because: "judged" });
    // Without it, every error after the cancel is the cancel's.
    const plain = await runJobs([{ ...judged }, { ...broken }], { concurrency: 2, failFast: true });
    expect(plain.get("judged")).toMatchObject({ status: "cancelled", reason: "fail-fast" });
  });

  it("with failFast, tells the jobs it stops why: --fail-fast, not a signal (a build says what stopped it)", async () => {
    const reasons: unknown[] = [];
    const slow: Job<string> = {
      id: "slow",
      needs: [],
      run: (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            reasons.push(signal.reason);
            reject(new InterruptedError(signal));
          }),
        ),
    };
    const broken: Job<string> = { id: "broken", needs: [], run: () => Promise.reject(new Error("broke")) };
    const outcomes = await runJobs([slow, broken], { concurrency: 2, failFast: true });
    expect(reasons).toEqual([FAIL_FAST_REASON]);
    const stopped = outcomes.get("slow") as { error: Error };
    expect(stopped.error.message).toBe("interrupted by --fail-fast after a failure");
  });

  it("on the caller's abort (Ctrl-C) cancels everything as interrupted, after every running job has ended", async () => {
    const r = recorder();
    const controller = new AbortController();
    const done = runJobs([r.job("a", [], { ms: 5_000 }), r.job("b", [], { ms: 5_000 }), r.job("c", ["a"])], { concurrency: 2, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort("SIGINT");
    const outcomes = await done;
    expect(r.running()).toBe(0);
    expect([...outcomes.values()].map((o) => o.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(outcomes.get("c")).toEqual({ status: "cancelled", reason: "interrupted" });
  });

  it("starts nothing when the signal is already aborted", async () => {
    const r = recorder();
    const outcomes = await runJobs([r.job("a")], { concurrency: 1, signal: AbortSignal.abort("SIGTERM") });
    expect(outcomes.get("a")).toEqual({ status: "cancelled", reason: "interrupted" });
    expect(r.log).toEqual([]);
  });

  it("refuses a concurrency below 1 or not whole", async () => {
    await expect(runJobs([], { concurrency: 0 })).rejects.toThrow(ScheduleError);
    await expect(runJobs([], { concurrency: 1.5 })).rejects.toThrow(/whole number/);
  });
});

describe("checkJobs", () => {
  const job = (id: string, needs: string[] = []) => ({ id, needs });
  it("names a cycle in order", () => {
    expect(() => checkJobs([job("a", ["b"]), job("b", ["c"]), job("c", ["a"])])).toThrow("jobs need each other in a cycle: a -> b -> c -> a");
    expect(() => checkJobs([job("self", ["self"])])).toThrow("self -> self");
  });
  it("names a missing prerequisite and a repeated id", () => {
    expect(() => checkJobs([job("a", ["ghost"])])).toThrow("a needs ghost, which is not a job");
    expect(() => checkJobs([job("a"), job("a")])).toThrow("two jobs are named a");
  });
  it("accepts a diamond", () => {
    expect(() => checkJobs([job("top"), job("left", ["top"]), job("right", ["top"]), job("bottom", ["left", "right"])])).not.toThrow();
  });
});
