import { describeAge, durationFlag } from "../duration.js";
import type { ReapOutcome } from "../lifecycle/reap.js";
import { LEFTOVER_KIND_ORDER, type Leftover, type ReapDecision } from "../lifecycle/reap-plan.js";
import { alignColumns } from "./columns.js";

/**
 * `cws ami reap`'s output: what it found (a table: region, resource, build,
 * template, age, reap or keep, and why), then what it did; or the same as one
 * JSON document. Both are made from the decisions and their outcomes.
 */

export interface ReapReport {
  regions: readonly string[];
  olderThanMs: number;
  dryRun: boolean;
  outcomes: readonly ReapOutcome[];
  /** Regions that could not be searched, and why. */
  regionErrors: readonly { region: string; message: string }[];
  /** What happened to the removal: done, not asked for (dry run, nothing to reap), declined at the prompt, or interrupted. */
  ending: "done" | "nothing-to-do" | "dry-run" | "declined" | "interrupted";
  exitCode: number;
}

const KIND_WORDS: Record<Leftover["kind"], string> = { instance: "instance", "security-group": "security group", image: "image" };

function resource(leftover: Leftover): string {
  const snapshots = leftover.snapshotIds.length;
  const detail = [leftover.state, ...(leftover.kind === "image" && snapshots > 0 ? [`${snapshots} snapshot${snapshots === 1 ? "" : "s"}`] : []), ...(leftover.copy ? ["a copy"] : [])];
  return `${KIND_WORDS[leftover.kind]} ${leftover.id}${detail.filter(Boolean).length ? ` (${detail.filter(Boolean).join(", ")})` : ""}`;
}

const age = (decision: ReapDecision) => (decision.ageMs === undefined ? "unknown" : describeAge(decision.ageMs));
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
const builds = (decisions: readonly ReapDecision[]) => new Set(decisions.map((d) => `${d.leftover.region} ${d.leftover.copy ? d.leftover.id : d.leftover.buildId}`)).size;

/** The table of everything found, with the decision for each; or a line saying nothing was found. */
export function formatReapPlan(report: Pick<ReapReport, "regions" | "olderThanMs" | "outcomes">): string {
  const decisions = report.outcomes.map((o) => o.decision);
  const where = `${report.regions.join(", ")} (--older-than ${durationFlag(report.olderThanMs)})`;
  if (decisions.length === 0) return `Nothing left behind by a build in ${where}.\n`;
  const rows = decisions.map((d) => [d.leftover.region, resource(d.leftover), d.leftover.buildId, d.leftover.template ?? "-", age(d), d.action, d.why]);
  const header = `Found ${count(decisions.length, "resource")} of ${count(builds(decisions), "build")} in ${where}:`;
  return `${[header, ...alignColumns(["REGION", "RESOURCE", "BUILD", "TEMPLATE", "AGE", "ACTION", "WHY"], rows), ...byHand(decisions)].join("\n")}\n`;
}

/**
 * What reap keeps because nothing dates it (a build id dated in the future, a group whose id has no date) it
 * keeps for good: no age will ever pass the limit. The AWS CLI commands that remove it, in EC2's order, for
 * whoever knows that no build is using it.
 */
function byHand(decisions: readonly ReapDecision[]): string[] {
  const undated = decisions.filter((d) => d.action === "keep" && d.reason.kind === "age-unknown").sort((a, b) => LEFTOVER_KIND_ORDER[a.leftover.kind] - LEFTOVER_KIND_ORDER[b.leftover.kind]);
  if (undated.length === 0) return [];
  const future = undated.some((d) => d.futureStart !== undefined) ? " (a build id dated in the future may also mean that this machine's clock is behind)" : "";
  const commands = undated.flatMap(({ leftover: { kind, region, id, snapshotIds } }) => {
    const aws = (words: string) => `  aws ec2 ${words} --region ${region}`;
    if (kind === "instance") return [aws(`terminate-instances --instance-ids ${id}`), aws(`wait instance-terminated --instance-ids ${id}`)];
    if (kind === "security-group") return [aws(`delete-security-group --group-id ${id}`)];
    return [aws(`deregister-image --image-id ${id}`), ...snapshotIds.map((snapshot) => aws(`delete-snapshot --snapshot-id ${snapshot}`))];
  });
  return [`Nothing dates ${count(undated.length, "resource")} above, so reap keeps ${undated.length === 1 ? "it" : "them"}${future}. If no build is using ${undated.length === 1 ? "it" : "them"}, remove ${undated.length === 1 ? "it" : "them"} by hand:`, ...commands];
}

/** How many of the found resources are to be removed, and of how many builds, in words: "3 resources of 1 build". */
export function describeToReap(outcomes: readonly ReapOutcome[]): string {
  const reaped = outcomes.map((o) => o.decision).filter((d) => d.action === "reap");
  return `${count(reaped.length, "resource")} of ${count(builds(reaped), "build")}`;
}

function done(leftover: Leftover, snapshotIds: readonly string[]): string {
  if (leftover.kind === "instance") return "terminated";
  if (leftover.kind === "security-group") return "deleted";
  return `deregistered${snapshotIds.length ? `, ${count(snapshotIds.length, "snapshot")} deleted (${snapshotIds.join(", ")})` : ""}`;
}

/** What was done, what was not and why, and the tally; after a dry run, what would have been done. */
export function formatReapResults(report: ReapReport): string {
  const reaped = report.outcomes.filter((o) => o.decision.action === "reap");
  const kept = report.outcomes.length - reaped.length;
  const keptText = kept > 0 ? `; kept ${count(kept, "resource")} (see WHY)` : "";
  const lines: string[] = [];
  if (report.ending === "dry-run") {
    lines.push(reaped.length > 0 ? `Dry run: nothing was removed; without --dry-run cws ami reap would remove ${describeToReap(report.outcomes)}${keptText}.` : "Dry run: nothing to remove.");
  } else if (report.ending === "declined") {
    lines.push("Nothing was removed.");
  } else if (reaped.length > 0) {
    const removed = reaped.filter((o) => o.result?.status === "removed");
    const notRemoved = reaped.filter((o) => o.result?.status !== "removed");
    if (removed.length > 0) {
      lines.push("Removed:");
      for (const o of removed) lines.push(`  ${o.decision.leftover.region}  ${KIND_WORDS[o.decision.leftover.kind]} ${o.decision.leftover.id}: ${done(o.decision.leftover, o.result?.status === "removed" ? o.result.snapshotIds : [])}`);
    }
    if (notRemoved.length > 0) {
      lines.push("Not removed:");
      for (const o of notRemoved) {
        const why = o.result?.status === "failed" ? o.result.error : o.result?.status === "not-attempted" ? o.result.why : "not attempted";
        lines.push(`  ${o.decision.leftover.region}  ${KIND_WORDS[o.decision.leftover.kind]} ${o.decision.leftover.id}: ${why}`);
      }
    }
    lines.push(`${removed.length} of ${count(reaped.length, "resource")} removed${report.ending === "interrupted" ? " (interrupted)" : ""}${keptText}.`);
  } else if (kept > 0) {
    lines.push(`Nothing to remove${keptText}.`);
  }
  for (const { region, message } of report.regionErrors) lines.push(`Not searched: ${region}: ${message}`);
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** The --json document: every resource with its decision and result (null where there is none), the counts, and the regions. */
export function reapJson(report: ReapReport): Record<string, unknown> {
  const resources = report.outcomes.map(({ decision, result }) => ({
    region: decision.leftover.region,
    kind: decision.leftover.kind,
    id: decision.leftover.id,
    buildId: decision.leftover.buildId,
    template: decision.leftover.template ?? null,
    state: decision.leftover.state ?? null,
    copy: decision.leftover.copy,
    snapshotIds: decision.leftover.snapshotIds,
    ageSeconds: decision.ageMs === undefined ? null : Math.round(decision.ageMs / 1000),
    action: decision.action,
    reason: decision.reason.kind,
    why: decision.why,
    result: result?.status ?? null,
    error: result?.status === "failed" ? result.error : result?.status === "not-attempted" ? result.why : null,
  }));
  const status = (s: string) => report.outcomes.filter((o) => o.result?.status === s).length;
  return {
    regions: report.regions,
    olderThanSeconds: report.olderThanMs / 1000,
    dryRun: report.dryRun,
    ending: report.ending,
    resources,
    counts: {
      found: report.outcomes.length,
      reap: report.outcomes.filter((o) => o.decision.action === "reap").length,
      keep: report.outcomes.filter((o) => o.decision.action === "keep").length,
      removed: status("removed"),
      failed: status("failed"),
      notAttempted: status("not-attempted"),
    },
    regionErrors: report.regionErrors,
    exitCode: report.exitCode,
  };
}
