import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildAllCommand, planBuilds, planOutputs, type BuildMatrixEntry, type ChangedDocument } from "../../src/pipeline/plan.js";
import { ROOT, scratchDir } from "../helpers/cli.js";
import { declaredShell, runnerBashFlags } from "./runner-shell.js";

/**
 * The workflow and the plan step cannot drift apart: the names the workflow passes are the names
 * .github/scripts/plan.mjs reads, and the build step, run as the runner runs it, calls build-all
 * with what the plan says. And the names the pipeline shares with its set-up (docs/ci.md) stay.
 */

interface Step {
  id?: string;
  shell?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  "timeout-minutes"?: number;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  defaults?: { run?: { shell?: string } };
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  permissions?: Record<string, string>;
  strategy?: { matrix?: unknown };
  "timeout-minutes"?: number;
  steps: Step[];
}
interface Workflow {
  defaults?: { run?: { shell?: string } };
  on: Record<string, unknown>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parse(readFileSync(join(ROOT, ".github/workflows/ami-build.yml"), "utf8")) as Workflow;
const planScript = readFileSync(join(ROOT, ".github/scripts/plan.mjs"), "utf8");

/** bash's arguments for a step's script, as the runner runs it (the shell the workflow declares). */
function bashArgs(job: Job, step: Step): string[] {
  return [...runnerBashFlags(declaredShell(workflow, job, step)), "-c", step.run!];
}

function stepRunning(job: Job, text: string): Step {
  const found = job.steps.filter((step) => step.run?.includes(text));
  expect(found, `one step of the job runs ${text}`).toHaveLength(1);
  return found[0]!;
}

/** The value a `${{ context.name }}` expression has, given the contexts. */
function evaluate(value: string, contexts: Record<string, Record<string, string>>): string {
  const match = /^\$\{\{\s*([\w.]+)\.([\w-]+)\s*\}\}$/.exec(value);
  if (!match) throw new Error(`not a plain context reference: ${value}`);
  const context = contexts[match[1]!];
  if (context === undefined || !(match[2]! in context)) throw new Error(`${value}: no such value in this test's contexts`);
  return context[match[2]!]!;
}

const TEMPLATES: ChangedDocument["templates"] = [
  { id: "python-research", architectures: ["x86_64", "arm64"], parent: null },
  { id: "ml-research", architectures: ["x86_64", "arm64"], parent: "python-research" },
  { id: "r-research", architectures: ["x86_64"], parent: null },
];
const CHANGES: ChangedDocument = { since: { rev: "x", commit: null }, head: "0".repeat(40), templatesDir: "templates", changed: [], deleted: [], templates: TEMPLATES };

describe("the plan job and .github/scripts/plan.mjs", () => {
  const plan = workflow.jobs.plan!;
  const step = stepRunning(plan, ".github/scripts/plan.mjs");

  it("passes exactly the variables the script reads", () => {
    const read = new Set([...planScript.matchAll(/\benv\.([A-Z_]+)/g)].map((m) => m[1]!).filter((name) => !name.startsWith("GITHUB_")));
    expect(Object.keys(step.env ?? {}).sort()).toEqual([...read].sort());
    expect(step.env).toEqual({
      EVENT_NAME: "${{ github.event_name }}",
      TEMPLATES_INPUT: "${{ inputs.templates }}",
      FORCE_INPUT: "${{ inputs.force }}",
      BEFORE: "${{ github.event.before }}",
      LAST_BUILT: "${{ steps.last-built.outputs.sha }}",
    });
  });

  it("asks GitHub, before planning a push, for the newest 100 completed runs, then the jobs of candidates among them", () => {
    const lastBuilt = plan.steps.find((s) => s.id === "last-built")!;
    expect(plan.steps.indexOf(lastBuilt)).toBeLessThan(plan.steps.indexOf(step));
    expect(lastBuilt.if).toBe("github.event_name == 'push'");
    expect(lastBuilt.env).toEqual({ GH_TOKEN: "${{ github.token }}" });
    expect(lastBuilt.run).toContain("gh api");
    expect(lastBuilt.run).toContain("repos/$GITHUB_REPOSITORY/actions/workflows/ami-build.yml/runs?branch=main&status=completed&per_page=100");
    expect(lastBuilt.run).toContain("repos/$GITHUB_REPOSITORY/actions/runs/$id/jobs?filter=latest");
    expect(plan.permissions).toEqual({ contents: "read", actions: "read" });
  });

  interface StandInRun {
    id: number;
    event: string;
    conclusion: string;
    head_sha: string;
    /** The plan job's conclusion, as the run's jobs answer says; null: that answer fails. */
    plan: string | null;
  }

  /**
   * The last-built step's script run with bash, with a `gh` that answers the runs query and each
   * run's jobs query from files through real jq (as gh --jq would), or fails for all (`runs` null).
   * Also the runs whose jobs it asked for.
   */
  function runLastBuilt(runs: StandInRun[] | null): { output: string; stdout: string; jobsAsked: number[] } {
    const lastBuilt = plan.steps.find((s) => s.id === "last-built")!;
    const gh = [
      "#!/bin/sh",
      'endpoint=$2; for last; do :; done',
      'case "$endpoint" in',
      '  */jobs*) id=${endpoint#*/runs/}; id=${id%%/*}; echo "$id" >> "$DATA/jobs-asked"; file="$DATA/jobs-$id.json" ;;',
      '  *) file="$DATA/runs.json" ;;',
      "esac",
      "[ -f \"$file\" ] || { echo 'HTTP 403' >&2; exit 1; }",
      'jq -r "$last" "$file"',
      "",
    ].join("\n");
    const files: Record<string, string> = { "fake-bin/gh": gh, output: "", "jobs-asked": "" };
    if (runs !== null) {
      files["runs.json"] = JSON.stringify({ workflow_runs: runs.map(({ plan: _, ...run }) => run) });
      for (const run of runs) {
        if (run.plan !== null) files[`jobs-${run.id}.json`] = JSON.stringify({ jobs: [{ name: "build a (x86_64)", conclusion: "success" }, { name: "plan", conclusion: run.plan }] });
      }
    }
    const { dir, cleanup } = scratchDir(files);
    try {
      chmodSync(join(dir, "fake-bin/gh"), 0o755);
      const result = spawnSync("bash", bashArgs(plan, lastBuilt), {
        cwd: dir,
        env: { PATH: `${join(dir, "fake-bin")}:${process.env.PATH}`, DATA: dir, GITHUB_OUTPUT: join(dir, "output"), GITHUB_REPOSITORY: "o/r", GH_TOKEN: "x" },
        encoding: "utf8",
      });
      expect(result.status).toBe(0);
      const jobsAsked = readFileSync(join(dir, "jobs-asked"), "utf8").split("\n").filter(Boolean).map(Number);
      return { output: readFileSync(join(dir, "output"), "utf8"), stdout: result.stdout, jobsAsked };
    } finally {
      cleanup();
    }
  }

  let nextId = 1000;
  const run = (event: string, conclusion: string, sha: string, plan: string | null = "success"): StandInRun => ({ id: nextId--, event, conclusion, head_sha: sha.repeat(40), plan });

  it("takes the newest run started by a push or the schedule whose plan succeeded, not a dispatch (which may build only some templates)", () => {
    const runs = [run("workflow_dispatch", "success", "d"), run("schedule", "success", "s"), run("push", "success", "p")];
    expect(runLastBuilt(runs).output).toBe(`sha=${"s".repeat(40)}\n`);
    expect(runLastBuilt([run("workflow_dispatch", "success", "d")]).output).toBe("sha=\n");
  });

  it("counts a run whose builds failed (retried when its template changes, weekly or by a dispatch), not a cancelled or skipped one", () => {
    const runs = [run("push", "cancelled", "c"), run("push", "skipped", "k"), run("push", "failure", "f"), run("push", "success", "p")];
    expect(runLastBuilt(runs).output).toBe(`sha=${"f".repeat(40)}\n`);
    expect(runLastBuilt([run("schedule", "cancelled", "c")]).output).toBe("sha=\n");
  });

  it("passes over a run whose plan failed (lint): the templates of its push are planned again", () => {
    const lintFailed = run("push", "failure", "l", "failure");
    const built = run("push", "failure", "f");
    const answer = runLastBuilt([lintFailed, built, run("push", "success", "p")]);
    expect(answer.output).toBe(`sha=${"f".repeat(40)}\n`);
    expect(answer.jobsAsked).toEqual([lintFailed.id, built.id]);
    expect(runLastBuilt([run("push", "failure", "l", "failure"), run("schedule", "failure", "m", "cancelled")]).output).toBe("sha=\n");
  });

  it("asks for the jobs of at most 20 runs", () => {
    const runs = Array.from({ length: 25 }, (_, i) => run("push", "failure", String.fromCharCode(97 + i), i < 22 ? "failure" : "success"));
    const answer = runLastBuilt(runs);
    expect(answer.output).toBe("sha=\n");
    expect(answer.jobsAsked).toEqual(runs.slice(0, 20).map((r) => r.id));
    expect(answer.stdout).toContain("none among the newest 20");
  });

  it("passes an empty commit with a warning when the API fails, so the plan compares with the push's previous commit", () => {
    for (const runs of [null, [run("push", "failure", "l", "failure"), run("push", "success", "j", null), run("push", "success", "p")]]) {
      const answer = runLastBuilt(runs);
      expect(answer.output).toBe("sha=\n");
      expect(answer.stdout).toMatch(/^::warning title=AMI build plan::could not read/m);
    }
  });

  it("hands on every output the script writes, from that step", () => {
    const outputs = Object.keys(planOutputs(planBuilds({ event: "schedule", beforeUsable: false, changes: CHANGES })));
    expect(plan.outputs).toEqual(Object.fromEntries(outputs.map((key) => [key, `\${{ steps.${step.id}.outputs.${key} }}`])));
  });

  it("has the history the comparison needs and lints before planning", () => {
    expect(plan.steps.find((s) => s.uses?.startsWith("actions/checkout@"))?.with).toMatchObject({ "fetch-depth": 0, "persist-credentials": false });
    const lint = plan.steps.findIndex((s) => s.run?.includes("ami lint --strict"));
    expect(lint).toBeGreaterThan(-1);
    expect(lint).toBeLessThan(plan.steps.indexOf(step));
  });
});

describe("the build job", () => {
  const build = workflow.jobs.build!;
  const step = stepRunning(build, "build-all");

  it("runs once per matrix entry of the plan, only when there is one", () => {
    expect(build.needs).toBe("plan");
    expect(build.if).toBe("needs.plan.outputs.any == 'true'");
    expect(build.strategy?.matrix).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
  });

  /** Run the step's script as the runner would (bash with the workflow's shell options), with a `node` that records its arguments. */
  function runBuildStep(entry: BuildMatrixEntry, outputs: Record<string, string>): string[] {
    const { dir, cleanup } = scratchDir({ "fake-bin/node": '#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done > "$ARGS_FILE"\n' });
    try {
      chmodSync(join(dir, "fake-bin/node"), 0o755);
      const contexts = { matrix: { ...entry }, "needs.plan.outputs": outputs };
      const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, value]) => [key, evaluate(value, contexts)]));
      const result = spawnSync("bash", bashArgs(build, step), {
        cwd: dir,
        env: { ...env, PATH: `${join(dir, "fake-bin")}:${process.env.PATH}`, ARGS_FILE: join(dir, "args") },
        encoding: "utf8",
      });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      return readFileSync(join(dir, "args"), "utf8").trimEnd().split("\n");
    } finally {
      cleanup();
    }
  }

  it.each([
    ["the weekly run", { event: "schedule" as const }],
    ["a dispatch with force", { event: "workflow_dispatch" as const, templatesInput: "python-research", force: true }],
    ["a push", { event: "push" as const }],
  ])("calls build-all with the entry's templates and architecture and the plan's flags: %s", (_, request) => {
    const changes = { ...CHANGES, changed: request.event === "push" ? [{ ...TEMPLATES[0]!, file: "templates/python-research.yml", reason: "edited" as const }] : [] };
    const plan = planBuilds({ beforeUsable: true, changes, ...request });
    expect(plan.matrix.include.length).toBeGreaterThan(0);
    for (const entry of plan.matrix.include) {
      const args = runBuildStep(entry, planOutputs(plan));
      expect(args).toEqual(["bin/cws.js", ...buildAllCommand(plan, entry).split(" ").slice(1), "--json"]);
    }
  });

  it("keeps the logs and the result of every entry under the entry's name", () => {
    const upload = build.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload.if).toBe("always()");
    expect(upload.with).toMatchObject({ name: "build-${{ matrix.name }}", "include-hidden-files": true });
    expect(String(upload.with!.path).split("\n").filter(Boolean)).toEqual([".cws/logs/", ".cws/build-all.json"]);
    expect(step.run).toContain("> .cws/build-all.json");
  });
});

describe("a cancelled, timed-out or failed build is cleaned up", () => {
  const build = workflow.jobs.build!;
  const step = stepRunning(build, "build-all");
  const reap = build.steps[build.steps.indexOf(step) + 1]!;

  it("execs cws, so that it is the step's process and gets the runner's signals", () => {
    expect(step.run).toMatch(/^exec node bin\/cws\.js ami build-all .* > \.cws\/build-all\.json$/m);
  });

  it("reaps right after the build step, after a cancel or a failure, with the flags that keep other jobs' builds", () => {
    expect(reap.if).toBe("${{ (cancelled() || failure()) && steps.build.outcome != 'skipped' }}");
    expect(reap.run).toContain("node bin/cws.js ami reap --yes --older-than 6h");
    expect(reap.run).toContain("$GITHUB_STEP_SUMMARY");
  });

  it("stops a long build by its step's timeout, leaving time for the reap within the job and the 6-hour credentials", () => {
    expect(step["timeout-minutes"]).toBe(300);
    expect(reap["timeout-minutes"]).toBeGreaterThan(0);
    expect(build["timeout-minutes"]).toBeGreaterThan(step["timeout-minutes"]! + reap["timeout-minutes"]!);
    expect(build["timeout-minutes"]).toBeLessThan(360);
  });

  it("passes the runner's SIGINT on to cws: the step's bash is replaced by node", async () => {
    const standIn = ['#!/bin/sh', 'trap \'echo INT > "$SIGNAL_FILE"; exit 130\' INT', 'echo ready > "$READY_FILE"', "while :; do sleep 0.05; done", ""].join("\n");
    const { dir, cleanup } = scratchDir({ "fake-bin/node": standIn });
    try {
      chmodSync(join(dir, "fake-bin/node"), 0o755);
      const contexts = { matrix: { templates: "a b", architecture: "x86_64" }, "needs.plan.outputs": { max_age: "", force: "false" } };
      const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, value]) => [key, evaluate(value, contexts)]));
      // Its own process group, so that whatever is left (without exec, the stand-in) can be ended.
      const bash = spawn("bash", bashArgs(build, step), {
        cwd: dir,
        env: { ...env, PATH: `${join(dir, "fake-bin")}:${process.env.PATH}`, SIGNAL_FILE: join(dir, "signal"), READY_FILE: join(dir, "ready") },
        detached: true,
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => bash.on("exit", (code) => resolve(code)));
      try {
        await until(() => existsSync(join(dir, "ready")));
        bash.kill("SIGINT");
        await Promise.race([exited, until(() => existsSync(join(dir, "signal")))]);
        expect(existsSync(join(dir, "signal")), "the stand-in node got SIGINT").toBe(true);
        expect(await exited).toBe(130);
      } finally {
        try {
          process.kill(-bash.pid!, "SIGKILL");
        } catch {
          // the group is gone already
        }
      }
    } finally {
      cleanup();
    }
  });
});

/** Resolves once `condition` holds; gives up after 20 s (a guard against hanging, not a timing assertion). */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 20_000) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the reap after a stopped build", () => {
  const build = workflow.jobs.build!;
  const reap = build.steps[build.steps.indexOf(stepRunning(build, "build-all")) + 1]!;

  /** The reap step's condition for a job whose build step ended with `outcome`, the job's status being `status`. */
  function reapRuns(status: "success" | "failure" | "cancelled", outcome: string): boolean {
    const expression = /^\$\{\{ (.*) \}\}$/.exec(reap.if!)![1]!;
    const js = expression
      .replace("cancelled()", String(status === "cancelled"))
      .replace("failure()", String(status === "failure"))
      .replace("steps.build.outcome", JSON.stringify(outcome))
      .replaceAll("'", '"');
    expect(js).toMatch(/^[()\s|&!="a-z]+$/);
    return Boolean(new Function(`return ${js};`)());
  }

  it("does not run when the build step never started (no credentials: the role unset, OIDC refused, a cancel before it)", () => {
    expect(build.steps.find((s) => s.id === "build")).toBe(stepRunning(build, "build-all"));
    expect(reapRuns("failure", "skipped")).toBe(false);
    expect(reapRuns("cancelled", "skipped")).toBe(false);
  });

  it("runs after the build step failed, timed out or was cancelled, not after it succeeded", () => {
    expect(reapRuns("failure", "failure")).toBe(true);
    expect(reapRuns("cancelled", "cancelled")).toBe(true);
    expect(reapRuns("success", "success")).toBe(false);
  });
});

describe("what the pipeline shares with its set-up (docs/ci.md)", () => {
  const awsJobs = Object.entries(workflow.jobs).filter(([, job]) => job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")));

  it("assumes the role with OIDC for 6 hours in every job that calls AWS, and stops each job before its credentials expire", () => {
    expect(awsJobs.map(([id]) => id).sort()).toEqual(["build", "maintain", "registry"]);
    for (const [id, job] of awsJobs) {
      expect(job.permissions?.["id-token"], id).toBe("write");
      expect(job["timeout-minutes"], id).toBeLessThan(360);
      const credentials = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
      expect(credentials.uses).toBe("aws-actions/configure-aws-credentials@v4");
      expect(credentials.with, id).toEqual({
        "role-to-assume": "${{ vars.CWS_AWS_ROLE_ARN }}",
        "role-duration-seconds": 21600,
        "aws-region": "${{ vars.CWS_AWS_REGION || 'us-east-1' }}",
      });
      const check = job.steps.findIndex((s) => s.env?.ROLE_ARN === "${{ vars.CWS_AWS_ROLE_ARN }}" && s.run?.includes("::error") && s.run.includes("docs/ci.md"));
      expect(check, `${id} says clearly when CWS_AWS_ROLE_ARN is not set`).toBe(0);
    }
  });

  it("runs no dependency's install script where OIDC tokens can be minted, and leaves no git token behind", () => {
    for (const [id, job] of awsJobs) {
      const runs = job.steps.map((s) => s.run ?? "");
      expect(runs.filter((run) => /\bnpm (ci|install|i)\b/.test(run)), id).toEqual(["npm ci --ignore-scripts"]);
      const install = runs.indexOf("npm ci --ignore-scripts");
      expect(runs.indexOf("npm run build"), id).toBe(install + 1);
      const credentials = job.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect(install, id).toBeLessThan(credentials);
    }
    // create-pull-request sets its own token for its push, so the registry job needs none either.
    for (const id of ["plan", "build", "maintain", "registry"]) {
      expect(workflow.jobs[id]!.steps.find((s) => s.uses?.startsWith("actions/checkout@"))?.with, id).toMatchObject({ "persist-credentials": false });
    }
  });

  it("reads only the shared repository variables and secrets", () => {
    const text = readFileSync(join(ROOT, ".github/workflows/ami-build.yml"), "utf8");
    expect([...new Set([...text.matchAll(/\b(vars|secrets)\.([A-Z_]+)/g)].map((m) => m[0]))].sort()).toEqual(["secrets.CWS_PR_TOKEN", "vars.CWS_AWS_REGION", "vars.CWS_AWS_ROLE_ARN"]);
  });

  it("runs one run at a time and never cancels a running one", () => {
    expect(workflow.concurrency).toEqual({ group: "ami-build", "cancel-in-progress": false });
    expect(workflow.permissions).toEqual({ contents: "read" });
  });

  it("is started by template pushes to main, the weekly schedule and a dispatch with templates and force", () => {
    expect(workflow.on.push).toEqual({ branches: ["main"], paths: ["templates/**"] });
    expect(workflow.on.schedule).toHaveLength(1);
    expect(workflow.on.workflow_dispatch).toMatchObject({ inputs: { templates: { default: "all", type: "string" }, force: { default: false, type: "boolean" } } });
  });

  it("opens one registry pull request, also after failed builds, with the token that lets checks run on it", () => {
    const registry = workflow.jobs.registry!;
    expect(registry.needs).toEqual(["plan", "build"]);
    expect(registry.if).toBe("${{ !cancelled() && needs.plan.outputs.any == 'true' }}");
    expect(registry.permissions).toMatchObject({ contents: "write", "pull-requests": "write" });
    const order = ["ami update-registry --all --match-templates", "ami update-templates"].map((command) => registry.steps.indexOf(stepRunning(registry, command)));
    const pr = registry.steps.findIndex((s) => s.uses === "peter-evans/create-pull-request@v7");
    expect(order[0]).toBeLessThan(order[1]!);
    expect(order[1]).toBeLessThan(pr);
    expect(registry.steps[pr]!.with).toMatchObject({ branch: "cws/ami-registry-update", token: "${{ secrets.CWS_PR_TOKEN || github.token }}" });
    // The whole directory, as a pathspec: .yml and .yaml templates alike.
    expect(String(registry.steps[pr]!.with!["add-paths"]).split("\n").filter(Boolean)).toEqual(["registry/amis.json", "templates"]);
  });

  it("says, without a pull request, only what is known: nothing new was recorded (builds may have failed)", () => {
    const registry = workflow.jobs.registry!;
    const summary = registry.steps.find((s) => s.env?.OPERATION === "${{ steps.pr.outputs.pull-request-operation }}")!;
    const { dir, cleanup } = scratchDir({ summary: "", "runner-temp/update-registry.txt": "nothing new\n" });
    try {
      const result = spawnSync("bash", bashArgs(registry, summary), {
        cwd: dir,
        env: { PATH: process.env.PATH, OPERATION: "", PR_URL: "", RUNNER_TEMP: join(dir, "runner-temp"), GITHUB_STEP_SUMMARY: join(dir, "summary") },
        encoding: "utf8",
      });
      expect(result.status).toBe(0);
      const said = readFileSync(join(dir, "summary"), "utf8");
      expect(said).toContain("No pull request: update-registry recorded nothing new");
      expect(said).toContain("Builds that failed, if any, are in their jobs' summaries.");
      expect(said).not.toContain("newest validated AMIs");
    } finally {
      cleanup();
    }
  });

  it("reaps earlier runs' leftovers last in every run that builds, also after failed builds or a failed pull request, with credentials only", () => {
    const registry = workflow.jobs.registry!;
    const reap = stepRunning(registry, "ami reap --yes --older-than 6h");
    expect(registry.steps.at(-1)).toBe(reap);
    const credentials = registry.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
    expect(credentials.id).toBe("credentials");
    expect(reap.if).toBe("${{ !cancelled() && steps.credentials.outcome == 'success' }}");
    expect(reap.run).toContain("$GITHUB_STEP_SUMMARY");
    expect(reap["timeout-minutes"]).toBeLessThan(registry["timeout-minutes"]!);
  });

  it("reaps, then cleans up, on the weekly run only, also after failed builds", () => {
    const maintain = workflow.jobs.maintain!;
    expect(maintain.if).toBe("${{ !cancelled() && github.event_name == 'schedule' }}");
    const reap = maintain.steps.indexOf(stepRunning(maintain, "ami reap --yes"));
    const cleanup = maintain.steps.indexOf(stepRunning(maintain, "ami cleanup --keep-latest 3 --yes"));
    expect(reap).toBeLessThan(cleanup);
    expect(maintain.steps[cleanup]!.if).toBe("${{ !cancelled() }}");
  });
});
