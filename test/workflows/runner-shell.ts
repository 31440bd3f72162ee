/**
 * How a GitHub-hosted Linux runner runs a `run:` step, from the workflow itself (GitHub's
 * "jobs.<job_id>.steps[*].shell"): with no `shell` on the step, the job's or the workflow's
 * `defaults.run.shell`, else `bash -e {0}` (no pipefail: `cws … | tee` succeeds when cws fails);
 * `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`. Only these two are modelled: a
 * workflow that names another shell gets an error here, not a guess.
 */

interface ShellSettings {
  defaults?: { run?: { shell?: string } };
}

/** The shell a step names, else its job's default, else the workflow's default; undefined when none. */
export function declaredShell(workflow: ShellSettings, job: ShellSettings, step: { shell?: string }): string | undefined {
  return step.shell ?? job.defaults?.run?.shell ?? workflow.defaults?.run?.shell;
}

/** bash's options before the script, as the runner gives them for the declared shell. */
export function runnerBashFlags(shell: string | undefined): string[] {
  if (shell === undefined) return ["-e"];
  if (shell === "bash") return ["--noprofile", "--norc", "-eo", "pipefail"];
  throw new Error(`shell: ${shell} is not modelled by these tests (only none and bash are)`);
}

/** The `set` line that gives a script the runner's options (for shellcheck, which reads the script alone). */
export function runnerSetLine(shell: string | undefined): string {
  return runnerBashFlags(shell).includes("pipefail") ? "set -eo pipefail" : "set -e";
}
