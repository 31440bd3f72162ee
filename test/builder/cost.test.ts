import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AwsPorts, Ec2Port } from "../../src/aws/ports.js";
import { runBuild, type BuildDeps } from "../../src/builder/build.js";
import type { BuildInput } from "../../src/builder/context.js";
import { dryRunPlan } from "../../src/builder/plan.js";
import { silentReporter } from "../../src/builder/reporter.js";
import { EXPECTED_BUILD_SECONDS } from "../../src/fleet/cost.js";
import { HOURS_PER_MONTH } from "../../src/fleet/prices.js";
import type { PriceTable } from "../../src/fleet/prices.js";
import { formatBuildResult } from "../../src/output/build-reporter.js";
import { Chalk } from "chalk";
import { buildInput, FAST_POLL, fakeAws, SETUP_SCRIPT_TEMPLATE } from "./fake-build.js";

/**
 * What a build reports it cost: the instance from its launch until it is
 * stopped for imaging, the volume until the cleanups end, the image's
 * snapshots per month; measured around the steps of a real run against the
 * fake AWS, priced with the table it is given.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-cost-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const PRICES: PriceTable = { taken: "2026-01-01", source: "test prices", regions: { "us-east-1": { instances: { "t3.medium": 0.0416 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 } } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fake AWS, slowed where it matters: the instance runs 300 ms before it is stopped, the image takes 400 ms after. */
function slowAws(options: Parameters<typeof fakeAws>[0] = {}): ReturnType<typeof fakeAws> {
  const fake = fakeAws(options);
  const ec2 = fake.aws.ec2("us-east-1");
  const slowed: Ec2Port = {
    ...ec2,
    stopInstance: async (id) => {
      await sleep(300);
      return ec2.stopInstance(id);
    },
    createImage: async (request) => {
      const id = await ec2.createImage(request);
      await sleep(400);
      return id;
    },
  };
  const aws: AwsPorts = { ...fake.aws, ec2: () => slowed };
  return { ...fake, aws };
}

function deps(aws: AwsPorts, extra: Partial<BuildDeps> = {}): BuildDeps {
  return { aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile: undefined, ...extra };
}

describe("a build's billing and cost", () => {
  it("measures the instance until it is stopped and the volume until the end, and prices both and the image", async () => {
    const { aws } = slowAws();
    const result = await runBuild(buildInput(dir), deps(aws, { prices: PRICES }));
    expect(result.status).toBe("succeeded");
    const billing = result.billing!;
    // The instance ran through the stop (300 ms) but not the image (400 ms); the volume lived through both.
    expect(billing.instanceSeconds).toBeGreaterThanOrEqual(0.3);
    expect(billing.volumeSeconds - billing.instanceSeconds).toBeGreaterThanOrEqual(0.38);
    expect(billing.volumeSeconds).toBeLessThanOrEqual(result.durationSeconds + 0.1);
    expect(billing).toMatchObject({ volumeGb: 8, keptInstances: [] });

    const cost = result.cost!;
    expect(cost.prices).toBe("test prices of 2026-01-01");
    expect(cost.build.known).toBe(true);
    // Both under the 60-second minimum.
    expect(cost.build.usd).toBeCloseTo((0.0416 * 60) / 3600 + (0.08 * 8 * 60) / (HOURS_PER_MONTH * 3600), 12);
    expect(cost.snapshotsPerMonth).toMatchObject({ usdPerMonth: 0.4, known: true });
    const text = formatBuildResult(result, new Chalk({ level: 0 }));
    expect(text).toContain("💰 Cost: $0.00071 (t3.medium for 1m 0s at $0.0416/h; 8 GiB gp3 for 1m 0s at $0.08/GB-month)");
    expect(text).toContain("Image storage: at most $0.40/month (8 GiB of snapshots at $0.05/GB-month) in us-east-1");
  });

  it("bills the template's volume size, stores the image's, and names a missing price rather than guessing", async () => {
    const { aws } = fakeAws();
    const input: BuildInput = { ...buildInput(dir, {}, `${SETUP_SCRIPT_TEMPLATE}volume_size_gb: 30\n`), instanceType: "t3.nano" };
    const result = await runBuild(input, deps(aws, { prices: PRICES }));
    expect(result.billing!.volumeGb).toBe(30);
    expect(result.cost!.build).toMatchObject({ known: false, unknown: ["price unknown for t3.nano in us-east-1 (add it with --prices)"] });
    // The image's size is what EC2 reports for it (the fake says 8 GiB), as the registry records it.
    expect(result.cost!.snapshotsPerMonth!.detail.sizeGb).toBe(8);
    expect(formatBuildResult(result, new Chalk({ level: 0 }))).toContain("price unknown for t3.nano in us-east-1 (add it with --prices)");
  });

  it("a failed build is billed for its instance until it was terminated, and has no image to store", async () => {
    const { aws } = fakeAws({ setupExitCode: 3 });
    const result = await runBuild(buildInput(dir), deps(aws, { prices: PRICES }));
    expect(result.status).toBe("failed");
    expect(result.billing!.instanceSeconds).toBe(result.billing!.volumeSeconds);
    expect(result.cost!.build.known).toBe(true);
    expect(result.cost!.snapshotsPerMonth).toBeUndefined();
  });

  it("a build that launched nothing has no billing; one given no prices has billing but no cost", async () => {
    const failedEarly = await runBuild(buildInput(dir), deps(fakeAws({ noInstanceProfile: true }).aws, { prices: PRICES }));
    expect(failedEarly.status).toBe("failed");
    expect(failedEarly.billing).toBeUndefined();
    expect(failedEarly.cost).toBeUndefined();
    // It wrote no log: no empty log directory is left, or named.
    expect(failedEarly.logDir).toBeNull();
    expect(existsSync(join(dir, "logs", failedEarly.buildId))).toBe(false);
    expect(formatBuildResult(failedEarly, new Chalk({ level: 0 }))).not.toContain("Logs:");
    const unpriced = await runBuild(buildInput(dir), deps(fakeAws().aws));
    expect(unpriced.billing).toBeDefined();
    expect(unpriced.cost).toBeUndefined();
  });

  it("--on-error abort: the kept instance is said to be billed until it is terminated, as it was left", async () => {
    const result = await runBuild(buildInput(dir, { onError: "abort" }), deps(fakeAws({ setupExitCode: 3 }).aws, { prices: PRICES }));
    expect(result.billing!.keptInstances).toEqual([{ instanceId: "i-1", role: "build", state: "running" }]);
    expect(formatBuildResult(result, new Chalk({ level: 0 }))).toContain("; the kept instance is billed until terminated (i-1 running)");
  });
});

describe("the dry run's estimate", () => {
  it("prices a typical build and the image, with the template's volume, the base image's when resolved, else an assumed size", async () => {
    const { aws } = fakeAws();
    const withVolume = await dryRunPlan(buildInput(dir, {}, `${SETUP_SCRIPT_TEMPLATE}volume_size_gb: 30\n`), { registryFile: undefined }, aws, () => undefined, { prices: PRICES });
    const estimate = withVolume.json.estimatedCost as { build: { usd: number; detail: { billedSeconds: number; volumeGb: number } }; volumeGbFrom: string; assumedSeconds: number };
    expect(estimate.assumedSeconds).toBe(EXPECTED_BUILD_SECONDS);
    expect(estimate.build.detail).toMatchObject({ billedSeconds: EXPECTED_BUILD_SECONDS, volumeGb: 30 });
    expect(estimate.volumeGbFrom).toBe("template");
    expect(withVolume.text).toContain("Estimated cost (test prices of 2026-01-01; on-demand estimates):");
    expect(withVolume.text).toContain("  image: at most $1.50/month (30 GiB of snapshots at $0.05/GB-month)");
    expect(withVolume.text).toMatch(/ {2}build: \$0\.0\d+ \(t3\.medium for 30m 0s at \$0\.0416\/h; 30 GiB gp3 for 30m 0s at \$0\.08\/GB-month\), for a 30-minute build/);

    // The fake resolves the base image (8 GiB).
    const fromBase = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, () => undefined, { prices: PRICES });
    expect((fromBase.json.estimatedCost as { volumeGbFrom: string }).volumeGbFrom).toBe("base image");

    // Offline: no credentials, no base image.
    const offlineAws: AwsPorts = { ...aws, sts: () => ({ callerIdentity: () => Promise.reject(new Error("no credentials")) }) };
    const offline = await dryRunPlan(buildInput(dir), { registryFile: undefined }, offlineAws, () => undefined, { prices: PRICES });
    expect((offline.json.estimatedCost as { volumeGbFrom: string }).volumeGbFrom).toBe("assumed");
    expect(offline.text).toContain("(the base image's size is not known offline: 8 GiB assumed; volume_size_gb in the template sets it)");
  });
});
