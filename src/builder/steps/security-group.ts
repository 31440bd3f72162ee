import { isAwsError, type Ec2Port } from "../../aws/ports.js";
import { resourceName, resourceTags, type BuildContext, type PipelineStep } from "../context.js";
import { sleep, Delays, WAITS, type PollSettings } from "../poll.js";

const groupName = (build: Pick<BuildContext, "buildId" | "purpose">) => resourceName(build, build.buildId);

/**
 * A security group of the build's own with no inbound rules: SSM needs none
 * (the agent connects out), so nothing can reach the build instance.
 */
export const securityGroup: PipelineStep = {
  id: "security-group",
  title: "Creating a temporary security group",
  describe: (build) => ({
    run: `Security group ${groupName(build)}: no inbound rules (SSM needs none)`,
    cleanup: `Delete the security group${build.request.onError === "abort" ? " (if the build fails, kept with the instance)" : ""}`,
  }),
  async run(ctx) {
    const vpcId = ctx.subnets?.[0]?.vpcId;
    if (!vpcId) throw new Error("no subnet chosen");
    const name = groupName(ctx);
    ctx.securityGroupId = await ctx.ec2.createSecurityGroup({
      name,
      description: `cws ami ${ctx.purpose ?? "build"} ${ctx.buildId} (no inbound rules; removed after the ${ctx.purpose === "validate" ? "validation" : "build"})`,
      vpcId,
      tags: resourceTags(ctx, name),
    });
    return `Security group ${ctx.securityGroupId} (no inbound rules)`;
  },
  async cleanup(ctx) {
    const groupId = ctx.securityGroupId;
    if (!groupId) return;
    if (ctx.instanceKept) {
      const instances = (ctx.keptInstances ?? []).map((kept) => kept.instanceId);
      ctx.kept.push(`security group ${groupId} (used by the kept instance${instances.length === 1 ? "" : "s"})`);
      ctx.reporter.warn(keptRemoval(instances, groupId, ctx.request.region));
      return;
    }
    await deleteSecurityGroupWhenFree(ctx.ec2, groupId, ctx.poll);
    ctx.securityGroupId = undefined;
    ctx.cleaned.push(`security group ${groupId}`);
    ctx.reporter.cleanup(`Deleted security group ${groupId}`);
  },
};

/**
 * Deletes the group, trying again while EC2 still counts an instance as using
 * it (DependencyViolation: for a while after the instance is terminated). The
 * build's cleanup and `cws ami reap` delete groups this way.
 */
export async function deleteSecurityGroupWhenFree(ec2: Ec2Port, groupId: string, poll: PollSettings, signal?: AbortSignal): Promise<void> {
  const delays = new Delays(WAITS.securityGroupDelete, poll);
  for (let attempt = 0; ; attempt++) {
    try {
      await ec2.deleteSecurityGroup(groupId);
      return;
    } catch (error) {
      if (!isAwsError(error, "DependencyViolation") || attempt >= 20) throw error;
      await sleep(delays.next(), signal);
    }
  }
}

/**
 * How to remove what `--on-error abort` kept, in one sequence that works: every
 * kept instance terminated and waited for, then their group deleted once (it
 * cannot go while an instance still uses it: DependencyViolation).
 */
export function keptRemoval(instanceIds: readonly string[], groupId: string, region: string): string {
  const ids = instanceIds.join(" ");
  const them = instanceIds.length === 1 ? `instance ${ids}` : `instances ${instanceIds.join(", ")}`;
  return [
    `--on-error abort: to remove the kept ${them} and security group ${groupId} when done:`,
    `  aws ec2 terminate-instances --instance-ids ${ids} --region ${region} && aws ec2 wait instance-terminated --instance-ids ${ids} --region ${region} && aws ec2 delete-security-group --group-id ${groupId} --region ${region}`,
    `  (cws ami reap removes ${instanceIds.length === 1 ? "them" : "them all"} too, once older than its --older-than)`,
  ].join("\n");
}
