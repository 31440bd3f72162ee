import type { ImageInfo, SnapshotInfo } from "../aws/ports.js";
import { snapshotMonthlyCost, sumCosts, type CostTotal, type StorageCost } from "../fleet/cost.js";
import type { PriceTable } from "../fleet/prices.js";
import { ownValue } from "../own-keys.js";
import { COPIED_FROM_TAG, parseCopiedFromTag, type CopiedFrom } from "../registry/copied-from.js";
import { isPinned, type DroppedRecord } from "../registry/operations.js";
import type { AmiRecord, Registry } from "../registry/schema.js";

/**
 * `cws ami cleanup`'s decision, as a pure function of what AWS and the
 * registry say: for every cws image, keep (with every reason that holds) or
 * delete (or deprecate). Nothing here calls AWS; cleanup.ts gathers the facts
 * and acts on the plan.
 *
 * The rules, in the words the README promises them:
 * - per template, region and architecture, the newest N (1 or more) available
 *   images are kept (and any created at the very moment the Nth was: their
 *   order is arbitrary, so none of them is the one to go);
 * - never an image the registry names as current (pinned by a rollback or not),
 *   nor one of the first N of its history that are still available (so
 *   `rollback` keeps working: an entry whose image is gone is no target);
 * - never an image tagged cws:validated=pending made in the last 6 hours (a
 *   build may still be verifying it, before it records it);
 * - never an image an instance that is not terminated was launched from, nor
 *   one any version of any launch template names (an AMI id, or a
 *   `resolve:ssm:` parameter whose value is the image);
 * - never the base image (`cws:base-ami`, the registry's `base_ami`) of an
 *   image that stays, however many templates deep;
 * - never the source of an image still pending (CopyImage reads it until
 *   done): any pending image of the account that names it, as EC2 records
 *   the source or as its cws:copied-from tag says, whatever its other tags;
 * - never an image that is not available (pending: a build or copy at work;
 *   failed: `cws ami reap`'s), nor one without a `cws:template` tag;
 * - with --older-than, never an image younger than that;
 * - --template and --region narrow what may change, never what protects: an
 *   image of another template or region still keeps its base and its source.
 */

/** A cws image and the region it is in. */
export interface RegionImage {
  region: string;
  image: ImageInfo;
}

/** A launch template version that launches an image (directly, or through an SSM parameter). */
export interface LaunchTemplateUse {
  launchTemplateId: string;
  launchTemplateName: string;
  versionNumber: number;
  /** The `resolve:ssm:` parameter that named the image, when it was one. */
  parameter?: string;
}

/** What uses images, keyed by `imageKey(region, imageId)`. */
export interface ImageUsage {
  instances: ReadonlyMap<string, readonly { instanceId: string; state: string }[]>;
  launchTemplates: ReadonlyMap<string, readonly LaunchTemplateUse[]>;
}

export const NO_USAGE: ImageUsage = { instances: new Map(), launchTemplates: new Map() };

/** Everything AWS said that the plan is made from (gathered by cleanup.ts). */
export interface CleanupFacts {
  /** Every cws image (any state) of every region looked at. */
  images: readonly RegionImage[];
  /**
   * Every pending image of the account in those regions, whatever its tags:
   * a copy made without cws's tags (a person's own CopyImage) is not a cws
   * image, yet it reads its source until it is done.
   */
  pendingImages: readonly RegionImage[];
  /** AMIs a registry history names that EC2 says no longer exist, by region (cleanup.ts asks by id). */
  goneFromHistory: ReadonlyMap<string, ReadonlySet<string>>;
  /** The cws snapshots of the regions that may change, by region. */
  snapshots: ReadonlyMap<string, readonly SnapshotInfo[]>;
  usage: ImageUsage;
  /** Launch template versions whose `resolve:ssm:` image could not be read: what they launch is not known. */
  unresolved: readonly UnresolvedLaunchTemplate[];
}

export interface UnresolvedLaunchTemplate {
  region: string;
  launchTemplateId: string;
  launchTemplateName: string;
  versionNumber: number;
  parameter: string;
  /** Why: "no such parameter", AWS's error, "its value … is not an AMI id". */
  problem: string;
}

export interface CleanupScope {
  /** 1 or more (--keep-latest): the newest image of each target always stays. */
  keepLatest: number;
  /** Only images (and orphaned snapshots) older than this may go. */
  olderThanMs?: number | undefined;
  /** --template: only this template's images may change. */
  templateId?: string | undefined;
  /** --region: only these regions' images may change (all that were looked at, when undefined). */
  regions?: readonly string[] | undefined;
  /** Deprecate (EnableImageDeprecation) instead of deleting; nothing is deleted. */
  deprecate: boolean;
  now: Date;
}

/** Why an image stays. Typed, so that what is deleted never depends on a sentence. */
export type KeepReason =
  /** Among the newest `keepLatest`, or (`tie`) created at the same moment as the `keepLatest`th, the last of them kept. */
  | { kind: "newest"; rank: number; tie: boolean; keepLatest: number }
  | { kind: "registry-current"; pinned: boolean }
  | { kind: "registry-history"; position: number }
  | { kind: "instances"; instances: readonly { instanceId: string; state: string }[] }
  | { kind: "launch-templates"; uses: readonly LaunchTemplateUse[] }
  | { kind: "base-of"; images: readonly string[] }
  | { kind: "copy-source"; copies: readonly string[] }
  | { kind: "not-available"; state: string }
  | { kind: "younger"; olderThanMs: number }
  /** Tagged cws:validated=pending less than VALIDATION_PENDING_MS ago: a build with --verify may still be testing it before it records it. */
  | { kind: "validation-pending"; ageMs: number }
  | { kind: "no-template-tag" }
  | { kind: "already-deprecated"; since: string }
  /** Not in the plan that was confirmed (the registry changed meanwhile): it was never asked about, so it waits for the next cleanup. */
  | { kind: "not-confirmed" };

export type CleanupAction = "keep" | "delete" | "deprecate";

export interface PlannedImage {
  region: string;
  imageId: string;
  name: string;
  /** cws:template; undefined when the image has none. */
  templateId: string | undefined;
  architecture: string;
  created: string;
  state: string;
  /** 1 for the newest available image of its template, region and architecture; undefined when it is not available. */
  rank: number | undefined;
  sizeGb: number;
  /** Learnt from the image before anything is deregistered: afterwards the image no longer says. */
  snapshotIds: readonly string[];
  action: CleanupAction;
  /** Empty for an image that goes. */
  reasons: KeepReason[];
  /** Why it goes (deleted or deprecated); undefined when it stays. */
  goes: GoReason | undefined;
}

/** Why an image goes: nothing keeps it, and it is not among the newest `keepLatest` of its target. */
export type GoReason =
  | { kind: "not-among-newest"; rank: number; keepLatest: number }
  /** Tagged cws:validated=false (it failed on a fresh instance), or still pending long after any build would have judged it: it takes no place among the newest. */
  | { kind: "unproven"; validated: "false" | "pending" };

/** `false` or `pending` when the image's cws:validated tag says it was not proven on a fresh instance; undefined otherwise. */
function unproven(tags: Record<string, string>): "false" | "pending" | undefined {
  const validated = ownValue(tags, "cws:validated");
  return validated === "false" || validated === "pending" ? validated : undefined;
}

/** How long an image tagged cws:validated=pending is kept: its build may still be verifying it (a build and its verification take well under this). */
export const VALIDATION_PENDING_MS = 6 * 3_600_000;

/** A cws snapshot that no image of its region names (a cleanup or build cut short between the two deletions). */
export interface OrphanSnapshot {
  region: string;
  snapshotId: string;
  sizeGb: number;
  startTime: string;
  templateId: string | undefined;
}

export interface CleanupPlan {
  scope: CleanupScope;
  /** Every image that may change (in --template and --region), newest first within its template, region and architecture. */
  images: PlannedImage[];
  orphans: OrphanSnapshot[];
  /** History records (of --template and --region) whose AMI no longer exists: the registry loses them when cleanup acts. */
  goneFromHistory: DroppedRecord[];
  unresolved: readonly UnresolvedLaunchTemplate[];
  /** The snapshot storage the deletions end, per month (an upper bound: see snapshotMonthlyCost). */
  savedPerMonth: CostTotal;
}

/**
 * When a deprecation asked for now takes effect. EC2 rounds the seconds to
 * the nearest minute and refuses a time in the past, so: the next whole
 * minute, plus one for the clocks of this machine and EC2 to differ. An image
 * deprecated from then or earlier is left as it is.
 */
export function deprecationTime(now: Date): Date {
  return new Date((Math.floor(now.getTime() / 60_000) + 2) * 60_000);
}

/** The key of an image in a region, for the maps above. */
export function imageKey(region: string, imageId: string): string {
  return `${region}/${imageId}`;
}

/** GiB an image's snapshots hold at most: its EBS volumes together, else its root volume. */
export function imageSizeGb(image: ImageInfo): number {
  return image.totalVolumeSizeGb ?? image.rootVolumeSizeGb ?? 0;
}

interface Judged {
  entry: RegionImage;
  key: string;
  templateId: string | undefined;
  architecture: string;
  createdMs: number;
  inScope: boolean;
  rank: number | undefined;
  reasons: KeepReason[];
}

/** The instance states in which an instance still uses its image: every state but terminated. */
export const INSTANCE_STATES_IN_USE: readonly string[] = ["pending", "running", "shutting-down", "stopping", "stopped"];

/**
 * The registry's AMIs that must stay, with why, by image key; and the base AMI
 * each record names. Of a history, the first `keepLatest` records whose image
 * is `available` stay (`position` counts only those): a record whose image is
 * gone, or failed, is no rollback target, and must not stand in for one.
 */
function registryProtections(
  registry: Registry | undefined,
  keepLatest: number,
  available: ReadonlySet<string>,
): { reasons: Map<string, KeepReason>; records: Map<string, AmiRecord> } {
  const reasons = new Map<string, KeepReason>();
  const records = new Map<string, AmiRecord>();
  for (const template of Object.values(registry?.templates ?? {})) {
    for (const [region, byArch] of Object.entries(template?.amis ?? {})) {
      for (const entry of Object.values(byArch ?? {})) {
        if (!entry) continue;
        const current = imageKey(region, entry.ami_id);
        reasons.set(current, { kind: "registry-current", pinned: isPinned(entry) });
        records.set(current, entry);
        let targets = 0;
        for (const record of entry.history ?? []) {
          const key = imageKey(region, record.ami_id);
          if (!records.has(key)) records.set(key, record);
          if (targets >= keepLatest || !available.has(key)) continue;
          targets += 1;
          if (!reasons.has(key)) reasons.set(key, { kind: "registry-history", position: targets });
        }
      }
    }
  }
  return { reasons, records };
}

/** The history records of the entries in scope whose AMI no longer exists (facts.goneFromHistory). */
function goneHistoryRecords(registry: Registry | undefined, facts: CleanupFacts, scope: CleanupScope): DroppedRecord[] {
  const gone: DroppedRecord[] = [];
  for (const [templateId, template] of Object.entries(registry?.templates ?? {})) {
    for (const [region, byArch] of Object.entries(template?.amis ?? {})) {
      const ids = facts.goneFromHistory.get(region);
      if (!ids || !inScope(scope, region, templateId)) continue;
      for (const [architecture, entry] of Object.entries(byArch ?? {})) {
        for (const record of entry?.history ?? []) if (ids.has(record.ami_id)) gone.push({ templateId, region, architecture, amiId: record.ami_id });
      }
    }
  }
  return gone;
}

/** Where an image's base AMI is: in the region it was built in (a copy's is its source's region). */
function baseKey(region: string, tags: Record<string, string>, record: AmiRecord | undefined): string | undefined {
  const base = ownValue(tags, "cws:base-ami") ?? record?.base_ami;
  if (base === undefined) return undefined;
  const copiedFrom: CopiedFrom | undefined = parseCopiedFromTag(ownValue(tags, COPIED_FROM_TAG)) ?? record?.copied_from;
  return imageKey(copiedFrom?.region ?? region, base);
}

function inScope(scope: CleanupScope, region: string, templateId: string | undefined): boolean {
  return (scope.templateId === undefined || scope.templateId === templateId) && (scope.regions === undefined || scope.regions.includes(region));
}

/**
 * The plan: every image that may change, kept or not and why, and the
 * orphaned snapshots to delete. Pure: the same facts, registry and scope
 * always give the same plan.
 */
export function planCleanup(
  facts: CleanupFacts,
  registry: Registry | undefined,
  scope: CleanupScope,
  prices: PriceTable,
  /** Only these images (keys) may change; undefined: any. */
  confirmed?: ReadonlySet<string>,
): CleanupPlan {
  const now = scope.now.getTime();
  const available = new Set(facts.images.filter(({ image }) => image.state === "available").map(({ region, image }) => imageKey(region, image.imageId)));
  const protectedByRegistry = registryProtections(registry, scope.keepLatest, available);
  const judged: Judged[] = facts.images.map((entry) => {
    const { image, region } = entry;
    const templateId = ownValue(image.tags, "cws:template");
    return {
      entry,
      key: imageKey(region, image.imageId),
      templateId,
      architecture: ownValue(image.tags, "cws:arch") ?? image.architecture,
      createdMs: Date.parse(image.creationDate),
      inScope: inScope(scope, region, templateId),
      rank: undefined,
      reasons: [],
    };
  });
  const byKey = new Map(judged.map((j) => [j.key, j]));

  // The newest N available images of each template, region and architecture, and any created at the same moment as the Nth.
  const targets = new Map<string, Judged[]>();
  for (const j of judged) {
    if (j.entry.image.state !== "available" || j.templateId === undefined) continue;
    // An image that failed on a fresh instance, or was never judged, never pushes a proven one out of the newest N.
    if (unproven(j.entry.image.tags) !== undefined) continue;
    const target = `${j.templateId}\n${j.entry.region}\n${j.architecture}`;
    targets.set(target, [...(targets.get(target) ?? []), j]);
  }
  for (const images of targets.values()) {
    images.sort((a, b) => (b.createdMs || 0) - (a.createdMs || 0) || (a.entry.image.imageId < b.entry.image.imageId ? -1 : 1));
    const nth = scope.keepLatest > 0 ? images[Math.min(scope.keepLatest, images.length) - 1] : undefined;
    images.forEach((j, index) => {
      j.rank = index + 1;
      if (index < scope.keepLatest) j.reasons.push({ kind: "newest", rank: index + 1, tie: false, keepLatest: scope.keepLatest });
      else if (nth !== undefined && j.createdMs === nth.createdMs) j.reasons.push({ kind: "newest", rank: index + 1, tie: true, keepLatest: scope.keepLatest });
    });
  }
  for (const j of judged) {
    const { image } = j.entry;
    const registryReason = protectedByRegistry.reasons.get(j.key);
    if (registryReason) j.reasons.push(registryReason);
    const instances = facts.usage.instances.get(j.key);
    if (instances?.length) j.reasons.push({ kind: "instances", instances });
    const uses = facts.usage.launchTemplates.get(j.key);
    if (uses?.length) j.reasons.push({ kind: "launch-templates", uses });
    if (image.state !== "available") j.reasons.push({ kind: "not-available", state: image.state });
    if (j.templateId === undefined) j.reasons.push({ kind: "no-template-tag" });
    if (scope.olderThanMs !== undefined && !(now - j.createdMs >= scope.olderThanMs)) j.reasons.push({ kind: "younger", olderThanMs: scope.olderThanMs });
    // Not yet recorded: a build verifying it on a fresh instance records it (or tags it false) when the test ends.
    if (ownValue(image.tags, "cws:validated") === "pending" && !(now - j.createdMs >= VALIDATION_PENDING_MS)) j.reasons.push({ kind: "validation-pending", ageMs: Math.max(0, now - j.createdMs) });
  }
  for (const [sourceKey, copies] of pendingImagesBySource(facts)) byKey.get(sourceKey)?.reasons.push({ kind: "copy-source", copies });
  // Before the bases: an image kept for not being in the confirmed plan keeps its base too.
  if (confirmed !== undefined) for (const j of judged) if (j.inScope && j.reasons.length === 0 && !confirmed.has(j.key)) j.reasons.push({ kind: "not-confirmed" });

  // The base of every image that stays stays too, and so on down the chain (a child's parent's parent).
  const stays = (j: Judged) => !j.inScope || j.reasons.length > 0;
  const baseOf = new Map<string, Set<string>>();
  const visit: string[] = [...judged.filter(stays).map((j) => j.key), ...protectedByRegistry.reasons.keys()];
  const seen = new Set<string>();
  for (let key = visit.pop(); key !== undefined; key = visit.pop()) {
    if (seen.has(key)) continue;
    seen.add(key);
    const j = byKey.get(key);
    const region = key.slice(0, key.indexOf("/"));
    const base = baseKey(region, j?.entry.image.tags ?? {}, protectedByRegistry.records.get(key));
    if (base === undefined || base === key) continue;
    baseOf.set(base, (baseOf.get(base) ?? new Set()).add(key));
    visit.push(base);
  }
  for (const [base, children] of baseOf) {
    const j = byKey.get(base);
    j?.reasons.push({ kind: "base-of", images: [...children].sort() });
  }

  const images: PlannedImage[] = judged
    .filter((j) => j.inScope)
    .map((j) => {
      const { image, region } = j.entry;
      let action: CleanupAction = j.reasons.length > 0 ? "keep" : scope.deprecate ? "deprecate" : "delete";
      if (action === "deprecate" && image.deprecationTime !== undefined && Date.parse(image.deprecationTime) <= deprecationTime(scope.now).getTime()) {
        j.reasons.push({ kind: "already-deprecated", since: image.deprecationTime });
        action = "keep";
      }
      // Only an available image with a template tag has a rank or is unproven, and any other is kept: an image that goes always has a reason.
      const validated = unproven(image.tags);
      const goes: GoReason | undefined =
        action === "keep" ? undefined : validated !== undefined ? { kind: "unproven", validated } : { kind: "not-among-newest", rank: j.rank ?? 0, keepLatest: scope.keepLatest };
      return {
        region,
        imageId: image.imageId,
        name: image.name,
        templateId: j.templateId,
        architecture: j.architecture,
        created: image.creationDate,
        state: image.state,
        rank: j.rank,
        sizeGb: imageSizeGb(image),
        snapshotIds: [...image.snapshotIds],
        action,
        reasons: j.reasons,
        goes,
      };
    })
    .sort(byTarget);

  const orphans = scope.deprecate ? [] : orphanSnapshots(facts, scope);
  const saved: StorageCost[] = [
    ...images.filter((i) => i.action === "delete").map((i) => snapshotMonthlyCost({ region: i.region, sizeGb: i.sizeGb }, prices)),
    ...orphans.map((o) => snapshotMonthlyCost({ region: o.region, sizeGb: o.sizeGb }, prices)),
  ];
  const goneFromHistory = scope.deprecate ? [] : goneHistoryRecords(registry, facts, scope);
  return { scope, images, orphans, goneFromHistory, unresolved: facts.unresolved, savedPerMonth: sumCosts(saved) };
}

/**
 * The images each pending image reads from, by source key: any pending image
 * of the account (a cws image, or one without cws's tags), by the source EC2
 * records (SourceImageId, SourceImageRegion) and by its cws:copied-from tag.
 */
function pendingImagesBySource(facts: CleanupFacts): Map<string, string[]> {
  const pending = new Map<string, RegionImage>();
  for (const entry of [...facts.images, ...facts.pendingImages]) if (entry.image.state === "pending") pending.set(imageKey(entry.region, entry.image.imageId), entry);
  const bySource = new Map<string, string[]>();
  for (const [key, { image }] of pending) {
    const tagged = parseCopiedFromTag(ownValue(image.tags, COPIED_FROM_TAG));
    const sources = new Set<string>();
    if (image.source) sources.add(imageKey(image.source.region, image.source.imageId));
    if (tagged) sources.add(imageKey(tagged.region, tagged.ami_id));
    for (const source of sources) bySource.set(source, [...(bySource.get(source) ?? []), key]);
  }
  return bySource;
}

/** Template, region, architecture, then newest first. */
function byTarget(a: PlannedImage, b: PlannedImage): number {
  const text = (x: string | undefined, y: string | undefined) => ((x ?? "") < (y ?? "") ? -1 : (x ?? "") > (y ?? "") ? 1 : 0);
  return text(a.templateId, b.templateId) || text(a.region, b.region) || text(a.architecture, b.architecture) || text(b.created, a.created) || text(a.imageId, b.imageId);
}

/**
 * cws snapshots (tagged cws:managed-by=cws) that no image of their region
 * names, completed (a snapshot still pending may belong to an image being
 * made, which names it only later), in scope, and older than --older-than.
 * EC2 itself refuses to delete a snapshot an image uses (InvalidSnapshot.InUse).
 */
function orphanSnapshots(facts: CleanupFacts, scope: CleanupScope): OrphanSnapshot[] {
  const named = new Set(facts.images.flatMap(({ region, image }) => image.snapshotIds.map((id) => imageKey(region, id))));
  const orphans: OrphanSnapshot[] = [];
  for (const [region, snapshots] of facts.snapshots) {
    for (const snapshot of snapshots) {
      const templateId = ownValue(snapshot.tags, "cws:template");
      if (snapshot.state !== "completed" || named.has(imageKey(region, snapshot.snapshotId)) || !inScope(scope, region, templateId)) continue;
      if (scope.olderThanMs !== undefined && !(scope.now.getTime() - Date.parse(snapshot.startTime) >= scope.olderThanMs)) continue;
      orphans.push({ region, snapshotId: snapshot.snapshotId, sizeGb: snapshot.volumeSizeGb, startTime: snapshot.startTime, templateId });
    }
  }
  return orphans.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : a.snapshotId < b.snapshotId ? -1 : 1));
}

/** The images the plan deletes or deprecates, by key: what usage must be asked about before the plan is final. */
export function changedImages(plan: Pick<CleanupPlan, "images">): PlannedImage[] {
  return plan.images.filter((image) => image.action !== "keep");
}

/**
 * The plan made again from a registry read once more (after the prompt, which
 * may have waited minutes: a rollback or a build may have made a planned image
 * current meanwhile). Only images the first plan changed may change now: one
 * the new registry no longer protects was never asked about (instances,
 * launch templates), so it waits for the next cleanup. The scope (and its
 * `now`) is the first plan's, so that --older-than means the same.
 */
export function recheckPlan(first: CleanupPlan, facts: CleanupFacts, registry: Registry | undefined, prices: PriceTable): { plan: CleanupPlan; nowKept: PlannedImage[] } {
  const before = new Set(changedImages(first).map((image) => imageKey(image.region, image.imageId)));
  const plan = planCleanup(facts, registry, first.scope, prices, before);
  const nowKept = plan.images.filter((image) => image.action === "keep" && before.has(imageKey(image.region, image.imageId)));
  return { plan, nowKept };
}
