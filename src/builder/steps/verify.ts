import { VALIDATED_AT_TAG } from "../../registry/aws-images.js";
import { isoSeconds } from "../../registry/timestamps.js";
import { BuildFailure, type PipelineStep } from "../context.js";
import { freshInstanceContext, freshInstanceSteps } from "../fresh-instance.js";
import { deleteImageAndSnapshots, tagImageAndSnapshots } from "../image-lifecycle.js";
import { reportSteps } from "../reporter.js";
import { runPipeline } from "../runner.js";

/**
 * `--verify`: the new image proves itself before it is recorded. A fresh
 * instance is launched from it (the fresh-instance steps, run as a pipeline of
 * their own inside this step, so their cleanup, the instance's termination,
 * unwinds as soon as they end) and the template's tests run there. The image
 * was made tagged `cws:validated=pending`; this step tags the verdict on the
 * image and its snapshots: `true` with `cws:validated-at`, or `false`, when the
 * image is kept (to look at) but the build fails, so the registry never names
 * it. An image the fresh instance could not judge (Ctrl-C, a launch EC2
 * refused) is removed by this step's cleanup, like an unfinished one.
 */
export const verifyImage: PipelineStep = {
  id: "verify",
  title: "Verifying the image on a fresh instance",
  describe(build) {
    const fresh = { ...build, purpose: "validate" as const };
    return {
      run: [
        `Verify the new image on a fresh instance, in the build's security group (logs in ${build.request.logDir}/verify/):`,
        ...freshInstanceSteps.map((step) => `      - ${step.describe(fresh).run}`),
        "      passed: tag the image and its snapshots cws:validated=true and cws:validated-at=<time>; failed: tag them cws:validated=false, keep the image out of the registry, and fail the build",
      ].join("\n"),
      cleanup: "Deregister the image and delete its snapshots if the build is interrupted (or the fresh instance cannot be launched) before the image is judged; the fresh instance is terminated as soon as its tests have run",
    };
  },
  async run(ctx, signal) {
    const imageId = ctx.imageId;
    if (!imageId || ctx.imageState !== "available") {
      ctx.reporter.warn(`${imageId ?? "the image"} is not available yet, so it was not verified: it stays tagged cws:validated=pending, and is not recorded`);
      return "Not verified (the image is pending)";
    }
    const [image] = await ctx.ec2.describeImages({ imageIds: [imageId] });
    if (!image) throw new BuildFailure(`${imageId} is not in ${ctx.request.region} any more, so it could not be verified`);
    const fresh = await freshInstanceContext(ctx, image);
    ctx.verifying = fresh;
    const started = Date.now();
    const result = await runPipeline(freshInstanceSteps, fresh, signal, reportSteps(ctx.reporter)).finally(() => {
      ctx.verifying = undefined;
    });
    // --on-error abort kept the fresh instance to look at: its security group (the build's) stays with it, and says how to
    // remove both instances.
    if (fresh.instanceKept) {
      ctx.instanceKept = true;
      ctx.keptInstances = [...(ctx.keptInstances ?? []), ...(fresh.keptInstances ?? [])];
    }
    for (const { step, error } of result.cleanupErrors) ctx.reporter.warn(`cleanup of the fresh instance's ${step} failed: ${(error as Error).message}`);
    // Judged: the fresh instance was launched and the steps themselves found it wanting (tests, never running, never online),
    // not an interrupt or an AWS error that says nothing about the image. A verdict reached as a stop came is still one: the
    // runner calls a failure interrupted when the signal is aborted by then, but an interrupt never throws a BuildFailure.
    const judged = result.outcome === "succeeded" || (fresh.launchedInstanceId !== undefined && result.error instanceof BuildFailure);
    ctx.verification = {
      judged,
      passed: result.outcome === "succeeded",
      ...(fresh.launchedInstanceId ? { instanceId: fresh.launchedInstanceId } : {}),
      tests: fresh.validation ?? [],
      instanceSeconds: fresh.launchedInstanceId ? (Date.now() - started) / 1000 : 0,
    };
    if (!judged) throw result.error;
    const on = `a fresh instance (${fresh.launchedInstanceId})`;
    if (result.outcome !== "succeeded") {
      await tagImageAndSnapshots(ctx.ec2, image, { "cws:validated": "false" });
      // Kept, and said so here: the image step's cleanup must not call it validated.
      ctx.imageKept = true;
      // With the command that removes it, wherever the kept image is named (build's summary, a build-all row).
      ctx.kept.push(`image ${imageId} (failed on a fresh instance; tagged cws:validated=false, not in the registry; remove it with: ${imageRemovalCommand(imageId, image.snapshotIds, ctx.request.region)})`);
      const failure = result.error as BuildFailure;
      // The tests' own message names the image and the fresh instance; an instance that never came up is said here.
      throw new BuildFailure(
        result.failedStep === "validate" ? failure.message : `${imageId} failed on ${on}: ${failure.message}`,
        [
          `${imageId} is kept to look at, tagged cws:validated=false and not recorded, so nothing launches it.`,
          "It passed on the build instance: what the tests need lived only there (a process the setup started and nothing starts at boot, a file in /tmp or /run, a first-boot step that fails).",
          ...(failure.logPath ? [`Details: ${failure.logPath}`] : failure.suggestion ? [failure.suggestion] : []),
        ].join("\n"),
        failure.logPath,
      );
    }
    const at = isoSeconds(new Date());
    await tagImageAndSnapshots(ctx.ec2, image, { "cws:validated": "true", [VALIDATED_AT_TAG]: at });
    ctx.validatedAt = at;
    const tests = fresh.validation?.length ?? 0;
    return `Verified on ${on}: ${tests === 0 ? "it boots and comes online" : `${tests} test${tests === 1 ? "" : "s"} passed`}; tagged cws:validated=true`;
  },
  async cleanup(ctx, outcome) {
    const imageId = ctx.imageId;
    if (outcome === "succeeded" || !imageId || ctx.imageState !== "available" || ctx.verification?.judged) return;
    // Never judged: an image nobody has proven goes, as an unfinished one does.
    ctx.snapshotIds = await deleteImageAndSnapshots(ctx.ec2, imageId, ctx.snapshotIds, (kind, id) => {
      ctx.cleaned.push(`${kind} ${id}`);
      ctx.reporter.cleanup(kind === "image" ? `Deregistered unverified image ${id}` : `Deleted snapshot ${id}`);
    });
    ctx.imageId = undefined;
  },
};

/** The AWS CLI commands that remove an image and every one of its snapshots (the image first: a snapshot in use cannot go). */
export function imageRemovalCommand(imageId: string, snapshotIds: readonly string[], region: string): string {
  return [`aws ec2 deregister-image --image-id ${imageId} --region ${region}`, ...snapshotIds.map((id) => `aws ec2 delete-snapshot --snapshot-id ${id} --region ${region}`)].join(" && ");
}
