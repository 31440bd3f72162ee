import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fleetReporterFor, writeFleetPlan, writeFleetResult } from "../../src/cli/fleet-output.js";
import type { CliIO } from "../../src/cli/io.js";
import { fleetPlanReport } from "../../src/fleet/plan-report.js";
import { fleetSummaryJson, fleetSummaryMarkdown, formatFleetTable } from "../../src/output/fleet-summary.js";
import { scratchDir } from "../helpers/cli.js";
import { SUMMARY, TEST_PRICES } from "../output/fleet-fixtures.js";

/** build-all's output wired to a command's io: which reporter, where the result and the job summary go. */
let work: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = scratchDir();
});
afterAll(() => work.cleanup());

function io(env: Record<string, string> = {}, terminal = false): CliIO & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (chunk: string) => (out += chunk) },
    stderr: { write: (chunk: string) => (err += chunk), isTTY: terminal, columns: terminal ? 80 : 0, rows: terminal ? 24 : 0 },
    env,
    cwd: work.dir,
    out: () => out,
    err: () => err,
  };
}

describe("fleetReporterFor", () => {
  it("live lines on a terminal; plain lines in CI, even on a terminal, and in a pipe", () => {
    const drive = (target: CliIO & { err: () => string }) => {
      const reporter = fleetReporterFor(target, { color: false });
      reporter.targetStarted("a", "r-research/x86_64");
      reporter.targetStep("a", "Launching build instance");
      reporter.close();
      return target.err();
    };
    expect(drive(io({}, true))).toContain("\x1b[?25l");
    expect(drive(io({ CI: "true" }, true))).toMatch(/^\[\d\d:\d\d:\d\d\] \[r-research\/x86_64\] Launching build instance$/m);
    expect(drive(io({}, false))).toMatch(/^\[\d\d:\d\d:\d\d\] \[r-research\/x86_64\] Launching build instance$/m);
  });
});

describe("writeFleetResult", () => {
  it("prints the table, or with --json the one document; appends the Markdown to $GITHUB_STEP_SUMMARY when it is set", () => {
    const summaryFile = join(work.dir, "step-summary.md");
    const text = io({ GITHUB_STEP_SUMMARY: summaryFile });
    writeFleetResult(SUMMARY, 1, { json: false }, text);
    expect(text.out()).toBe(formatFleetTable(SUMMARY));
    const json = io({ GITHUB_STEP_SUMMARY: summaryFile });
    writeFleetResult(SUMMARY, 1, { json: true }, json);
    expect(JSON.parse(json.out())).toEqual(JSON.parse(JSON.stringify(fleetSummaryJson(SUMMARY, 1))));
    expect(readFileSync(summaryFile, "utf8")).toBe(`${fleetSummaryMarkdown(SUMMARY)}\n`.repeat(2));
    const none = io();
    writeFleetResult(SUMMARY, 1, { json: false }, none);
    expect(none.err()).toBe("");
  });

  it("GITHUB_STEP_SUMMARY=/dev/null: the result is printed and the summary discarded without a word", () => {
    const target = io({ GITHUB_STEP_SUMMARY: "/dev/null" });
    writeFleetResult(SUMMARY, 1, { json: false }, target);
    expect(target.out()).toBe(formatFleetTable(SUMMARY));
    expect(target.err()).toBe("");
  });

  it("a job summary it cannot write is a warning: the result is still printed", () => {
    mkdirSync(join(work.dir, "summary-dir"));
    const target = io({ GITHUB_STEP_SUMMARY: join(work.dir, "summary-dir") });
    writeFleetResult(SUMMARY, 1, { json: true }, target);
    expect(JSON.parse(target.out()).rows).toHaveLength(SUMMARY.rows.length);
    expect(target.err()).toMatch(/^⚠️ {2}the job summary was not written: .*summary-dir: the job summary file \(\$GITHUB_STEP_SUMMARY\) is a directory, not a regular file/);
  });
});

describe("writeFleetPlan", () => {
  it("prints the plan's text, or its JSON document", () => {
    const report = fleetPlanReport([], TEST_PRICES);
    const text = io();
    writeFleetPlan(report, { json: false }, text);
    expect(text.out()).toBe(report.text);
    const json = io();
    writeFleetPlan(report, { json: true }, json);
    expect(JSON.parse(json.out())).toEqual(report.json);
  });
});
