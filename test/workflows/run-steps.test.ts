import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ROOT, scratchDir } from "../helpers/cli.js";
import { declaredShell, runnerBashFlags } from "./runner-shell.js";

/**
 * A step that runs cws fails when cws fails. Without `shell: bash` GitHub runs a step with
 * `bash -e`, no pipefail: `node bin/cws.js ami reap … | tee …` then ends with tee's 0 and a failed
 * weekly reap shows green while instances bill. Each such step is run here with bash's options
 * derived from the workflow, and a stand-in `node` that fails.
 */

interface Step {
  name?: string;
  run?: string;
  shell?: string;
}
interface Job {
  defaults?: { run?: { shell?: string } };
  steps: Step[];
}
interface Workflow {
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

const WORKFLOWS = readdirSync(join(ROOT, ".github", "workflows")).filter((name) => /\.ya?ml$/.test(name)).sort();

/** Every step of the workflow whose script runs the CLI, with what bash is given to run it. */
function cwsSteps(name: string): { where: string; run: string; args: string[] }[] {
  const workflow = parse(readFileSync(join(ROOT, ".github", "workflows", name), "utf8")) as Workflow;
  return Object.entries(workflow.jobs).flatMap(([jobId, job]) =>
    job.steps
      .filter((step) => step.run?.includes("node bin/cws.js"))
      .map((step) => ({ where: `${name} ${jobId}: ${step.name ?? step.run!}`, run: step.run!, args: [...runnerBashFlags(declaredShell(workflow, job, step)), "-c", step.run!] })),
  );
}

/** The step's exit status with a `node` that prints a line and exits 1. */
function statusWhenCwsFails(args: string[]): number | null {
  const { dir, cleanup } = scratchDir({ "fake-bin/node": "#!/bin/sh\necho 'cws failed' >&2\nexit 1\n", "runner-temp/.keep": "", summary: "" });
  try {
    chmodSync(join(dir, "fake-bin/node"), 0o755);
    const result = spawnSync("bash", args, {
      cwd: dir,
      env: { PATH: `${join(dir, "fake-bin")}:${process.env.PATH}`, RUNNER_TEMP: join(dir, "runner-temp"), GITHUB_STEP_SUMMARY: join(dir, "summary") },
      encoding: "utf8",
    });
    return result.status;
  } finally {
    cleanup();
  }
}

describe("steps that run cws", () => {
  it.each(WORKFLOWS)("in .github/workflows/%s fail when cws fails", (name) => {
    const steps = cwsSteps(name);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(statusWhenCwsFails(step.args), step.where).not.toBe(0);
  });

  it("include the steps that pipe cws into tee (the ones bash -e alone lets pass)", () => {
    const piped = WORKFLOWS.flatMap(cwsSteps).filter((step) => /node bin\/cws\.js[^\n]*\| tee /.test(step.run));
    expect(piped.map((step) => step.where.split(":")[0])).toEqual(expect.arrayContaining(["ami-build.yml registry", "ami-build.yml maintain"]));
    for (const step of piped) expect(statusWhenCwsFails(step.args), step.where).not.toBe(0);
  });

  it("really fail: the same pipe under the runner's default bash -e passes", () => {
    expect(statusWhenCwsFails([...runnerBashFlags(undefined), "-c", 'node bin/cws.js ami reap --yes | tee "$RUNNER_TEMP/reap.txt"'])).toBe(0);
    expect(statusWhenCwsFails([...runnerBashFlags("bash"), "-c", 'node bin/cws.js ami reap --yes | tee "$RUNNER_TEMP/reap.txt"'])).not.toBe(0);
  });

  it.each(WORKFLOWS)("in .github/workflows/%s: every run step has bash with pipefail (defaults.run.shell: bash)", (name) => {
    const workflow = parse(readFileSync(join(ROOT, ".github", "workflows", name), "utf8")) as Workflow;
    expect(workflow.defaults).toEqual({ run: { shell: "bash" } });
  });
});
