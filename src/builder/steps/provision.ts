import { BuildFailure, remoteWorkDir, type PipelineStep } from "../context.js";
import { runScriptStreaming } from "../remote.js";

/** How much of a failed script's log to show. */
const TAIL_LINES = 30;

export const provision: PipelineStep = {
  id: "provision",
  title: "Executing setup script",
  describe(build) {
    const { template, logDir } = build.request;
    const scripts = template.build_steps
      ? template.build_steps.map((s, i) => `      ${i + 1}. ${s.name} (timeout ${s.timeout_seconds}s)`)
      : [`      setup_script: ${(template.setup_script ?? "").split("\n").length} lines (timeout ${template.setup_timeout_seconds}s)`];
    return { run: `Provision as root with bash through SSM (work dir ${remoteWorkDir(build)}, logs in ${logDir}/):\n${scripts.join("\n")}` };
  },
  async run(ctx, signal) {
    const { template } = ctx.request;
    const jobs = template.build_steps
      ? template.build_steps.map((step, index) => ({
          label: step.name,
          name: `${String(index + 1).padStart(2, "0")}-${slug(step.name)}`,
          script: step.script,
          timeoutSeconds: step.timeout_seconds,
        }))
      : [{ label: "setup script", name: "setup", script: template.setup_script ?? "", timeoutSeconds: template.setup_timeout_seconds }];

    for (const job of jobs) {
      const started = Date.now();
      if (template.build_steps) ctx.reporter.detail(`📦 ${job.label}`);
      const logName = `${job.name}.log`;
      const pending = { text: "" };
      const result = await runScriptStreaming(
        ctx.ssm,
        ctx.instance!.instanceId,
        { workDir: remoteWorkDir(ctx), name: job.name, script: job.script, timeoutSeconds: job.timeoutSeconds },
        async (chunk) => {
          await ctx.writeLog(logName, chunk);
          // Show whole lines only; keep a partial last line for the next chunk.
          pending.text += Buffer.from(chunk).toString("utf8");
          const cut = pending.text.lastIndexOf("\n");
          if (cut >= 0) {
            ctx.reporter.output(pending.text.slice(0, cut));
            pending.text = pending.text.slice(cut + 1);
          }
        },
        ctx.poll,
        signal,
      );
      if (pending.text !== "") ctx.reporter.output(pending.text);
      await ctx.writeLog(logName, "");
      if (result.exitCode !== 0) {
        const tail = await ctx.readLogTail(logName, TAIL_LINES);
        const what = result.timedOut ? `timed out after ${job.timeoutSeconds}s` : `exited with code ${result.exitCode}`;
        throw new BuildFailure(
          `${job.label} ${what}`,
          `last ${TAIL_LINES} lines of the log:\n${tail.replace(/^/gm, "  │ ")}\nfull log: ${ctx.logPath(logName)}`,
          ctx.logPath(logName),
        );
      }
      if (template.build_steps) ctx.reporter.detail(`   done in ${Math.round((Date.now() - started) / 1000)}s`);
    }
    return `Setup complete (log: ${ctx.logPath(jobs.length === 1 ? `${jobs[0]!.name}.log` : "")})`;
  },
};

export function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return s === "" ? "step" : s;
}
