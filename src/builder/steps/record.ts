import { CwsError } from "../../errors.js";
import { recordFromImage } from "../../registry/aws-images.js";
import { entryAt, isPinned, ssmParameterName } from "../../registry/operations.js";
import type { RegistryLockOptions } from "../../registry/lock.js";
import { publishAmiToSsm } from "../../registry/publish.js";
import { isoSeconds, recordAmi, updateRegistryFile } from "../../registry/store.js";
import { BuildFailure, type BuildContext, type PipelineStep } from "../context.js";

/**
 * Record the AMI in the registry file, so `cws ami build` alone leaves it
 * current: the image this build made, or, when the build stopped at its cache
 * check, the image of the same content that already exists (a finishing step:
 * it runs either way).
 */
export function recordInRegistry(registryFile: string, lock: RegistryLockOptions = {}, { verify = false }: { verify?: boolean } = {}): PipelineStep {
  return {
    id: "record",
    title: "Updating the registry",
    finishes: true,
    describe: () => ({ run: `Record the AMI in ${registryFile} (the one built${verify ? ", if it passes on a fresh instance" : ""}, or the one found up to date)` }),
    async run(ctx) {
      if (ctx.upToDate) return recordUpToDate(ctx, registryFile, lock);
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
        ctx.imageKept = true;
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
        ...(ctx.contentHash ? { content_hash: ctx.contentHash } : {}),
        ...(request.sourceCommit ? { source_commit: request.sourceCommit } : {}),
        // When it passed on a fresh instance (--verify), else now, after its tests passed on the build instance.
        validated_at: ctx.validatedAt ?? isoSeconds(now),
      }),
    { ...lock, onWait: (message) => ctx.reporter.detail(message) },
  );
}

/**
 * An up-to-date image becomes current, recorded from its own tags (as
 * update-registry does), unless it already is, or a rollback pinned the entry:
 * the image rolled back from usually has this very content, and taking it back
 * would quietly undo the rollback. `--force` builds a new image, which ends the
 * pin as any build does.
 */
async function recordUpToDate(ctx: BuildContext, registryFile: string, lock: RegistryLockOptions): Promise<string> {
  const { request } = ctx;
  const image = ctx.upToDate!;
  const where = `${request.templateId}.${request.region}.${request.architecture}`;
  let previous: { ami_id: string; pinned: boolean } | undefined;
  await updateRegistryFile(
    registryFile,
    new Date(),
    (registry) => {
      const entry = entryAt(registry, request.templateId, request.region, request.architecture);
      previous = entry && { ami_id: entry.ami_id, pinned: isPinned(entry) };
      if (entry?.ami_id === image.imageId || isPinned(entry)) return;
      recordAmi(registry, request.templateId, request.template, request.region, request.architecture, recordFromImage(image));
    },
    { ...lock, onWait: (message) => ctx.reporter.detail(message) },
  );
  if (previous?.ami_id === image.imageId) return `Registry already current: ${where} = ${image.imageId}`;
  if (previous?.pinned) {
    ctx.pinnedTo = previous.ami_id;
    ctx.reporter.warn(`${where} stays ${previous.ami_id}: a rollback pinned it. Use --force to build a new image (which ends the pin), or record ${image.imageId} with cws ami update-registry ${request.templateId} --region ${request.region} --architecture ${request.architecture} --unpin`);
    return `Registry kept: ${where} = ${previous.ami_id} (pinned by a rollback)`;
  }
  ctx.recordedIn = registryFile;
  return `Registry updated: ${where} = ${image.imageId}${previous ? ` (was ${previous.ami_id})` : ""} (${registryFile})`;
}

/** `--publish-ssm`: write the new AMI where running systems look it up without the git file. */
export const publishToSsm: PipelineStep = {
  id: "publish",
  title: "Publishing to SSM Parameter Store",
  finishes: true,
  describe: ({ request }) => ({ run: `Publish the AMI id to SSM parameter ${ssmParameterName(request.templateId, request.region, request.architecture)}` }),
  async run(ctx) {
    if (ctx.pinnedTo) return `Not published: the registry keeps ${ctx.pinnedTo} (pinned by a rollback)`;
    const imageId = ctx.upToDate?.imageId ?? (ctx.imageState === "available" ? ctx.imageId : undefined);
    if (!imageId) return "Not published (image pending)";
    const name = await publishAmiToSsm(ctx.ssm, ctx.request, imageId);
    ctx.publishedAs = name;
    return `Published ${name} = ${imageId}`;
  },
};
