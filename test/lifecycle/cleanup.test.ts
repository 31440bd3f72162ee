import { describe, expect, it } from "vitest";
import { AwsCallError, type AwsPorts, type Ec2Port, type ImageInfo, type InstanceInfo, type LaunchTemplateImage, type SnapshotInfo, type SsmPort } from "../../src/aws/ports.js";
import { checkConfirmable, confirmChanges } from "../../src/cli/confirm.js";
import type { PromptAnswer } from "../../src/cli/io.js";
import { CwsError } from "../../src/errors.js";
import { SHIPPED_PRICES } from "../../src/fleet/prices.js";
import { applyCleanup, gatherCleanupFacts } from "../../src/lifecycle/cleanup.js";
import { deprecationTime, imageKey, planCleanup, type CleanupScope } from "../../src/lifecycle/cleanup-plan.js";
import { ec2PortWith } from "../builder/fake-build.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * Gathering the facts (what is asked of AWS, and only where it matters) and
 * acting on a plan (each image with every snapshot, failures, Ctrl-C,
 * deprecation, orphans), against fake ports that log every call.
 */

const NOW = new Date("2026-12-01T00:00:00Z");
const DAY = 86_400_000;
const E1 = "us-east-1";
const W2 = "us-west-2";
const ami = (n: number) => `ami-${n.toString(16).padStart(8, "0")}`;

function image(n: number, age: number, extra: Partial<ImageInfo> = {}): ImageInfo {
  return {
    imageId: ami(n),
    name: `img-${n}`,
    architecture: "x86_64",
    state: "available",
    creationDate: new Date(NOW.getTime() - age * DAY).toISOString(),
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [`snap-${n}a`, `snap-${n}b`],
    tags: { "cws:managed-by": "cws", "cws:template": "t", "cws:arch": "x86_64" },
    ...extra,
  };
}

interface RegionFake {
  images?: ImageInfo[];
  /** Images of the account without cws's tags (a person's own copy). */
  otherImages?: ImageInfo[];
  snapshots?: SnapshotInfo[];
  instances?: InstanceInfo[];
  launchTemplates?: LaunchTemplateImage[];
  parameters?: Record<string, string | Error>;
  fail?: Partial<Record<"deregister" | "deleteSnapshot" | "deprecate", Record<string, Error>>>;
}

/** Fake AWS over some regions: every call logged as "region Action detail". */
function fakeAws(regions: Record<string, RegionFake>, options: { onCall?: (call: string) => void } = {}) {
  const calls: string[] = [];
  const log = (call: string) => {
    calls.push(call);
    options.onCall?.(call);
  };
  const ec2 = (region: string): Ec2Port => {
    const r = regions[region] ?? {};
    return ec2PortWith(region, {
      async describeImages(filter) {
        log(`${region} DescribeImages ${JSON.stringify(filter.tags ?? filter.imageIds ?? filter.anyOfImageIds ?? { states: filter.states })}`);
        return [...(r.images ?? []), ...(r.otherImages ?? [])].filter(
          (i) =>
            (!filter.imageIds || filter.imageIds.includes(i.imageId)) &&
            (!filter.anyOfImageIds || filter.anyOfImageIds.includes(i.imageId)) &&
            (!filter.states || filter.states.includes(i.state)) &&
            Object.entries(filter.tags ?? {}).every(([key, value]) => i.tags[key] === value),
        );
      },
      async describeSnapshots() {
        log(`${region} DescribeSnapshots`);
        return r.snapshots ?? [];
      },
      async describeInstances(filter) {
        log(`${region} DescribeInstances ${(filter.imageIds ?? []).join(",")} ${(filter.states ?? []).join(",")}`);
        return (r.instances ?? []).filter((i) => i.imageId !== undefined && filter.imageIds?.includes(i.imageId));
      },
      async launchTemplateImages() {
        log(`${region} DescribeLaunchTemplates`);
        return r.launchTemplates ?? [];
      },
      async deregisterImage(id) {
        log(`${region} DeregisterImage ${id}`);
        const error = r.fail?.deregister?.[id];
        if (error) throw error;
      },
      async deleteSnapshot(id) {
        log(`${region} DeleteSnapshot ${id}`);
        const error = r.fail?.deleteSnapshot?.[id];
        if (error) throw error;
      },
      async enableImageDeprecation(id, at) {
        log(`${region} EnableImageDeprecation ${id} ${at.toISOString()}`);
        const error = r.fail?.deprecate?.[id];
        if (error) throw error;
      },
    });
  };
  const ssm = (region: string): SsmPort =>
    ({
      region,
      async getParameter(name: string) {
        log(`${region} GetParameter ${name}`);
        const value = regions[region]?.parameters?.[name];
        if (value instanceof Error) throw value;
        return value;
      },
    }) as unknown as SsmPort;
  const aws: AwsPorts = { ec2, ssm, sts: () => ({ callerIdentity: async () => ({ account: "1", arn: "a" }) }), iam: () => ({}) as never };
  return { aws, calls };
}

function scope(keepLatest: number, extra: Partial<CleanupScope> = {}): CleanupScope {
  return { keepLatest, deprecate: false, now: NOW, ...extra };
}

const denied = (action: string) => new AwsCallError("AccessDeniedException", action, "not authorized to perform ssm:GetParameter", 400);

const PENDING_LISTING = `DescribeImages {"states":["pending"]}`;

describe("gatherCleanupFacts", () => {
  it("reads every region's images and pending images, the changeable regions' snapshots, and asks about usage for every image shown, where it is", async () => {
    const { aws, calls } = fakeAws({
      [E1]: { images: [image(1, 1), image(2, 2), image(3, 3)], instances: [{ instanceId: "i-1", imageId: ami(2), state: "stopped", stateReason: undefined, instanceType: "t3.micro", subnetId: undefined, availabilityZone: undefined, tags: {} }] },
      [W2]: { images: [image(9, 1)] },
    });
    const facts = await gatherCleanupFacts({ aws, regions: [E1, W2], registry: undefined, scope: scope(1), prices: SHIPPED_PRICES });
    expect(calls.sort()).toEqual(
      [
        `${E1} DescribeImages {"cws:managed-by":"cws"}`,
        `${W2} DescribeImages {"cws:managed-by":"cws"}`,
        `${E1} ${PENDING_LISTING}`,
        `${W2} ${PENDING_LISTING}`,
        `${E1} DescribeSnapshots`,
        `${W2} DescribeSnapshots`,
        // Every image the plan shows, kept or not: its WHY lists every reason that holds.
        `${E1} DescribeInstances ${ami(1)},${ami(2)},${ami(3)} pending,running,shutting-down,stopping,stopped`,
        `${E1} DescribeLaunchTemplates`,
        `${W2} DescribeInstances ${ami(9)} pending,running,shutting-down,stopping,stopped`,
        `${W2} DescribeLaunchTemplates`,
      ].sort(),
    );
    expect(facts.usage.instances.get(imageKey(E1, ami(2)))).toEqual([{ instanceId: "i-1", state: "stopped" }]);
    const plan = planCleanup(facts, undefined, scope(1), SHIPPED_PRICES);
    expect(plan.images.filter((i) => i.action === "delete").map((i) => i.imageId)).toEqual([ami(3)]);
  });

  it("reads no snapshots with --deprecate, and only --region's regions' snapshots, while every region's images protect", async () => {
    const { aws, calls } = fakeAws({ [E1]: { images: [image(1, 1)] }, [W2]: { images: [image(2, 1)] } });
    await gatherCleanupFacts({ aws, regions: [E1, W2], registry: undefined, scope: scope(1, { deprecate: true }), prices: SHIPPED_PRICES });
    expect(calls.filter((c) => c.includes("DescribeSnapshots"))).toEqual([]);
    calls.length = 0;
    await gatherCleanupFacts({ aws, regions: [E1, W2], registry: undefined, scope: scope(1, { regions: [W2] }), prices: SHIPPED_PRICES });
    expect(calls.filter((c) => c.includes("Describe") && !c.includes("DescribeInstances") && !c.includes("DescribeLaunchTemplates")).sort()).toEqual([
      `${E1} DescribeImages {"cws:managed-by":"cws"}`,
      `${E1} ${PENDING_LISTING}`,
      `${W2} DescribeImages {"cws:managed-by":"cws"}`,
      `${W2} ${PENDING_LISTING}`,
      `${W2} DescribeSnapshots`,
    ]);
    // Usage is asked only where images are shown: --region's regions.
    expect(calls.filter((c) => c.includes("DescribeInstances") || c.includes("DescribeLaunchTemplates")).every((c) => c.startsWith(W2))).toBe(true);
  });

  it("finds the source of a copy made without cws's tags among the account's pending images, in every region looked at", async () => {
    const copy = image(8, 0, { state: "pending", tags: { team: "web" }, source: { imageId: ami(2), region: E1 } });
    const { aws } = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2)] }, [W2]: { otherImages: [copy] } });
    const facts = await gatherCleanupFacts({ aws, regions: [E1, W2], registry: undefined, scope: scope(1, { regions: [E1] }), prices: SHIPPED_PRICES });
    expect(facts.images.map((i) => i.image.imageId)).toEqual([ami(1), ami(2)]);
    expect(facts.pendingImages).toEqual([{ region: W2, image: copy }]);
    const plan = planCleanup(facts, undefined, scope(1, { regions: [E1] }), SHIPPED_PRICES);
    expect(plan.images.find((i) => i.imageId === ami(2))).toMatchObject({ action: "keep", reasons: [{ kind: "copy-source", copies: [imageKey(W2, ami(8))] }] });
  });

  it("asks by id about history AMIs that are not among the cws images (of entries whose current AMI is), and counts as gone only those EC2 does not know", async () => {
    const registry = registryWith({
      t: {
        [E1]: { x86_64: { ...record(ami(1), "2026-11-30T00:00:00Z"), history: [record(ami(5), "2026-11-20T00:00:00Z"), record(ami(6), "2026-11-19T00:00:00Z"), record(ami(2), "2026-11-29T00:00:00Z")] } },
        // Another account's registry entry (its current AMI is not this account's): nothing about it is asked.
        [W2]: { x86_64: { ...record(ami(30), "2026-11-30T00:00:00Z"), history: [record(ami(31), "2026-11-20T00:00:00Z")] } },
      },
    });
    // ami 6 exists but lost its cws tags; ami 5 is gone.
    const { aws, calls } = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2)], otherImages: [image(6, 12, { tags: {} })] }, [W2]: {} });
    const facts = await gatherCleanupFacts({ aws, regions: [E1, W2], registry, scope: scope(1), prices: SHIPPED_PRICES });
    expect(calls.filter((c) => c.includes(ami(5)))).toEqual([`${E1} DescribeImages ${JSON.stringify([ami(5), ami(6)])}`]);
    expect(facts.goneFromHistory).toEqual(new Map([[E1, new Set([ami(5)])]]));
    // With --deprecate the registry is not written: nothing is asked.
    calls.length = 0;
    await gatherCleanupFacts({ aws, regions: [E1, W2], registry, scope: scope(1, { deprecate: true }), prices: SHIPPED_PRICES });
    expect(calls.some((c) => c.includes(ami(5)))).toBe(false);
  });

  it("resolves a launch template's resolve:ssm: image through SSM once per parameter, and says which could not be read and why", async () => {
    const versions: LaunchTemplateImage[] = [
      { launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 1, imageId: ami(2) },
      { launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 2, imageId: "resolve:ssm:/web/ami" },
      { launchTemplateId: "lt-2", launchTemplateName: "batch", versionNumber: 1, imageId: "resolve:ssm:/web/ami" },
      { launchTemplateId: "lt-3", launchTemplateName: "gone", versionNumber: 4, imageId: "resolve:ssm:/nothing" },
      { launchTemplateId: "lt-4", launchTemplateName: "secret", versionNumber: 1, imageId: "resolve:ssm:/private/ami" },
      { launchTemplateId: "lt-5", launchTemplateName: "odd", versionNumber: 1, imageId: "resolve:ssm:/not-an-ami" },
      { launchTemplateId: "lt-6", launchTemplateName: "none", versionNumber: 1, imageId: undefined },
    ];
    const { aws, calls } = fakeAws({
      [E1]: {
        images: [image(1, 1), image(2, 2), image(3, 3), image(4, 4)],
        launchTemplates: versions,
        parameters: { "/web/ami": ami(3), "/private/ami": denied("GetParameter"), "/not-an-ami": "hello" },
      },
    });
    const facts = await gatherCleanupFacts({ aws, regions: [E1], registry: undefined, scope: scope(1), prices: SHIPPED_PRICES });
    expect(calls.filter((c) => c.includes("GetParameter")).sort()).toEqual([`${E1} GetParameter /not-an-ami`, `${E1} GetParameter /nothing`, `${E1} GetParameter /private/ami`, `${E1} GetParameter /web/ami`]);
    expect(facts.usage.launchTemplates.get(imageKey(E1, ami(2)))).toEqual([{ launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 1 }]);
    expect(facts.usage.launchTemplates.get(imageKey(E1, ami(3)))).toEqual([
      { launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 2, parameter: "/web/ami" },
      { launchTemplateId: "lt-2", launchTemplateName: "batch", versionNumber: 1, parameter: "/web/ami" },
    ]);
    expect(facts.unresolved.map((u) => `${u.launchTemplateName} ${u.parameter}: ${u.problem}`)).toEqual([
      "gone /nothing: no such parameter",
      "secret /private/ami: AccessDeniedException: not authorized to perform ssm:GetParameter",
      'odd /not-an-ami: its value "hello" is not an AMI id',
    ]);
    expect(planCleanup(facts, undefined, scope(1), SHIPPED_PRICES).images.filter((i) => i.action === "delete").map((i) => i.imageId)).toEqual([ami(4)]);
  });

  it("shows every reason that holds for a kept image: usage is asked about images that would stay anyway (--older-than, the newest)", async () => {
    const instance = (id: string, imageId: string): InstanceInfo => ({ instanceId: id, imageId, state: "running", stateReason: undefined, instanceType: "t3.micro", subnetId: undefined, availabilityZone: undefined, tags: {} });
    const { aws } = fakeAws({
      [E1]: {
        images: [image(1, 1), image(2, 2)],
        instances: [instance("i-1", ami(2))],
        launchTemplates: [{ launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 1, imageId: ami(1) }],
      },
    });
    const s = scope(1, { olderThanMs: 30 * DAY });
    const plan = planCleanup(await gatherCleanupFacts({ aws, regions: [E1], registry: undefined, scope: s, prices: SHIPPED_PRICES }), undefined, s, SHIPPED_PRICES);
    expect(plan.images.map((i) => i.reasons.map((r) => r.kind))).toEqual([
      ["newest", "launch-templates", "younger"],
      ["instances", "younger"],
    ]);
  });
});

describe("applyCleanup", () => {
  async function planFor(fake: ReturnType<typeof fakeAws>, regions: string[], s: CleanupScope) {
    const facts = await gatherCleanupFacts({ aws: fake.aws, regions, registry: undefined, scope: s, prices: SHIPPED_PRICES });
    fake.calls.length = 0;
    return planCleanup(facts, undefined, s, SHIPPED_PRICES);
  }

  it("deregisters each image, then deletes every one of its snapshots (known from the plan, not asked again), then the orphans", async () => {
    const orphan: SnapshotInfo = { snapshotId: "snap-orphan", state: "completed", startTime: NOW.toISOString(), volumeSizeGb: 8, tags: { "cws:managed-by": "cws" } };
    const fake = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2), image(3, 3)], snapshots: [orphan] } });
    const plan = await planFor(fake, [E1], scope(1));
    const outcome = await applyCleanup(plan, { aws: fake.aws, now: NOW });
    expect(fake.calls).toEqual([
      `${E1} DeregisterImage ${ami(2)}`,
      `${E1} DeleteSnapshot snap-2a`,
      `${E1} DeleteSnapshot snap-2b`,
      `${E1} DeregisterImage ${ami(3)}`,
      `${E1} DeleteSnapshot snap-3a`,
      `${E1} DeleteSnapshot snap-3b`,
      `${E1} DeleteSnapshot snap-orphan`,
    ]);
    expect(outcome).toEqual({
      interrupted: false,
      events: [
        { kind: "deleted", region: E1, imageId: ami(2), snapshotIds: ["snap-2a", "snap-2b"], snapshotsLeft: [] },
        { kind: "deleted", region: E1, imageId: ami(3), snapshotIds: ["snap-3a", "snap-3b"], snapshotsLeft: [] },
        { kind: "snapshot-deleted", region: E1, snapshotId: "snap-orphan" },
      ],
    });
  });

  it("reports a failure and goes on; counts an image or snapshot already gone as done, and an orphan EC2 says is in use as kept", async () => {
    const orphans: SnapshotInfo[] = ["snap-gone", "snap-used", "snap-denied"].map((snapshotId) => ({ snapshotId, state: "completed", startTime: NOW.toISOString(), volumeSizeGb: 8, tags: {} }));
    const fake = fakeAws({
      [E1]: {
        images: [image(1, 1), image(2, 2), image(3, 3), image(4, 4)],
        snapshots: orphans,
        fail: {
          deregister: { [ami(2)]: new AwsCallError("UnauthorizedOperation", "DeregisterImage", "no", 403), [ami(3)]: new AwsCallError("InvalidAMIID.NotFound", "DeregisterImage", "gone", 400) },
          deleteSnapshot: {
            "snap-gone": new AwsCallError("InvalidSnapshot.NotFound", "DeleteSnapshot", "gone", 400),
            "snap-used": new AwsCallError("InvalidSnapshot.InUse", "DeleteSnapshot", "in use", 400),
            "snap-denied": new AwsCallError("UnauthorizedOperation", "DeleteSnapshot", "no", 403),
          },
        },
      },
    });
    const outcome = await applyCleanup(await planFor(fake, [E1], scope(1)), { aws: fake.aws, now: NOW });
    expect(outcome.events.map((e) => `${e.kind} ${"imageId" in e ? e.imageId : "snapshotId" in e ? e.snapshotId : e.id}`)).toEqual([
      `failed ${ami(2)}`,
      `deleted ${ami(3)}`,
      `deleted ${ami(4)}`,
      "failed snap-denied",
      "snapshot-deleted snap-gone",
      "snapshot-in-use snap-used",
    ]);
    // The image whose deregistration failed keeps its snapshots.
    expect(fake.calls).not.toContain(`${E1} DeleteSnapshot snap-2a`);
  });

  it("a snapshot EC2 refuses after the image is deregistered: the image counts as deregistered, its other snapshots are still deleted, and the one left is named", async () => {
    const refused = new AwsCallError("UnauthorizedOperation", "DeleteSnapshot", "not authorized", 403);
    const fake = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2)], fail: { deleteSnapshot: { "snap-2a": refused } } } });
    const outcome = await applyCleanup(await planFor(fake, [E1], scope(1)), { aws: fake.aws, now: NOW });
    expect(fake.calls).toEqual([`${E1} DeregisterImage ${ami(2)}`, `${E1} DeleteSnapshot snap-2a`, `${E1} DeleteSnapshot snap-2b`]);
    expect(outcome.events).toEqual([{ kind: "deleted", region: E1, imageId: ami(2), snapshotIds: ["snap-2b"], snapshotsLeft: [{ snapshotId: "snap-2a", error: refused }] }]);
  });

  it("stops each region after the image under way on Ctrl-C, never between an image and its snapshots", async () => {
    const controller = new AbortController();
    const fake = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2), image(3, 3), image(4, 4)] } }, { onCall: (call) => call.endsWith(`DeregisterImage ${ami(2)}`) && controller.abort() });
    const plan = await planFor(fake, [E1], scope(1));
    const outcome = await applyCleanup(plan, { aws: fake.aws, now: NOW, signal: controller.signal });
    expect(outcome.interrupted).toBe(true);
    expect(fake.calls).toEqual([`${E1} DeregisterImage ${ami(2)}`, `${E1} DeleteSnapshot snap-2a`, `${E1} DeleteSnapshot snap-2b`]);
  });

  it("a signal during the last image is an interruption all the same, though nothing was left to do after it", async () => {
    const controller = new AbortController();
    const fake = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2)] } }, { onCall: (call) => call.endsWith(`DeleteSnapshot snap-2b`) && controller.abort() });
    const outcome = await applyCleanup(await planFor(fake, [E1], scope(1)), { aws: fake.aws, now: NOW, signal: controller.signal });
    expect(outcome.events.map((e) => e.kind)).toEqual(["deleted"]);
    expect(outcome.interrupted).toBe(true);
  });

  it("deprecates from the next whole minute plus one, in every region at once, and deletes nothing", async () => {
    const fake = fakeAws({ [E1]: { images: [image(1, 1), image(2, 2)] }, [W2]: { images: [image(5, 1), image(6, 2)] } });
    const now = new Date("2026-12-01T10:20:30.500Z");
    const plan = await planFor(fake, [E1, W2], scope(1, { deprecate: true, now }));
    await applyCleanup(plan, { aws: fake.aws, now });
    expect(deprecationTime(now).toISOString()).toBe("2026-12-01T10:22:00.000Z");
    expect(fake.calls.sort()).toEqual([`${E1} EnableImageDeprecation ${ami(2)} 2026-12-01T10:22:00.000Z`, `${W2} EnableImageDeprecation ${ami(6)} 2026-12-01T10:22:00.000Z`]);
  });
});

describe("confirmChanges", () => {
  const prompt = (answer: string | "end-of-input" | "interrupted", interactive = true) => {
    const asked: string[] = [];
    const answered: PromptAnswer = answer === "end-of-input" || answer === "interrupted" ? { kind: answer } : { kind: "line", text: answer };
    return { asked, io: { prompt: { interactive, ask: async (question: string) => (asked.push(question), answered) } } };
  };
  const options = { yes: false, question: "Delete?", command: "cws ami cleanup" };

  it("goes ahead with --yes without asking, terminal or not", async () => {
    const { io, asked } = prompt("n");
    expect(await confirmChanges(io, { ...options, yes: true })).toBe("yes");
    expect(await confirmChanges({}, { ...options, yes: true })).toBe("yes");
    expect(asked).toEqual([]);
  });

  it("asks y/N on a terminal: y or yes (any case) is yes; anything else, or no answer (end of input, Ctrl-D), no; Ctrl-C interrupted", async () => {
    for (const [answer, expected] of [["y", "yes"], ["Y", "yes"], ["YES", "yes"], [" yes ", "yes"], ["", "no"], ["n", "no"], ["yep", "no"], ["end-of-input", "no"], ["interrupted", "interrupted"]] as const) {
      const { io, asked } = prompt(answer);
      expect(await confirmChanges(io, options), String(answer)).toBe(expected);
      expect(asked).toEqual(["Delete? [y/N] "]);
    }
  });

  it("without a terminal (or any prompt) stops with exit 2, saying nothing was changed", async () => {
    for (const io of [prompt("y", false).io, {}]) {
      const error = await confirmChanges(io, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CwsError);
      expect(error).toMatchObject({ code: "CONFIRMATION_REQUIRED", exitCode: 2 });
      expect((error as CwsError).message).toContain("nothing was changed");
    }
  });
});

describe("checkConfirmable (reap's check before it reads anything)", () => {
  it("passes with --yes, --dry-run or a terminal, and otherwise stops with exit 2 before anything is asked of AWS", () => {
    const yes = async (): Promise<PromptAnswer> => ({ kind: "line", text: "y" });
    const terminal = { prompt: { interactive: true, ask: yes } };
    const pipe = { prompt: { interactive: false, ask: yes } };
    expect(() => checkConfirmable(pipe, { yes: true, command: "cws ami reap" })).not.toThrow();
    expect(() => checkConfirmable(pipe, { dryRun: true, command: "cws ami reap" })).not.toThrow();
    expect(() => checkConfirmable(terminal, { command: "cws ami reap" })).not.toThrow();
    for (const io of [pipe, {}]) {
      const error = (() => {
        try {
          checkConfirmable(io, { command: "cws ami reap" });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toMatchObject({ code: "CONFIRMATION_REQUIRED", exitCode: 2 });
      expect((error as CwsError).suggestion).toContain("cws ami reap --dry-run");
    }
  });
});
