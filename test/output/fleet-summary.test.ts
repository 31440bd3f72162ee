import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLEET_RESULTS, fleetTotals } from "../../src/fleet/reporter.js";
import { appendStepSummary, fleetSummaryJson, fleetSummaryMarkdown, formatFleetTable, markdownText } from "../../src/output/fleet-summary.js";
import { scratchDir } from "../helpers/cli.js";
import { SUMMARY } from "./fleet-fixtures.js";

let work: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = scratchDir();
});
afterAll(() => work.cleanup());

describe("the final table, as text", () => {
  it("has a row per template, architecture and region, then the counts, the cost, what has no price and why each failure or skip", () => {
    expect(formatFleetTable(SUMMARY)).toBe(
      [
        "TEMPLATE         ARCH    REGION     AMI                    RESULT      TIME    COST",
        "python-research  x86_64  us-east-1  ami-0aaaaaaaaaaaaaaa1  built       20m 5s  $0.029 + $1.50/mo",
        "python-research  x86_64  us-west-2  ami-0aaaaaaaaaaaaaaa2  copied      2m 5s   $1.50/mo",
        "python-research  x86_64  eu-west-1  ami-0aaaaaaaaaaaaaaa3  copied      2m 11s  ?/mo",
        "r-research       x86_64  us-east-1  ami-0bbbbbbbbbbbbbbb1  up to date  -       -",
        "python-research  arm64   us-east-1  -                      failed      5m 0s   $0.0059",
        "ml-gpu           arm64   us-east-1  -                      skipped     -       -",
        "",
        "6 images: 1 built, 2 copied, 1 up to date, 1 failed, 1 skipped in 22m 10s",
        "Cost: builds $0.035; the new images' snapshot storage at most $3.00/month + unpriced items (test prices of 2026-01-01; on-demand estimates)",
        "price unknown for snapshot storage in eu-west-1 (add it with --prices)",
        "Failed:",
        "  python-research arm64 us-east-1: setup script exited with code 7 | see <log>",
        "    E: unable to locate package (logs: .cws/logs/20261128t100000z-abc123)",
        "Skipped:",
        "  ml-gpu arm64 us-east-1: parent python-research/arm64 failed",
        "",
      ].join("\n"),
    );
  });

  it("says when the run was interrupted, and that there was nothing to do", () => {
    expect(formatFleetTable({ rows: [], durationSeconds: 2, prices: "p", interrupted: true })).toContain("0 images: nothing to do in 2s (interrupted)");
  });
});

describe("the final table, as JSON", () => {
  it("has every row with every field (null when empty), the counts of every result and the totals", () => {
    const json = fleetSummaryJson(SUMMARY, 1) as {
      rows: Record<string, unknown>[];
      counts: Record<string, number>;
      cost: { builds: { usd: number; known: boolean }; storagePerMonth: { usd: number; known: boolean; unknown: string[] }; prices: string };
      durationSeconds: number;
      interrupted: boolean;
      exitCode: number;
    };
    expect(json.rows).toHaveLength(SUMMARY.rows.length);
    for (const row of json.rows) {
      expect(Object.keys(row)).toEqual(["template", "architecture", "region", "result", "amiId", "copiedFrom", "durationSeconds", "cost", "storagePerMonth", "ssmParameter", "detail", "logDir"]);
    }
    expect(json.rows[1]).toMatchObject({ result: "copied", copiedFrom: { region: "us-east-1", amiId: "ami-0aaaaaaaaaaaaaaa1" }, cost: null });
    expect(json.rows[5]).toMatchObject({ result: "skipped", amiId: null, durationSeconds: null, cost: null, storagePerMonth: null, ssmParameter: null, logDir: null });
    expect(Object.keys(json.counts)).toEqual([...FLEET_RESULTS]);
    expect(json.counts).toEqual({ built: 1, copied: 2, "up-to-date": 1, failed: 1, skipped: 1, cancelled: 0 });
    const totals = fleetTotals(SUMMARY);
    expect(json.cost.builds.usd).toBe(totals.builds.usd);
    expect(json.cost.storagePerMonth).toEqual({ usd: 3, known: false, unknown: ["price unknown for snapshot storage in eu-west-1 (add it with --prices)"] });
    expect(json.cost.prices).toBe("test prices of 2026-01-01");
    expect(json.interrupted).toBe(false);
    expect(json.exitCode).toBe(1);
    // One document, and nothing JSON cannot say.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe("the final table, as Markdown for the job summary", () => {
  it("escapes what Markdown would read as a cell border, markup or HTML, and keeps a line break in its cell", () => {
    expect(markdownText("a | b")).toBe("a \\| b");
    expect(markdownText("<script>&")).toBe("&lt;script&gt;&amp;");
    expect(markdownText("*bold* _it_ `code` [link] #1 ~x~ back\\slash")).toBe("\\*bold\\* \\_it\\_ \\`code\\` \\[link\\] \\#1 \\~x\\~ back\\\\slash");
    expect(markdownText("one\ntwo\r\nthree")).toBe("one<br>two<br>three");
  });

  it("is a table with the same rows and cells as the text, then the totals and the failures", () => {
    const markdown = fleetSummaryMarkdown(SUMMARY);
    const lines = markdown.split("\n");
    expect(lines[0]).toBe("### cws ami build-all");
    const table = lines.filter((line) => line.startsWith("|"));
    expect(table[0]).toBe("| Template | Architecture | Region | AMI | Result | Duration | Cost |");
    expect(table[1]).toBe("| --- | --- | --- | --- | --- | --- | --- |");
    expect(table).toHaveLength(2 + SUMMARY.rows.length);
    // Every row has exactly seven cells: no unescaped | splits one.
    for (const row of table) expect(row.split(/(?<!\\)\|/).length - 2).toBe(7);
    expect(table[2]).toBe("| python-research | x86\\_64 | us-east-1 | ami-0aaaaaaaaaaaaaaa1 | built | 20m 5s | $0.029 + $1.50/mo |");
    expect(markdown).toContain("- python-research arm64 us-east-1: setup script exited with code 7 \\| see &lt;log&gt;<br>E: unable to locate package (logs: .cws/logs/20261128t100000z-abc123)");
    expect(markdown).toContain("**Failed:**");
    expect(markdown).toContain("**Skipped:**");
    expect(markdown).toContain("6 images: 1 built, 2 copied, 1 up to date, 1 failed, 1 skipped in 22m 10s");
  });

  it("is appended to the job summary file, which is created if missing", () => {
    const file = join(work.dir, "summary.md");
    appendStepSummary(file, "first");
    appendStepSummary(file, "second");
    expect(readFileSync(file, "utf8")).toBe("first\nsecond\n");
  });

  it("a job summary path that is not a regular file is one line, never a wait", () => {
    mkdirSync(join(work.dir, "a-dir"));
    expect(() => appendStepSummary(join(work.dir, "a-dir"), "x")).toThrow(/a-dir: the job summary file \(\$GITHUB_STEP_SUMMARY\) is a directory, not a regular file/);
    execFileSync("mkfifo", [join(work.dir, "fifo")]);
    expect(() => appendStepSummary(join(work.dir, "fifo"), "x")).toThrow(/fifo: the job summary file \(\$GITHUB_STEP_SUMMARY\) is a named pipe \(FIFO\), not a regular file/);
    expect(() => appendStepSummary(join(work.dir, "missing-dir", "s.md"), "x")).toThrow(/does not exist/);
  });

  it("GITHUB_STEP_SUMMARY=/dev/null (a character device) switches the summary off: nothing written, nothing thrown", () => {
    expect(() => appendStepSummary("/dev/null", "x")).not.toThrow();
  });
});
