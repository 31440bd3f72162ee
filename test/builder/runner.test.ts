import { describe, expect, it } from "vitest";
import { InterruptedError, runPipeline, type Outcome, type Step } from "../../src/builder/runner.js";
import { sleep } from "../../src/builder/poll.js";

interface Ctx {
  events: string[];
}

function step(id: string, behaviour: "ok" | "fail" | "slow" = "ok", cleanup = true): Step<Ctx> {
  return {
    id,
    title: id,
    async run(ctx, signal) {
      ctx.events.push(`run ${id}`);
      if (behaviour === "fail") throw new Error(`${id} broke`);
      if (behaviour === "slow") await sleep(10_000, signal);
      return `${id} done`;
    },
    ...(cleanup
      ? {
          async cleanup(ctx: Ctx, outcome: Outcome) {
            ctx.events.push(`cleanup ${id} (${outcome})`);
          },
        }
      : {}),
  };
}

describe("runPipeline", () => {
  it("runs steps in order and unwinds cleanups in reverse on success", async () => {
    const ctx: Ctx = { events: [] };
    const messages: string[] = [];
    const result = await runPipeline([step("a"), step("b", "ok", false), step("c")], ctx, new AbortController().signal, {
      stepSucceeded: (_s, _t, message) => messages.push(message ?? ""),
    });
    expect(result.outcome).toBe("succeeded");
    expect(ctx.events).toEqual(["run a", "run b", "run c", "cleanup c (succeeded)", "cleanup a (succeeded)"]);
    expect(messages).toEqual(["a done", "b done", "c done"]);
  });

  it("cleans up the failed step itself and everything before it, and runs nothing after", async () => {
    const ctx: Ctx = { events: [] };
    const result = await runPipeline([step("a"), step("b", "fail"), step("c")], ctx, new AbortController().signal);
    expect(result.outcome).toBe("failed");
    expect(result.failedStep).toBe("b");
    expect((result.error as Error).message).toBe("b broke");
    expect(ctx.events).toEqual(["run a", "run b", "cleanup b (failed)", "cleanup a (failed)"]);
  });

  it("stops the running step on interrupt and unwinds with outcome interrupted", async () => {
    const ctx: Ctx = { events: [] };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    const result = await runPipeline([step("a"), step("b", "slow"), step("c")], ctx, controller.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.outcome).toBe("interrupted");
    expect(result.error).toBeInstanceOf(InterruptedError);
    expect(ctx.events).toEqual(["run a", "run b", "cleanup b (interrupted)", "cleanup a (interrupted)"]);
  });

  it("does not start when already interrupted", async () => {
    const ctx: Ctx = { events: [] };
    const controller = new AbortController();
    controller.abort();
    const result = await runPipeline([step("a")], ctx, controller.signal);
    expect(result.outcome).toBe("interrupted");
    expect(ctx.events).toEqual([]);
  });

  it("runs every cleanup even when one throws, and reports it", async () => {
    const ctx: Ctx = { events: [] };
    const broken: Step<Ctx> = {
      id: "broken",
      title: "broken",
      async run() {},
      async cleanup() {
        throw new Error("cannot delete");
      },
    };
    const result = await runPipeline([step("a"), broken, step("c")], ctx, new AbortController().signal);
    expect(result.outcome).toBe("succeeded");
    expect(ctx.events).toEqual(["run a", "run c", "cleanup c (succeeded)", "cleanup a (succeeded)"]);
    expect(result.cleanupErrors.map((e) => `${e.step}: ${(e.error as Error).message}`)).toEqual(["broken: cannot delete"]);
  });

  describe("a step that ends the run early (StopHere)", () => {
    const stopper = (id: string, cleanup = true): Step<Ctx> => ({
      ...step(id, "ok", cleanup),
      async run(ctx) {
        ctx.events.push(`run ${id}`);
        return { message: `${id}: nothing to do`, stop: "up-to-date" };
      },
    });
    const finishing = (id: string, behaviour: "ok" | "fail" = "ok"): Step<Ctx> => ({ ...step(id, behaviour), finishes: true });

    it("succeeds: the steps after it are skipped but those that finish a run, and the cleanups unwind as after a success", async () => {
      const ctx: Ctx = { events: [] };
      const messages: string[] = [];
      const result = await runPipeline([step("a"), stopper("b"), step("c"), finishing("d"), step("e"), finishing("f")], ctx, new AbortController().signal, {
        stepSucceeded: (_s, _t, message) => messages.push(message ?? ""),
      });
      expect(result).toEqual({ outcome: "succeeded", stopped: { step: "b", reason: "up-to-date" }, cleanupErrors: [] });
      expect(ctx.events).toEqual(["run a", "run b", "run d", "run f", "cleanup f (succeeded)", "cleanup d (succeeded)", "cleanup b (succeeded)", "cleanup a (succeeded)"]);
      expect(messages).toEqual(["a done", "b: nothing to do", "d done", "f done"]);
    });

    it("runs a finishing step in its place when nothing stops the run", async () => {
      const ctx: Ctx = { events: [] };
      const result = await runPipeline([step("a", "ok", false), finishing("b"), step("c", "ok", false)], ctx, new AbortController().signal);
      expect(result.stopped).toBeUndefined();
      expect(ctx.events).toEqual(["run a", "run b", "run c", "cleanup b (succeeded)"]);
    });

    it("fails when a finishing step fails after the stop, and cleans up", async () => {
      const ctx: Ctx = { events: [] };
      const result = await runPipeline([stopper("a"), step("b"), finishing("c", "fail"), finishing("d")], ctx, new AbortController().signal);
      expect(result.outcome).toBe("failed");
      expect(result.failedStep).toBe("c");
      expect(ctx.events).toEqual(["run a", "run c", "cleanup c (failed)", "cleanup a (failed)"]);
    });

    it("counts the first stop only", async () => {
      const ctx: Ctx = { events: [] };
      const second: Step<Ctx> = { ...stopper("b"), finishes: true };
      const result = await runPipeline([stopper("a", false), second], ctx, new AbortController().signal);
      expect(result.stopped).toEqual({ step: "a", reason: "up-to-date" });
      expect(ctx.events).toEqual(["run a", "run b", "cleanup b (succeeded)"]);
    });
  });
});
