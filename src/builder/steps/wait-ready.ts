import { BuildFailure, type PipelineStep } from "../context.js";
import { waitFor, WaitTimeoutError, WAITS } from "../poll.js";

const RUNNING_TIMEOUT_MS = 10 * 60_000;
const SSM_TIMEOUT_MS = 10 * 60_000;

export const waitReady: PipelineStep = {
  id: "wait-ready",
  title: "Waiting for instance ready",
  describe: () => ({ run: "Wait for running, then for the SSM agent to be Online" }),
  async run(ctx, signal) {
    const instanceId = ctx.instance?.instanceId;
    if (!instanceId) throw new Error("no instance");
    ctx.instance = await waitFor(
      `${instanceId} to be running`,
      async () => {
        const instance = await ctx.ec2.describeInstance(instanceId);
        if (!instance) return { done: false, seen: "not visible yet" };
        if (instance.state === "running") return { done: true, value: instance };
        if (instance.state === "terminated" || instance.state === "shutting-down" || instance.state === "stopped") {
          throw new BuildFailure(
            `${instanceId} is ${instance.state} instead of running${instance.stateReason ? `: ${instance.stateReason}` : ""}`,
            "check the base image and instance type; the EC2 console's instance screenshot shows boot problems",
          );
        }
        return { done: false, seen: instance.state };
      },
      { plan: WAITS.instanceRunning, settings: ctx.poll, timeoutMs: RUNNING_TIMEOUT_MS, signal },
    );
    ctx.reporter.detail(`${instanceId} is running; waiting for the SSM agent`);
    try {
      await waitFor(
        `the SSM agent on ${instanceId}`,
        async () => {
          const status = await ctx.ssm.pingStatus(instanceId);
          return status === "Online" ? { done: true, value: status } : { done: false, seen: status };
        },
        { plan: WAITS.ssmOnline, settings: ctx.poll, timeoutMs: SSM_TIMEOUT_MS, signal },
      );
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      throw new BuildFailure(
        `the SSM agent on ${instanceId} did not come online within ${Math.round(SSM_TIMEOUT_MS / 60_000)} minutes (last status: ${error.lastSeen ?? "not registered"})`,
        [
          "likely causes, most common first:",
          `  - the instance profile ${ctx.request.instanceProfile} lacks the AmazonSSMManagedInstanceCore policy (run \`cws ami bootstrap\`)`,
          "  - the subnet has no route to SSM: no internet or NAT gateway, and no VPC endpoints for ssm, ssmmessages and ec2messages",
          "  - the base image has no SSM agent (Ubuntu, Amazon Linux and Debian images from the aliases all do)",
        ].join("\n"),
      );
    }
    ctx.online = true;
    return `Instance ready`;
  },
};
