import { CwsError } from "../../errors.js";
import { ssmParameterName } from "../../registry/operations.js";
import type { RegistryLockOptions } from "../../registry/lock.js";
import { publishAmiToSsm } from "../../registry/publish.js";
import { isoSeconds, recordAmi, updateRegistryFile } from "../../registry/store.js";
import { BuildFailure, type BuildContext, type PipelineStep } from "../context.js";

/** Record the new AMI in the registry file, so `cws ami build` alone leaves it current. */
export function recordInRegistry(registryFile: string, lock: RegistryLockOptions = {}): PipelineStep {
  return {
    id: "record",
    title: "Updating the registry",
    describe: () => ({ run: `Record the AMI in ${registryFile}` }),
    async run(ctx) {
      if (ctx.imageState !== "available" || !ctx.imageId) {
        ctx.reporter.warn(`the registry was not updated: ${ctx.imageId ?? "the image"} is not available yet`);
        return "Registry not updated (image pending)";
      }
      const { request } = ctx;
      const now = new Date();
      const imageId = ctx.imageId;
      try {
        await record(registryFile, now, ctx, lock);
      } catch (error) {
        // The image exists, validated, and stays: say so, and (for a problem of the registry, not a bug) how to record it.
        ctx.kept.push(`image ${imageId} (validated, not in the registry)`);
        if (!(error instanceof CwsError)) throw error;
        const record = `cws ami update-registry ${request.templateId} --region ${request.region} --architecture ${request.architecture} --registry ${registryFile}`;
        throw new BuildFailure(
          `${imageId} was made and validated, but recording it in ${registryFile} failed: ${error.message}`,
          `${imageId} is kept. ${error.suggestion ? `${error.suggestion}; then record` : "Fix that, then record"} it with: ${record}`,
        );
      }
      ctx.recordedIn = registryFile;
      return `Registry updated: ${request.templateId}.${request.region}.${request.architecture} = ${imageId} (${registryFile})`;
    },
  };
}

async function record(registryFile: string, now: Date, ctx: BuildContext, lock: RegistryLockOptions): Promise<void> {
  const { request } = ctx;
  await updateRegistryFile(
    registryFile,
    now,
    (registry) =>
      recordAmi(registry, request.templateId, request.template, request.region, request.architecture, {
        ami_id: ctx.imageId!,
        created: isoSeconds(ctx.startedAt),
        validated: true,
        size_gb: ctx.imageSizeGb ?? 8,
        ...(ctx.imageName ? { name: ctx.imageName } : {}),
        version: request.version,
        build_id: ctx.buildId,
        ...(ctx.baseImage ? { base_ami: ctx.baseImage.imageId } : {}),
        content_hash: request.contentHash,
        ...(request.sourceCommit ? { source_commit: request.sourceCommit } : {}),
        validated_at: isoSeconds(now),
      }),
    { ...lock, onWait: (message) => ctx.reporter.detail(message) },
  );
}

/** `--publish-ssm`: write the new AMI where running systems look it up without the git file. */
export const publishToSsm: PipelineStep = {
  id: "publish",
  title: "Publishing to SSM Parameter Store",
  describe: ({ request }) => ({ run: `Publish the AMI id to SSM parameter ${ssmParameterName(request.templateId, request.region, request.architecture)}` }),
  async run(ctx) {
    if (ctx.imageState !== "available" || !ctx.imageId) return "Not published (image pending)";
    const name = await publishAmiToSsm(ctx.ssm, ctx.request, ctx.imageId);
    ctx.publishedAs = name;
    return `Published ${name} = ${ctx.imageId}`;
  },
};
