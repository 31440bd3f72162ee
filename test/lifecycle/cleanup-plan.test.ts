import { describe, expect, it } from "vitest";
import type { ImageInfo, SnapshotInfo } from "../../src/aws/ports.js";
import { SHIPPED_PRICES } from "../../src/fleet/prices.js";
import {
  NO_USAGE,
  imageKey,
  planCleanup,
  recheckPlan,
  type CleanupFacts,
  type CleanupPlan,
  type CleanupScope,
  type ImageUsage,
  type KeepReason,
  type RegionImage,
} from "../../src/lifecycle/cleanup-plan.js";
import { dropFromHistory } from "../../src/registry/operations.js";
import type { AmiRecord, Registry } from "../../src/registry/schema.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * The keep/delete decision over classes of input: N (1, many, more than
 * there are), ties in creation date, every rule that keeps an image (the
 * registry's current, pinned and history counting only images that still
 * exist, instances, launch templates, the base of a kept image down a chain,
 * the source of any pending image however it is tagged, an image still being
 * verified, state, --older-than, untagged images), --template and --region
 * narrowing what changes but not what protects, --deprecate, orphaned
 * snapshots, history records of AMIs that are gone, the cost, and the
 * re-check after the prompt.
 */

const NOW = new Date("2026-12-01T00:00:00Z");
const DAY = 86_400_000;
const E1 = "us-east-1";
const W2 = "us-west-2";

/** `ami-000000NN`, a valid id for the registry too. */
const ami = (n: number) => `ami-${n.toString(16).padStart(8, "0")}`;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

interface ImageSpec {
  template?: string | null;
  arch?: string;
  region?: string;
  /** Days before NOW it was created. */
  age?: number;
  created?: string;
  state?: string;
  base?: string;
  copiedFrom?: string;
  sizeGb?: number;
  snapshots?: string[];
  deprecationTime?: string;
  /** The source EC2 records (SourceImageId, SourceImageRegion): `region/ami-…`. */
  source?: string;
  extraTags?: Record<string, string>;
}

function image(n: number, spec: ImageSpec = {}): RegionImage {
  const template = spec.template === undefined ? "r-research" : spec.template;
  const info: ImageInfo = {
    imageId: ami(n),
    name: `cws-${template ?? "x"}-${n}`,
    architecture: spec.arch ?? "x86_64",
    state: spec.state ?? "available",
    creationDate: spec.created ?? daysAgo(spec.age ?? n),
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: spec.sizeGb ?? 8,
    totalVolumeSizeGb: spec.sizeGb ?? 8,
    snapshotIds: spec.snapshots ?? [`snap-${n}`],
    ...(spec.deprecationTime ? { deprecationTime: spec.deprecationTime } : {}),
    ...(spec.source ? { source: { region: spec.source.split("/")[0]!, imageId: spec.source.split("/")[1]! } } : {}),
    tags: {
      "cws:managed-by": "cws",
      ...(template === null ? {} : { "cws:template": template }),
      "cws:arch": spec.arch ?? "x86_64",
      ...(spec.base ? { "cws:base-ami": spec.base } : {}),
      ...(spec.copiedFrom ? { "cws:copied-from": spec.copiedFrom } : {}),
      ...spec.extraTags,
    },
  };
  return { region: spec.region ?? E1, image: info };
}

function facts(images: RegionImage[], extra: Partial<CleanupFacts> = {}): CleanupFacts {
  return { images, pendingImages: [], goneFromHistory: new Map(), snapshots: new Map(), usage: NO_USAGE, unresolved: [], ...extra };
}

function scope(keepLatest: number, extra: Partial<CleanupScope> = {}): CleanupScope {
  return { keepLatest, deprecate: false, now: NOW, ...extra };
}

function plan(images: RegionImage[], keepLatest: number, options: { registry?: Registry; scope?: Partial<CleanupScope>; facts?: Partial<CleanupFacts> } = {}): CleanupPlan {
  return planCleanup(facts(images, options.facts), options.registry, scope(keepLatest, options.scope), SHIPPED_PRICES);
}

/** `ami-… keep|delete` per image of the plan, in the plan's order. */
const actions = (p: CleanupPlan) => p.images.map((i) => `${i.imageId} ${i.action}`);
const deleted = (p: CleanupPlan) => p.images.filter((i) => i.action === "delete").map((i) => i.imageId);
const reasonsOf = (p: CleanupPlan, id: string): KeepReason["kind"][] => p.images.find((i) => i.imageId === id)!.reasons.map((r) => r.kind);

describe("keep the newest N per template, region and architecture", () => {
  const five = [1, 2, 3, 4, 5].map((n) => image(n));

  it("keeps the N newest and deletes the rest, newest first in the plan", () => {
    const p = plan(five, 3);
    expect(actions(p)).toEqual([`${ami(1)} keep`, `${ami(2)} keep`, `${ami(3)} keep`, `${ami(4)} delete`, `${ami(5)} delete`]);
    expect(p.images.map((i) => i.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(p.images[0]!.reasons).toEqual([{ kind: "newest", rank: 1, tie: false, keepLatest: 3 }]);
    expect(p.images[3]!.reasons).toEqual([]);
    // An image that goes says why: its rank, beyond the newest N.
    expect(p.images[3]!.goes).toEqual({ kind: "not-among-newest", rank: 4, keepLatest: 3 });
    expect(p.images[0]!.goes).toBeUndefined();
  });

  it("N=1 keeps only the newest", () => {
    expect(deleted(plan(five, 1))).toEqual([ami(2), ami(3), ami(4), ami(5)]);
  });

  it("N as large as the images or larger deletes nothing", () => {
    expect(deleted(plan(five, 5))).toEqual([]);
    expect(deleted(plan(five, 1000))).toEqual([]);
    expect(deleted(plan([], 3))).toEqual([]);
  });

  it("keeps every image created at the same moment as the Nth: their order is arbitrary", () => {
    const same = daysAgo(2);
    const images = [image(1, { age: 1 }), image(2, { created: same }), image(3, { created: same }), image(4, { created: same }), image(5, { age: 3 })];
    const p = plan(images, 2);
    expect(deleted(p)).toEqual([ami(5)]);
    expect(p.images.filter((i) => i.reasons.some((r) => r.kind === "newest" && r.tie)).map((i) => i.imageId).sort()).toEqual([ami(3), ami(4)]);
    expect(p.images.find((i) => i.imageId === ami(3))!.reasons).toEqual([{ kind: "newest", rank: 3, tie: true, keepLatest: 2 }]);
    // A tie below the Nth does not keep anything.
    expect(deleted(plan([image(1, { age: 1 }), image(2, { age: 2 }), image(3, { created: daysAgo(5) }), image(4, { created: daysAgo(5) })], 2))).toEqual([ami(3), ami(4)]);
  });

  it("counts each template, region and architecture on its own", () => {
    const images = [
      image(1, { template: "a" }),
      image(2, { template: "a" }),
      image(3, { template: "b" }),
      image(4, { template: "a", arch: "arm64" }),
      image(5, { template: "a", arch: "arm64" }),
      image(6, { template: "a", region: W2 }),
      image(7, { template: "a", region: W2 }),
    ];
    expect(deleted(plan(images, 1)).sort()).toEqual([ami(2), ami(5), ami(7)]);
  });

  it("does not count images that are not available, and keeps them (a build or copy at work, or reap's to remove)", () => {
    const images = [image(1, { state: "pending" }), image(2, { state: "failed" }), image(3), image(4)];
    const p = plan(images, 1);
    expect(deleted(p)).toEqual([ami(4)]);
    expect(reasonsOf(p, ami(1))).toEqual(["not-available"]);
    expect(reasonsOf(p, ami(2))).toEqual(["not-available"]);
    expect(p.images.find((i) => i.imageId === ami(3))!.rank).toBe(1);
  });

  it("keeps an image without a cws:template tag: cws cannot tell which template it belongs to", () => {
    const p = plan([image(1, { template: null }), image(2), image(3)], 1);
    expect(deleted(p)).toEqual([ami(3)]);
    expect(reasonsOf(p, ami(1))).toEqual(["no-template-tag"]);
  });
});

describe("the registry", () => {
  const images = [1, 2, 3, 4, 5, 6].map((n) => image(n));

  it("keeps the current AMI however old, and says when a rollback pinned it", () => {
    const registry = registryWith({ "r-research": { [E1]: { x86_64: { ...record(ami(6), daysAgo(6)), pinned: true } as AmiRecord } } });
    const p = plan(images, 1, { registry });
    expect(deleted(p)).toEqual([ami(2), ami(3), ami(4), ami(5)]);
    expect(p.images.find((i) => i.imageId === ami(6))!.reasons).toEqual([{ kind: "registry-current", pinned: true }]);
    const unpinned = plan(images, 1, { registry: registryWith({ "r-research": { [E1]: { x86_64: record(ami(5), daysAgo(5)) } } }) });
    expect(unpinned.images.find((i) => i.imageId === ami(5))!.reasons).toEqual([{ kind: "registry-current", pinned: false }]);
  });

  it("keeps the first N of the history, so rollback keeps working, and not the rest", () => {
    const history = [record(ami(4), daysAgo(4)), record(ami(5), daysAgo(5)), record(ami(6), daysAgo(6))];
    const registry = registryWith({ "r-research": { [E1]: { x86_64: { ...record(ami(1), daysAgo(1)), history } } } });
    const p = plan(images, 2, { registry });
    expect(deleted(p)).toEqual([ami(3), ami(6)]);
    expect(p.images.find((i) => i.imageId === ami(5))!.reasons).toEqual([{ kind: "registry-history", position: 2 }]);
    // N=1: the current AMI and the first of its history.
    expect(deleted(plan(images, 1, { registry }))).toEqual([ami(2), ami(3), ami(5), ami(6)]);
  });

  it("counts as the first N of the history only images that still exist and are available: a gone or failed one is no rollback target", () => {
    // ami 7 is gone from AWS, ami 8 failed: the first 2 rollback targets are 4 and 5.
    const history = [record(ami(7), daysAgo(3)), record(ami(8), daysAgo(3)), record(ami(4), daysAgo(4)), record(ami(5), daysAgo(5)), record(ami(6), daysAgo(6))];
    const registry = registryWith({ "r-research": { [E1]: { x86_64: { ...record(ami(1), daysAgo(1)), history } } } });
    const p = plan([...images, image(8, { state: "failed" })], 2, { registry });
    expect(deleted(p)).toEqual([ami(3), ami(6)]);
    expect(p.images.find((i) => i.imageId === ami(4))!.reasons).toEqual([{ kind: "registry-history", position: 1 }]);
    expect(p.images.find((i) => i.imageId === ami(5))!.reasons).toEqual([{ kind: "registry-history", position: 2 }]);
    // N=1: the only rollback target that exists is kept, though two records that do not exist come before it.
    const one = plan(images, 1, { registry });
    expect(reasonsOf(one, ami(4))).toEqual(["registry-history"]);
    expect(deleted(one)).toEqual([ami(2), ami(3), ami(5), ami(6)]);
  });

  it("lists, for the registry to lose, the history records (in scope) whose AMI is gone from AWS", () => {
    const history = [record(ami(7), daysAgo(3)), record(ami(4), daysAgo(4))];
    const registry = registryWith({
      "r-research": { [E1]: { x86_64: { ...record(ami(1), daysAgo(1)), history } }, [W2]: { x86_64: { ...record(ami(9), daysAgo(1)), history: [record(ami(7), daysAgo(3))] } } },
    });
    const goneFromHistory = new Map([[E1, new Set([ami(7)])], [W2, new Set([ami(7)])]]);
    const p = plan(images, 1, { registry, facts: { goneFromHistory } });
    expect(p.goneFromHistory).toEqual([
      { templateId: "r-research", region: E1, architecture: "x86_64", amiId: ami(7) },
      { templateId: "r-research", region: W2, architecture: "x86_64", amiId: ami(7) },
    ]);
    expect(plan(images, 1, { registry, facts: { goneFromHistory }, scope: { regions: [W2] } }).goneFromHistory.map((r) => r.region)).toEqual([W2]);
    expect(plan(images, 1, { registry, facts: { goneFromHistory }, scope: { templateId: "other" } }).goneFromHistory).toEqual([]);
    expect(plan(images, 1, { registry, facts: { goneFromHistory }, scope: { deprecate: true } }).goneFromHistory).toEqual([]);
  });

  it("protects by region: the same id elsewhere is not the registry's", () => {
    const registry = registryWith({ "r-research": { [W2]: { x86_64: record(ami(2), daysAgo(2)) } } });
    expect(deleted(plan([image(1), image(2)], 1, { registry }))).toEqual([ami(2)]);
  });
});

describe("what uses an image", () => {
  const images = [1, 2, 3, 4].map((n) => image(n));

  it("keeps an image an instance that is not terminated runs from, and one any launch template version names", () => {
    const usage: ImageUsage = {
      instances: new Map([[imageKey(E1, ami(3)), [{ instanceId: "i-0123456789abcdef0", state: "stopped" }]]]),
      launchTemplates: new Map([[imageKey(E1, ami(4)), [{ launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 2, parameter: "/web/ami" }]]]),
    };
    const p = plan(images, 1, { facts: { usage } });
    expect(deleted(p)).toEqual([ami(2)]);
    expect(p.images.find((i) => i.imageId === ami(3))!.reasons).toEqual([{ kind: "instances", instances: [{ instanceId: "i-0123456789abcdef0", state: "stopped" }] }]);
    expect(reasonsOf(p, ami(4))).toEqual(["launch-templates"]);
  });

  it("lists every reason that holds, not only the first", () => {
    const usage: ImageUsage = { instances: new Map([[imageKey(E1, ami(1)), [{ instanceId: "i-1", state: "running" }]]]), launchTemplates: new Map() };
    const registry = registryWith({ "r-research": { [E1]: { x86_64: record(ami(1), daysAgo(1)) } } });
    expect(reasonsOf(plan(images, 1, { registry, facts: { usage } }), ami(1))).toEqual(["newest", "registry-current", "instances"]);
  });

  it("keeps the base of every image that stays, down a chain of templates, in the region it was built in", () => {
    const chain = [
      image(1, { template: "grand", age: 30 }),
      image(2, { template: "grand", age: 1 }),
      image(3, { template: "parent", age: 20, base: ami(1) }),
      image(4, { template: "parent", age: 1, base: ami(2) }),
      image(5, { template: "child", age: 10, base: ami(3) }),
      image(6, { template: "child", age: 1, base: ami(4) }),
    ];
    // The child's old image is in use: its parent image and that one's parent stay.
    const usage: ImageUsage = { instances: new Map([[imageKey(E1, ami(5)), [{ instanceId: "i-1", state: "running" }]]]), launchTemplates: new Map() };
    const p = plan(chain, 1, { facts: { usage } });
    expect(deleted(p)).toEqual([]);
    expect(p.images.find((i) => i.imageId === ami(3))!.reasons).toContainEqual({ kind: "base-of", images: [imageKey(E1, ami(5))] });
    expect(p.images.find((i) => i.imageId === ami(1))!.reasons).toContainEqual({ kind: "base-of", images: [imageKey(E1, ami(3))] });
    // Nothing uses it: the old chain goes.
    expect(deleted(plan(chain, 1)).sort()).toEqual([ami(1), ami(3), ami(5)]);
  });

  it("finds a copy's base in its source's region, and the base the registry records when the tag is missing", () => {
    const images = [
      image(1, { template: "parent", age: 9 }),
      image(2, { template: "parent", age: 1 }),
      image(3, { template: "child", region: W2, age: 1, base: ami(1), copiedFrom: `${E1}/${ami(8)}` }),
      image(4, { template: "p2", age: 9 }),
      image(5, { template: "p2", age: 1 }),
    ];
    const registry = registryWith({ c2: { [E1]: { x86_64: record(ami(9), daysAgo(1), { base_ami: ami(4) }) } } });
    const p = plan(images, 1, { registry });
    expect(p.images.find((i) => i.imageId === ami(1))!.reasons).toContainEqual({ kind: "base-of", images: [imageKey(W2, ami(3))] });
    expect(p.images.find((i) => i.imageId === ami(4))!.reasons).toContainEqual({ kind: "base-of", images: [imageKey(E1, ami(9))] });
    expect(deleted(p)).toEqual([]);
  });

  it("keeps the source of a copy still pending, and not the source of a finished copy", () => {
    const images = [image(1), image(2), image(3), image(7, { region: W2, state: "pending", copiedFrom: `${E1}/${ami(3)}` }), image(8, { region: W2, age: 1, copiedFrom: `${E1}/${ami(2)}` })];
    const p = plan(images, 1);
    expect(deleted(p)).toEqual([ami(2)]);
    expect(p.images.find((i) => i.imageId === ami(3))!.reasons).toEqual([{ kind: "copy-source", copies: [imageKey(W2, ami(7))] }]);
  });

  it("keeps the source of any pending image, however it is tagged: by the source EC2 records, or by cws:copied-from", () => {
    const sources = [1, 2, 3, 4, 5].map((n) => image(n));
    // A cws image copied with CopyImageTags (cws's tags, no cws:copied-from): EC2 still names its source.
    const copiedWithTags = image(7, { region: W2, state: "pending", source: `${E1}/${ami(3)}` });
    // A copy without any cws tag: not among the cws images, but among the account's pending images.
    const untagged = image(8, { region: W2, state: "pending", template: null, source: `${E1}/${ami(4)}` });
    // A cws copy whose tag and EC2's record name different sources: both stay.
    const both = image(9, { region: W2, state: "pending", source: `${E1}/${ami(5)}`, copiedFrom: `${E1}/${ami(2)}` });
    const p = plan([...sources, copiedWithTags, both], 1, { facts: { pendingImages: [untagged, copiedWithTags] } });
    expect(deleted(p)).toEqual([]);
    expect(p.images.find((i) => i.imageId === ami(3))!.reasons).toEqual([{ kind: "copy-source", copies: [imageKey(W2, ami(7))] }]);
    expect(p.images.find((i) => i.imageId === ami(4))!.reasons).toEqual([{ kind: "copy-source", copies: [imageKey(W2, ami(8))] }]);
    expect(reasonsOf(p, ami(5))).toEqual(["copy-source"]);
    expect(reasonsOf(p, ami(2))).toEqual(["copy-source"]);
    // Once it is available, its source is no longer read.
    expect(deleted(plan([...sources, image(7, { region: W2, source: `${E1}/${ami(3)}` })], 1))).toEqual([ami(2), ami(3), ami(4), ami(5)]);
  });

  it("keeps an image tagged cws:validated=pending made in the last 6 hours: its build may still be verifying it", () => {
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
    const verifying = image(2, { created: hoursAgo(5), extraTags: { "cws:validated": "pending" } });
    const abandoned = image(3, { created: hoursAgo(7), extraTags: { "cws:validated": "pending" } });
    const p = plan([image(1, { created: hoursAgo(1) }), verifying, abandoned], 1);
    expect(deleted(p)).toEqual([ami(3)]);
    expect(p.images.find((i) => i.imageId === ami(2))!.reasons).toEqual([{ kind: "validation-pending", ageMs: 5 * 3_600_000 }]);
  });

  it("an image that failed on a fresh instance, or was never judged, takes no place among the newest: the proven one stays", () => {
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
    const proven = image(1, { created: hoursAgo(48) });
    const failed = image(2, { created: hoursAgo(2), extraTags: { "cws:validated": "false" } });
    const abandoned = image(3, { created: hoursAgo(7), extraTags: { "cws:validated": "pending" } });
    const p = plan([proven, failed, abandoned], 1);
    expect(deleted(p)).toEqual([ami(2), ami(3)]);
    expect(reasonsOf(p, ami(1))).toEqual(["newest"]);
    expect(p.images.find((i) => i.imageId === ami(2))!.goes).toEqual({ kind: "unproven", validated: "false" });
    expect(p.images.find((i) => i.imageId === ami(3))!.goes).toEqual({ kind: "unproven", validated: "pending" });
    expect(p.images.find((i) => i.imageId === ami(2))!.rank).toBeUndefined();
  });
});

describe("--older-than, --template, --region, --deprecate", () => {
  const images = [1, 2, 3, 4, 5].map((n) => image(n, { age: n * 10 }));

  it("--older-than keeps whatever is younger, whatever its rank", () => {
    const p = plan(images, 1, { scope: { olderThanMs: 35 * DAY } });
    expect(deleted(p)).toEqual([ami(4), ami(5)]);
    expect(reasonsOf(p, ami(2))).toEqual(["younger"]);
  });

  it("--template and --region narrow what changes (and what the plan lists), never what protects", () => {
    const all = [
      image(1, { template: "parent", age: 30 }),
      image(2, { template: "parent", age: 1 }),
      image(3, { template: "child", age: 10, base: ami(1) }),
      image(4, { template: "child", age: 1, base: ami(2) }),
      image(5, { template: "parent", region: W2, age: 30 }),
      image(6, { template: "parent", region: W2, age: 1 }),
    ];
    // The child's images are not in scope, but they stay, and so does the base of each.
    const onlyParent = plan(all, 1, { scope: { templateId: "parent" } });
    expect(onlyParent.images.map((i) => i.templateId)).toEqual(["parent", "parent", "parent", "parent"]);
    expect(deleted(onlyParent)).toEqual([ami(5)]);
    const onlyEast = plan(all, 1, { scope: { regions: [E1] } });
    expect(onlyEast.images.every((i) => i.region === E1)).toBe(true);
    // The old child image goes, and with it the reason to keep its base.
    expect(deleted(onlyEast)).toEqual([ami(3), ami(1)]);
  });

  it("--deprecate deprecates what would be deleted, and leaves an image already deprecated alone", () => {
    const withDeprecated = [...images.slice(0, 4), image(5, { age: 50, deprecationTime: daysAgo(1) })];
    const p = plan(withDeprecated, 3, { scope: { deprecate: true } });
    expect(actions(p).slice(3)).toEqual([`${ami(4)} deprecate`, `${ami(5)} keep`]);
    expect(p.images[4]!.reasons).toEqual([{ kind: "already-deprecated", since: daysAgo(1) }]);
    // A deprecation set for later is brought forward.
    expect(actions(plan([image(1), image(2, { deprecationTime: new Date(NOW.getTime() + DAY).toISOString() })], 1, { scope: { deprecate: true } }))).toEqual([`${ami(1)} keep`, `${ami(2)} deprecate`]);
    // Deprecating frees nothing, and no orphaned snapshot is planned.
    expect(p.savedPerMonth.usd).toBe(0);
  });
});

describe("orphaned snapshots and the storage saved", () => {
  const snapshot = (id: string, extra: Partial<SnapshotInfo> = {}): SnapshotInfo => ({
    snapshotId: id,
    state: "completed",
    startTime: daysAgo(40),
    volumeSizeGb: 30,
    tags: { "cws:managed-by": "cws", "cws:template": "r-research" },
    ...extra,
  });

  it("plans the deletion of completed cws snapshots no image names, within scope and --older-than", () => {
    const images = [image(1, { snapshots: ["snap-used"] })];
    const snapshots = new Map([
      [
        E1,
        [
          snapshot("snap-used"),
          snapshot("snap-orphan"),
          snapshot("snap-pending", { state: "pending" }),
          snapshot("snap-young", { startTime: daysAgo(1) }),
          snapshot("snap-other", { tags: { "cws:managed-by": "cws", "cws:template": "other" } }),
        ],
      ],
    ]);
    const p = plan(images, 1, { facts: { snapshots }, scope: { olderThanMs: 7 * DAY, templateId: "r-research" } });
    expect(p.orphans.map((o) => o.snapshotId)).toEqual(["snap-orphan"]);
    expect(plan(images, 1, { facts: { snapshots } }).orphans.map((o) => o.snapshotId)).toEqual(["snap-orphan", "snap-other", "snap-young"]);
  });

  it("sums the monthly snapshot storage of what is deleted, at the price table's rate, and says when a price is missing", () => {
    const images = [image(1, { sizeGb: 30 }), image(2, { sizeGb: 30 }), image(3, { sizeGb: 50 }), image(4, { region: "mars-1" as string, sizeGb: 8 }), image(5, { region: "mars-1" as string, sizeGb: 8 })];
    const p = plan(images, 1, { facts: { snapshots: new Map([[E1, [snapshot("snap-orphan")]]]) } });
    const perGb = SHIPPED_PRICES.regions[E1]!.snapshotGbMonth!;
    expect(p.savedPerMonth.usd).toBeCloseTo((30 + 50 + 30) * perGb, 10);
    expect(p.savedPerMonth.known).toBe(false);
    expect(p.savedPerMonth.unknown).toEqual(["price unknown for snapshot storage in mars-1 (add it with --prices)"]);
  });
});

describe("the plan checked again after the prompt", () => {
  it("keeps a planned image the registry made current meanwhile, and changes nothing the first plan did not", () => {
    const images = [1, 2, 3, 4].map((n) => image(n));
    const first = plan(images, 1, { registry: registryWith({ "r-research": { [E1]: { x86_64: record(ami(4), daysAgo(4)) } } }) });
    expect(deleted(first)).toEqual([ami(2), ami(3)]);
    // A rollback to ami 3 meanwhile: 3 is current now, 4 no longer is (and was never asked about).
    const rolledBack = registryWith({ "r-research": { [E1]: { x86_64: { ...record(ami(3), daysAgo(3)), pinned: true, history: [record(ami(4), daysAgo(4))] } as AmiRecord } } });
    const { plan: again, nowKept } = recheckPlan(first, facts(images), rolledBack, SHIPPED_PRICES);
    expect(deleted(again)).toEqual([ami(2)]);
    expect(nowKept.map((i) => i.imageId)).toEqual([ami(3)]);
    expect(reasonsOf(again, ami(4))).toEqual(["registry-history"]);
    // A second rollback meanwhile, to ami 2: 4 is now past the first N of the history, but the confirmed plan did not delete it.
    const twice = registryWith({ "r-research": { [E1]: { x86_64: { ...record(ami(2), daysAgo(2)), pinned: true, history: [record(ami(3), daysAgo(3)), record(ami(4), daysAgo(4))] } as AmiRecord } } });
    const { plan: twiceAgain } = recheckPlan(first, facts(images), twice, SHIPPED_PRICES);
    expect(reasonsOf(twiceAgain, ami(4))).toEqual(["not-confirmed"]);
    expect(deleted(twiceAgain)).toEqual([]);
  });
});

describe("dropFromHistory", () => {
  it("removes deleted AMIs from every history of their region, never a current AMI, and says what it dropped", () => {
    const registry = registryWith({
      "r-research": {
        [E1]: { x86_64: { ...record(ami(1), daysAgo(1)), history: [record(ami(2), daysAgo(2)), record(ami(3), daysAgo(3))] } },
        [W2]: { x86_64: { ...record(ami(5), daysAgo(1)), history: [record(ami(2), daysAgo(2))] } },
      },
      other: { [E1]: { arm64: { ...record(ami(6), daysAgo(1)), history: [record(ami(3), daysAgo(3))] } } },
    });
    const dropped = dropFromHistory(registry, new Map([[E1, new Set([ami(1), ami(2), ami(3)])]]));
    expect(dropped).toEqual([
      { templateId: "r-research", region: E1, architecture: "x86_64", amiId: ami(2) },
      { templateId: "r-research", region: E1, architecture: "x86_64", amiId: ami(3) },
      { templateId: "other", region: E1, architecture: "arm64", amiId: ami(3) },
    ]);
    const east = registry.templates["r-research"]!.amis[E1]!.x86_64!;
    expect(east.ami_id).toBe(ami(1));
    expect(east.history).toBeUndefined();
    expect(registry.templates["r-research"]!.amis[W2]!.x86_64!.history?.map((h) => h.ami_id)).toEqual([ami(2)]);
    expect(registry.templates.other!.amis[E1]!.arm64!.history).toBeUndefined();
  });
});
