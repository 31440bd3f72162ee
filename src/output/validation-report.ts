import type { ChalkInstance } from "chalk";
import { formatDuration } from "../duration.js";
import type { ExitCode } from "../errors.js";
import { countResults, describeCounts } from "../fleet/reporter.js";
import type { ValidationResult, ValidationRow, ValidationRowResult, ValidationSummary } from "../lifecycle/validate.js";
import { alignColumns } from "./columns.js";

/**
 * `cws ami validate`'s result on stdout (a failure's on stderr, as build's):
 * one image's verdict, or `--all`'s table, tally and reasons; and `--all`'s
 * JSON document. Progress is the build's reporter (one image) or the fleet's
 * (many), on stderr.
 */

/** The header before the steps, as build prints its own. */
export function validationHeader(request: { templateId: string; architecture: string; region: string; imageId: string }): string {
  return [`🔎 Validating ${request.imageId} on a fresh instance`, `   Template: ${request.templateId}`, `   Architecture: ${request.architecture}`, `   Region: ${request.region}`, ""].join("\n");
}

export function formatValidationResult(result: ValidationResult, chalk: ChalkInstance): string {
  const key = `${result.template}.${result.region}.${result.architecture}`;
  const lines: string[] = [""];
  const passed = result.tests.filter((test) => test.passed).length;
  if (result.status === "succeeded") {
    lines.push(`✅ ${chalk.green.bold(`${result.imageId} passed on a fresh instance`)} (${key}${result.instanceId ? `, ${result.instanceId}` : ""})`);
    lines.push(`   Tests: ${result.tests.length === 0 ? "none (it booted and its SSM agent came online)" : `${passed} of ${result.tests.length} passed`}`);
  } else {
    lines.push(`❌ ${chalk.red.bold(result.status === "interrupted" ? "Validation interrupted" : "Validation failed")}${result.failedStep ? ` (step: ${result.failedStep})` : ""}: ${result.imageId} (${key})`);
    // An interrupted run's error only says what the heading does.
    if (result.error && result.status === "failed") {
      lines.push(`   ${result.error.message}`);
      if (result.error.suggestion) lines.push(...result.error.suggestion.split("\n").map((line) => `   → ${line}`));
    }
    if (result.tests.length > 0) lines.push(`   Tests: ${passed} of ${result.tests.length} passed`);
  }
  // What was recorded, exactly: the image's tags once it passed, and the registry's record of it.
  if (result.validatedAt) {
    lines.push(`   Tagged: cws:validated=true, cws:validated-at=${result.validatedAt} (the image and its snapshots)`);
    const registry = registryLine(result, key);
    if (registry) lines.push(`   Registry: ${registry}`);
  } else if (result.status !== "succeeded") {
    lines.push("   Nothing was recorded as validated: the registry and the image's tags are as they were.");
  }
  lines.push(`   Total time: ${formatDuration(result.durationSeconds)}`, ...(result.logDir ? [`   Logs: ${result.logDir}`] : []));
  if (result.cleaned.length) lines.push(`🧹 Cleaned up: ${result.cleaned.join(", ")}`);
  if (result.kept.length) lines.push(`📌 Kept: ${result.kept.join(", ")}`);
  if (result.cleanupErrors.length) {
    lines.push(`⚠️  Cleanup problems (find leftovers by tag cws:build-id=${result.validationId}):`, ...result.cleanupErrors.map((e) => `   ${e}`));
  }
  return `${lines.join("\n")}\n`;
}

/** What became of the passing image's record in the registry, in words; undefined when no registry was named. */
function registryLine(result: ValidationResult, key: string): string | undefined {
  switch (result.registryRecord) {
    case "current":
    case "history":
      return `marked validated in ${result.registry} (${result.registryRecord === "current" ? "the current AMI" : "in the entry's history"})`;
    case "none":
      return `${result.registry} has no record of ${result.imageId} in ${key}; nothing marked`;
    case "no-registry":
      return `${result.registry} does not exist; nothing marked`;
    case "failed":
      return `not marked: ${result.registry} could not be written (see above)`;
    case null:
      return undefined;
  }
}

const HEADERS = ["TEMPLATE", "ARCH", "REGION", "AMI", "RESULT", "TESTS", "TIME"] as const;

function cells(row: ValidationRow): string[] {
  return [
    row.template,
    row.architecture,
    row.region,
    row.amiId,
    row.result,
    row.tests ? `${row.tests.passed}/${row.tests.total}` : "-",
    row.durationSeconds === undefined ? "-" : formatDuration(row.durationSeconds),
  ];
}

/** "6 images: 5 validated, 1 failed in 1m 3s". */
function tally(summary: ValidationSummary): string {
  const count = summary.rows.length;
  return `${count} image${count === 1 ? "" : "s"}: ${describeCounts(countResults(summary.rows))} in ${formatDuration(summary.durationSeconds)}${summary.interrupted ? " (interrupted)" : ""}`;
}

export function formatValidationTable(summary: ValidationSummary): string {
  const why = (["failed", "cancelled", "skipped"] as const).flatMap((result) => {
    const items = summary.rows.filter((row) => row.result === result);
    if (items.length === 0) return [];
    return [
      `${result[0]!.toUpperCase()}${result.slice(1)}:`,
      ...items.map((row) => `  ${row.template} ${row.architecture} ${row.region} ${row.amiId}: ${(row.detail ?? row.result).replace(/\n/g, "\n    ")}${row.logDir ? ` (logs: ${row.logDir})` : ""}`),
    ];
  });
  return `${[...alignColumns(HEADERS, summary.rows.map(cells)), "", tally(summary), ...why].join("\n")}\n`;
}

const ROW_RESULTS: readonly ValidationRowResult[] = ["validated", "failed", "skipped", "cancelled"];

/** `--all --json`: every row with every field (null when it has none), the counts of every result, the time, the exit code (as build-all's document). */
export function validationSummaryJson(summary: ValidationSummary, exitCode: ExitCode): Record<string, unknown> {
  const counts = Object.fromEntries(ROW_RESULTS.map((result) => [result, summary.rows.filter((row) => row.result === result).length]));
  return {
    rows: summary.rows.map((row) => ({
      template: row.template,
      architecture: row.architecture,
      region: row.region,
      amiId: row.amiId,
      result: row.result,
      tests: row.tests ?? null,
      validatedAt: row.validatedAt ?? null,
      durationSeconds: row.durationSeconds ?? null,
      detail: row.detail ?? null,
      logDir: row.logDir ?? null,
    })),
    counts,
    durationSeconds: summary.durationSeconds,
    interrupted: summary.interrupted === true,
    exitCode,
  };
}
