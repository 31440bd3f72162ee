import { describe, expect, it } from "vitest";
import { AwsCallError, type ImageInfo, type InstanceInfo, type SecurityGroupInfo } from "../../src/aws/ports.js";
import { applyReap, findLeftovers } from "../../src/lifecycle/reap.js";
import { planReap, type Leftover, type ReapDecision } from "../../src/lifecycle/reap-plan.js";
import { bootstrapBuildId } from "../../src/builder/context.js";
import { ec2PortWith, FAST_POLL } from "../builder/fake-build.js";

const MANAGED = { "cws:managed-by": "cws" };

function instance(id: string, tags: Record<string, string>, state = "running"): InstanceInfo {
  return { instanceId: id, state, stateReason: undefined, instanceType: "t3.medium", subnetId: "subnet-1", availabilityZone: "us-east-1a", launchTime: "2026-11-28T08:31:00.000Z", tags };
}
function image(id: string, tags: Record<string, string>, state = "pending"): ImageInfo {
  return { imageId: id, name: id, architecture: "x86_64", state, creationDate: "2026-11-28T08:50:00.000Z", ownerId: "111122223333", rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 30, snapshotIds: [`snap-${id}`], tags };
}

describe("findLeftovers", () => {
  it("asks for cws's live instances, groups and unfinished images, and keeps only those tagged cws:managed-by=cws with a build id", async () => {
    const asked: unknown[] = [];
    const build = { ...MANAGED, "cws:build-id": "b1", "cws:template": "r-research" };
    const ec2 = ec2PortWith("eu-west-1", {
      describeInstances: async (filter) => {
        asked.push(["instances", filter]);
        // A filter that let through what it should not: an instance of someone else's, one without a build id, a terminated one.
        return [instance("i-1", build, "stopped"), instance("i-2", { "cws:build-id": "b1" }), instance("i-3", MANAGED), instance("i-4", build, "terminated")];
      },
      describeSecurityGroups: async (filter) => {
        asked.push(["groups", filter]);
        return [{ groupId: "sg-1", name: "cws-build-b1", vpcId: "vpc-1", tags: build }, { groupId: "sg-2", name: "web", vpcId: "vpc-1", tags: { "cws:build-id": "b1", "cws:managed-by": "someone" } }] satisfies SecurityGroupInfo[];
      },
      describeImages: async (filter) => {
        asked.push(["images", filter]);
        // The same answer to both image calls: only what each asked for is taken, once.
        return [
          image("ami-1", build),
          image("ami-2", { ...build, "cws:copied-from": "us-east-1/ami-0" }, "failed"),
          image("ami-3", build, "available"),
          image("ami-4", { ...build, "cws:validated": "pending" }, "available"),
          image("ami-5", { ...build, "cws:validated": "true" }, "available"),
        ];
      },
    });
    const found = await findLeftovers(ec2);
    expect(asked).toEqual([
      ["instances", { tags: MANAGED, states: ["pending", "running", "stopping", "stopped", "shutting-down"] }],
      ["groups", { tags: MANAGED }],
      ["images", { owners: ["self"], states: ["pending", "failed", "error", "invalid"], tags: MANAGED }],
      ["images", { owners: ["self"], states: ["available"], tags: { ...MANAGED, "cws:validated": "pending" } }],
    ]);
    expect(found).toEqual<Leftover[]>([
      { region: "eu-west-1", kind: "instance", id: "i-1", buildId: "b1", template: "r-research", state: "stopped", created: "2026-11-28T08:31:00.000Z", copy: false, snapshotIds: [], sizeGb: undefined },
      { region: "eu-west-1", kind: "security-group", id: "sg-1", buildId: "b1", template: "r-research", state: undefined, created: undefined, copy: false, snapshotIds: [], sizeGb: undefined },
      { region: "eu-west-1", kind: "image", id: "ami-1", buildId: "b1", template: "r-research", state: "pending", created: "2026-11-28T08:50:00.000Z", copy: false, snapshotIds: ["snap-ami-1"], sizeGb: 30 },
      { region: "eu-west-1", kind: "image", id: "ami-2", buildId: "b1", template: "r-research", state: "failed", created: "2026-11-28T08:50:00.000Z", copy: true, snapshotIds: ["snap-ami-2"], sizeGb: 30 },
      // Available, but its build stopped while testing it on a fresh instance: never judged.
      { region: "eu-west-1", kind: "image", id: "ami-4", buildId: "b1", template: "r-research", state: "available", created: "2026-11-28T08:50:00.000Z", copy: false, snapshotIds: ["snap-ami-4"], sizeGb: 30 },
    ]);
  });

  it("reads tags as own keys: a tag named like an inherited property is only a tag", async () => {
    const ec2 = ec2PortWith("us-east-1", {
      describeInstances: async () => [instance("i-1", { ...MANAGED, "cws:build-id": "constructor" }), instance("i-2", Object.assign(Object.create({ "cws:build-id": "inherited" }) as Record<string, string>, MANAGED))],
      describeSecurityGroups: async () => [],
      describeImages: async () => [],
    });
    expect((await findLeftovers(ec2)).map((l) => `${l.id} ${l.buildId}`)).toEqual(["i-1 constructor"]);
  });
});

describe("a security group a killed cws ami bootstrap left (its dry-run launch's, src/bootstrap/probe.ts)", () => {
  // Tagged as bootstrap tags it: no template, a build id marked as bootstrap's.
  const buildId = bootstrapBuildId(new Date("2026-11-28T09:00:00Z"), () => 0.5);
  const tags = { Name: `cws-${buildId}`, ...MANAGED, "cws:build-id": buildId, "cws:purpose": "bootstrap" };
  const ec2 = ec2PortWith("us-east-1", {
    describeInstances: async () => [],
    describeSecurityGroups: async () => [{ groupId: "sg-boot", name: `cws-${buildId}`, vpcId: "vpc-1", tags }],
    describeImages: async () => [],
  });
  const plan = async (now: string) =>
    planReap(await findLeftovers(ec2), { now: new Date(now), olderThanMs: 2 * 3_600_000, host: "laptop", owners: new Map(), processes: undefined });

  it("is found, dated by its id (EC2 gives a group no date), and reaped once older than --older-than", async () => {
    expect(buildId).toBe("bootstrap-20261128t090000z-7fffff");
    const [old, ...more] = await plan("2026-11-28T12:00:00Z");
    expect(more).toEqual([]);
    expect(old).toMatchObject({ leftover: { kind: "security-group", id: "sg-boot", buildId, template: undefined }, action: "reap", ageMs: 3 * 3_600_000 });
    // Younger: it may be a bootstrap still waiting for EC2.
    expect((await plan("2026-11-28T09:30:00Z"))[0]).toMatchObject({ action: "keep", reason: { kind: "younger" } });
  });
});

/** A decision as the plan makes it, for a leftover of build `buildId`. */
function decision(kind: Leftover["kind"], id: string, action: "reap" | "keep", extra: Partial<Leftover> = {}): ReapDecision {
  const leftover: Leftover = { region: "us-east-1", kind, id, buildId: "b1", template: "t", state: undefined, created: undefined, copy: false, snapshotIds: [], sizeGb: undefined, ...extra };
  return { leftover, action, reason: action === "reap" ? { kind: "owner-gone", pid: 1, reused: false } : { kind: "owner-running", pid: 1 }, ageMs: 0, futureStart: undefined, why: "" };
}

/** An account whose calls are logged in order; terminations take effect after `terminateAfter` looks. */
function account(region: string, options: { fail?: Record<string, string>; terminateAfter?: number } = {}) {
  const calls: string[] = [];
  const looks = new Map<string, number>();
  const failing = (what: string) => {
    const code = options.fail?.[what];
    if (code) throw new AwsCallError(code, what.split(" ")[0]!, "refused by the test");
  };
  const ec2 = ec2PortWith(region, {
    terminateInstance: async (id) => {
      calls.push(`TerminateInstances ${id}`);
      failing(`TerminateInstances ${id}`);
    },
    describeInstance: async (id) => {
      const seen = (looks.get(id) ?? 0) + 1;
      looks.set(id, seen);
      calls.push(`DescribeInstances ${id}`);
      return instance(id, {}, seen > (options.terminateAfter ?? 0) ? "terminated" : "shutting-down");
    },
    describeImages: async ({ imageIds }) => (imageIds ?? []).map((id) => image(id, {})),
    deregisterImage: async (id) => {
      calls.push(`DeregisterImage ${id}`);
      failing(`DeregisterImage ${id}`);
    },
    deleteSnapshot: async (id) => {
      calls.push(`DeleteSnapshot ${id}`);
    },
    deleteSecurityGroup: async (id) => {
      calls.push(`DeleteSecurityGroup ${id}`);
      failing(`DeleteSecurityGroup ${id}`);
    },
  });
  return { ec2, calls };
}

describe("applyReap", () => {
  it("terminates, removes images with their snapshots, waits for the instances, then deletes the groups; leaves kept ones alone", async () => {
    const { ec2, calls } = account("us-east-1", { terminateAfter: 2 });
    const decisions = [
      decision("security-group", "sg-1", "reap"),
      decision("image", "ami-1", "reap", { snapshotIds: ["snap-1", "snap-2"] }),
      decision("instance", "i-1", "reap"),
      decision("instance", "i-9", "keep", { buildId: "b9" }),
      decision("security-group", "sg-9", "keep", { buildId: "b9" }),
    ];
    const progress: string[] = [];
    const outcomes = await applyReap(decisions, { ec2: () => ec2, poll: FAST_POLL, signal: new AbortController().signal, progress: (line) => progress.push(line) });
    expect(calls).toEqual([
      "TerminateInstances i-1",
      "DeregisterImage ami-1",
      "DeleteSnapshot snap-1",
      "DeleteSnapshot snap-2",
      // Shutting down twice, then terminated: only then may the group go.
      "DescribeInstances i-1",
      "DescribeInstances i-1",
      "DescribeInstances i-1",
      "DeleteSecurityGroup sg-1",
    ]);
    expect(outcomes.map((o) => [o.decision.leftover.id, o.result])).toEqual([
      ["sg-1", { status: "removed", snapshotIds: [] }],
      ["ami-1", { status: "removed", snapshotIds: ["snap-1", "snap-2"] }],
      ["i-1", { status: "removed", snapshotIds: [] }],
      ["i-9", undefined],
      ["sg-9", undefined],
    ]);
    expect(progress).toContain("us-east-1: instance i-1 terminated");
  });

  it("goes on after a failure, and does not try the group of a build whose instance was not terminated", async () => {
    const { ec2, calls } = account("us-east-1", { fail: { "TerminateInstances i-1": "UnauthorizedOperation", "DeregisterImage ami-1": "InvalidAMIID.Unavailable" } });
    const decisions = [
      decision("instance", "i-1", "reap"),
      decision("security-group", "sg-1", "reap"),
      decision("image", "ami-1", "reap"),
      decision("instance", "i-2", "reap", { buildId: "b2" }),
      decision("security-group", "sg-2", "reap", { buildId: "b2" }),
      decision("image", "ami-2", "reap", { buildId: "b2", snapshotIds: ["snap-2"] }),
    ];
    const outcomes = await applyReap(decisions, { ec2: () => ec2, poll: FAST_POLL, signal: new AbortController().signal });
    expect(outcomes.map((o) => [o.decision.leftover.id, o.result?.status])).toEqual([
      ["i-1", "failed"],
      ["sg-1", "not-attempted"],
      // An image that is already going is as good as gone (the build's own cleanup counts it so).
      ["ami-1", "removed"],
      ["i-2", "removed"],
      ["sg-2", "removed"],
      ["ami-2", "removed"],
    ]);
    expect(outcomes[0]?.result).toEqual({ status: "failed", error: "TerminateInstances: UnauthorizedOperation: refused by the test" });
    expect(outcomes[1]?.result).toEqual({ status: "not-attempted", why: "its build's instance i-1 was not terminated" });
    expect(calls).not.toContain("DeleteSecurityGroup sg-1");
  });

  it("reports a group EC2 refuses to delete, and reaps each region with its own port", async () => {
    const east = account("us-east-1", { fail: { "DeleteSecurityGroup sg-1": "UnauthorizedOperation" } });
    const west = account("eu-west-1");
    const decisions = [decision("security-group", "sg-1", "reap"), decision("security-group", "sg-2", "reap", { region: "eu-west-1" })];
    const outcomes = await applyReap(decisions, { ec2: (region) => (region === "eu-west-1" ? west.ec2 : east.ec2), poll: FAST_POLL, signal: new AbortController().signal });
    expect(outcomes.map((o) => o.result?.status)).toEqual(["failed", "removed"]);
    expect(east.calls).toEqual(["DeleteSecurityGroup sg-1"]);
    expect(west.calls).toEqual(["DeleteSecurityGroup sg-2"]);
  });

  it("starts nothing more once interrupted, and says what it did not do", async () => {
    const controller = new AbortController();
    const { ec2, calls } = account("us-east-1", { terminateAfter: 1_000 });
    const decisions = [decision("instance", "i-1", "reap"), decision("security-group", "sg-1", "reap"), decision("image", "ami-1", "reap")];
    const outcome = applyReap(decisions, { ec2: () => ec2, poll: { overrideMs: 5 }, signal: controller.signal, progress: (line) => line.includes("deregistering") && setTimeout(() => controller.abort(), 20) });
    const outcomes = await outcome;
    expect(outcomes.map((o) => [o.decision.leftover.id, o.result])).toEqual([
      ["i-1", { status: "not-attempted", why: "interrupted" }],
      ["sg-1", { status: "not-attempted", why: "interrupted" }],
      ["ami-1", { status: "removed", snapshotIds: ["snap-ami-1"] }],
    ]);
    expect(calls.filter((c) => !c.startsWith("DescribeInstances"))).toEqual(["TerminateInstances i-1", "DeregisterImage ami-1", "DeleteSnapshot snap-ami-1"]);
  });
});
