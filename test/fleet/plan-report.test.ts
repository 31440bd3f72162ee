import { describe, expect, it } from "vitest";
import { fleetPlanReport, type PlannedTarget } from "../../src/fleet/plan-report.js";
import { TEST_PRICES } from "../output/fleet-fixtures.js";

const TARGETS: PlannedTarget[] = [
  {
    template: "python-research",
    architecture: "x86_64",
    region: "us-east-1",
    action: "build",
    reason: "no validated image with content hash 9f2c1a2b3c4d",
    copyTo: ["us-west-2", "eu-west-1"],
    instanceType: "t3.large",
    volumeGb: 30,
    volumeGbFrom: "template",
  },
  {
    template: "r-research",
    architecture: "x86_64",
    region: "us-east-1",
    action: "up-to-date",
    reason: "content hash 77aa00bb11cc unchanged",
    amiId: "ami-0bbbbbbbbbbbbbbb1",
    copyTo: ["us-west-2"],
    present: ["us-east-2", "us-west-1"],
    instanceType: "t3.large",
    volumeGb: 20,
    volumeGbFrom: "registry",
  },
  {
    template: "ml-gpu",
    architecture: "arm64",
    region: "us-east-1",
    action: "build",
    reason: "its parent python-research/arm64 is rebuilt",
    copyTo: [],
    instanceType: "g5g.xlarge",
    volumeGb: 8,
    volumeGbFrom: "assumed",
    after: "python-research/arm64",
  },
  { template: "basic-ubuntu", architecture: "arm64", region: "us-east-1", action: "up-to-date", reason: "content hash 0011 unchanged", amiId: "ami-0ccccccccccccccc1", copyTo: [], present: ["us-west-2"], instanceType: "t4g.large", volumeGb: 16, volumeGbFrom: "template" },
];

describe("build-all --dry-run's plan", () => {
  it("says what will be built, copied and skipped by the cache and why, with the estimated cost", () => {
    expect(fleetPlanReport(TARGETS, TEST_PRICES).text).toBe(
      [
        "Plan (dry run, nothing is created): 2 builds, 3 copies, 2 up to date",
        "Prices: test prices of 2026-01-01 (on-demand estimates; a build is assumed to take 30 minutes)",
        "",
        "python-research/x86_64",
        "  build in us-east-1 (t3.large, 30 GiB): no validated image with content hash 9f2c1a2b3c4d  ~$0.043",
        "  copy to us-west-2, eu-west-1",
        "  storage: at most $3.00/month + unpriced items (3 new images of 30 GiB)",
        "r-research/x86_64",
        "  up to date in us-east-1: ami-0bbbbbbbbbbbbbbb1 (content hash 77aa00bb11cc unchanged)",
        "  copy to us-west-2 (us-east-2, us-west-1 have it)",
        "  storage: at most $1.00/month (1 new image of 20 GiB)",
        "ml-gpu/arm64 (after python-research/arm64)",
        "  build in us-east-1 (g5g.xlarge, 8 GiB assumed: the base image's size is not known offline; volume_size_gb in the template sets it): its parent python-research/arm64 is rebuilt  ~$0.00044 + unpriced items",
        "  storage: at most $0.40/month (1 new image of 8 GiB, assumed)",
        "basic-ubuntu/arm64",
        "  up to date in us-east-1: ami-0ccccccccccccccc1 (content hash 0011 unchanged)",
        "  already in us-west-2",
        "",
        "Estimated: builds ~$0.044 + unpriced items; the new images' snapshot storage at most $4.40/month + unpriced items",
        "price unknown for g5g.xlarge in us-east-1 (add it with --prices)",
        "price unknown for snapshot storage in eu-west-1 (add it with --prices)",
        "",
      ].join("\n"),
    );
  });

  it("as one JSON document: every target with its cost, the counts and the totals", () => {
    const { json } = fleetPlanReport(TARGETS, TEST_PRICES, { buildSeconds: 600, leftOut: ["r-research (does not build architecture arm64)"] });
    const doc = JSON.parse(JSON.stringify(json)) as {
      dryRun: boolean;
      exitCode: number;
      leftOut: string[];
      targets: {
        volumeGbFrom: string; template: string; action: string; amiId: string | null; after: string | null; present: string[]; cost: { build: { known: boolean; detail: { billedSeconds: number } } | null; storagePerMonth: { usd: number; known: boolean } } }[];
      counts: Record<string, number>;
      cost: { builds: { known: boolean; unknown: string[] }; storagePerMonth: { usd: number }; assumedBuildSeconds: number; prices: string };
    };
    expect(doc.dryRun).toBe(true);
    expect(doc.targets.map((t) => [t.template, t.action, t.amiId, t.after])).toEqual([
      ["python-research", "build", null, null],
      ["r-research", "up-to-date", "ami-0bbbbbbbbbbbbbbb1", null],
      ["ml-gpu", "build", null, "python-research/arm64"],
      ["basic-ubuntu", "up-to-date", "ami-0ccccccccccccccc1", null],
    ]);
    expect(doc.targets[0]!.cost.build!.detail.billedSeconds).toBe(600);
    expect(doc.targets[1]!.cost.build).toBeNull();
    expect(doc.targets[1]!.cost.storagePerMonth).toMatchObject({ usd: 1, known: true });
    expect(doc.targets[3]!.present).toEqual(["us-west-2"]);
    // The run's document spells its counts so: "up-to-date".
    expect(doc.counts).toEqual({ builds: 2, copies: 3, "up-to-date": 2 });
    expect(doc.targets.map((t) => t.volumeGbFrom)).toEqual(["template", "registry", "assumed", "template"]);
    expect(doc.leftOut).toEqual(["r-research (does not build architecture arm64)"]);
    expect(doc.exitCode).toBe(0);
    expect(fleetPlanReport(TARGETS, TEST_PRICES).json).toMatchObject({ leftOut: [], exitCode: 0 });
    expect(doc.cost).toMatchObject({ assumedBuildSeconds: 600, prices: "test prices of 2026-01-01", builds: { known: false, unknown: ["price unknown for g5g.xlarge in us-east-1 (add it with --prices)"] } });
    expect(doc.cost.storagePerMonth.usd).toBe(4.4);
  });

  it("says each new image is verified on a fresh instance first, when it will be and there is one", () => {
    const line = "Verify: each new image runs its tests on a fresh instance launched from it before it is recorded or copied (--no-verify skips this)";
    expect(fleetPlanReport(TARGETS, TEST_PRICES, { verify: true }).text.split("\n")[2]).toBe(line);
    expect(fleetPlanReport(TARGETS, TEST_PRICES, { verify: true }).json).toMatchObject({ verify: true });
    expect(fleetPlanReport(TARGETS, TEST_PRICES).text).not.toContain("Verify:");
    expect(fleetPlanReport([TARGETS[3]!], TEST_PRICES, { verify: true }).text).not.toContain("Verify:");
  });

  it("with verify, each build's estimate counts its fresh instance, billed on its own", () => {
    const plain = fleetPlanReport(TARGETS, TEST_PRICES, { buildSeconds: 600 }).json as { cost: { builds: { usd: number }; assumedVerifySeconds: number | null } };
    const verified = fleetPlanReport(TARGETS, TEST_PRICES, { buildSeconds: 600, verifySeconds: 300, verify: true });
    const doc = verified.json as { targets: { cost: { build: { detail: { billedSeconds: number; freshBilledSeconds: number } } | null } }[]; cost: { builds: { usd: number }; assumedVerifySeconds: number | null } };
    expect(doc.targets[0]!.cost.build!.detail).toMatchObject({ billedSeconds: 900, freshBilledSeconds: 300 });
    expect(doc.cost.assumedVerifySeconds).toBe(300);
    expect(plain.cost.assumedVerifySeconds).toBeNull();
    expect(doc.cost.builds.usd).toBeGreaterThan(plain.cost.builds.usd);
    expect(verified.text.split("\n")[1]).toContain("a build is assumed to take 10 minutes, and its fresh instance 5)");
  });

  it("with nothing to build or copy, says so and costs nothing", () => {
    const { text } = fleetPlanReport([TARGETS[3]!], TEST_PRICES);
    expect(text).toContain("Plan (dry run, nothing is created): 0 builds, 0 copies, 1 up to date");
    expect(text).toContain("Estimated: builds ~$0.00; the new images' snapshot storage at most $0.00/month (nothing to build or copy)");
  });
});
