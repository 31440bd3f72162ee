import { isAwsError, type Ec2Port } from "../../aws/ports.js";
import { BuildFailure, describeTags, remoteWorkDir, resourceName, resourceTags, type BuildContext, type KeptInstance, type PipelineStep } from "../context.js";
import { waitFor, WAITS, type PollSettings } from "../poll.js";
import { SESSION_MANAGER } from "../remote.js";
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
  if (outcome === "failed" && ctx.request.onError === "abort") {
    const kept: KeptInstance = { instanceId, role: ctx.purpose === "validate" ? "fresh" : "build", state: ctx.instanceStopped ? "stopped" : "running" };
    ctx.instanceKept = true;
    ctx.keptInstances = [...(ctx.keptInstances ?? []), kept];
    ctx.kept.push(`instance ${instanceId} (${kept.role === "fresh" ? "the fresh instance" : "the build instance"}, ${kept.state})`);
    // How to remove it is said once for every kept instance, by the security group's cleanup, which goes last.
    ctx.reporter.warn(keptInstanceNotice(kept, ctx.request.region, remoteWorkDir(ctx)));
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
 * Looking at a kept instance takes rights cws itself never uses, so its policy
 * does not grant them (docs/iam/README.md: no sessions, no starts): said with
 * the commands, so a denial does not come as a surprise.
 */
const BEYOND_THE_POLICY = "beyond docs/iam/cws-cli-policy.json, these need";

/**
 * What `--on-error abort` tells of a kept instance, as it is: a running one
 * (costing money) to connect to; a stopped one (the build instance, stopped
 * for imaging and generalized: its work directory is gone) to start first.
 */
export function keptInstanceNotice(kept: KeptInstance, region: string, workDir: string): string {
  const which = kept.role === "fresh" ? "the fresh instance" : "the build instance";
  const connect = `aws ssm start-session --target ${kept.instanceId} --region ${region}`;
  if (kept.state === "stopped") {
    return [
      `--on-error abort: ${which} ${kept.instanceId} is kept, stopped (it was generalized for the image; its volume is billed until it is terminated):`,
      `  to look at it, start it: aws ec2 start-instances --instance-ids ${kept.instanceId} --region ${region}, then ${connect}`,
      `  (${BEYOND_THE_POLICY} ec2:StartInstances and ${SESSION_MANAGER})`,
    ].join("\n");
  }
  return [
    `--on-error abort: ${which} ${kept.instanceId} is kept, running (and costing money) so you can look at it:`,
    `  connect:  ${connect}`,
    `  logs:     sudo ls ${workDir}/`,
    `  (${BEYOND_THE_POLICY} ${SESSION_MANAGER})`,
  ].join("\n");
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
