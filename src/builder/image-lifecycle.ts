import { isAwsError, type Ec2Port, type ImageInfo, type Tags } from "../aws/ports.js";
import { waitFor, type PollSettings, type WaitPlan } from "./poll.js";

/**
 * What a new image goes through after it is asked for, whether the build made
 * it (CreateImage, steps/create-image.ts) or copied it to another region
 * (CopyImage, src/fleet/copy.ts): the wait for `available`, and the removal of
 * an image that was not finished, with its snapshots.
 */

/** Base wait for a new image, plus time per GiB: snapshots of big volumes take longer. */
export function imageWaitTimeoutMs(sizeGb: number): number {
  return 20 * 60_000 + sizeGb * 30_000;
}

/**
 * The same for a copy to another region, which moves every block of the
 * snapshots across regions rather than only the changed ones: slower, and
 * more so per GiB.
 */
export function imageCopyWaitTimeoutMs(sizeGb: number): number {
  return 45 * 60_000 + sizeGb * 60_000;
}

/** A wait's schedule with its first look moved later by `perGiBMs` for each GiB. */
export function sizedPlan(plan: WaitPlan, sizeGb: number, perGiBMs: number): WaitPlan {
  return { ...plan, firstMs: plan.firstMs + sizeGb * perGiBMs };
}

/** States an image does not leave for `available`. */
const BROKEN_STATES: ReadonlySet<string> = new Set(["failed", "invalid", "error", "deregistered"]);

export interface ImageWait {
  plan: WaitPlan;
  poll: PollSettings;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Told the image's snapshots as soon as it names any, so a cleanup knows them before it deregisters the image. */
  onSnapshots?: (snapshotIds: string[]) => void;
  /** The error for an image that will never be available (failed, invalid, ...). */
  broken: (image: ImageInfo) => Error;
}

/**
 * Polls the image until it is available and returns it. A wait that runs out
 * throws `WaitTimeoutError` (poll.ts): the image may only be slow, and the
 * caller decides to keep it.
 */
export async function waitForImageAvailable(ec2: Ec2Port, imageId: string, wait: ImageWait): Promise<ImageInfo> {
  return waitFor(
    `${imageId} to become available`,
    async () => {
      const [image] = await ec2.describeImages({ imageIds: [imageId] });
      if (image?.snapshotIds.length) wait.onSnapshots?.(image.snapshotIds);
      if (image?.state === "available") return { done: true, value: image };
      if (image !== undefined && BROKEN_STATES.has(image.state)) throw wait.broken(image);
      return { done: false, seen: image?.state ?? "not visible yet" };
    },
    { plan: wait.plan, settings: wait.poll, timeoutMs: wait.timeoutMs, signal: wait.signal },
  );
}

/** What became of an image's snapshots once the image was deregistered (removeImage). */
export interface ImageRemoval {
  /** Deleted, or already gone. */
  deleted: string[];
  /** Not deleted, each with EC2's error: the image is gone, and each of these costs until it is deleted. */
  left: { snapshotId: string; error: unknown }[];
}

/**
 * Deregisters an image, then deletes every one of `snapshotIds` (learnt
 * before: once deregistered, the image no longer says which they are), each
 * tried even when one before it failed. An image or snapshot already gone
 * counts as removed. Throws only when the image could not be deregistered,
 * and then no snapshot was touched. `removed` hears of each removal as it
 * happens.
 */
export async function removeImage(
  ec2: Ec2Port,
  imageId: string,
  snapshotIds: readonly string[],
  removed: (kind: "image" | "snapshot", id: string) => void = () => undefined,
): Promise<ImageRemoval> {
  try {
    await ec2.deregisterImage(imageId);
  } catch (error) {
    if (!isAwsError(error, "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable")) throw error;
  }
  removed("image", imageId);
  const removal: ImageRemoval = { deleted: [], left: [] };
  for (const snapshotId of snapshotIds) {
    try {
      await ec2.deleteSnapshot(snapshotId);
    } catch (error) {
      if (!isAwsError(error, "InvalidSnapshot.NotFound")) {
        removal.left.push({ snapshotId, error });
        continue;
      }
    }
    removal.deleted.push(snapshotId);
    removed("snapshot", snapshotId);
  }
  return removal;
}

/**
 * Deregisters an unfinished image and deletes its snapshots (removeImage).
 * They are learnt first when `knownSnapshotIds` is empty: once deregistered,
 * the image no longer says which they are. A snapshot that could not be
 * deleted is thrown (its error) once the others have been tried.
 */
export async function deleteImageAndSnapshots(
  ec2: Ec2Port,
  imageId: string,
  knownSnapshotIds: readonly string[] | undefined,
  removed: (kind: "image" | "snapshot", id: string) => void,
): Promise<string[]> {
  let snapshotIds = knownSnapshotIds ?? [];
  if (snapshotIds.length === 0) {
    const [image] = await ec2.describeImages({ imageIds: [imageId] }).catch(() => []);
    snapshotIds = image?.snapshotIds ?? [];
  }
  const { left } = await removeImage(ec2, imageId, snapshotIds, removed);
  if (left.length > 0) throw left[0]!.error;
  return [...snapshotIds];
}

/**
 * What to tell about an image still pending when its wait ran out: it is kept,
 * how to look at it, and how to record it once it is available.
 */
export function pendingImageAdvice(imageId: string, region: string, waitedSeconds: number, target?: { templateId: string; architecture: string }): string {
  const record = target
    ? `\nand record it with \`cws ami update-registry ${target.templateId} --region ${region} --architecture ${target.architecture}\` once it is available.`
    : "\nand record it with `cws ami update-registry` once it is available.";
  return `${imageId} is still pending after ${Math.round(waitedSeconds / 60)} minutes. It is kept, not deleted: check it with\n  aws ec2 describe-images --image-ids ${imageId} --region ${region}${record}`;
}

/**
 * Tags an image and each of its snapshots (a verdict of validation: every
 * tag cws sets on an image is on its snapshots too, and a copy's snapshots
 * get the image's). One CreateTags call.
 */
export async function tagImageAndSnapshots(ec2: Ec2Port, image: Pick<ImageInfo, "imageId" | "snapshotIds">, tags: Tags): Promise<void> {
  await ec2.createTags([image.imageId, ...image.snapshotIds], tags);
}
