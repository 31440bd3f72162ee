import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBuild, type BuildResult } from "../../src/builder/build.js";
import { silentReporter, type BuildReporter } from "../../src/builder/reporter.js";
import { buildInput, FAKE_IMAGE_ID, FAST_POLL, fakeAws, type FakeAwsOptions } from "./fake-build.js";

/**
 * Cleanup decides on typed facts the steps record (instanceKept, imageKept),
 * never on the kept/cleaned lines of the summary: every scenario runs twice,
 * the second time with every one of those lines reworded as it is written,
 * and must remove and keep exactly the same resources.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-cleanup-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes each line backwards between guillemets: same resources, other words. */
function reword(lines: string[]): void {
  lines.push = (...items: string[]) => Array.prototype.push.apply(lines, items.map((line) => `«${[...line].reverse().join("")}»`));
}

interface Scenario {
  onError?: "cleanup" | "abort";
  aws?: Omit<FakeAwsOptions, "onCreateImage">;
  /** Ctrl-C as the image is requested, once its wait has timed out (the reporter warns then), or once it is available (before it is recorded). */
  interrupt?: "image requested" | "image kept" | "image available";
}

async function build(scenario: Scenario, reworded: boolean): Promise<{ result: BuildResult; calls: string[] }> {
  const controller = new AbortController();
  const { aws, calls } = fakeAws({ ...scenario.aws, onCreateImage: () => scenario.interrupt === "image requested" && controller.abort() });
  const reporter: BuildReporter = {
    ...silentReporter,
    warn: (text) => {
      if (scenario.interrupt === "image kept" && text.includes("still pending")) controller.abort();
    },
    stepSucceeded: (text) => {
      if (scenario.interrupt === "image available" && text.startsWith("AMI created")) controller.abort();
    },
  };
  const result = await runBuild(buildInput(dir, { onError: scenario.onError ?? "cleanup" }), {
    aws,
    reporter,
    poll: FAST_POLL,
    signal: controller.signal,
    registryFile: join(dir, "registry", "amis.json"),
    onContext: (ctx) => {
      if (reworded) {
        reword(ctx.kept);
        reword(ctx.cleaned);
      }
    },
  });
  return { result, calls };
}

/** The requests that removed something, in order. */
const removals = (calls: string[]) => calls.filter((c) => /^(terminate|delete|deregister)/.test(c));

describe("cleanup decides on typed facts, not on the summary's words", () => {
  const scenarios: { name: string; scenario: Scenario; removed: string[]; outcome: string; keptLines: number }[] = [
    { name: "a successful build", scenario: {}, outcome: "succeeded", removed: ["terminate instance i-1", "delete security group sg-1"], keptLines: 0 },
    { name: "a failed setup", scenario: { aws: { setupExitCode: 1 } }, outcome: "failed", removed: ["terminate instance i-1", "delete security group sg-1"], keptLines: 0 },
    // --on-error abort keeps the instance and the security group it uses.
    { name: "a failed setup with --on-error abort", scenario: { onError: "abort", aws: { setupExitCode: 1 } }, outcome: "failed", removed: [], keptLines: 2 },
    // A slow image is kept, even when the build is interrupted afterwards.
    {
      name: "an image whose wait timed out, then Ctrl-C",
      scenario: { aws: { imagePending: true }, interrupt: "image kept" },
      outcome: "interrupted",
      removed: ["terminate instance i-1", "delete security group sg-1"],
      keptLines: 1,
    },
    // A finished image (validated, available) is kept when Ctrl-C comes before it is recorded, and said to be.
    {
      name: "Ctrl-C once the image is available, before it is recorded",
      scenario: { interrupt: "image available" },
      outcome: "interrupted",
      removed: ["terminate instance i-1", "delete security group sg-1"],
      keptLines: 1,
    },
    // An image the build did not finish goes, with its snapshots.
    {
      name: "Ctrl-C while the image is being made",
      scenario: { aws: { imagePending: true }, interrupt: "image requested" },
      outcome: "interrupted",
      removed: [`deregister image ${FAKE_IMAGE_ID}`, "delete snapshot snap-1", "terminate instance i-1", "delete security group sg-1"],
      keptLines: 0,
    },
  ];

  for (const { name, scenario, removed, outcome, keptLines } of scenarios) {
    it(`${name}: removes ${removed.length ? removed.join(", ") : "nothing"}, whatever the words`, async () => {
      for (const reworded of [false, true]) {
        const { result, calls } = await build(scenario, reworded);
        expect(result.status, `reworded: ${reworded}`).toBe(outcome);
        expect(removals(calls), `reworded: ${reworded}`).toEqual(removed);
        expect(result.kept, `reworded: ${reworded}`).toHaveLength(keptLines);
        expect(result.cleaned.every((line) => line.startsWith("«") === reworded)).toBe(true);
      }
    });
  }

  it("tells a preflight failure from a build failure by its type", async () => {
    const preflight = await build({ aws: { noInstanceProfile: true } }, false);
    expect(preflight.result.error).toMatchObject({ code: "PREFLIGHT_FAILED", preflight: true, message: expect.stringContaining("instance profile cws-ami-builder does not exist") });
    expect(preflight.result.exitCode).toBe(2);
    const setup = await build({ aws: { setupExitCode: 1 } }, false);
    expect(setup.result.error).toMatchObject({ code: "BUILD_FAILED", preflight: false, message: "setup script exited with code 1" });
    expect(setup.result.exitCode).toBe(1);
  });

  it("gives every result an exit code, and every one that did not succeed a code, as every error document has", async () => {
    const outcomes = [
      { scenario: {}, status: "succeeded", exitCode: 0 },
      { scenario: { aws: { noInstanceProfile: true } }, status: "failed", exitCode: 2 },
      { scenario: { aws: { setupExitCode: 1 } }, status: "failed", exitCode: 1 },
      { scenario: { interrupt: "image requested" }, status: "interrupted", exitCode: 130 },
    ] as const;
    for (const { scenario, status, exitCode } of outcomes) {
      const { result } = await build(scenario as Scenario, false);
      expect(result.status).toBe(status);
      expect(result.exitCode, status).toBe(exitCode);
      if (status === "failed") expect(result.error?.code, JSON.stringify(scenario)).toMatch(/^[A-Z_]+$/);
      // Interrupted: said as such, as a failure is, so a --json reader finds why in the same place.
      else if (status === "interrupted") expect(result.error).toMatchObject({ code: "INTERRUPTED", message: "interrupted by SIGINT: the build stopped and cleaned up" });
      else expect(result.error).toBeUndefined();
    }
  });
});
