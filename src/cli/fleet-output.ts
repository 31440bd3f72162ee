import { isCwsError, type ExitCode } from "../errors.js";
import type { FleetPlanReport } from "../fleet/plan-report.js";
import type { FleetReporter, FleetSummary } from "../fleet/reporter.js";
import { createFleetReporter } from "../output/fleet-reporter.js";
import { appendStepSummary, fleetSummaryJson, fleetSummaryMarkdown, formatFleetTable } from "../output/fleet-summary.js";
import { colorLevel, fancyProgress, type CliIO, type GlobalOptions } from "./io.js";

/**
 * What build-all shows, wired to the process's streams and environment: the
 * progress reporter on stderr (live lines on a terminal, plain lines in CI or
 * a pipe), the final table or JSON document on stdout, and the Markdown job
 * summary when GitHub Actions names a file in $GITHUB_STEP_SUMMARY. The
 * orchestrator (src/fleet) sees only the FleetReporter interface and the
 * summary it returns.
 */
export function fleetReporterFor(io: CliIO, globals: Pick<GlobalOptions, "color">): FleetReporter {
  return createFleetReporter({ stream: io.stderr, color: colorLevel({ ...io, stdout: io.stderr }, globals.color), fancy: fancyProgress(io) });
}

/** The result: the table (or --json's document, with the exit code) on stdout, and the job summary. A job summary that cannot be written is a warning: the images are made. */
export function writeFleetResult(summary: FleetSummary, exitCode: ExitCode, globals: Pick<GlobalOptions, "json">, io: CliIO): void {
  io.stdout.write(globals.json ? `${JSON.stringify(fleetSummaryJson(summary, exitCode), null, 2)}\n` : formatFleetTable(summary));
  const file = io.env.GITHUB_STEP_SUMMARY;
  if (file === undefined || file === "") return;
  try {
    appendStepSummary(file, fleetSummaryMarkdown(summary));
  } catch (error) {
    if (!isCwsError(error)) throw error;
    io.stderr.write(`⚠️  the job summary was not written: ${error.message}${error.suggestion ? ` (${error.suggestion})` : ""}\n`);
  }
}

/** `--dry-run`'s plan: text, or --json's document. */
export function writeFleetPlan(report: FleetPlanReport, globals: Pick<GlobalOptions, "json">, io: CliIO): void {
  io.stdout.write(globals.json ? `${JSON.stringify(report.json, null, 2)}\n` : report.text);
}
