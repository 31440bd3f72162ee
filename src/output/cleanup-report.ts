import { describeAge } from "../duration.js";
import { formatTotal } from "../fleet/cost.js";
import type { CleanupEvent, CleanupOutcome } from "../lifecycle/cleanup.js";
import { changedImages, type CleanupPlan, type KeepReason, type PlannedImage, type UnresolvedLaunchTemplate } from "../lifecycle/cleanup-plan.js";
import type { DroppedRecord } from "../registry/operations.js";
import { normalizeDate } from "../registry/aws-images.js";

/**
 * What `cws ami cleanup` shows: the plan as a table (every image, keep or
 * delete, and why), the orphaned snapshots, what it saves; a line per thing
 * done; the result; and all of it as one JSON document for --json.
 */

const ORDINALS = ["th", "st", "nd", "rd"];
/** 1st, 2nd, 3rd, 4th, 11th, 21st. */
export function ordinal(n: number): string {
  const tens = n % 100;
  return `${n}${tens >= 11 && tens <= 13 ? "th" : (ORDINALS[n % 10] ?? "th")}`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** Up to three ids, then how many more. */
function some(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(", ") : `${ids.slice(0, 3).join(", ")} and ${ids.length - 3} more`;
}

/** Why an image stays, in words. */
export function describeReason(reason: KeepReason): string {
  switch (reason.kind) {
    case "newest":
      return reason.tie ? `created at the same moment as the newest kept` : reason.rank === 1 ? "newest" : `${ordinal(reason.rank)} newest`;
    case "registry-current":
      return reason.pinned ? "current in the registry, pinned by a rollback" : "current in the registry";
    case "registry-history":
      return `${ordinal(reason.position)} in the registry's history (rollback)`;
    case "instances":
      return `used by ${reason.instances.length === 1 ? "instance" : `${reason.instances.length} instances:`} ${some(reason.instances.map((i) => `${i.instanceId} (${i.state})`))}`;
    case "launch-templates":
      return `named by launch template ${some(reason.uses.map((u) => `${u.launchTemplateName} (${u.launchTemplateId}) version ${u.versionNumber}${u.parameter ? ` through SSM ${u.parameter}` : ""}`))}`;
    case "base-of":
      return `base image of ${some(reason.images)}`;
    case "copy-source":
      return `source of a copy still pending: ${some(reason.copies)}`;
    case "not-available":
      return reason.state === "pending" ? "pending: a build or copy is making it" : `${reason.state} (cws ami reap removes what a stopped build left)`;
    case "younger":
      return `younger than ${describeAge(reason.olderThanMs)} (--older-than)`;
    case "no-template-tag":
      return "no cws:template tag: its template is not known";
    case "already-deprecated":
      return `deprecated from ${normalizeDate(reason.since)}`;
    case "not-confirmed":
      return "the registry changed after the plan was shown; run cleanup again to judge it";
  }
}

/** The WHY cell: every reason an image stays, or why it goes. */
function why(image: PlannedImage, keepLatest: number): string {
  if (image.action === "keep") return image.reasons.map(describeReason).join("; ");
  return `${image.rank === undefined ? "" : `${ordinal(image.rank)} newest, `}not among the newest ${keepLatest}; nothing else keeps it`;
}

const ACTION_WORDS = { keep: "keep", delete: "delete", deprecate: "deprecate" } as const;

/** Aligned columns, two spaces apart, the last one not padded. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

/** What the plan will do, in one line. */
export function planSummary(plan: CleanupPlan, prices: string): string {
  const changed = changedImages(plan);
  if (changed.length === 0 && plan.orphans.length === 0) return `Nothing to ${plan.scope.deprecate ? "deprecate" : "delete"}: every image stays.`;
  if (plan.scope.deprecate) return `Deprecate ${plural(changed.length, "image")}; nothing is deleted (deprecated images keep their snapshots, and their cost, until deleted).`;
  const snapshots = changed.reduce((sum, image) => sum + image.snapshotIds.length, 0);
  const parts = [
    ...(changed.length > 0 ? [`${plural(changed.length, "image")} (${plural(snapshots, "snapshot")})`] : []),
    ...(plan.orphans.length > 0 ? [plural(plan.orphans.length, "orphaned snapshot")] : []),
  ];
  return `Delete ${parts.join(" and ")}: saves at most ${formatTotal(plan.savedPerMonth, "/month")} of snapshot storage (${prices})`;
}

/** A launch template version whose image cws could not read. */
export function unresolvedWarning(u: UnresolvedLaunchTemplate): string {
  return `⚠️  launch template ${u.launchTemplateName} (${u.launchTemplateId}) version ${u.versionNumber} in ${u.region} takes its image from SSM parameter ${u.parameter}, which cws could not read (${u.problem}): the image it launches is not known, so it protects none (allow ssm:GetParameter on it, or check the image by hand)`;
}

/** The plan as text: the heading, the table of images, the orphaned snapshots, warnings, and the summary line. */
export function formatCleanupPlan(plan: CleanupPlan, options: { prices: string; regions: readonly string[]; dryRun: boolean }): string {
  const { scope } = plan;
  const narrowed = [scope.templateId ? `template ${scope.templateId}` : "", scope.olderThanMs !== undefined ? `older than ${describeAge(scope.olderThanMs)}` : ""].filter(Boolean);
  const heading =
    `Cleanup plan${options.dryRun ? " (dry run: nothing is changed)" : ""}: keep the newest ${scope.keepLatest} of each template, region and architecture` +
    `${narrowed.length ? `; only ${narrowed.join(", ")}` : ""}; regions ${(scope.regions ?? options.regions).join(", ")}`;
  const lines = [heading, ""];
  if (plan.images.length === 0) lines.push("No cws images (tagged cws:managed-by=cws) there.");
  else {
    const rows = plan.images.map((image) => [
      image.templateId ?? "-",
      image.region,
      image.architecture,
      image.imageId,
      normalizeDate(image.created),
      `${image.sizeGb} GiB`,
      ACTION_WORDS[image.action],
      why(image, scope.keepLatest),
    ]);
    lines.push(...columns(["TEMPLATE", "REGION", "ARCH", "AMI", "CREATED", "SIZE", "ACTION", "WHY"], rows));
  }
  if (plan.orphans.length > 0) {
    lines.push("", "Orphaned snapshots (tagged cws:managed-by=cws; no image names them): delete");
    lines.push(...columns(["REGION", "SNAPSHOT", "SIZE", "STARTED"], plan.orphans.map((o) => [o.region, o.snapshotId, `${o.sizeGb} GiB`, normalizeDate(o.startTime)])));
  }
  lines.push("", planSummary(plan, options.prices), ...plan.savedPerMonth.unknown.map((sentence) => `  ${sentence}`));
  lines.push(...plan.unresolved.map(unresolvedWarning));
  return `${lines.join("\n")}\n`;
}

/** One line of progress for a thing done. */
export function formatCleanupEvent(event: CleanupEvent): string {
  switch (event.kind) {
    case "deleted":
      return `🗑️  ${event.region}: deregistered ${event.imageId}, deleted ${event.snapshotIds.length ? event.snapshotIds.join(", ") : "no snapshots"}`;
    case "deprecated":
      return `📉 ${event.region}: ${event.imageId} deprecated from ${normalizeDate(event.deprecateAt)}`;
    case "snapshot-deleted":
      return `🗑️  ${event.region}: deleted orphaned snapshot ${event.snapshotId}`;
    case "snapshot-in-use":
      return `📌 ${event.region}: ${event.snapshotId} is in use by an image after all; kept`;
    case "failed":
      return `❌ ${event.region}: ${event.id}: ${event.error instanceof Error ? event.error.message : String(event.error)}`;
  }
}

export interface CleanupResult {
  outcome: CleanupOutcome;
  /** Registry history records removed for deleted images. */
  dropped: readonly DroppedRecord[];
  /** Planned images that the registry, read again after the prompt, now protects. */
  nowKept: readonly PlannedImage[];
}

function counts(outcome: CleanupOutcome) {
  const of = (kind: CleanupEvent["kind"]) => outcome.events.filter((e) => e.kind === kind);
  return { deleted: of("deleted"), deprecated: of("deprecated"), snapshots: of("snapshot-deleted"), inUse: of("snapshot-in-use"), failed: of("failed") };
}

/** The last lines: what was done, and what failed or was interrupted. */
export function formatCleanupResult(result: CleanupResult): string {
  const c = counts(result.outcome);
  const snapshotsOfImages = c.deleted.reduce((sum, e) => sum + (e.kind === "deleted" ? e.snapshotIds.length : 0), 0);
  const done = [
    ...(c.deleted.length ? [`deleted ${plural(c.deleted.length, "image")} and their ${plural(snapshotsOfImages, "snapshot")}`] : []),
    ...(c.snapshots.length ? [`deleted ${plural(c.snapshots.length, "orphaned snapshot")}`] : []),
    ...(c.deprecated.length ? [`deprecated ${plural(c.deprecated.length, "image")}`] : []),
  ];
  const lines = [`Cleanup ${result.outcome.interrupted ? "interrupted" : "done"}: ${done.length ? done.join(", ") : "nothing changed"}.`];
  if (result.dropped.length) lines.push(`Registry: removed ${plural(result.dropped.length, "deleted AMI")} from history (${some(result.dropped.map((d) => `${d.templateId}.${d.region}.${d.architecture} ${d.amiId}`))}).`);
  for (const image of result.nowKept) lines.push(`📌 kept ${image.imageId} (${image.region}): ${image.reasons.map(describeReason).join("; ")}, since the plan was shown`);
  if (c.failed.length) lines.push(`${plural(c.failed.length, "failure")}:`, ...c.failed.map((e) => `  ${formatCleanupEvent(e)}`));
  if (result.outcome.interrupted) lines.push("Interrupted: what was under way was finished; run cleanup again for the rest.");
  return `${lines.join("\n")}\n`;
}

/** --json: the plan (and, when it ran, the result) as one document. */
export function cleanupJson(plan: CleanupPlan, options: { prices: string; regions: readonly string[]; dryRun: boolean; result?: CleanupResult; exitCode: number }): Record<string, unknown> {
  const { scope } = plan;
  const result = options.result;
  const c = result ? counts(result.outcome) : undefined;
  return {
    dryRun: options.dryRun,
    keepLatest: scope.keepLatest,
    template: scope.templateId ?? null,
    olderThanSeconds: scope.olderThanMs === undefined ? null : scope.olderThanMs / 1000,
    deprecate: scope.deprecate,
    regions: scope.regions ?? options.regions,
    images: plan.images.map((image) => ({
      region: image.region,
      imageId: image.imageId,
      name: image.name,
      template: image.templateId ?? null,
      architecture: image.architecture,
      created: normalizeDate(image.created),
      state: image.state,
      rank: image.rank ?? null,
      sizeGb: image.sizeGb,
      snapshotIds: image.snapshotIds,
      action: image.action,
      reasons: image.reasons.map((reason) => ({ ...reason, text: describeReason(reason) })),
    })),
    orphanedSnapshots: plan.orphans,
    unresolvedLaunchTemplates: plan.unresolved,
    savedPerMonth: { ...plan.savedPerMonth, prices: options.prices },
    result:
      result && c
        ? {
            deleted: c.deleted,
            deprecated: c.deprecated,
            snapshotsDeleted: c.snapshots,
            snapshotsInUse: c.inUse,
            failed: c.failed.map((e) => (e.kind === "failed" ? { region: e.region, id: e.id, error: e.error instanceof Error ? e.error.message : String(e.error) } : e)),
            registryDropped: result.dropped,
            keptSincePlan: result.nowKept.map((image) => ({ region: image.region, imageId: image.imageId })),
            interrupted: result.outcome.interrupted,
          }
        : null,
    exitCode: options.exitCode,
  };
}
