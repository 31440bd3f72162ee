import { isAwsError, type AwsPorts, type ImageInfo, type SnapshotInfo } from "../aws/ports.js";
import { removeImage } from "../builder/image-lifecycle.js";
import { MANAGED_TAG, listCwsImages } from "../registry/aws-images.js";
import type { Registry } from "../registry/schema.js";
import { isAmiId } from "../template/architectures.js";
import type { PriceTable } from "../fleet/prices.js";
import {
  INSTANCE_STATES_IN_USE,
  NO_USAGE,
  changedImages,
  deprecationTime,
  imageKey,
  planCleanup,
  type CleanupFacts,
  type CleanupPlan,
  type CleanupScope,
  type ImageUsage,
  type LaunchTemplateUse,
  type RegionImage,
  type UnresolvedLaunchTemplate,
} from "./cleanup-plan.js";

/**
 * `cws ami cleanup` against AWS: gather the facts the plan is made from
 * (cleanup-plan.ts decides), then act on a plan. Gathering calls only
 * Describe* and GetParameter, so a dry run changes nothing; acting calls only
 * DeregisterImage, DeleteSnapshot and EnableImageDeprecation, each on an image
 * or snapshot tagged cws:managed-by=cws (the IAM policy allows nothing else).
 */

export interface GatherRequest {
  aws: AwsPorts;
  /** Every region to look in: the templates' and the registry's (what protects an image may be in any of them). */
  regions: readonly string[];
  registry: Registry | undefined;
  scope: CleanupScope;
  prices: PriceTable;
  /** A line of progress (stderr). */
  progress?: (message: string) => void;
}

const SSM_PREFIX = "resolve:ssm:";

/** EC2's most values in one filter: DescribeImages' image-id filter is asked this many ids at a time. */
const IDS_PER_FILTER = 200;

/**
 * Everything the plan needs, read from AWS: the cws images of every region
 * (all pages, every state) and the account's pending images whatever their
 * tags (a copy reads its source until done), the cws snapshots of the regions
 * that may change, the registry's history AMIs that no longer exist, then
 * what uses each image the plan shows: instances that are not terminated (by
 * image id), and every version of every launch template (an SSM parameter
 * read for a `resolve:ssm:` image). Usage is asked about every image shown,
 * kept or not, so that its WHY lists every reason that holds; only where an
 * image is shown.
 */
export async function gatherCleanupFacts(request: GatherRequest): Promise<CleanupFacts> {
  const { aws, regions, scope } = request;
  const changeable = regions.filter((region) => scope.regions === undefined || scope.regions.includes(region));
  request.progress?.(`Looking for cws images in ${regions.length} region${regions.length === 1 ? "" : "s"} (${regions.join(", ")})`);
  const inRegions = async (among: readonly string[], list: (region: string) => Promise<ImageInfo[]>): Promise<RegionImage[]> =>
    (await Promise.all(among.map(async (region) => (await list(region)).map((image): RegionImage => ({ region, image }))))).flat();
  const [images, pendingImages, snapshots] = await Promise.all([
    inRegions(regions, (region) => listCwsImages(aws.ec2(region))),
    inRegions(regions, (region) => aws.ec2(region).describeImages({ owners: ["self"], states: ["pending"] })),
    scope.deprecate
      ? Promise.resolve(new Map<string, SnapshotInfo[]>())
      : Promise.all(changeable.map(async (region) => [region, await aws.ec2(region).describeSnapshots({ owners: ["self"], tags: { ...MANAGED_TAG } })] as const)).then(
          (entries) => new Map(entries),
        ),
  ]);
  const goneFromHistory = scope.deprecate ? new Map<string, Set<string>>() : await historyAmisGone(aws, request.registry, images, changeable);
  const shown = planCleanup({ images, pendingImages, goneFromHistory, snapshots, usage: NO_USAGE, unresolved: [] }, request.registry, scope, request.prices).images;
  const candidates = new Map<string, string[]>();
  for (const image of shown) candidates.set(image.region, [...(candidates.get(image.region) ?? []), image.imageId]);
  if (candidates.size > 0) request.progress?.(`Checking what uses the ${shown.length} image${shown.length === 1 ? "" : "s"}: instances and launch templates`);
  const usage = { instances: new Map(), launchTemplates: new Map() } satisfies ImageUsage;
  const unresolved: UnresolvedLaunchTemplate[] = [];
  await Promise.all(
    [...candidates].map(async ([region, imageIds]) => {
      const ec2 = aws.ec2(region);
      const [instances, templates] = await Promise.all([ec2.describeInstances({ imageIds, states: [...INSTANCE_STATES_IN_USE] }), ec2.launchTemplateImages()]);
      for (const instance of instances) {
        if (instance.imageId === undefined) continue;
        const key = imageKey(region, instance.imageId);
        usage.instances.set(key, [...(usage.instances.get(key) ?? []), { instanceId: instance.instanceId, state: instance.state }]);
      }
      const parameters = new Map<string, Promise<{ value?: string; problem?: string }>>();
      const read = (name: string) => {
        let found = parameters.get(name);
        if (!found) {
          found = aws
            .ssm(region)
            .getParameter(name)
            .then(
              (value) => (value === undefined ? { problem: "no such parameter" } : isAmiId(value) ? { value } : { problem: `its value ${JSON.stringify(value)} is not an AMI id` }),
              (error: unknown) => ({ problem: isAwsError(error) ? `${error.code}: ${error.message.replace(`${error.action}: ${error.code}: `, "")}` : String(error) }),
            );
          parameters.set(name, found);
        }
        return found;
      };
      for (const version of templates) {
        const use: LaunchTemplateUse = { launchTemplateId: version.launchTemplateId, launchTemplateName: version.launchTemplateName, versionNumber: version.versionNumber };
        let imageId = version.imageId;
        if (imageId?.startsWith(SSM_PREFIX)) {
          const parameter = imageId.slice(SSM_PREFIX.length);
          const resolved = await read(parameter);
          if (resolved.value === undefined) {
            unresolved.push({ region, ...use, parameter, problem: resolved.problem ?? "unknown" });
            continue;
          }
          imageId = resolved.value;
          use.parameter = parameter;
        }
        if (imageId === undefined) continue;
        const key = imageKey(region, imageId);
        usage.launchTemplates.set(key, [...(usage.launchTemplates.get(key) ?? []), use]);
      }
    }),
  );
  return { images, pendingImages, goneFromHistory, snapshots, usage, unresolved };
}

/**
 * The AMIs the registry's histories name that no longer exist, by region
 * (among `regions`). Only entries whose current AMI is among this account's
 * cws images are looked at (a registry of another account names images this
 * one cannot see); a history AMI that is not among them either is asked about
 * by id (it may only have lost its tags) and counts as gone only when EC2
 * does not know it.
 */
async function historyAmisGone(aws: AwsPorts, registry: Registry | undefined, images: readonly RegionImage[], regions: readonly string[]): Promise<Map<string, Set<string>>> {
  const listed = new Set(images.map(({ region, image }) => imageKey(region, image.imageId)));
  const unknown = new Map<string, Set<string>>();
  for (const template of Object.values(registry?.templates ?? {})) {
    for (const [region, byArch] of Object.entries(template?.amis ?? {})) {
      if (!regions.includes(region)) continue;
      for (const entry of Object.values(byArch ?? {})) {
        if (!entry || !listed.has(imageKey(region, entry.ami_id))) continue;
        for (const record of entry.history ?? []) {
          if (!listed.has(imageKey(region, record.ami_id))) unknown.set(region, (unknown.get(region) ?? new Set()).add(record.ami_id));
        }
      }
    }
  }
  const gone = new Map<string, Set<string>>();
  await Promise.all(
    [...unknown].map(async ([region, ids]) => {
      const all = [...ids];
      const found = new Set<string>();
      for (let start = 0; start < all.length; start += IDS_PER_FILTER) {
        for (const image of await aws.ec2(region).describeImages({ owners: ["self"], anyOfImageIds: all.slice(start, start + IDS_PER_FILTER) })) found.add(image.imageId);
      }
      const missing = all.filter((id) => !found.has(id));
      if (missing.length > 0) gone.set(region, new Set(missing));
    }),
  );
  return gone;
}

/** What happened to one image or snapshot of the plan. */
export type CleanupEvent =
  /** Deregistered; `snapshotIds` deleted, `snapshotsLeft` not (each still costs; the next cleanup deletes it as orphaned). */
  | { kind: "deleted"; region: string; imageId: string; snapshotIds: string[]; snapshotsLeft: { snapshotId: string; error: unknown }[] }
  | { kind: "deprecated"; region: string; imageId: string; deprecateAt: string }
  | { kind: "snapshot-deleted"; region: string; snapshotId: string }
  /** A snapshot EC2 says an image uses after all (InvalidSnapshot.InUse): left, which is what should happen to it. */
  | { kind: "snapshot-in-use"; region: string; snapshotId: string }
  | { kind: "failed"; region: string; id: string; error: unknown };

export interface CleanupOutcome {
  events: CleanupEvent[];
  /**
   * A signal (Ctrl-C, SIGTERM, a closed terminal) came while it acted: it
   * stopped after what was under way, even if nothing was left to do by then.
   */
  interrupted: boolean;
}

/**
 * Acts on the plan: each image that goes is deregistered and every one of
 * its snapshots deleted (the ids learnt from the image before deregistering
 * it), or deprecated; orphaned snapshots are deleted. Regions work in
 * parallel, one image at a time in each. A failure is reported and the rest
 * goes on; Ctrl-C (`signal`) stops each region after the image under way, so
 * no image is left deregistered with its snapshots behind.
 */
export async function applyCleanup(plan: CleanupPlan, options: { aws: AwsPorts; now: Date; signal?: AbortSignal; onEvent?: (event: CleanupEvent) => void }): Promise<CleanupOutcome> {
  const events: CleanupEvent[] = [];
  const emit = (event: CleanupEvent) => {
    events.push(event);
    options.onEvent?.(event);
  };
  const deprecateAt = deprecationTime(options.now);
  const regions = [...new Set([...changedImages(plan).map((image) => image.region), ...plan.orphans.map((orphan) => orphan.region)])];
  await Promise.all(
    regions.map(async (region) => {
      const ec2 = options.aws.ec2(region);
      for (const image of changedImages(plan).filter((i) => i.region === region)) {
        if (options.signal?.aborted) return;
        try {
          if (image.action === "deprecate") {
            await ec2.enableImageDeprecation(image.imageId, deprecateAt);
            emit({ kind: "deprecated", region, imageId: image.imageId, deprecateAt: deprecateAt.toISOString() });
          } else {
            const removal = await removeImage(ec2, image.imageId, image.snapshotIds);
            emit({ kind: "deleted", region, imageId: image.imageId, snapshotIds: removal.deleted, snapshotsLeft: removal.left });
          }
        } catch (error) {
          emit({ kind: "failed", region, id: image.imageId, error });
        }
      }
      for (const orphan of plan.orphans.filter((o) => o.region === region)) {
        if (options.signal?.aborted) return;
        try {
          await ec2.deleteSnapshot(orphan.snapshotId);
          emit({ kind: "snapshot-deleted", region, snapshotId: orphan.snapshotId });
        } catch (error) {
          if (isAwsError(error, "InvalidSnapshot.NotFound")) emit({ kind: "snapshot-deleted", region, snapshotId: orphan.snapshotId });
          else if (isAwsError(error, "InvalidSnapshot.InUse")) emit({ kind: "snapshot-in-use", region, snapshotId: orphan.snapshotId });
          else emit({ kind: "failed", region, id: orphan.snapshotId, error });
        }
      }
    }),
  );
  // One rule for the exit code: a signal that came while acting is an interruption, whether or not anything was left.
  return { events, interrupted: options.signal?.aborted === true };
}
