import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, ROOT, scratchDir } from "../helpers/cli.js";

/**
 * .github/scripts/plan.mjs end to end, as the plan job runs it: a git repository with templates
 * (fleet-child built on fleet-base), the events simulated through the environment the workflow
 * sets, the real `cws ami changed`, and the outputs and summary read back from their files.
 */

const PLAN_SCRIPT = join(ROOT, ".github", "scripts", "plan.mjs");
const FIXTURES = join(ROOT, "test", "fixtures", "fleet-templates");
const ZERO = "0".repeat(40);

let repo: { dir: string; cleanup: () => void };
/** The commit after each step of the repository's history. */
const commits: Record<"initial" | "edited" | "amisOnly" | "renamed" | "deleted", string> = { initial: "", edited: "", amisOnly: "", renamed: "", deleted: "" };

function git(...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=cws test", "-c", "user.email=test@example.com", ...args], { cwd: repo.dir, encoding: "utf8" }).trim();
}

function commit(message: string): string {
  git("add", "-A");
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
}

function checkout(rev: string): void {
  git("checkout", "-q", rev);
}

interface PlanRun {
  status: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Each matrix entry as `templates @ architecture`. */
  entries: string[];
}

interface PlanEnv {
  EVENT_NAME: string;
  BEFORE?: string;
  LAST_BUILT?: string;
  TEMPLATES_INPUT?: string;
  FORCE_INPUT?: string;
  GITHUB_RUN_ATTEMPT?: string;
}

/**
 * Runs plan.mjs in the repository as checked out. `originMain` is where origin/main points, as
 * actions/checkout with fetch-depth 0 leaves it: the checked-out commit unless said otherwise,
 * null for none.
 */
function runPlan(env: PlanEnv, originMain: string | null = git("rev-parse", "HEAD")): PlanRun {
  const files = scratchDir({ output: "", summary: "" });
  if (originMain === null) git("update-ref", "-d", "refs/remotes/origin/main");
  else git("update-ref", "refs/remotes/origin/main", originMain);
  try {
    const result = spawnSync(process.execPath, [PLAN_SCRIPT], {
      cwd: repo.dir,
      env: cleanEnv({ GITHUB_OUTPUT: join(files.dir, "output"), GITHUB_STEP_SUMMARY: join(files.dir, "summary"), ...env }),
      encoding: "utf8",
      timeout: 60_000,
    });
    const outputs = Object.fromEntries(
      readFileSync(join(files.dir, "output"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const matrix = outputs.matrix === undefined ? { include: [] } : (JSON.parse(outputs.matrix) as { include: { templates: string; architecture: string }[] });
    return {
      status: result.status ?? -1,
      stdout: result.stdout,
      stderr: result.stderr,
      outputs,
      summary: readFileSync(join(files.dir, "summary"), "utf8"),
      entries: matrix.include.map((e) => `${e.templates} @ ${e.architecture}`),
    };
  } finally {
    files.cleanup();
  }
}

const ALL = ["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64", "fleet-other @ x86_64", "fleet-other @ arm64"];

beforeAll(() => {
  const template = (name: string) => readFileSync(join(FIXTURES, `${name}.yml`), "utf8");
  repo = scratchDir({ "templates/fleet-base.yml": template("fleet-base"), "templates/fleet-child.yml": template("fleet-child"), "templates/fleet-other.yml": template("fleet-other") });
  git("init", "-q", "-b", "main");
  commits.initial = commit("three templates");
  const base = join(repo.dir, "templates", "fleet-base.yml");
  writeFileSync(base, readFileSync(base, "utf8").replace('version: "1.0.0"', 'version: "1.0.1"'));
  commits.edited = commit("fleet-base: a new version");
  writeFileSync(base, `${readFileSync(base, "utf8")}amis:\n  us-east-1:\n    x86_64: ami-0123456789abcdef0\n`);
  commits.amisOnly = commit("the registry pull request: amis only");
  renameSync(join(repo.dir, "templates", "fleet-other.yml"), join(repo.dir, "templates", "fleet-extra.yml"));
  commits.renamed = commit("fleet-other is fleet-extra now");
  rmSync(join(repo.dir, "templates", "fleet-extra.yml"));
  commits.deleted = commit("fleet-extra is gone");
});

afterAll(() => repo.cleanup());

describe("a push", () => {
  it("with a template edit builds the template and the one built on it, in one job per architecture", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.initial, LAST_BUILT: commits.initial });
    expect(run.stdout).toBe("");
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64"]);
    expect(run.outputs).toMatchObject({ any: "true", max_age: "", force: "false" });
    expect(JSON.parse(run.outputs.matrix!).include[0]).toEqual({ name: "fleet-base+fleet-child-x86_64", templates: "fleet-base fleet-child", architecture: "x86_64" });
    expect(run.summary).toContain("| fleet-base+fleet-child-x86_64 | x86_64 | `cws ami build-all fleet-base fleet-child --architecture x86_64` |");
    expect(run.stderr).toContain("Building 2 templates in 2 jobs.");
  });

  it("that changes only an amis block (the registry pull request's merge) builds nothing", () => {
    checkout(commits.amisOnly);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.edited });
    expect(run.status).toBe(0);
    expect(run.outputs).toMatchObject({ any: "false", matrix: '{"include":[]}' });
    expect(run.summary).toContain("Nothing to build");
  });

  it("that renames a template builds it under its new id", () => {
    checkout(commits.renamed);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.amisOnly });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-extra @ x86_64", "fleet-extra @ arm64"]);
    expect(run.summary).toContain("renamed from fleet-other");
  });

  it("that deletes a template builds nothing and says so", () => {
    checkout(commits.deleted);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.renamed });
    expect(run.status).toBe(0);
    expect(run.outputs.any).toBe("false");
    expect(run.summary).toContain("Deleted, so not built: fleet-extra.");
  });

  it.each([
    ["all zeros (a new branch)", ZERO],
    ["not in the clone (a force-push)", "1234567890abcdef1234567890abcdef12345678"],
    ["missing", ""],
  ])("whose previous commit is %s builds every template, with a warning annotation", (_, before) => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: before });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(ALL);
    expect(run.stderr).toContain("planning every template");
    expect(run.stdout).toMatch(/^::warning title=AMI build plan::.*is not usable here .*planning every template\.$/m);
  });

  it("compares with the last run that built everything: a replaced push's templates are planned with the next push's", () => {
    // The push of `edited` had its waiting run replaced by the push of `renamed` (before: amisOnly).
    checkout(commits.renamed);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.amisOnly, LAST_BUILT: commits.initial });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64", "fleet-extra @ x86_64", "fleet-extra @ arm64"]);
    const said = `Compared with ${commits.initial}, the commit of the last push or weekly run of this workflow whose plan succeeded and builds ran (earlier than the push's previous commit ${commits.amisOnly}`;
    expect(run.stderr).toContain(said);
    expect(run.summary).toContain(said);
    expect(run.stdout).toBe("");
  });

  it("compares with the last run's commit when it is the push's previous commit, saying so", () => {
    checkout(commits.renamed);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.amisOnly, LAST_BUILT: commits.amisOnly });
    expect(run.entries).toEqual(["fleet-extra @ x86_64", "fleet-extra @ arm64"]);
    expect(run.summary).toContain(`Compared with ${commits.amisOnly}, the commit of the last push or weekly run of this workflow whose plan succeeded and builds ran.`);
  });

  it.each([
    ["not an ancestor of HEAD", () => commits.deleted, "is not an ancestor of this one (main's history was rewritten by a force-push or a reset since that run, or this run's commit is not on main)"],
    ["not in the clone", () => "1234567890abcdef1234567890abcdef12345678", "is not in the clone"],
    ["empty (none known, or the API failed)", () => "", "LAST_BUILT is empty"],
  ])("falls back to the push's previous commit when the last run's commit is %s, with a note and a warning annotation", (_, lastBuilt, note) => {
    checkout(commits.renamed);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.amisOnly, LAST_BUILT: lastBuilt() });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-extra @ x86_64", "fleet-extra @ arm64"]);
    expect(run.stderr).toContain(`Compared with the push's previous commit ${commits.amisOnly}: `);
    expect(run.stderr).toContain(note);
    expect(run.summary).toContain(note);
    const warnings = run.stdout.split("\n").filter((line) => line.startsWith("::warning title=AMI build plan::"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Compared with the push's previous commit ${commits.amisOnly}: `);
    expect(warnings[0]).toContain(note);
  });

  it("over several commits compares with the push's previous commit, not HEAD^", () => {
    checkout(commits.amisOnly);
    expect(runPlan({ EVENT_NAME: "push", BEFORE: commits.initial }).entries).toEqual(["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64"]);
  });
});

describe("a run whose commit is not the tip of main", () => {
  const events: PlanEnv[] = [
    { EVENT_NAME: "push", BEFORE: "", LAST_BUILT: "" },
    { EVENT_NAME: "schedule" },
    { EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "all" },
  ];

  it.each(events)("is refused when it is a re-run and main's templates differ: $EVENT_NAME", (env) => {
    checkout(commits.edited);
    const run = runPlan({ ...env, BEFORE: commits.initial, LAST_BUILT: commits.initial, GITHUB_RUN_ATTEMPT: "2" }, commits.renamed);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      `::error title=AMI build plan::this run's commit ${commits.edited} is not the tip of main (${commits.renamed}), whose templates differ: re-running an old run would build and record old templates (run the workflow on main instead`,
    );
    expect(run.outputs).toEqual({});
  });

  it("is planned as usual when it is a re-run of the newest commit", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.initial, GITHUB_RUN_ATTEMPT: "2" });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64"]);
  });

  it("is planned when main has moved on without changing the templates", () => {
    checkout(commits.edited);
    writeFileSync(join(repo.dir, "NOTES.md"), "not a template\n");
    const later = commit("a change outside templates/");
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "fleet-other", GITHUB_RUN_ATTEMPT: "3" }, later);
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-other @ x86_64", "fleet-other @ arm64"]);
    expect(run.stderr).toContain(`main is at ${later} now, with the same templates`);
  });

  it("builds its own commit with a warning on a first attempt (main moved on while it waited)", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "push", BEFORE: commits.initial }, commits.renamed);
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(["fleet-base fleet-child @ x86_64", "fleet-base fleet-child @ arm64"]);
    expect(run.stdout).toMatch(new RegExp(`^::warning title=AMI build plan::main has moved on to ${commits.renamed}, with other templates`, "m"));
  });

  it("is planned with a warning when origin/main is not in the clone", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "schedule", GITHUB_RUN_ATTEMPT: "2" }, null);
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(ALL);
    expect(run.stdout).toMatch(/^::warning title=AMI build plan::origin\/main is not in the clone: cannot check/m);
  });
});

describe("a dispatch", () => {
  it.each([["fleet-other, fleet-base"], ["fleet-other,fleet-base"], ["fleet-other  fleet-base"], [" fleet-base ,\n fleet-other, fleet-base "]])(
    "with %j builds those and what is built on them",
    (input) => {
      checkout(commits.edited);
      const run = runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: input, FORCE_INPUT: "false" });
      expect(run.status).toBe(0);
      expect(run.entries).toEqual(ALL);
      expect(run.outputs.force).toBe("false");
    },
  );

  it.each([["all"], ["ALL"], [""]])("with %j builds every template", (input) => {
    checkout(commits.edited);
    expect(runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: input }).entries).toEqual(ALL);
  });

  it("with force passes --force on", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "fleet-other", FORCE_INPUT: "true" });
    expect(run.entries).toEqual(["fleet-other @ x86_64", "fleet-other @ arm64"]);
    expect(run.outputs.force).toBe("true");
    expect(run.summary).toContain("--force");
  });

  it.each([["TRUE"], ["True"], ["1"]])("with force %j passes --force on too", (force) => {
    checkout(commits.edited);
    expect(runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "fleet-other", FORCE_INPUT: force }).outputs.force).toBe("true");
  });

  it("with a force that is not a boolean fails, rather than building without --force", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "fleet-other", FORCE_INPUT: "yes" });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error title=AMI build plan::force "yes" is not a boolean');
    expect(run.outputs).toEqual({});
  });

  it("with an unknown id fails with an annotation naming it and the nearest one", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "workflow_dispatch", TEMPLATES_INPUT: "fleet-bsae, fleet-other" });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^::error title=AMI build plan::no template "fleet-bsae" \(did you mean "fleet-base"\?\) in .*templates \(templates here: fleet-base, fleet-child, fleet-other/);
    expect(run.outputs).toEqual({});
    expect(run.summary).toContain('**Error:** no template "fleet-bsae"');
  });
});

describe("the weekly run", () => {
  it("builds every template with --max-age 6d", () => {
    checkout(commits.edited);
    const run = runPlan({ EVENT_NAME: "schedule" });
    expect(run.status).toBe(0);
    expect(run.entries).toEqual(ALL);
    expect(run.outputs).toMatchObject({ any: "true", max_age: "6d", force: "false" });
    expect(run.summary).toContain("--max-age 6d");
    // changed is asked only for the templates: its words about a comparison would mislead here.
    expect(run.stderr).not.toContain("all-zero");
  });
});

it("another event is refused", () => {
  checkout(commits.edited);
  const run = runPlan({ EVENT_NAME: "pull_request" });
  expect(run.status).toBe(1);
  expect(run.stdout).toContain('::error title=AMI build plan::EVENT_NAME "pull_request"');
});
