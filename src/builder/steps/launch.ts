import { isAwsError, type Ec2Port } from "../../aws/ports.js";
import { BuildFailure, describeTags, remoteWorkDir, resourceName, resourceTags, type BuildContext, type PipelineStep } from "../context.js";
import { waitFor, WAITS, type PollSettings } from "../poll.js";
import type { Outcome } from "../runner.js";

/** Capacity errors that another zone may not have. */
const CAPACITY_ERRORS = ["InsufficientInstanceCapacity", "InsufficientCapacity", "Unsupported"];

const instanceName = (build: Pick<BuildContext, "request" | "purpose">) => resourceName(build, `${build.request.templateId}-${build.request.architecture}`);

/**
 * The instance: a build's, launched from the base image, or a fresh one
 * launched from the image under validation (`purpose: validate`), with the
 * same safety either way.
 */
export const launchInstance: PipelineStep = {
  id: "launch",
  title: "Launching an instance",
  describe(build) {
    const { request } = build;
    const volume = request.template.volume_size_gb ? `${request.template.volume_size_gb} GiB` : build.purpose === "validate" ? "the image's size" : "the base image's size";
    const from = build.purpose === "validate" ? "a fresh " : "";
    return {
      run: `Launch ${from}${request.instanceType}: IMDSv2 required, instance profile ${request.instanceProfile}, encrypted gp3 root volume (${volume}), tags ${describeTags(resourceTags(build, instanceName(build)))}; another zone on InsufficientInstanceCapacity`,
      cleanup: `Terminate the instance and wait${request.onError === "abort" ? " (if the build fails, --on-error abort keeps it running to look at)" : ""}`,
    };
  },
  async run(ctx) {
    const { request } = ctx;
    const image = ctx.baseImage;
    if (!image || !ctx.securityGroupId || !ctx.subnets?.length) throw new Error("launch needs a base image, a security group and a subnet");
    const name = instanceName(ctx);
    const volumeSizeGb = request.template.volume_size_gb;
    if (volumeSizeGb !== undefined && image.rootVolumeSizeGb !== undefined && volumeSizeGb < image.rootVolumeSizeGb) {
      throw new BuildFailure(
        `volume_size_gb ${volumeSizeGb} is smaller than the base image's ${image.rootVolumeSizeGb} GiB root volume`,
        `set volume_size_gb to at least ${image.rootVolumeSizeGb}`,
      );
    }
    const tried: string[] = [];
    for (const [attempt, subnet] of ctx.subnets.entries()) {
      try {
        ctx.instance = await ctx.ec2.runInstance({
          imageId: image.imageId,
          instanceType: request.instanceType,
          subnetId: subnet.subnetId,
          securityGroupIds: [ctx.securityGroupId],
          instanceProfileName: request.instanceProfile,
          rootDeviceName: image.rootDeviceName ?? "/dev/sda1",
          volumeSizeGb,
          tags: resourceTags(ctx, name),
          // Idempotent retries: the SDK may resend a request; EC2 then returns the same instance. A build's fresh
          // instance for --verify has a token of its own, or EC2 would return the build instance.
          clientToken: `${ctx.buildId}-${ctx.purpose === "validate" ? "validate-" : ""}${attempt}`,
        });
        ctx.launchedInstanceId = ctx.instance.instanceId;
        const what = ctx.purpose === "validate" ? `Fresh instance launched from ${image.imageId}` : "Instance launched";
        return `${what}: ${ctx.instance.instanceId} (${request.instanceType}, ${subnet.availabilityZone})`;
      } catch (error) {
        if (!isAwsError(error, ...CAPACITY_ERRORS)) throw error;
        tried.push(`${subnet.availabilityZone} (${error.code})`);
        ctx.reporter.detail(`No ${request.instanceType} capacity in ${subnet.availabilityZone}; trying another zone`);
      }
    }
    throw new BuildFailure(
      `no capacity for ${request.instanceType} in ${tried.join(", ")}`,
      request.subnetId ? "try again later, pass another --subnet, or another --instance-type" : "try again later or pass another --instance-type",
    );
  },
  async cleanup(ctx, outcome) {
    await terminateBuildInstance(ctx, outcome);
  },
};

export async function terminateBuildInstance(ctx: BuildContext, outcome: Outcome): Promise<void> {
  const instanceId = ctx.instance?.instanceId;
  if (!instanceId) return;
  const region = ctx.request.region;
  if (outcome === "failed" && ctx.request.onError === "abort") {
    ctx.instanceKept = true;
    ctx.kept.push(`instance ${instanceId}`);
    ctx.reporter.warn(
      [
        `--on-error abort: instance ${instanceId} is still running (and costing money) so you can look at it:`,
        `  connect:  aws ssm start-session --target ${instanceId} --region ${region}`,
        `  logs:     sudo ls ${remoteWorkDir(ctx)}/`,
        `  remove:   aws ec2 terminate-instances --instance-ids ${instanceId} --region ${region}` +
          // The group cannot go while the instance is still shutting down (DependencyViolation).
          (ctx.securityGroupId
            ? ` && aws ec2 wait instance-terminated --instance-ids ${instanceId} --region ${region} && aws ec2 delete-security-group --group-id ${ctx.securityGroupId} --region ${region}`
            : ""),
      ].join("\n"),
    );
    return;
  }
  await ctx.ec2.terminateInstance(instanceId);
  ctx.reporter.cleanup(`Terminating ${instanceId}...`);
  await waitForTermination(ctx.ec2, instanceId, ctx.poll);
  ctx.instance = undefined;
  ctx.cleaned.push(`instance ${instanceId}`);
  ctx.reporter.cleanup(`Terminated ${instanceId}`);
}

/**
 * Waits until the instance is terminated (or gone): its security group cannot
 * be deleted before (DependencyViolation). The build's cleanup and `cws ami
 * reap` wait the same way.
 */
export async function waitForTermination(ec2: Ec2Port, instanceId: string, poll: PollSettings, signal?: AbortSignal): Promise<void> {
  await waitFor(
    `${instanceId} to terminate`,
    async () => {
      const instance = await ec2.describeInstance(instanceId);
      if (!instance || instance.state === "terminated") return { done: true, value: undefined };
      return { done: false, seen: instance.state };
    },
    { plan: WAITS.instanceTerminated, settings: poll, timeoutMs: 15 * 60_000, ...(signal ? { signal } : {}) },
  );
}
