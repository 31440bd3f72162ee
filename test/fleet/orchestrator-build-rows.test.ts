import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runFleet } from "../../src/fleet/orchestrator.js";
import { SHIPPED_PRICES } from "../../src/fleet/prices.js";
import { silentFleetReporter, type FleetReporter } from "../../src/fleet/reporter.js";
import type { FleetTarget } from "../../src/fleet/targets.js";
import { FAKE_IMAGE_ID, FAST_POLL, fakeAws, testRequest, type FakeAwsOptions } from "../builder/fake-build.js";

/**
 * runFleet's rows for builds that do not succeed, on the builder's in-memory
 * AWS (one region, one target, no copies): what a person reads in the table
 * must say what the build left behind on purpose. The end-to-end tests
 * (test/e2e/build-all*.test.ts) run whole fleets against the emulator; a
 * signal arriving between two particular steps is only reliable here.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-fleet-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function target(): FleetTarget {
  const { templateId, template, architecture, region } = testRequest();
  return { key: `${templateId}/${architecture}`, templateId, file: "t.yml", template, architecture, home: region, copyTo: [], requested: true };
}

async function run(options: { aws?: FakeAwsOptions; interruptWhen?: (line: string) => boolean; onError?: "cleanup" | "abort" }) {
  const controller = new AbortController();
  const interrupt = (line: string) => {
    if (options.interruptWhen?.(line)) controller.abort("SIGINT");
  };
  const reporter: FleetReporter = { ...silentFleetReporter, log: (_id, line) => interrupt(line), targetStep: (_id, step) => interrupt(step) };
  const { aws } = fakeAws(options.aws);
  const { templateId: _t, template: _template, architecture: _a, region: _r, ...rest } = testRequest();
  return runFleet({
    targets: [target()],
    aws,
    poll: FAST_POLL,
    signal: controller.signal,
    reporter,
    concurrency: 1,
    failFast: false,
    force: false,
    registryFile: join(dir, "registry", "amis.json"),
    parentRegistryFile: join(dir, "registry", "amis.json"),
    publishSsm: false,
    prices: SHIPPED_PRICES,
    runId: "test",
    buildInput: () => ({ ...rest, onError: options.onError ?? "cleanup", logRoot: join(dir, "logs") }),
  });
}

describe("runFleet: what a build that did not succeed left behind is in its row", () => {
  it("Ctrl-C after the image was made, before it was recorded: cancelled, and the row names the kept image and its storage", async () => {
    const { summary, exitCode } = await run({ interruptWhen: (line) => line.includes("AMI created") });
    expect(exitCode).toBe(130);
    const [row] = summary.rows;
    expect(row).toMatchObject({ result: "cancelled", detail: `interrupted: stopped; removed instance i-1, security group sg-1; kept: image ${FAKE_IMAGE_ID} (validated, not in the registry)` });
    expect(row!.storage?.usdPerMonth).toBeGreaterThan(0);
  });

  it("a failed setup with --on-error abort: the row names the instance and security group kept for debugging", async () => {
    const { summary, exitCode } = await run({ aws: { setupExitCode: 7 }, onError: "abort" });
    expect(exitCode).toBe(1);
    expect(summary.rows[0]).toMatchObject({ result: "failed", detail: "provision: setup script exited with code 7; kept: instance i-1 (the build instance, running), security group sg-1 (used by the kept instance)" });
  });

  it("a failed setup: one line, the log's tail left out of the row (the row has the log directory)", async () => {
    const { summary } = await run({ aws: { setupExitCode: 7 } });
    expect(summary.rows[0]).toMatchObject({ result: "failed", detail: "provision: setup script exited with code 7", logDir: expect.stringContaining(join(dir, "logs")) });
  });
});
