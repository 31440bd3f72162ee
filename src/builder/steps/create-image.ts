import { BuildFailure, describeTags, imageNameFor, imageTags, type PipelineStep } from "../context.js";
import { waitFor, WaitTimeoutError, WAITS } from "../poll.js";

/** Base wait for an image, plus time per GiB: snapshots of big volumes take longer. */
export function imageWaitTimeoutMs(sizeGb: number): number {
  return 20 * 60_000 + sizeGb * 30_000;
}

/** Stand for the base AMI's id and the image's content hash in the plan, before they are known. */
const PLANNED_ORIGIN = { baseAmiId: "<base-ami>", contentHash: "<content-hash>" };

export const createImage: PipelineStep = {
  id: "create-image",
  title: "Creating AMI",
  describe(build) {
    const { request } = build;
    const name = imageNameFor(request, build.startedAt);
    const minutes = Math.round(imageWaitTimeoutMs(request.template.volume_size_gb ?? 8) / 60_000);
    return {
      run: `Create image ${name} (name ends with the build's UTC time), tags on image and snapshots: ${describeTags(imageTags(build, name, PLANNED_ORIGIN))}; wait up to ${minutes} min for available`,
      cleanup: "Deregister the image and delete its snapshots if the build fails or is interrupted before it is available (an image still pending when its wait times out is kept)",
    };
  },
  async run(ctx, signal) {
    const instanceId = ctx.instance!.instanceId;
    const name = imageNameFor(ctx.request, ctx.startedAt);
    if (!ctx.baseImage || !ctx.contentHash) throw new Error("creating an image needs the base image and the content hash");
    const tags = imageTags(ctx, name, { baseAmiId: ctx.baseImage.imageId, contentHash: ctx.contentHash });
    ctx.imageName = name;
    ctx.imageId = await ctx.ec2.createImage({
      instanceId,
      name,
      description: `${ctx.request.template.name} ${ctx.request.version} (${ctx.request.architecture}), built by cws ${ctx.buildId}`,
      tags,
    });
    ctx.imageState = "pending";
    ctx.reporter.detail(`${ctx.imageId} (${name}); image and snapshots tagged with ${Object.keys(tags).length} tags`);
    const sizeGb = ctx.request.template.volume_size_gb ?? ctx.baseImage?.rootVolumeSizeGb ?? 8;
    ctx.imageSizeGb = sizeGb;
    const imageId = ctx.imageId;
    try {
      const image = await waitFor(
        `${imageId} to become available`,
        async () => {
          const [image] = await ctx.ec2.describeImages({ imageIds: [imageId] });
          if (image?.snapshotIds.length) ctx.snapshotIds = image.snapshotIds;
          if (image?.state === "available") return { done: true, value: image };
          if (image?.state === "failed" || image?.state === "invalid" || image?.state === "error") {
            throw new BuildFailure(`image ${imageId} is ${image.state}`, "see the EC2 console for the state reason; the build instance was terminated");
          }
          return { done: false, seen: image?.state ?? "not visible yet" };
        },
        // Snapshots take longer for bigger volumes: look first later.
        { plan: { ...WAITS.imageAvailable, firstMs: WAITS.imageAvailable.firstMs + sizeGb * 5_000 }, settings: ctx.poll, timeoutMs: imageWaitTimeoutMs(sizeGb), signal },
      );
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
      ctx.reporter.warn(
        `${imageId} is still pending after ${Math.round(error.waitedSeconds / 60)} minutes. It is kept, not deleted: check it with\n  aws ec2 describe-images --image-ids ${imageId} --region ${ctx.request.region}\nand record it with \`cws ami update-registry ${ctx.request.templateId} --region ${ctx.request.region} --architecture ${ctx.request.architecture}\` once it is available.`,
      );
      return `AMI created: ${imageId} (still pending)`;
    }
  },
  async cleanup(ctx, outcome) {
    // Only a half-made image goes: the build failed or was interrupted before it was available.
    const imageId = ctx.imageId;
    if (!imageId || outcome === "succeeded" || ctx.imageState === "available" || ctx.imageKept) return;
    // Learn the snapshots before deregistering: afterwards the image no longer says.
    if (!ctx.snapshotIds?.length) {
      const [image] = await ctx.ec2.describeImages({ imageIds: [imageId] }).catch(() => []);
      ctx.snapshotIds = image?.snapshotIds ?? [];
    }
    await ctx.ec2.deregisterImage(imageId);
    ctx.cleaned.push(`image ${imageId}`);
    ctx.reporter.cleanup(`Deregistered unfinished image ${imageId}`);
    for (const snapshotId of ctx.snapshotIds ?? []) {
      await ctx.ec2.deleteSnapshot(snapshotId);
      ctx.cleaned.push(`snapshot ${snapshotId}`);
      ctx.reporter.cleanup(`Deleted snapshot ${snapshotId}`);
    }
    ctx.imageId = undefined;
  },
};
