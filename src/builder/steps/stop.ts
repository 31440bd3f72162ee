import { BuildFailure, remoteWorkDir, type PipelineStep } from "../context.js";
import { generalizeScript } from "../generalize.js";
import { waitFor, WAITS } from "../poll.js";
import { runCommand } from "../remote.js";

/** Generalize the instance (no identity or secrets in the image), then stop it for a consistent snapshot. */
export const generalizeAndStop: PipelineStep = {
  id: "generalize",
  title: "Generalizing and stopping the instance",
  describe: () => ({
    run: "Generalize (cloud-init clean, SSH host keys and authorized_keys, machine-id, SSM registration, shell histories), stop the instance",
  }),
  async run(ctx, signal) {
    const instanceId = ctx.instance!.instanceId;
    const result = await runCommand(ctx.ssm, instanceId, generalizeScript(remoteWorkDir(ctx)), { timeoutSeconds: 300, comment: "cws generalize" }, ctx.poll, signal);
    if (result.status !== "Success") {
      throw new BuildFailure(`generalizing ${instanceId} failed (${result.status}): ${result.stderr.trim() || result.stdout.trim()}`);
    }
    await ctx.ec2.stopInstance(instanceId);
    await waitFor(
      `${instanceId} to stop`,
      async () => {
        const instance = await ctx.ec2.describeInstance(instanceId);
        if (instance?.state === "stopped") return { done: true, value: undefined };
        return { done: false, seen: instance?.state ?? "gone" };
      },
      { plan: WAITS.instanceStopped, settings: ctx.poll, timeoutMs: 15 * 60_000, signal },
    );
    ctx.instanceStopped = true;
    return "Instance generalized (cloud-init, SSH host keys, machine-id, SSM registration, histories) and stopped";
  },
};
