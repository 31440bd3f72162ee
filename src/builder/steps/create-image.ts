import { BuildFailure, describeTags, imageNameFor, imageTags, rootVolumeSizeGb, type PipelineStep, type ValidatedTag } from "../context.js";
import { deleteImageAndSnapshots, imageWaitTimeoutMs, pendingImageAdvice, sizedPlan, waitForImageAvailable } from "../image-lifecycle.js";
import { WaitTimeoutError, WAITS } from "../poll.js";

/** Stand for the base AMI's id and the image's content hash in the plan, before they are known. */
const PLANNED_ORIGIN = { baseAmiId: "<base-ami>", contentHash: "<content-hash>" };

/**
 * The image, tagged `cws:validated=true` (its tests passed on the build
 * instance), or `pending` when `--verify` will run them on a fresh instance
 * first (steps/verify.ts tags the verdict): an image whose verification a
 * killed process never finished is never taken for a validated one.
 */
export function createImageStep({ verify = false }: { verify?: boolean } = {}): PipelineStep {
  const validated: ValidatedTag = verify ? "pending" : "true";
  return {
    id: "create-image",
    title: "Creating AMI",
    describe(build) {
      const { request } = build;
      const name = imageNameFor(build);
      const minutes = Math.round(imageWaitTimeoutMs(request.template.volume_size_gb ?? 8) / 60_000);
      return {
        run: `Create image ${name} (name ends with the build id: its UTC start and a random suffix), tags on image and snapshots: ${describeTags(imageTags(build, name, PLANNED_ORIGIN, validated))}; wait up to ${minutes} min for available`,
        cleanup: "Deregister the image and delete its snapshots if the build fails or is interrupted before it is available (an image still pending when its wait times out is kept)",
      };
    },
    async run(ctx, signal) {
      const instanceId = ctx.instance!.instanceId;
      const name = imageNameFor(ctx);
      if (!ctx.baseImage || !ctx.contentHash) throw new Error("creating an image needs the base image and the content hash");
      const tags = imageTags(ctx, name, { baseAmiId: ctx.baseImage.imageId, contentHash: ctx.contentHash }, validated);
      ctx.imageName = name;
      ctx.imageId = await ctx.ec2.createImage({
        instanceId,
        name,
        description: `${ctx.request.template.name} ${ctx.request.version} (${ctx.request.architecture}), built by cws ${ctx.buildId}`,
        tags,
      });
      ctx.imageState = "pending";
      ctx.reporter.detail(`${ctx.imageId} (${name}); image and snapshots tagged with ${Object.keys(tags).length} tags`);
      const sizeGb = rootVolumeSizeGb(ctx.request.template, ctx.baseImage);
      ctx.imageSizeGb = sizeGb;
      const imageId = ctx.imageId;
      try {
        const image = await waitForImageAvailable(ctx.ec2, imageId, {
          // Snapshots take longer for bigger volumes: look first later.
          plan: sizedPlan(WAITS.imageAvailable, sizeGb, 5_000),
          poll: ctx.poll,
          timeoutMs: imageWaitTimeoutMs(sizeGb),
          signal,
          onSnapshots: (snapshotIds) => (ctx.snapshotIds = snapshotIds),
          broken: (image) => new BuildFailure(`image ${imageId} is ${image.state}`, "see the EC2 console for the state reason; the build instance was terminated"),
        });
        ctx.imageState = "available";
        ctx.snapshotIds = image.snapshotIds;
        if (image.rootVolumeSizeGb !== undefined) ctx.imageSizeGb = image.rootVolumeSizeGb;
        return `AMI created: ${imageId}`;
      } catch (error) {
        if (!(error instanceof WaitTimeoutError)) throw error;
        // Slow is not broken: keep it (Packer's habit of deregistering here throws away good images).
        ctx.imageState = "pending";
        ctx.imageKept = true;
        ctx.kept.push(`image ${imageId} (still pending)`);
        ctx.reporter.warn(pendingImageAdvice(imageId, ctx.request.region, error.waitedSeconds, ctx.request));
        return `AMI created: ${imageId} (still pending)`;
      }
    },
    async cleanup(ctx, outcome) {
      // Only a half-made image goes: the build failed or was interrupted before it was available.
      const imageId = ctx.imageId;
      if (!imageId || outcome === "succeeded" || ctx.imageKept) return;
      if (ctx.imageState === "available") {
        // Made and validated, then a later step failed or Ctrl-C came before it was recorded: a good image stays
        // (the next build finds it up to date), and the summary says so, for it is in no registry yet.
        ctx.imageKept = true;
        ctx.kept.push(`image ${imageId} (validated, ${ctx.recordedIn ? `recorded in ${ctx.recordedIn}` : "not in the registry"})`);
        return;
      }
      ctx.snapshotIds = await deleteImageAndSnapshots(ctx.ec2, imageId, ctx.snapshotIds, (kind, id) => {
        ctx.cleaned.push(`${kind} ${id}`);
        ctx.reporter.cleanup(kind === "image" ? `Deregistered unfinished image ${id}` : `Deleted snapshot ${id}`);
      });
      ctx.imageId = undefined;
    },
  };
}

/** The image of a build without --verify. */
export const createImage = createImageStep();
