import type { BuildReporter } from "../builder/reporter.js";
import { sumCosts, type BuildCost, type CostTotal, type StorageCost } from "./cost.js";

/**
 * What build-all tells the person watching it, and what it ends with. The
 * orchestrator calls a FleetReporter as targets (a template for one
 * architecture, or for one region with --strategy per-region) move along;
 * implementations live in src/output/fleet-reporter.ts: one live line per
 * target on a terminal, plain lines prefixed with the target elsewhere. Many
 * targets run at once, so every call names its target; calls may come in any
 * order across targets.
 */

/**
 * What became of a target (or of its image in one region), in the order a
 * tally names them: build-all's results, and `validated`, which `cws ami
 * validate --all` reports through the same reporters.
 */
export const TARGET_RESULTS = ["built", "copied", "up-to-date", "validated", "failed", "skipped", "cancelled"] as const;
export type TargetResult = (typeof TARGET_RESULTS)[number];

/** build-all's results: every one but validate's. */
export type FleetResult = Exclude<TargetResult, "validated">;
export const FLEET_RESULTS: readonly FleetResult[] = TARGET_RESULTS.filter((result): result is FleetResult => result !== "validated");

/** A result as the text and Markdown tables show it. */
export function resultWords(result: TargetResult): string {
  return result === "up-to-date" ? "up to date" : result;
}

export interface TargetOutcome {
  /** built (and copied), copied (up to date at home, copied to regions lacking it), up-to-date, validated, failed, skipped, cancelled. */
  result: TargetResult;
  /** One line on what happened: "ami-0abc… in us-east-1, copied to 3 regions", the failure, "parent python-research/x86_64 failed". */
  detail?: string;
}

export interface FleetReporter {
  /** A target that will run once there is room (--concurrency): shown as waiting. Optional before targetStarted. */
  targetQueued(id: string, label: string): void;
  /** A target began; `label` is how it is shown ("r-research/x86_64"). */
  targetStarted(id: string, label: string): void;
  /** Its current step ("Launching build instance", "Copying to us-west-2, eu-west-1"). */
  targetStep(id: string, step: string): void;
  /** A line worth keeping in the output (a warning, a copy that finished, a failure's message). */
  log(id: string, line: string): void;
  /** A line about the whole fleet ("SIGINT: stopping every target and cleaning up"). */
  notice(line: string): void;
  targetDone(id: string, outcome: TargetOutcome): void;
  /** Every target has finished: the live lines become final and the tally is printed. The table is the command's result, printed apart (fleet-summary.ts). */
  finish(summary: FleetTally): void;
  /** Stop drawing and give the terminal back (the cursor shown again), also when finish never came (an exception). Idempotent. */
  close(): void;
}

/** One row of the final table: a template's image for one architecture in one region. */
export interface FleetRow {
  template: string;
  architecture: string;
  region: string;
  result: FleetResult;
  /** The image in this region: built, copied or found up to date. */
  amiId?: string;
  /** A copy's source. */
  copiedFrom?: { region: string; amiId: string };
  durationSeconds?: number;
  /** One-off: a build's instance and volume (buildCost). */
  cost?: BuildCost;
  /** The new image's snapshots in this region per month, at most (snapshotMonthlyCost); built and copied rows. */
  storage?: StorageCost;
  /** --publish-ssm: the SSM parameter the image's id was written to in this region. */
  ssmParameter?: string;
  /** Why: the failure, what skipped it, the content hash that made it up to date. */
  detail?: string;
  /** A failed build's logs. */
  logDir?: string;
}

/** What the tally at the end counts: a result per row (an image in a region), and the time taken. */
export interface FleetTally {
  rows: readonly { result: TargetResult }[];
  durationSeconds: number;
  interrupted?: boolean;
}

export interface FleetSummary {
  rows: FleetRow[];
  durationSeconds: number;
  /** describePrices(): which prices the costs are from. */
  prices: string;
  /** Ctrl-C stopped the run. */
  interrupted?: boolean;
  /** Templates asked for that build nothing after --region/--architecture, each with why (fleetTargets' `leftOut`). */
  leftOut?: readonly string[];
}

export const silentFleetReporter: FleetReporter = {
  targetQueued() {},
  targetStarted() {},
  targetStep() {},
  log() {},
  notice() {},
  targetDone() {},
  finish() {},
  close() {},
};

export interface FleetTotals {
  /** Rows per result; every result is present. */
  counts: Record<FleetResult, number>;
  /** One-off: what the builds cost. */
  builds: CostTotal;
  /** Per month, at most: the snapshots of the images this run made (built and copied). */
  storagePerMonth: CostTotal;
}

/** The summary's counts and costs, for the tally line, the table's totals and the JSON document. */
export function fleetTotals(summary: Pick<FleetSummary, "rows">): FleetTotals {
  const counts = Object.fromEntries(FLEET_RESULTS.map((result) => [result, 0])) as Record<FleetResult, number>;
  for (const row of summary.rows) counts[row.result]++;
  return {
    counts,
    builds: sumCosts(summary.rows.flatMap((row) => (row.cost ? [row.cost] : []))),
    storagePerMonth: sumCosts(summary.rows.flatMap((row) => (row.storage ? [row.storage] : []))),
  };
}

/** "3 built, 9 copied, 1 failed": the results that occurred, in TARGET_RESULTS order. */
export function describeCounts(counts: Partial<Record<TargetResult, number>>): string {
  const parts = TARGET_RESULTS.filter((result) => (counts[result] ?? 0) > 0).map((result) => `${counts[result]} ${resultWords(result)}`);
  return parts.length > 0 ? parts.join(", ") : "nothing to do";
}

/** Rows per result, for a tally. */
export function countResults(rows: FleetTally["rows"]): Partial<Record<TargetResult, number>> {
  const counts: Partial<Record<TargetResult, number>> = {};
  for (const row of rows) counts[row.result] = (counts[row.result] ?? 0) + 1;
  return counts;
}

/**
 * A build's (or a validation's) events as its target's lines, each after
 * `prefix` (the region, when a target has more than one). What went as
 * planned (a step done, a test passed, a cleanup) is the target's current
 * step: on a terminal its live line shows it, in CI it is a line like any
 * other. What is worth keeping on a terminal too (a failure, a failed test, a
 * warning) is a log line. Its scripts' output is not shown (many builds at
 * once would interleave it; it is in the build's logs), except the last line
 * of a step that fails: the line that usually says why ("E: unable to locate
 * package …"), kept above the ❌.
 */
export function targetBuildReporter(reporter: FleetReporter, key: string, prefix: string): BuildReporter {
  let lastOutput: string | undefined;
  return {
    stepStarted: (title) => {
      lastOutput = undefined;
      reporter.targetStep(key, `${prefix}${title}`);
    },
    stepSucceeded: (text) => reporter.targetStep(key, `✅ ${prefix}${text}`),
    stepFailed: (text) => {
      if (lastOutput !== undefined) reporter.log(key, lastOutput);
      reporter.log(key, `❌ ${prefix}${text}`);
    },
    detail: (text) => reporter.targetStep(key, `${prefix}${text}`),
    output: (text) => {
      const last = text.split("\n").findLast((line) => line.trim() !== "");
      if (last !== undefined) lastOutput = last;
    },
    test: (name, passed, detail) => (passed ? reporter.targetStep(key, `✅ ${prefix}test: ${name}`) : reporter.log(key, `❌ ${prefix}test: ${name}${detail ? ` (${detail})` : ""}`)),
    warn: (text) => reporter.log(key, `⚠️  ${prefix}${text}`),
    cleanup: (text) => reporter.targetStep(key, `🧹 ${prefix}${text}`),
    close: () => {},
  };
}
