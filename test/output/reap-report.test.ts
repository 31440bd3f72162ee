import { describe, expect, it } from "vitest";
import type { ReapOutcome } from "../../src/lifecycle/reap.js";
import type { Leftover, ReapDecision } from "../../src/lifecycle/reap-plan.js";
import { formatReapPlan, formatReapResults, reapJson, type ReapReport } from "../../src/output/reap-report.js";

const BUILD = "20261128t083012z-4f2a1c";

function outcome(kind: Leftover["kind"], id: string, action: "reap" | "keep", result: ReapOutcome["result"], extra: Partial<Leftover> = {}): ReapOutcome {
  const leftover: Leftover = { region: "us-east-1", kind, id, buildId: BUILD, template: "r-research", state: undefined, created: undefined, copy: false, snapshotIds: [], sizeGb: undefined, ...extra };
  const decision: ReapDecision = {
    leftover,
    action,
    reason: action === "reap" ? { kind: "owner-gone", pid: 4242, reused: false } : { kind: "owner-running", pid: 5151 },
    ageMs: 3_900_000,
    futureStart: undefined,
    why: action === "reap" ? "its build's process 4242 is gone" : "its build is running on this machine (pid 5151)",
  };
  return { decision, result };
}

const found = [
  outcome("instance", "i-1", "reap", { status: "removed", snapshotIds: [] }, { state: "stopped" }),
  outcome("security-group", "sg-1", "reap", { status: "not-attempted", why: "its build's instance i-1 was not terminated" }),
  outcome("image", "ami-1", "reap", { status: "removed", snapshotIds: ["snap-1", "snap-2"] }, { state: "pending", snapshotIds: ["snap-1", "snap-2"] }),
  outcome("image", "ami-2", "reap", { status: "failed", error: "DeregisterImage: UnauthorizedOperation: no" }, { state: "failed", copy: true, region: "eu-west-1", snapshotIds: ["snap-3"] }),
  outcome("instance", "i-9", "keep", undefined, { state: "running", buildId: "20261128t110000z-aaaaaa", template: undefined }),
];

function report(extra: Partial<ReapReport> = {}): ReapReport {
  return { regions: ["eu-west-1", "us-east-1"], olderThanMs: 7_200_000, dryRun: false, outcomes: found, regionErrors: [], ending: "done", exitCode: 1, ...extra };
}

describe("reap's table", () => {
  it("has a row per resource: region, what it is, build, template, age, reap or keep, and why", () => {
    expect(formatReapPlan(report())).toBe(
      [
        "Found 5 resources of 3 builds in eu-west-1, us-east-1 (--older-than 2h):",
        "REGION     RESOURCE                                  BUILD                    TEMPLATE    AGE               ACTION  WHY",
        "us-east-1  instance i-1 (stopped)                    20261128t083012z-4f2a1c  r-research  1 hour 5 minutes  reap    its build's process 4242 is gone",
        "us-east-1  security group sg-1                       20261128t083012z-4f2a1c  r-research  1 hour 5 minutes  reap    its build's process 4242 is gone",
        "us-east-1  image ami-1 (pending, 2 snapshots)        20261128t083012z-4f2a1c  r-research  1 hour 5 minutes  reap    its build's process 4242 is gone",
        "eu-west-1  image ami-2 (failed, 1 snapshot, a copy)  20261128t083012z-4f2a1c  r-research  1 hour 5 minutes  reap    its build's process 4242 is gone",
        "us-east-1  instance i-9 (running)                    20261128t110000z-aaaaaa  -           1 hour 5 minutes  keep    its build is running on this machine (pid 5151)",
        "",
      ].join("\n"),
    );
  });

  it("writes ages as the rest of cws does (describeAge), in days and years when old", () => {
    const aged = (ageMs: number | undefined) => ({ ...found[4]!, decision: { ...found[4]!.decision, ageMs } });
    const ages = formatReapPlan(report({ outcomes: [aged(218_046_000_000), aged(1_728_060_000), aged(40_000), aged(undefined)] }))
      .split("\n")
      .slice(2, 6)
      .map((row) => row.split(/ {2,}/)[4]);
    // 60568 hours 31 minutes and 480 hours 1 minute used to read "60568h 31m" and "480h 1m".
    expect(ages).toEqual(["6.9 years", "20 days", "40 seconds", "unknown"]);
  });

  it("says how to remove by hand what nothing dates, in EC2's order, since reap keeps it for good", () => {
    const undated = (kind: Leftover["kind"], id: string, extra: Partial<Leftover> = {}): ReapOutcome => {
      const { decision } = outcome(kind, id, "keep", undefined, { buildId: "20991231t000000z-ffffff", ...extra });
      return { decision: { ...decision, reason: { kind: "age-unknown" }, ageMs: undefined, futureStart: new Date("2099-12-31T00:00:00Z"), why: "its build id's date (2099-12-31T00:00:00Z) is in the future: age unknown" }, result: undefined };
    };
    const text = formatReapPlan(report({ outcomes: [undated("security-group", "sg-7"), undated("image", "ami-7", { state: "failed", snapshotIds: ["snap-7"] }), undated("instance", "i-7", { state: "running" }), found[0]!] }));
    expect(text.split("\n").slice(6)).toEqual([
      "Nothing dates 3 resources above, so reap keeps them (a build id dated in the future may also mean that this machine's clock is behind). If no build is using them, remove them by hand:",
      "  aws ec2 terminate-instances --instance-ids i-7 --region us-east-1",
      "  aws ec2 wait instance-terminated --instance-ids i-7 --region us-east-1",
      "  aws ec2 delete-security-group --group-id sg-7 --region us-east-1",
      "  aws ec2 deregister-image --image-id ami-7 --region us-east-1",
      "  aws ec2 delete-snapshot --snapshot-id snap-7 --region us-east-1",
      "",
    ]);
    expect(formatReapPlan(report())).not.toContain("by hand");
  });

  it("says so when nothing was found", () => {
    expect(formatReapPlan(report({ outcomes: [] }))).toBe("Nothing left behind by a build in eu-west-1, us-east-1 (--older-than 2h).\n");
  });
});

describe("what reap did", () => {
  it("lists what was removed (snapshots named), what was not and why, and the tally", () => {
    expect(formatReapResults(report({ regionErrors: [{ region: "ap-south-1", message: "DescribeInstances: OptInRequired: not subscribed" }] }))).toBe(
      [
        "Removed:",
        "  us-east-1  instance i-1: terminated",
        "  us-east-1  image ami-1: deregistered, 2 snapshots deleted (snap-1, snap-2)",
        "Not removed:",
        "  us-east-1  security group sg-1: its build's instance i-1 was not terminated",
        "  eu-west-1  image ami-2: DeregisterImage: UnauthorizedOperation: no",
        "2 of 4 resources removed; kept 1 resource (see WHY).",
        "Not searched: ap-south-1: DescribeInstances: OptInRequired: not subscribed",
        "",
      ].join("\n"),
    );
  });

  it("after a dry run, a refusal, an interrupt or with nothing to remove, says so", () => {
    const planned = found.map((o) => ({ ...o, result: undefined }));
    expect(formatReapResults(report({ outcomes: planned, ending: "dry-run" }))).toBe("Dry run: nothing was removed; without --dry-run cws ami reap would remove 4 resources of 2 builds; kept 1 resource (see WHY).\n");
    expect(formatReapResults(report({ outcomes: planned, ending: "declined" }))).toBe("Nothing was removed.\n");
    expect(formatReapResults(report({ outcomes: [found[4]!], ending: "nothing-to-do" }))).toBe("Nothing to remove; kept 1 resource (see WHY).\n");
    expect(formatReapResults(report({ outcomes: [], ending: "nothing-to-do" }))).toBe("");
    const interrupted = formatReapResults(report({ outcomes: [found[0]!, outcome("security-group", "sg-1", "reap", { status: "not-attempted", why: "interrupted" })], ending: "interrupted" }));
    expect(interrupted).toContain("  us-east-1  security group sg-1: interrupted\n1 of 2 resources removed (interrupted).\n");
  });

  it("is one JSON document with every key of every resource, the counts and the exit code", () => {
    const json = reapJson(report({ dryRun: false }));
    expect(json).toMatchObject({
      regions: ["eu-west-1", "us-east-1"],
      olderThanSeconds: 7200,
      dryRun: false,
      ending: "done",
      counts: { found: 5, reap: 4, keep: 1, removed: 2, failed: 1, notAttempted: 1 },
      regionErrors: [],
      exitCode: 1,
    });
    const resources = json.resources as Record<string, unknown>[];
    expect(resources[3]).toEqual({
      region: "eu-west-1",
      kind: "image",
      id: "ami-2",
      buildId: BUILD,
      template: "r-research",
      state: "failed",
      copy: true,
      snapshotIds: ["snap-3"],
      ageSeconds: 3900,
      action: "reap",
      reason: "owner-gone",
      why: "its build's process 4242 is gone",
      result: "failed",
      error: "DeregisterImage: UnauthorizedOperation: no",
    });
    expect(resources[4]).toMatchObject({ template: null, action: "keep", result: null, error: null });
    expect(new Set(resources.map((r) => Object.keys(r).join()))).toHaveProperty("size", 1);
  });
});
