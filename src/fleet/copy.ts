/**
 * Copying a built image to another region: build-all builds each template
 * once per architecture, in its home region, and copies the image to the
 * template's other regions (CopyImage), so every region runs the same tested
 * image for the price of one build.
 *
 * One call copies one image to one region and waits for it. It talks to the
 * destination region's `Ec2Port` only, keeps its state in local variables and
 * shares nothing between calls, so an orchestrator runs as many at once as it
 * likes; the retry budget they share is the port's (one client per region,
 * src/aws/sdk.ts). Like a build step it owns what it creates: a copy that
 * fails or is interrupted is deregistered with its snapshots before the call
 * returns, and a copy still pending when its wait runs out is kept and
 * reported, never deleted (slow is not broken).
 */
import { createHash } from "node:crypto";
import { AwsCallError, type Ec2Port, type ImageInfo, type Tags } from "../aws/ports.js";
import { deleteImageAndSnapshots, imageCopyWaitTimeoutMs, pendingImageAdvice, sizedPlan, waitForImageAvailable } from "../builder/image-lifecycle.js";
import { WaitTimeoutError, WAITS, type PollSettings } from "../builder/poll.js";
import { silentReporter, type BuildReporter } from "../builder/reporter.js";
import { InterruptedError } from "../builder/runner.js";
import { COPIED_FROM_TAG, copiedFromTagValue, type CopiedFrom } from "../registry/copied-from.js";

export { COPIED_FROM_TAG, type CopiedFrom };

/** The image to copy, as its own region knows it. */
export interface CopySource {
  region: string;
  imageId: string;
  /** Its name; the copy gets the same one (AMI names are unique per region only). */
  name: string;
  /** Root volume size in GiB: a bigger image takes longer to copy, so its wait is longer. */
  sizeGb: number;
  /** Its tags: the copy and its snapshots get the same ones (AWS's own `aws:` keys aside), plus `cws:copied-from`. */
  tags: Tags;
  /** Whether every snapshot of it is encrypted (`ImageInfo.encrypted`); unless known to be, the copy is asked to be. */
  encrypted?: boolean | undefined;
  /** The source's description, to start the copy's with. */
  description?: string | undefined;
}

/** The source of a copy, as its region's DescribeImages shows the image (a build's, or one the cache found). */
export function copySourceOf(region: string, image: ImageInfo): CopySource {
  return {
    region,
    imageId: image.imageId,
    name: image.name,
    sizeGb: image.rootVolumeSizeGb ?? 8,
    tags: image.tags,
    encrypted: image.encrypted,
  };
}

export interface CopyInput {
  source: CopySource;
  destinationRegion: string;
  /**
   * The build the copy belongs to (the one that made the source, or the run
   * that copies an image an earlier run made): one copy per build id and
   * destination region. The CopyImage client token is made from it, so a
   * request the SDK sends again (a timeout, a throttled retry) returns the
   * copy already started instead of making a second one.
   */
  buildId: string;
  /** The destination region's port. */
  ec2: Ec2Port;
  poll: PollSettings;
  /** Stops the wait; the copy is then removed, and the call rejects with `CopyFailure` (`interrupted: true`). */
  signal?: AbortSignal | undefined;
  /** Called once CopyImage has made the copy (before its wait): from then until the call returns, it exists unfinished. */
  onCopyMade?: (imageId: string) => void;
  /** Progress; every line names the destination region, since copies to several regions run at once. */
  reporter?: Pick<BuildReporter, "detail" | "warn" | "cleanup"> | undefined;
  /** Milliseconds, for `seconds` (tests). */
  now?: () => number;
}

export interface CopyResult {
  imageId: string;
  region: string;
  /** "pending": the wait ran out and the copy was kept (see the warning reported); not yet for the registry. */
  state: "available" | "pending";
  snapshotIds: string[];
  sizeGb: number;
  /** From the start of the copy to available (or to giving up the wait). */
  seconds: number;
  /** EC2's creation time of the copy, when it was seen. */
  created?: string;
  copiedFrom: CopiedFrom;
}

/**
 * The image that holds the source's name in the destination, when CopyImage
 * was refused for it (InvalidAMIName.Duplicate: names are unique per region,
 * and a copy keeps its source's). `sameBuild`: it is an available,
 * validated image of cws's with the source's template, architecture, content
 * hash and build id (a copy of it the cache's search did not see, e.g. one
 * made since), so the region has this image already.
 */
export interface NameHolder {
  image: ImageInfo;
  sameBuild: boolean;
}

/** A copy that did not finish. Whatever it had created is removed (`cleaned`) before this is thrown. */
export class CopyFailure extends Error {
  /** CopyImage refused the source's name, already in use in the destination by this image. */
  readonly nameTakenBy: NameHolder | undefined;
  constructor(
    message: string,
    readonly region: string,
    /** The copy, when CopyImage had made one. */
    readonly imageId: string | undefined,
    /** Stopped by the signal rather than failed. */
    readonly interrupted: boolean,
    /** What was removed: `image ami-…`, `snapshot snap-…`. */
    readonly cleaned: readonly string[],
    /** Removals that failed: the copy or its snapshots may be left (tagged with `cws:build-id` and `cws:copied-from`). */
    readonly cleanupErrors: readonly unknown[],
    readonly suggestion: string | undefined,
    options?: { cause: unknown; nameTakenBy?: NameHolder | undefined },
  ) {
    super(message, options);
    this.name = "CopyFailure";
    this.nameTakenBy = options?.nameTakenBy;
  }
}

/** EC2's limits: a client token is at most 64 ASCII characters, a description 255. */
const CLIENT_TOKEN_MAX = 64;
const DESCRIPTION_MAX = 255;

/**
 * The CopyImage client token for one copy: the same for the same build and
 * destination, so EC2 answers a repeated request with the copy it already
 * made. Readable when it fits; else a hash of the same two facts.
 */
export function copyClientToken(buildId: string, destinationRegion: string): string {
  const readable = `cws-copy-${buildId}-${destinationRegion}`;
  if (readable.length <= CLIENT_TOKEN_MAX && /^[\x21-\x7e]+$/.test(readable)) return readable;
  return `cws-copy-${createHash("sha256").update(`${buildId}\n${destinationRegion}`).digest("hex").slice(0, CLIENT_TOKEN_MAX - 9)}`;
}

/** The copy's tags: the source's (less AWS's own `aws:` tags, which no one may set) and where it came from. */
export function copyTags(source: Pick<CopySource, "region" | "imageId" | "tags">): Tags {
  const tags: Tags = {};
  for (const [key, value] of Object.entries(source.tags)) if (!key.toLowerCase().startsWith("aws:")) tags[key] = value;
  tags[COPIED_FROM_TAG] = copiedFromTagValue({ region: source.region, ami_id: source.imageId });
  return tags;
}

function copyDescription(source: CopySource): string {
  const from = ` (copied from ${source.region} ${source.imageId})`;
  return `${(source.description ?? source.name).slice(0, DESCRIPTION_MAX - from.length)}${from}`;
}

/**
 * The tags that make an image the source's: its content (cache.ts's search in a region asks these) and its build (which
 * --max-age asks too, and which an image holding the source's name has: the name ends with the build id).
 */
const SAME_BUILD_TAGS = ["cws:template", "cws:arch", "cws:content-hash", "cws:build-id"] as const;

/** Whether `image` is an available, validated image of cws's of `source`'s content and build: a region that has it has this image. */
export function isSameBuild(image: ImageInfo, source: Pick<CopySource, "tags">): boolean {
  return (
    image.state === "available" &&
    image.tags["cws:managed-by"] === "cws" &&
    image.tags["cws:validated"] === "true" &&
    SAME_BUILD_TAGS.every((key) => source.tags[key] !== undefined && image.tags[key] === source.tags[key])
  );
}

/** The image of this account holding `name` in the destination (names are unique per region per account). */
async function nameHolder(ec2: Ec2Port, name: string, source: CopySource): Promise<NameHolder | undefined> {
  const [image] = await ec2.describeImages({ owners: ["self"], namePattern: name });
  return image ? { image, sameBuild: isSameBuild(image, source) } : undefined;
}

/** Why a copy cannot take its name, and what to do. */
function nameTakenAdvice(holder: NameHolder, source: CopySource, region: string): { message: string; suggestion: string } {
  const { image } = holder;
  const cws = image.tags["cws:managed-by"] === "cws";
  const what = !cws
    ? "an image cws did not make"
    : image.state !== "available"
      ? `an image of cws's that is ${image.state} (another run copying it?)`
      : `an image of cws's of another build or content, or not validated (${image.tags["cws:template"] ?? "?"}/${image.tags["cws:arch"] ?? "?"}, content ${(image.tags["cws:content-hash"] ?? "unknown").slice(0, 12)})`;
  return {
    message: `the name ${source.name} is already in use in ${region} by ${image.imageId}, ${what}`,
    suggestion:
      image.state === "pending"
        ? `run again once ${image.imageId} is available`
        : `deregister ${image.imageId} in ${region} if nothing uses it (cws ami list shows what the registry points at), or build anew with --force: a new build's image has a name of its own`,
  };
}

/**
 * Copies `source` into `destinationRegion` and waits until the copy is
 * available. Resolves with the copy (state "pending" when the wait ran out and
 * it was kept); rejects with `CopyFailure` after removing the copy when
 * CopyImage fails, the copy fails, or `signal` aborts.
 */
export async function copyImageToRegion(input: CopyInput): Promise<CopyResult> {
  const { source, destinationRegion: region, ec2, signal } = input;
  if (ec2.region !== region) throw new Error(`copyImageToRegion: the port is for ${ec2.region}, not the destination ${region}`);
  if (region === source.region) throw new Error(`copyImageToRegion: ${source.imageId} is already in ${region}`);
  const reporter = input.reporter ?? silentReporter;
  const now = input.now ?? (() => performance.now());
  const started = now();
  const copiedFrom: CopiedFrom = { region: source.region, ami_id: source.imageId };
  const seconds = () => (now() - started) / 1000;
  let imageId: string | undefined;
  let snapshotIds: string[] = [];
  let created: string | undefined;

  /** CopyImage; a name in use in the destination is looked at, and the failure says by what (`nameTakenBy`). */
  const startCopy = async (): Promise<string> => {
    try {
      return await ec2.copyImage({
        sourceRegion: source.region,
        sourceImageId: source.imageId,
        name: source.name,
        description: copyDescription(source),
        tags: copyTags(source),
        clientToken: copyClientToken(input.buildId, region),
        encrypted: source.encrypted !== true,
      });
    } catch (error) {
      if (!(error instanceof AwsCallError && error.code === "InvalidAMIName.Duplicate")) throw error;
      const holder = await nameHolder(ec2, source.name, source);
      if (!holder) throw error;
      const { message, suggestion } = holder.sameBuild
        ? { message: `${region} has this image already: ${holder.image.imageId} holds its name`, suggestion: undefined }
        : nameTakenAdvice(holder, source, region);
      throw new CopyFailure(`copy of ${source.imageId} from ${source.region} to ${region} failed: ${message}`, region, undefined, false, [], [], suggestion, { cause: error, nameTakenBy: holder });
    }
  };

  try {
    if (signal?.aborted) throw new InterruptedError(signal);
    const copyId = await startCopy();
    imageId = copyId;
    input.onCopyMade?.(copyId);
    reporter.detail(`${region}: copying ${source.imageId} from ${source.region} as ${copyId}`);
    // Aborted while CopyImage was on its way: the copy exists now, so it is removed below.
    if (signal?.aborted) throw new InterruptedError(signal);
    const image = await waitForImageAvailable(ec2, copyId, {
      plan: sizedPlan(WAITS.imageCopied, source.sizeGb, 10_000),
      poll: input.poll,
      timeoutMs: imageCopyWaitTimeoutMs(source.sizeGb),
      signal,
      onSnapshots: (ids) => (snapshotIds = ids),
      broken: (broken) =>
        new Error(
          broken.state === "deregistered"
            ? `the copy ${copyId} in ${region} is deregistered: this build was copied to ${region} before and that copy removed, and EC2 answers the same client token with it; copy under another build id`
            : `the copy ${copyId} in ${region} is ${broken.state}`,
        ),
    });
    // That it is available is the caller's to say, once it has recorded it: one line when a copy starts, one when it is done.
    created = image.creationDate || undefined;
    return {
      imageId: copyId,
      region,
      state: "available",
      snapshotIds: image.snapshotIds,
      sizeGb: image.rootVolumeSizeGb ?? source.sizeGb,
      seconds: seconds(),
      ...(created ? { created } : {}),
      copiedFrom,
    };
  } catch (error) {
    // Nothing was made: the failure already says why.
    if (error instanceof CopyFailure) throw error;
    if (error instanceof WaitTimeoutError && imageId !== undefined) {
      // Slow is not broken: keep it, as the build keeps a slow image.
      const template = source.tags["cws:template"];
      const architecture = source.tags["cws:arch"];
      reporter.warn(`${region}: ${pendingImageAdvice(imageId, region, error.waitedSeconds, template && architecture ? { templateId: template, architecture } : undefined)}`);
      return { imageId, region, state: "pending", snapshotIds, sizeGb: source.sizeGb, seconds: seconds(), copiedFrom };
    }
    const interrupted = signal?.aborted === true || error instanceof InterruptedError;
    const cleaned: string[] = [];
    const cleanupErrors: unknown[] = [];
    if (imageId !== undefined) {
      try {
        await deleteImageAndSnapshots(ec2, imageId, snapshotIds, (kind, id) => {
          cleaned.push(`${kind} ${id}`);
          reporter.cleanup(kind === "image" ? `${region}: deregistered unfinished copy ${id}` : `${region}: deleted snapshot ${id}`);
        });
      } catch (cleanupError) {
        cleanupErrors.push(cleanupError);
      }
    }
    const what = `copy of ${source.imageId} from ${source.region} to ${region}`;
    const message = interrupted ? `${what} interrupted` : `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
    const suggestion =
      cleanupErrors.length > 0
        ? `${imageId} or its snapshots may be left in ${region}; find them by the tag ${COPIED_FROM_TAG}=${copiedFromTagValue(copiedFrom)}`
        : undefined;
    throw new CopyFailure(message, region, imageId, interrupted, cleaned, cleanupErrors, suggestion, { cause: error });
  }
}
