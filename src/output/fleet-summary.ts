import { formatDuration } from "../duration.js";
import type { ExitCode } from "../errors.js";
import { appendToRegularFile } from "../file-access.js";
import { alignColumns } from "./columns.js";
import { formatTotal, formatUsd } from "../fleet/cost.js";
import { describeCounts, fleetTotals, resultWords, type FleetRow, type FleetSummary, type FleetTotals } from "../fleet/reporter.js";

/**
 * build-all's result, three ways from one summary: a text table for stdout,
 * one JSON document for --json, and Markdown for a GitHub Actions job summary
 * ($GITHUB_STEP_SUMMARY; the CLI reads the variable and passes the path).
 * Each has the same rows, the same totals and the same failures.
 */

const HEADERS = ["TEMPLATE", "ARCH", "REGION", "AMI", "RESULT", "TIME", "COST"] as const;

/** A row's cells, in HEADERS order, as both tables show them. */
function cells(row: FleetRow): string[] {
  return [row.template, row.architecture, row.region, row.amiId ?? "-", resultWords(row.result), row.durationSeconds === undefined ? "-" : formatDuration(row.durationSeconds), costCell(row)];
}

/** "$0.03 + $1.50/mo": the build's one-off cost and the image's storage per month; "?" for what has no price. */
function costCell(row: FleetRow): string {
  const parts = [
    ...(row.cost ? [row.cost.known ? formatUsd(row.cost.usd) : "?"] : []),
    ...(row.storage ? [`${row.storage.known ? formatUsd(row.storage.usdPerMonth) : "?"}/mo`] : []),
  ];
  return parts.length > 0 ? parts.join(" + ") : "-";
}

/** The lines under the table: counts and time, cost, prices not known, failures and skips with why. */
function footer(summary: FleetSummary, totals: FleetTotals): { tally: string; cost: string; unknown: string[]; why: { heading: string; items: string[] }[] } {
  const unknown = [...new Set([...totals.builds.unknown, ...totals.storagePerMonth.unknown])];
  const why = (["failed", "cancelled", "skipped"] as const)
    .map((result) => ({
      heading: `${resultWords(result)[0]!.toUpperCase()}${resultWords(result).slice(1)}:`,
      items: summary.rows
        .filter((row) => row.result === result)
        .map((row) => `${row.template} ${row.architecture} ${row.region}: ${row.detail ?? resultWords(row.result)}${row.logDir ? ` (logs: ${row.logDir})` : ""}`),
    }))
    .filter((group) => group.items.length > 0);
  return {
    tally: `${summary.rows.length} image${summary.rows.length === 1 ? "" : "s"}: ${describeCounts(totals.counts)} in ${formatDuration(summary.durationSeconds)}${summary.interrupted ? " (interrupted)" : ""}`,
    cost: `Cost: builds ${formatTotal(totals.builds)}; the new images' snapshot storage at most ${formatTotal(totals.storagePerMonth, "/month")} (${summary.prices}; on-demand estimates)`,
    unknown,
    why,
  };
}

export function formatFleetTable(summary: FleetSummary): string {
  const { tally, cost, unknown, why } = footer(summary, fleetTotals(summary));
  return `${[...alignColumns(HEADERS, summary.rows.map(cells)), "", tally, cost, ...unknown, ...why.flatMap((group) => [group.heading, ...group.items.map((item) => `  ${item.replace(/\n/g, "\n    ")}`)])].join("\n")}\n`;
}

/**
 * The --json document: every row with every field (null when it has no
 * value), the counts per result, the totals, and the exit code (as `build
 * --json` and `lint --json` carry theirs: a run that failed at work is still a
 * result). Shape documented in the README (build-all's output).
 */
export function fleetSummaryJson(summary: FleetSummary, exitCode: ExitCode): Record<string, unknown> {
  const totals = fleetTotals(summary);
  return {
    rows: summary.rows.map((row) => ({
      template: row.template,
      architecture: row.architecture,
      region: row.region,
      result: row.result,
      amiId: row.amiId ?? null,
      copiedFrom: row.copiedFrom ?? null,
      durationSeconds: row.durationSeconds ?? null,
      cost: row.cost ?? null,
      storagePerMonth: row.storage ?? null,
      ssmParameter: row.ssmParameter ?? null,
      detail: row.detail ?? null,
      logDir: row.logDir ?? null,
    })),
    counts: totals.counts,
    cost: { builds: totals.builds, storagePerMonth: totals.storagePerMonth, prices: summary.prices },
    durationSeconds: summary.durationSeconds,
    interrupted: summary.interrupted === true,
    leftOut: summary.leftOut ?? [],
    exitCode,
  };
}

/**
 * Text for a Markdown table cell or line: the characters Markdown would read
 * as a cell border, markup or HTML are escaped, and a line break becomes
 * `<br>`, so a value (an error message) shows as written.
 */
export function markdownText(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\|*_`[\]#~])/g, "\\$1")
    .replace(/\r?\n/g, "<br>");
}

export function fleetSummaryMarkdown(summary: FleetSummary, title = "cws ami build-all"): string {
  const { tally, cost, unknown, why } = footer(summary, fleetTotals(summary));
  const row = (values: readonly string[]) => `| ${values.map(markdownText).join(" | ")} |`;
  return `${[
    `### ${markdownText(title)}`,
    "",
    row(["Template", "Architecture", "Region", "AMI", "Result", "Duration", "Cost"]),
    `|${" --- |".repeat(HEADERS.length)}`,
    ...summary.rows.map((r) => row(cells(r))),
    "",
    markdownText(tally),
    "",
    markdownText(cost),
    ...(unknown.length > 0 ? ["", ...unknown.map((sentence) => `- ${markdownText(sentence)}`)] : []),
    ...why.flatMap((group) => ["", `**${markdownText(group.heading)}**`, "", ...group.items.map((item) => `- ${markdownText(item)}`)]),
  ].join("\n")}\n`;
}

/**
 * Append to the job summary file GitHub Actions names in $GITHUB_STEP_SUMMARY
 * (the CLI reads the variable). GITHUB_STEP_SUMMARY=/dev/null (any character
 * device) switches the summary off: nothing is written, and nothing is said.
 */
export function appendStepSummary(file: string, markdown: string): void {
  appendToRegularFile(file, `${markdown}\n`, { role: "the job summary file ($GITHUB_STEP_SUMMARY)", deviceDiscards: true });
}
