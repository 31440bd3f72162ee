import { isAwsError, type AwsPorts, type SnapshotInfo } from "../aws/ports.js";
import { deleteImageAndSnapshots } from "../builder/image-lifecycle.js";
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

/**
 * Everything the plan needs, read from AWS: the cws images of every region
 * (all pages, every state), the cws snapshots of the regions that may change,
 * then what uses the images the plan would change: instances that are not
 * terminated (by image id), and every version of every launch template (an
 * SSM parameter read for a `resolve:ssm:` image). Usage is asked for only
 * where something would change, since it can only keep images.
 */
export async function gatherCleanupFacts(request: GatherRequest): Promise<CleanupFacts> {
  const { aws, regions, scope } = request;
  const changeable = regions.filter((region) => scope.regions === undefined || scope.regions.includes(region));
  request.progress?.(`Looking for cws images in ${regions.length} region${regions.length === 1 ? "" : "s"} (${regions.join(", ")})`);
  const [images, snapshots] = await Promise.all([
    Promise.all(regions.map(async (region) => (await listCwsImages(aws.ec2(region))).map((image): RegionImage => ({ region, image })))).then((lists) => lists.flat()),
    scope.deprecate
      ? Promise.resolve(new Map<string, SnapshotInfo[]>())
      : Promise.all(changeable.map(async (region) => [region, await aws.ec2(region).describeSnapshots({ owners: ["self"], tags: { ...MANAGED_TAG } })] as const)).then(
          (entries) => new Map(entries),
        ),
  ]);
  const first = planCleanup({ images, snapshots, usage: NO_USAGE, unresolved: [] }, request.registry, scope, request.prices);
  const candidates = new Map<string, string[]>();
  for (const image of changedImages(first)) candidates.set(image.region, [...(candidates.get(image.region) ?? []), image.imageId]);
  if (candidates.size > 0) request.progress?.(`Checking what uses ${[...candidates.values()].flat().length} candidate image(s): instances and launch templates`);
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
  return { images, snapshots, usage, unresolved };
}

/** What happened to one image or snapshot of the plan. */
export type CleanupEvent =
  | { kind: "deleted"; region: string; imageId: string; snapshotIds: string[] }
  | { kind: "deprecated"; region: string; imageId: string; deprecateAt: string }
  | { kind: "snapshot-deleted"; region: string; snapshotId: string }
  /** A snapshot EC2 says an image uses after all (InvalidSnapshot.InUse): left, which is what should happen to it. */
  | { kind: "snapshot-in-use"; region: string; snapshotId: string }
  | { kind: "failed"; region: string; id: string; error: unknown };

export interface CleanupOutcome {
  events: CleanupEvent[];
  /** Ctrl-C stopped it before everything was done (what was under way was finished). */
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
  let interrupted = false;
  await Promise.all(
    regions.map(async (region) => {
      const ec2 = options.aws.ec2(region);
      for (const image of changedImages(plan).filter((i) => i.region === region)) {
        if (options.signal?.aborted) {
          interrupted = true;
          return;
        }
        try {
          if (image.action === "deprecate") {
            await ec2.enableImageDeprecation(image.imageId, deprecateAt);
            emit({ kind: "deprecated", region, imageId: image.imageId, deprecateAt: deprecateAt.toISOString() });
          } else {
            const snapshotIds = await deleteImageAndSnapshots(ec2, image.imageId, image.snapshotIds, () => undefined);
            emit({ kind: "deleted", region, imageId: image.imageId, snapshotIds });
          }
        } catch (error) {
          emit({ kind: "failed", region, id: image.imageId, error });
        }
      }
      for (const orphan of plan.orphans.filter((o) => o.region === region)) {
        if (options.signal?.aborted) {
          interrupted = true;
          return;
        }
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
  return { events, interrupted };
}
