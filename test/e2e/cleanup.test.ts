import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CopyImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { Emulator } from "@cws/aws-emulator";
import { afterEach, describe, expect, it } from "vitest";
import type { AmiRecord } from "../../src/registry/schema.js";
import { runOnTerminal } from "../helpers/terminal.js";
import { record, registryWith } from "../registry/fixtures.js";
import { FLEET_REGIONS, HOME, registryEntry, startFleetHarness } from "./fleet-harness.js";
import { startHarness, type Harness } from "./harness.js";

/**
 * `cws ami cleanup` end to end: the built CLI against the emulator, with
 * images made as a build would have tagged them (the emulator's addImage, so
 * that they can be old, and many).
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const E1 = "us-east-1";
const W2 = "us-west-2";
const DAY = 86_400_000;
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

function clients(h: Harness, region = E1) {
  return { ec2: new EC2Client({ endpoint: h.emulator.url, region, credentials }), ssm: new SSMClient({ endpoint: h.emulator.url, region, credentials }) };
}

/** An image as a cws build tags it, `age` days old. */
function seed(emulator: Emulator, age: number, options: { region?: string; template?: string; arch?: "x86_64" | "arm64"; sizeGb?: number; snapshots?: number; tags?: Record<string, string> } = {}) {
  const template = options.template ?? "emu-basic";
  const arch = options.arch ?? "x86_64";
  const created = new Date(Date.now() - age * DAY);
  const name = `cws-${template}-v1.0.0-${arch}-${created.toISOString().replace(/[-:]|\.\d+/g, "")}-${Math.random().toString(16).slice(2, 8)}`;
  const tags = {
    Name: name,
    "cws:template": template,
    "cws:version": "v1.0.0",
    "cws:arch": arch,
    "cws:build-id": `b-${age}`,
    "cws:validated": "true",
    "cws:managed-by": "cws",
    ...options.tags,
  };
  const made = emulator.addImage(options.region ?? E1, { name, architecture: arch, tags, creationDate: created.toISOString(), sizeGb: options.sizeGb ?? 8, snapshots: options.snapshots ?? 1 });
  return { ...made, created: created.toISOString() };
}

function writeRegistry(h: Harness, registry: unknown = registryWith({})) {
  mkdirSync(join(h.dir, "registry"), { recursive: true });
  writeFileSync(join(h.dir, "registry", "amis.json"), `${JSON.stringify(registry, null, 2)}\n`);
}

/** API calls that change something: anything but Describe*, Get* and List*. */
function mutatingCalls(emulator: Emulator): Record<string, number> {
  return Object.fromEntries(Object.entries(emulator.stats.calls).filter(([action]) => !/:(Describe|Get|List)/.test(action)));
}

const cwsImageIds = (h: Harness, region = E1) => h.emulator.images(region).filter((i) => i.tags["cws:managed-by"] === "cws").map((i) => i.id).sort();

/** What DescribeSnapshots says the account has (cws snapshots), and which of them no image names. */
async function snapshotsAndOrphans(h: Harness, region = E1): Promise<{ all: string[]; orphaned: string[] }> {
  const listed = await clients(h, region).ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: [{ Name: "tag:cws:managed-by", Values: ["cws"] }] }));
  const all = (listed.Snapshots ?? []).map((s) => s.SnapshotId!).sort();
  const named = new Set(h.emulator.images(region).flatMap((i) => i.snapshotIds));
  return { all, orphaned: all.filter((id) => !named.has(id)) };
}

interface PlanJson {
  images: { region: string; imageId: string; template: string | null; architecture: string; rank: number | null; action: string; reasons: { kind: string; text: string }[]; snapshotIds: string[] }[];
  orphanedSnapshots: { snapshotId: string }[];
  unresolvedLaunchTemplates: { parameter: string; problem: string }[];
  savedPerMonth: { usd: number; known: boolean };
  historyGone: { templateId: string; amiId: string }[];
  warnings: string[];
  result: {
    deleted: { imageId: string; snapshotIds: string[]; snapshotsLeft: { snapshotId: string; error: string }[] }[];
    snapshotsLeft: { region: string; imageId: string; snapshotId: string; error: string }[];
    registryDropped: { amiId: string }[];
    registryError: { message: string; suggestion: string | null; stillListed: { amiId: string }[] } | null;
    interrupted: boolean;
  } | null;
  exitCode: number;
}

/**
 * A template's images in us-east-1, one kept for each rule: the newest two, an
 * older one current in the registry (pinned by a rollback) with two more in
 * its history, one an instance runs from, one a launch template's second
 * version names, one a launch template names through an SSM parameter; and
 * two that nothing keeps. Plus a launch template whose parameter does not exist.
 */
async function fleetOfRules(h: Harness) {
  const e = h.emulator;
  const newest = seed(e, 1);
  const second = seed(e, 2);
  const pinned = seed(e, 50, { snapshots: 2, sizeGb: 30 });
  const history1 = seed(e, 40);
  const history2 = seed(e, 45);
  const running = seed(e, 30);
  const templated = seed(e, 31);
  const viaSsm = seed(e, 32);
  const unused1 = seed(e, 20, { snapshots: 2, sizeGb: 30 });
  const unused2 = seed(e, 60);
  // An arm64 image is another target: the newest of its own.
  const arm = seed(e, 70, { arch: "arm64" });
  writeRegistry(
    h,
    registryWith({
      "emu-basic": {
        [E1]: {
          x86_64: { ...record(pinned.imageId, pinned.created.replace(/\.\d+Z$/, "Z")), pinned: true, history: [record(history1.imageId, history1.created.replace(/\.\d+Z$/, "Z")), record(history2.imageId, history2.created.replace(/\.\d+Z$/, "Z")), record(unused2.imageId, unused2.created.replace(/\.\d+Z$/, "Z"))] } as AmiRecord,
        },
      },
    }),
  );
  const { ec2, ssm } = clients(h);
  await ec2.send(new RunInstancesCommand({ ImageId: running.imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }));
  const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "app", LaunchTemplateData: { ImageId: newest.imageId, InstanceType: "t3.micro" } }));
  await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, LaunchTemplateData: { ImageId: templated.imageId } }));
  await ssm.send(new PutParameterCommand({ Name: "/team/app/ami", Value: viaSsm.imageId, Type: "String" }));
  await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "batch", LaunchTemplateData: { ImageId: "resolve:ssm:/team/app/ami" } }));
  await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "gone", LaunchTemplateData: { ImageId: "resolve:ssm:/team/missing" } }));
  e.stats.reset();
  return { newest, second, pinned, history1, history2, running, templated, viaSsm, unused1, unused2, arm };
}

describe("cws ami cleanup (end to end, emulator)", () => {
  it("keeps N per target, the registry's current (pinned) and history, what an instance or a launch template uses; --dry-run and a missing --yes change nothing; --yes deletes the rest with every snapshot and prunes the history", async () => {
    harness = await startHarness();
    const h = harness;
    const f = await fleetOfRules(h);
    const before = cwsImageIds(h);
    const snapshotsBefore = await snapshotsAndOrphans(h);
    h.emulator.stats.reset();

    // The plan, offline from AWS's point of view: only Describe and Get calls.
    const dry = await h.cws(["ami", "cleanup", "--keep-latest", "2", "--dry-run", "--json"]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(mutatingCalls(h.emulator)).toEqual({});
    const plan = JSON.parse(dry.stdout) as PlanJson;
    const action = (id: string) => plan.images.find((i) => i.imageId === id);
    const kinds = (id: string) => action(id)!.reasons.map((r) => r.kind);
    expect(plan.images.filter((i) => i.action === "delete").map((i) => i.imageId).sort()).toEqual([f.unused1.imageId, f.unused2.imageId].sort());
    expect(kinds(f.newest.imageId)).toEqual(["newest", "launch-templates"]);
    expect(kinds(f.second.imageId)).toEqual(["newest"]);
    expect(kinds(f.pinned.imageId)).toEqual(["registry-current"]);
    expect(action(f.pinned.imageId)!.reasons[0]!.text).toBe("current in the registry, pinned by a rollback");
    expect(kinds(f.history1.imageId)).toEqual(["registry-history"]);
    expect(kinds(f.history2.imageId)).toEqual(["registry-history"]);
    expect(kinds(f.running.imageId)).toEqual(["instances"]);
    expect(kinds(f.templated.imageId)).toEqual(["launch-templates"]);
    expect(action(f.viaSsm.imageId)!.reasons[0]!.text).toMatch(/^named by launch template batch \(lt-[0-9a-f]+\) version 1 through SSM \/team\/app\/ami$/);
    expect(kinds(f.arm.imageId)).toEqual(["newest"]);
    // A row that goes says why, as a reason with its kind and text, like a row that stays.
    expect(action(f.unused1.imageId)!.reasons).toEqual([{ kind: "not-among-newest", rank: expect.any(Number), keepLatest: 2, text: expect.stringMatching(/^\d+(st|nd|rd|th) newest \(the newest 2 stay\); nothing else keeps it$/) }]);
    expect(plan.unresolvedLaunchTemplates).toEqual([expect.objectContaining({ parameter: "/team/missing", problem: "no such parameter" })]);
    expect(plan.savedPerMonth.known).toBe(true);
    expect(plan.savedPerMonth.usd).toBeCloseTo((60 + 8) * 0.05, 10);
    expect(plan.result).toBeNull();

    // The table in words, with every image and why.
    const text = await h.cws(["ami", "cleanup", "--keep-latest", "2", "--dry-run"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("Cleanup plan (dry run: nothing is changed): keep the newest 2 of each template, region and architecture; regions us-east-1, us-west-2");
    expect(text.stdout).toMatch(new RegExp(`${f.unused2.imageId} .* 8 GiB +delete +\\d+th newest \\(the newest 2 stay\\); nothing else keeps it`));
    expect(text.stdout).toMatch(new RegExp(`${f.running.imageId} .* keep +used by instance i-[0-9a-f]+ \\((pending|running)\\)`));
    expect(text.stdout).toContain("Delete 2 images (3 snapshots): saves at most $3.40/month of snapshot storage (shipped price table of");
    // The warning comes before the summary line, which the question follows: read before saying yes.
    expect(text.stdout).toContain("launch template gone (lt-");
    expect(text.stdout.indexOf("launch template gone (lt-")).toBeLessThan(text.stdout.indexOf("Delete 2 images"));
    expect(text.stdout.trimEnd().split("\n").at(-1)).toMatch(/^Delete 2 images/);
    expect(mutatingCalls(h.emulator)).toEqual({});

    // No terminal and no --yes: the plan, then exit 2, nothing changed.
    const refused = await h.cws(["ami", "cleanup", "--keep-latest", "2"]);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toContain("Delete 2 images");
    expect(refused.stderr).toContain("error: cws ami cleanup changes nothing without a yes, and there is no terminal to ask: nothing was changed");
    expect(refused.stderr).toContain("→ read the plan above, then run it again with --yes");
    expect(mutatingCalls(h.emulator)).toEqual({});
    expect(cwsImageIds(h)).toEqual(before);

    // --yes: the two go, with every one of their snapshots; the registry's history loses the one it listed.
    const done = await h.cws(["ami", "cleanup", "--keep-latest", "2", "--yes", "--json"]);
    expect(done.status, done.stderr).toBe(0);
    const result = (JSON.parse(done.stdout) as PlanJson).result!;
    expect(result.deleted.map((d) => d.imageId).sort()).toEqual([f.unused1.imageId, f.unused2.imageId].sort());
    expect(result.deleted.find((d) => d.imageId === f.unused1.imageId)!.snapshotIds.sort()).toEqual([...f.unused1.snapshotIds].sort());
    expect(result.registryDropped.map((d) => d.amiId)).toEqual([f.unused2.imageId]);
    expect(done.stderr).toContain(`deregistered ${f.unused2.imageId}, deleted ${f.unused2.snapshotIds[0]}`);
    expect(result.snapshotsLeft).toEqual([]);
    expect(cwsImageIds(h)).toEqual(before.filter((id) => id !== f.unused1.imageId && id !== f.unused2.imageId));
    const snapshotsAfter = await snapshotsAndOrphans(h);
    expect(snapshotsAfter.orphaned).toEqual([]);
    expect(snapshotsAfter.all).toEqual(snapshotsBefore.all.filter((id) => ![...f.unused1.snapshotIds, ...f.unused2.snapshotIds].includes(id)));
    expect(mutatingCalls(h.emulator)).toEqual({ "ec2:DeregisterImage": 2, "ec2:DeleteSnapshot": 3 });
    const registry = JSON.parse(readFileSync(join(h.dir, "registry", "amis.json"), "utf8")) as { templates: Record<string, { amis: Record<string, Record<string, AmiRecord & { pinned?: boolean; history?: AmiRecord[] }>> }> };
    const entry = registry.templates["emu-basic"]!.amis[E1]!.x86_64!;
    expect(entry).toMatchObject({ ami_id: f.pinned.imageId, pinned: true });
    expect(entry.history!.map((r) => r.ami_id)).toEqual([f.history1.imageId, f.history2.imageId]);

    // Run again: nothing left to do, and nothing is asked.
    const again = await h.cws(["ami", "cleanup", "--keep-latest", "2"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain("Nothing to delete: every image stays.");
  });

  it("deletes the orphaned snapshots a cleanup cut short left, --template and --region narrow what changes, --older-than keeps what is younger", async () => {
    harness = await startHarness();
    const h = harness;
    const e = h.emulator;
    const old = [seed(e, 90), seed(e, 80), seed(e, 10), seed(e, 5)];
    const other = [seed(e, 90, { template: "emu-steps" }), seed(e, 80, { template: "emu-steps" })];
    const west = [seed(e, 90, { region: W2 }), seed(e, 80, { region: W2 })];
    // What a cleanup killed between DeregisterImage and DeleteSnapshot leaves: a deregistered image's snapshots.
    const orphan = seed(e, 100, { snapshots: 2 });
    writeRegistry(h);
    const { ec2 } = clients(h);
    await ec2.send(new DeregisterImageCommand({ ImageId: orphan.imageId }));
    expect((await snapshotsAndOrphans(h)).orphaned.sort()).toEqual([...orphan.snapshotIds].sort());

    // --region may be repeated: each region named is in the plan.
    const both = JSON.parse((await h.cws(["ami", "cleanup", "--keep-latest", "1", "--region", E1, "--region", W2, "--dry-run", "--json"])).stdout) as PlanJson & { regions: string[] };
    expect(both.regions).toEqual([E1, W2]);
    expect(both.images.filter((i) => i.action === "delete").map((i) => i.imageId)).toContain(west[0]!.imageId);

    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--template", "emu-basic", "--region", E1, "--older-than", "30d", "--yes", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as PlanJson;
    expect(doc.images.map((i) => `${i.imageId} ${i.action}`)).toEqual([`${old[3]!.imageId} keep`, `${old[2]!.imageId} keep`, `${old[1]!.imageId} delete`, `${old[0]!.imageId} delete`]);
    expect(doc.images[1]!.reasons.map((r) => r.text)).toEqual(["younger than 30 days (--older-than)"]);
    expect(doc.orphanedSnapshots.map((o) => o.snapshotId).sort()).toEqual([...orphan.snapshotIds].sort());
    expect((await snapshotsAndOrphans(h)).orphaned).toEqual([]);
    // Another template's and another region's images were not touched.
    expect(cwsImageIds(h)).toEqual([old[2]!.imageId, old[3]!.imageId, ...other.map((i) => i.imageId)].sort());
    expect(cwsImageIds(h, W2)).toEqual(west.map((i) => i.imageId).sort());
  });

  it("--deprecate deprecates instead of deleting, and a second run leaves the deprecated images alone", async () => {
    harness = await startHarness();
    const h = harness;
    const images = [seed(h.emulator, 1), seed(h.emulator, 2), seed(h.emulator, 3)];
    writeRegistry(h);
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--deprecate", "--yes"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Deprecate 2 images; nothing is deleted");
    expect(mutatingCalls(h.emulator)).toEqual({ "ec2:EnableImageDeprecation": 2 });
    const deprecated = h.emulator.images(E1).filter((i) => i.deprecationTime !== undefined).map((i) => i.id).sort();
    expect(deprecated).toEqual([images[1]!.imageId, images[2]!.imageId].sort());
    expect(cwsImageIds(h)).toHaveLength(3);
    // Run again: they are deprecated already (from the time the first run set), so nothing is asked of EC2.
    const again = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--deprecate", "--yes", "--json"]);
    expect(again.status, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout) as PlanJson;
    expect(doc.images.map((i) => i.reasons.map((r) => r.kind))).toEqual([["newest"], ["already-deprecated"], ["already-deprecated"]]);
    expect(mutatingCalls(h.emulator)).toEqual({ "ec2:EnableImageDeprecation": 2 });
  });

  it("pages through more than 1,000 images and stays correct when every call is throttled", { timeout: 300_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const made = Array.from({ length: 1010 }, (_, i) => seed(h.emulator, 1 + i / 100));
    writeRegistry(h);
    // One of the oldest is launched by a launch template through SSM: launch templates and GetParameter are throttled too.
    const { ec2, ssm } = clients(h);
    await ssm.send(new PutParameterCommand({ Name: "/fleet/ami", Value: made[1005]!.imageId, Type: "String" }));
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "fleet", LaunchTemplateData: { ImageId: "resolve:ssm:/fleet/ami" } }));
    h.emulator.stats.reset();
    h.emulator.faults.add({ service: "ec2", action: "*", code: "RequestLimitExceeded", times: 2 });
    h.emulator.faults.add({ service: "sts", action: "*", code: "Throttling", times: 2 });
    h.emulator.faults.add({ service: "ssm", action: "*", code: "ThrottlingException", times: 2 });
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1000", "--yes", "--json"], { timeoutMs: 240_000 });
    expect(run.status, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as PlanJson;
    expect(doc.images).toHaveLength(1010);
    const oldest = made.slice(1000).filter((_, i) => i !== 5).map((m) => m.imageId).sort();
    expect(doc.result!.deleted.map((d) => d.imageId).sort()).toEqual(oldest);
    expect(cwsImageIds(h)).toHaveLength(1001);
    expect(cwsImageIds(h)).toContain(made[1005]!.imageId);
    expect((await snapshotsAndOrphans(h)).orphaned).toEqual([]);
    // Each action was throttled before it got through: every kind of call cleanup makes rode it out.
    for (const action of ["ec2:DescribeImages", "ec2:DescribeSnapshots", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ssm:GetParameter", "ec2:DeregisterImage", "ec2:DeleteSnapshot", "sts:GetCallerIdentity"]) {
      expect(h.emulator.stats.calls[action], action).toBeGreaterThanOrEqual(3);
    }
    // Two throttled attempts for each of the nine actions; every page was read (1,010 images: the plan lists them all).
    expect(h.emulator.stats.faultsInjected).toBe(9 * 2);
  });
});

describe("cws ami cleanup after build-all (end to end, emulator): copies, a chain, names that end with the build id", () => {
  it("counts a copy in its own region, keeps the source of a copy still pending and that source's base, and deletes the rest with every snapshot in every region", { timeout: 240_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    // Three builds of fleet-child (built on fleet-base, included for it), each copied to the three other regions.
    for (const force of [[], ["--force"], ["--force"]]) {
      const run = await h.cws(["ami", "build-all", "fleet-child", "--architecture", "x86_64", ...force]);
      expect(run.status, run.stderr).toBe(0);
    }
    const images = (template: string, region: string) =>
      h.emulator
        .images(region)
        .filter((i) => i.tags["cws:template"] === template)
        // Newest first: a build id starts with the build's UTC start (a copy carries its source's).
        .sort((a, b) => (a.tags["cws:build-id"]! < b.tags["cws:build-id"]! ? 1 : -1));
    const homeChild = images("fleet-child", HOME);
    const homeBase = images("fleet-base", HOME);
    expect(homeChild).toHaveLength(3);
    // Every copy holds its source's name (which ends with the source's build id) and says where it came from.
    const WEST = "us-west-2";
    const westChild = images("fleet-child", WEST);
    const copyOfOldest = westChild.find((i) => i.tags["cws:copied-from"] === `${HOME}/${homeChild[2]!.id}`)!;
    expect(copyOfOldest.name).toBe(homeChild[2]!.name);
    expect(copyOfOldest.name.endsWith(homeChild[2]!.tags["cws:build-id"]!)).toBe(true);
    expect(homeChild[2]!.tags["cws:base-ami"]).toBe(homeBase[2]!.id);

    // The oldest child's copy to us-west-2 is under way again (its first copy gone, a new one pending, as a rerun's would be).
    const { ec2 } = clients(h, WEST);
    await ec2.send(new DeregisterImageCommand({ ImageId: copyOfOldest.id }));
    for (const snapshotId of copyOfOldest.snapshotIds) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    const pending = h.emulator.addImage(WEST, { name: copyOfOldest.name, tags: copyOfOldest.tags, state: "pending" });

    const dry = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--dry-run", "--json"]);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as PlanJson;
    const row = (id: string) => plan.images.find((i) => i.imageId === id)!;
    const kinds = (id: string) => row(id).reasons.map((r) => r.kind);
    // Each template, region and architecture ranked on its own: a copy counts in its region, its source in the home region.
    // fleet-base is made only where its child is built (the home region); fleet-child is copied everywhere.
    const targets = [["fleet-base", HOME] as const, ...FLEET_REGIONS.map((region) => ["fleet-child", region] as const)];
    expect(FLEET_REGIONS.filter((region) => images("fleet-base", region).length > 0)).toEqual([HOME]);
    for (const [template, region] of targets) {
      const available = images(template, region).filter((i) => i.state === "available");
      expect(available.length, `${template} ${region}`).toBeGreaterThanOrEqual(2);
      expect(available.map((i) => row(i.id).rank), `${template} ${region}`).toEqual(available.map((_, index) => index + 1));
      expect(available.every((i) => row(i.id).template === template && row(i.id).region === region && row(i.id).architecture === "x86_64")).toBe(true);
      // The newest is the registry's current one, which it keeps on both counts.
      expect(available[0]!.id).toBe(registryEntry(h, template, region, "x86_64")!.ami_id);
      expect(kinds(available[0]!.id), `${template} ${region}`).toContain("registry-current");
    }
    // The pending copy keeps its source in the home region, and the source keeps the parent image it was built on.
    expect(kinds(pending.imageId)).toEqual(["not-available"]);
    expect(row(homeChild[2]!.id).reasons).toEqual([{ kind: "copy-source", copies: [`${WEST}/${pending.imageId}`], text: `source of an image still pending: ${WEST}/${pending.imageId}` }]);
    expect(kinds(homeBase[2]!.id)).toEqual(["base-of"]);
    expect(kinds(homeBase[0]!.id)).toEqual(["newest", "registry-current", "base-of"]);
    // The middle build stays everywhere: the first of each history (a rollback target). The oldest build's other images and copies go.
    const current = new Set(targets.map(([template, region]) => registryEntry(h, template, region, "x86_64")!.ami_id));
    const middle = targets.map(([template, region]) => images(template, region).filter((i) => i.state === "available")[1]!.id);
    for (const id of middle) expect(kinds(id)).toContain("registry-history");
    const kept = new Set([...current, ...middle, pending.imageId, homeChild[2]!.id, homeBase[2]!.id]);
    const everyImage = FLEET_REGIONS.flatMap((region) => h.emulator.images(region).filter((i) => i.tags["cws:managed-by"] === "cws").map((i) => ({ region, id: i.id })));
    const toDelete = everyImage.filter((i) => !kept.has(i.id)).map((i) => i.id).sort();
    expect(toDelete).toHaveLength(everyImage.length - kept.size);
    expect(plan.images.filter((i) => i.action === "delete").map((i) => i.imageId).sort()).toEqual(toDelete);

    const done = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes", "--json"]);
    expect(done.status, done.stderr).toBe(0);
    expect((JSON.parse(done.stdout) as PlanJson).result!.deleted.map((d) => d.imageId).sort()).toEqual(toDelete);
    for (const region of FLEET_REGIONS) {
      expect(cwsImageIds(h, region), region).toEqual(everyImage.filter((i) => i.region === region && kept.has(i.id)).map((i) => i.id).sort());
      expect((await snapshotsAndOrphans(h, region)).orphaned, region).toEqual([]);
      // Each region's history lost what was deleted there, a copy's record as much as a build's.
      for (const [template] of targets.filter(([, where]) => where === region)) {
        const history = (registryEntry(h, template, region, "x86_64") as { history?: { ami_id: string }[] }).history ?? [];
        expect(history.filter((r) => toDelete.includes(r.ami_id)), `${template} ${region}`).toEqual([]);
      }
    }
    expect(toDelete.length).toBeGreaterThan(0);
    expect((registryEntry(h, "fleet-child", HOME, "x86_64") as { history?: { ami_id: string }[] }).history!.map((r) => r.ami_id)).toEqual([homeChild[1]!.id, homeChild[2]!.id]);
  });
});

/** The registry's history of an entry, as AMI ids. */
function historyOf(h: Harness, template: string, region = E1, arch = "x86_64"): string[] {
  const registry = h.registry() as { templates: Record<string, { amis: Record<string, Record<string, { history?: { ami_id: string }[] }>> }> };
  return (registry.templates[template]!.amis[region]![arch]!.history ?? []).map((r) => r.ami_id);
}

const at = (made: { created: string }) => made.created.replace(/\.\d+Z$/, "Z");

describe("cws ami cleanup: what protects an image, whoever made it", () => {
  it("keeps the source of a pending copy made without cws's copied-from tag: a person's CopyImage, with the source's tags or with none", { timeout: 60_000 }, async () => {
    // Copies stay pending for as long as the test looks.
    harness = await startHarness({ latencies: { copyImageBase: 10_000_000 } });
    const h = harness;
    const newest = seed(h.emulator, 1);
    const withTags = seed(h.emulator, 2);
    const withoutTags = seed(h.emulator, 3);
    const unused = seed(h.emulator, 4);
    writeRegistry(h);
    const west = clients(h, W2).ec2;
    const tagged = await west.send(new CopyImageCommand({ SourceRegion: E1, SourceImageId: withTags.imageId, Name: "my-copy-tagged", CopyImageTags: true }));
    const bare = await west.send(new CopyImageCommand({ SourceRegion: E1, SourceImageId: withoutTags.imageId, Name: "my-copy-bare" }));
    const copies = h.emulator.images(W2);
    expect(copies.find((i) => i.id === tagged.ImageId)).toMatchObject({ state: "pending", tags: expect.objectContaining({ "cws:managed-by": "cws" }) });
    expect(copies.find((i) => i.id === tagged.ImageId)!.tags["cws:copied-from"]).toBeUndefined();
    expect(copies.find((i) => i.id === bare.ImageId)!.tags).toEqual({});

    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as PlanJson;
    const reasons = (id: string) => doc.images.find((i) => i.imageId === id)!.reasons.map((r) => r.text);
    expect(reasons(withTags.imageId)).toEqual([`source of an image still pending: ${W2}/${tagged.ImageId}`]);
    expect(reasons(withoutTags.imageId)).toEqual([`source of an image still pending: ${W2}/${bare.ImageId}`]);
    expect(doc.result!.deleted.map((d) => d.imageId)).toEqual([unused.imageId]);
    expect(cwsImageIds(h)).toEqual([newest.imageId, withTags.imageId, withoutTags.imageId].sort());
  });

  it("counts as the first N of a history only images that still exist, and drops the gone ones from it, so rollback has a target", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const current = seed(h.emulator, 1);
    const second = seed(h.emulator, 2);
    const rollbackTarget = seed(h.emulator, 3);
    const gone = "ami-0123456789abcdef0";
    writeRegistry(
      h,
      registryWith({ "emu-basic": { [E1]: { x86_64: { ...record(current.imageId, at(current)), history: [record(gone, at(second)), record(rollbackTarget.imageId, at(rollbackTarget))] } } } }),
    );
    const dry = JSON.parse((await h.cws(["ami", "cleanup", "--keep-latest", "1", "--dry-run", "--json"])).stdout) as PlanJson;
    expect(dry.images.find((i) => i.imageId === rollbackTarget.imageId)!.reasons.map((r) => r.text)).toEqual(["1st in the registry's history (rollback)"]);
    expect(dry.historyGone).toEqual([expect.objectContaining({ templateId: "emu-basic", amiId: gone })]);

    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Registry history records of AMIs that no longer exist in AWS");
    expect(cwsImageIds(h)).toEqual([current.imageId, rollbackTarget.imageId].sort());
    expect(historyOf(h, "emu-basic")).toEqual([rollbackTarget.imageId]);
    const rollback = await h.cws(["ami", "rollback", "emu-basic", "--region", E1, "--architecture", "x86_64", "--no-publish-ssm"]);
    expect(rollback.status, rollback.stderr).toBe(0);
  });

  it("a template known only from its images' tags can be named with --template; a name nothing knows is refused, naming it", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const ghosts = [seed(h.emulator, 1, { template: "ghost" }), seed(h.emulator, 2, { template: "ghost" })];
    writeRegistry(h);
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--template", "ghost", "--yes", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as PlanJson).result!.deleted.map((d) => d.imageId)).toEqual([ghosts[1]!.imageId]);
    const unknown = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--template", "ghots", "--dry-run"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('error: no template "ghots" in ./templates, ./registry/amis.json or the cws:template tags of the images in us-east-1, us-west-2 (did you mean "ghost"?)');
  });

  it("keeps an image tagged cws:validated=pending for 6 hours: a build may still be verifying it before it records it", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    seed(h.emulator, 0.05);
    const verifying = seed(h.emulator, 0.1, { tags: { "cws:validated": "pending" } });
    const abandoned = seed(h.emulator, 1, { tags: { "cws:validated": "pending" } });
    writeRegistry(h);
    const doc = JSON.parse((await h.cws(["ami", "cleanup", "--keep-latest", "1", "--dry-run", "--json"])).stdout) as PlanJson;
    expect(doc.images.find((i) => i.imageId === verifying.imageId)).toMatchObject({ action: "keep", reasons: [{ kind: "validation-pending", text: expect.stringMatching(/^tagged cws:validated=pending 2 hours 24 minutes ago: a build may still be verifying it \(kept for 6 hours\)$/) }] });
    expect(doc.images.find((i) => i.imageId === abandoned.imageId)!.action).toBe("delete");
  });
});

describe("cws ami cleanup and the registry", () => {
  it("refuses without a registry file (exit 2, nothing asked of AWS) unless --without-registry; --dry-run warns", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    seed(h.emulator, 1);
    const old = seed(h.emulator, 2);
    h.emulator.stats.reset();
    const refused = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("error: ./registry/amis.json: no registry there, so cleanup cannot tell which images are current or in a history (rollback targets); nothing was looked at or changed");
    expect(refused.stderr).toContain("→ run cws from the repository root, or pass --registry FILE; if this project keeps no registry, pass --without-registry");
    expect(h.emulator.stats.calls).toEqual({});

    const dry = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--dry-run"]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("⚠️  ./registry/amis.json: no registry there");
    expect(dry.stdout.indexOf("no registry there")).toBeLessThan(dry.stdout.indexOf("Delete 1 image"));

    const without = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--without-registry", "--yes"]);
    expect(without.status, without.stderr).toBe(0);
    expect(cwsImageIds(h)).not.toContain(old.imageId);
    expect(existsSync(join(h.dir, "registry", "amis.json"))).toBe(false);

    writeRegistry(h);
    const contradiction = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--without-registry", "--dry-run"]);
    expect(contradiction.status).toBe(2);
    expect(contradiction.stderr).toContain("error: --without-registry, but there is a registry at ./registry/amis.json");
  });

  it("checks that the registry can be locked before deleting anything; when the last write still fails, prints the whole result and what to run (exit 1), and the next run mends the history", { timeout: 90_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const current = seed(h.emulator, 1);
    const first = seed(h.emulator, 2);
    const old = [seed(h.emulator, 3), seed(h.emulator, 4)];
    writeRegistry(h, registryWith({ "emu-basic": { [E1]: { x86_64: { ...record(current.imageId, at(current)), history: [first, ...old].map((m) => record(m.imageId, at(m))) } } } }));
    const lock = join(h.dir, "registry", "amis.json.lock");

    // A lock that cannot be taken: refused before anything is asked of AWS.
    mkdirSync(lock);
    h.emulator.stats.reset();
    const refused = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("error: ./registry/amis.json.lock: the registry lock is a directory, not a regular file");
    expect(mutatingCalls(h.emulator)).toEqual({});
    expect(cwsImageIds(h)).toHaveLength(4);
    rmdirSync(lock);

    // The lock becomes unusable while the images are deleted: the whole result, the error, what to do; exit 1.
    const breakTheLock = () =>
      h.emulator.faults.add({
        service: "ec2",
        action: "DeregisterImage",
        code: "Unused",
        times: 1,
        match: () => {
          if (!existsSync(lock)) mkdirSync(lock);
          return false;
        },
      });
    breakTheLock();
    const text = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"]);
    expect(text.status, text.stderr).toBe(1);
    expect(text.stdout).toContain("Cleanup done: deregistered 2 images and deleted their 2 snapshots.");
    expect(text.stdout).toContain("❌ the registry could not be written: ./registry/amis.json.lock: the registry lock is a directory, not a regular file");
    expect(text.stdout).toContain(`its history still names 2 AMIs that no longer exist (emu-basic.${E1}.x86_64 ${old[0]!.imageId}, emu-basic.${E1}.x86_64 ${old[1]!.imageId})`);
    expect(text.stdout).toContain("then run cws ami cleanup again: it removes from the history every AMI that no longer exists");
    expect(cwsImageIds(h)).toEqual([current.imageId, first.imageId].sort());

    // --json: the same, as one document.
    rmdirSync(lock);
    const more = seed(h.emulator, 5);
    writeRegistry(h, registryWith({ "emu-basic": { [E1]: { x86_64: { ...record(current.imageId, at(current)), history: [first, ...old, more].map((m) => record(m.imageId, at(m))) } } } }));
    breakTheLock();
    const json = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes", "--json"]);
    expect(json.status, json.stderr).toBe(1);
    const doc = JSON.parse(json.stdout) as PlanJson;
    expect(doc.exitCode).toBe(1);
    expect(doc.result!.deleted.map((d) => d.imageId)).toEqual([more.imageId]);
    expect(doc.result!.registryError).toMatchObject({ message: expect.stringContaining("the registry lock is a directory"), stillListed: expect.arrayContaining([expect.objectContaining({ amiId: more.imageId })]) });
    expect(doc.result!.registryError!.stillListed.map((r) => r.amiId).sort()).toEqual([...old.map((m) => m.imageId), more.imageId].sort());

    // Once the lock is fixed, the next cleanup removes every AMI that no longer exists from the history, without asking.
    rmdirSync(lock);
    const mend = await h.cws(["ami", "cleanup", "--keep-latest", "1"]);
    expect(mend.status, mend.stderr).toBe(0);
    expect(mend.stdout).toContain("Registry: removed 3 AMIs that no longer exist from history");
    expect(historyOf(h, "emu-basic")).toEqual([first.imageId]);
  });

  it("a snapshot EC2 refuses after its image is deregistered is named in the result (exit 1), and the next cleanup deletes it as orphaned", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    seed(h.emulator, 1);
    const old = seed(h.emulator, 2, { snapshots: 2 });
    writeRegistry(h);
    h.emulator.faults.add({ service: "ec2", action: "DeleteSnapshot", code: "UnauthorizedOperation", message: "not authorized", times: 1, match: (request) => request.params.SnapshotId === old.snapshotIds[0] });
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain("Cleanup done: deregistered 1 image and deleted 1 of its 2 snapshots.");
    expect(run.stdout).toContain("⚠️  1 snapshot left behind by deregistered images (each costs until deleted; the next cleanup deletes it as orphaned):");
    expect(run.stdout).toContain(`  ${E1} ${old.snapshotIds[0]} of ${old.imageId}: `);
    expect((await snapshotsAndOrphans(h)).orphaned).toEqual([old.snapshotIds[0]]);
    const again = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes", "--json"]);
    expect(again.status, again.stderr).toBe(0);
    expect((await snapshotsAndOrphans(h)).orphaned).toEqual([]);
  });
});

describe("cws ami cleanup stopped by a signal", () => {
  it("SIGTERM while deleting stops after the image under way, its snapshots with it, and exits 143", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const made = Array.from({ length: 400 }, (_, i) => seed(h.emulator, 1 + i / 100));
    writeRegistry(h);
    let sent = false;
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes", "--json"], {
      onStderr: (text, child) => {
        if (!sent && text.includes("deregistered ")) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(run.status, run.stderr).toBe(143);
    expect(run.stderr).toContain("SIGTERM: stopping after the image under way");
    const doc = JSON.parse(run.stdout) as PlanJson;
    expect(doc).toMatchObject({ exitCode: 143, result: { interrupted: true } });
    const left = cwsImageIds(h);
    expect(left.length).toBeGreaterThan(1);
    expect(left.length).toBe(made.length - doc.result!.deleted.length);
    expect((await snapshotsAndOrphans(h)).orphaned).toEqual([]);
  });

  it("a SIGTERM that comes while the last image is deleted still ends the run as interrupted (143), not done", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    seed(h.emulator, 1);
    const last = seed(h.emulator, 2);
    writeRegistry(h);
    let child: import("node:child_process").ChildProcess | undefined;
    // The signal is sent while the CLI waits for the last image's DeleteSnapshot: nothing is left to do after it.
    h.emulator.faults.add({
      service: "ec2",
      action: "DeleteSnapshot",
      code: "Unused",
      times: 1,
      match: (request) => {
        if (request.params.SnapshotId === last.snapshotIds[0]) child?.kill("SIGTERM");
        return false;
      },
    });
    const run = await h.cws(["ami", "cleanup", "--keep-latest", "1", "--yes"], { onStderr: (_text, process) => (child ??= process) });
    expect(run.status, run.stderr).toBe(143);
    expect(run.stdout).toContain("Cleanup interrupted: deregistered 1 image and deleted its 1 snapshot.");
    expect(run.stdout).not.toContain("Cleanup done");
    expect(cwsImageIds(h)).not.toContain(last.imageId);
  });
});

describe("cws ami cleanup on a terminal (pseudo-terminal)", () => {
  it("asks before acting: no, or no answer (Ctrl-D), changes nothing (exit 1), Ctrl-C neither (exit 130), yes deletes", async () => {
    harness = await startHarness();
    const h = harness;
    seed(h.emulator, 1);
    const old = seed(h.emulator, 2);
    writeRegistry(h);
    const answer = (keys: string) => ({
      cols: 160,
      rows: 40,
      cwd: h.dir,
      env: h.env,
      onOutput: (raw: string, type: (keys: string) => void) => {
        if (raw.includes("[y/N]") && !raw.includes("nothing was changed") && !answered) {
          answered = true;
          type(keys);
        }
      },
    });
    let answered = false;
    const no = await runOnTerminal(["ami", "cleanup", "--keep-latest", "1"], answer("n\r"));
    expect(no.status, no.screen.join("\n")).toBe(1);
    expect(no.screen.join("\n")).toContain("Delete what the plan above marks delete? [y/N] n");
    expect(no.screen.join("\n")).toContain("Cancelled: nothing was changed.");
    expect(cwsImageIds(h)).toContain(old.imageId);
    answered = false;
    const endOfInput = await runOnTerminal(["ami", "cleanup", "--keep-latest", "1"], answer("\x04"));
    expect(endOfInput.status, endOfInput.screen.join("\n")).toBe(1);
    expect(endOfInput.screen.join("\n")).toContain("Cancelled: nothing was changed.");
    expect(cwsImageIds(h)).toContain(old.imageId);
    answered = false;
    const interrupted = await runOnTerminal(["ami", "cleanup", "--keep-latest", "1"], answer("\x03"));
    expect(interrupted.status, interrupted.screen.join("\n")).toBe(130);
    expect(interrupted.screen.join("\n")).toContain("Interrupted: nothing was changed.");
    expect(cwsImageIds(h)).toContain(old.imageId);
    answered = false;
    const yes = await runOnTerminal(["ami", "cleanup", "--keep-latest", "1"], answer("Y\r"));
    expect(yes.status, yes.screen.join("\n")).toBe(0);
    expect(yes.screen.join("\n")).toContain("Cleanup done: deregistered 1 image and deleted its 1 snapshot.");
    expect(cwsImageIds(h)).not.toContain(old.imageId);
  });
});
