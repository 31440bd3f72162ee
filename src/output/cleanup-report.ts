import { describeAge } from "../duration.js";
import { formatTotal } from "../fleet/cost.js";
import type { CleanupEvent, CleanupOutcome } from "../lifecycle/cleanup.js";
import { VALIDATION_PENDING_MS, changedImages, type CleanupPlan, type GoReason, type KeepReason, type PlannedImage, type UnresolvedLaunchTemplate } from "../lifecycle/cleanup-plan.js";
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

/** An error as one line: AWS's message, or what was thrown. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Up to three ids, then how many more. */
function some(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(", ") : `${ids.slice(0, 3).join(", ")} and ${ids.length - 3} more`;
}

/** Why an image goes, in words: its rank, and what stays of its target. */
export function describeGoReason(reason: GoReason): string {
  if (reason.kind === "unproven") {
    return reason.validated === "false"
      ? "failed on a fresh instance (cws:validated=false); nothing else keeps it"
      : `never judged (cws:validated=pending for over ${VALIDATION_PENDING_MS / 3_600_000} hours: its build was stopped); nothing else keeps it`;
  }
  const stay = reason.keepLatest === 1 ? "only the newest stays" : `the newest ${reason.keepLatest} stay`;
  return `${ordinal(reason.rank)} newest (${stay}); nothing else keeps it`;
}

/** Why an image stays, in words. */
export function describeReason(reason: KeepReason): string {
  switch (reason.kind) {
    case "newest":
      // The tie is with the Nth, the last of the newest N that stay.
      if (reason.tie) {
        return reason.keepLatest === 1
          ? "created at the same moment as the newest, which stays"
          : `created at the same moment as the ${ordinal(reason.keepLatest)} newest, the last of the newest ${reason.keepLatest} that stay`;
      }
      return reason.rank === 1 ? "newest" : `${ordinal(reason.rank)} newest`;
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
      return `source of an image still pending: ${some(reason.copies)}`;
    case "not-available":
      return reason.state === "pending" ? "pending: a build or copy is making it" : `${reason.state} (cws ami reap removes what a stopped build left)`;
    case "younger":
      return `younger than ${describeAge(reason.olderThanMs)} (--older-than)`;
    case "validation-pending":
      return `tagged cws:validated=pending ${describeAge(reason.ageMs)} ago: a build may still be verifying it (kept for ${describeAge(VALIDATION_PENDING_MS)})`;
    case "no-template-tag":
      return "no cws:template tag: its template is not known";
    case "already-deprecated":
      return `deprecated from ${normalizeDate(reason.since)}`;
    case "not-confirmed":
      return "the registry changed after the plan was shown; run cleanup again to judge it";
  }
}

/** The WHY cell: every reason an image stays, or why it goes. */
function why(image: PlannedImage): string {
  return image.goes ? describeGoReason(image.goes) : image.reasons.map(describeReason).join("; ");
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
  const history = plan.goneFromHistory.length > 0 ? `the registry's history loses ${plural(plan.goneFromHistory.length, "record")} of AMIs that no longer exist` : "";
  if (changed.length === 0 && plan.orphans.length === 0) {
    return `Nothing to ${plan.scope.deprecate ? "deprecate" : "delete"}: every image stays${history ? `; ${history}` : ""}.`;
  }
  if (plan.scope.deprecate) return `Deprecate ${plural(changed.length, "image")}; nothing is deleted (deprecated images keep their snapshots, and their cost, until deleted).`;
  const snapshots = changed.reduce((sum, image) => sum + image.snapshotIds.length, 0);
  const parts = [
    ...(changed.length > 0 ? [`${plural(changed.length, "image")} (${plural(snapshots, "snapshot")})`] : []),
    ...(plan.orphans.length > 0 ? [plural(plan.orphans.length, "orphaned snapshot")] : []),
  ];
  return `Delete ${parts.join(" and ")}: saves at most ${formatTotal(plan.savedPerMonth, "/month")} of snapshot storage (${prices})${history ? `; ${history}` : ""}`;
}

/** A launch template version whose image cws could not read. */
export function unresolvedWarning(u: UnresolvedLaunchTemplate): string {
  return `⚠️  launch template ${u.launchTemplateName} (${u.launchTemplateId}) version ${u.versionNumber} in ${u.region} takes its image from SSM parameter ${u.parameter}, which cws could not read (${u.problem}): the image it launches is not known, so it protects none (allow ssm:GetParameter on it, or check the image by hand)`;
}

/** "1 AMI that no longer exists", "2 AMIs that no longer exist". */
const goneAmis = (count: number) => `${plural(count, "AMI")} that no longer exist${count === 1 ? "s" : ""}`;

/** A registry history record, as the result names it. */
const recordName = (d: DroppedRecord) => `${d.templateId}.${d.region}.${d.architecture} ${d.amiId}`;

/**
 * The plan as text: the heading, the table of images, the orphaned snapshots,
 * the history records of AMIs that are gone, the warnings, and last the
 * summary line, which the question follows: everything to read before
 * saying yes comes before it.
 */
export function formatCleanupPlan(plan: CleanupPlan, options: { prices: string; regions: readonly string[]; dryRun: boolean; warnings?: readonly string[] }): string {
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
      why(image),
    ]);
    lines.push(...columns(["TEMPLATE", "REGION", "ARCH", "AMI", "CREATED", "SIZE", "ACTION", "WHY"], rows));
  }
  if (plan.orphans.length > 0) {
    lines.push("", "Orphaned snapshots (tagged cws:managed-by=cws; no image names them): delete");
    lines.push(...columns(["REGION", "SNAPSHOT", "SIZE", "STARTED"], plan.orphans.map((o) => [o.region, o.snapshotId, `${o.sizeGb} GiB`, normalizeDate(o.startTime)])));
  }
  if (plan.goneFromHistory.length > 0) {
    lines.push("", "Registry history records of AMIs that no longer exist in AWS (no rollback can use them): removed from the history");
    lines.push(...plan.goneFromHistory.map((record) => `  ${recordName(record)}`));
  }
  const warnings = [...(options.warnings ?? []), ...plan.unresolved.map(unresolvedWarning)];
  if (warnings.length > 0) lines.push("", ...warnings);
  lines.push("", planSummary(plan, options.prices), ...plan.savedPerMonth.unknown.map((sentence) => `  ${sentence}`));
  return `${lines.join("\n")}\n`;
}

/** One line of progress for a thing done. */
export function formatCleanupEvent(event: CleanupEvent): string {
  switch (event.kind) {
    case "deleted": {
      const deleted = event.snapshotIds.length ? `deleted ${event.snapshotIds.join(", ")}` : event.snapshotsLeft.length ? "" : "no snapshots";
      const left = event.snapshotsLeft.map((l) => `⚠️  left ${l.snapshotId} (${errorText(l.error)})`);
      return `🗑️  ${event.region}: deregistered ${event.imageId}, ${[deleted, ...left].filter(Boolean).join("; ")}`;
    }
    case "deprecated":
      return `📉 ${event.region}: ${event.imageId} deprecated from ${normalizeDate(event.deprecateAt)}`;
    case "snapshot-deleted":
      return `🗑️  ${event.region}: deleted orphaned snapshot ${event.snapshotId}`;
    case "snapshot-in-use":
      return `📌 ${event.region}: ${event.snapshotId} is in use by an image after all; kept`;
    case "failed":
      return `❌ ${event.region}: ${event.id}: ${errorText(event.error)}`;
  }
}

/** The registry could not be written after AWS was changed: the error, and what to run once it is fixed. */
export interface RegistryWriteFailure {
  message: string;
  suggestion: string | undefined;
  /** The deleted AMIs (and gone ones) that its history still names. */
  stillListed: readonly DroppedRecord[];
}

export interface CleanupResult {
  outcome: CleanupOutcome;
  /** Registry history records removed: of images deleted now, and of AMIs found gone. */
  dropped: readonly DroppedRecord[];
  /** Set when the registry could not be written (AWS was changed all the same). */
  registryFailure?: RegistryWriteFailure | undefined;
  /** Planned images that the registry, read again after the prompt, now protects. */
  nowKept: readonly PlannedImage[];
}

type Deleted = Extract<CleanupEvent, { kind: "deleted" }>;

function counts(outcome: CleanupOutcome) {
  const of = <K extends CleanupEvent["kind"]>(kind: K) => outcome.events.filter((e): e is Extract<CleanupEvent, { kind: K }> => e.kind === kind);
  return { deleted: of("deleted"), deprecated: of("deprecated"), snapshots: of("snapshot-deleted"), inUse: of("snapshot-in-use"), failed: of("failed") };
}

/** Every snapshot left behind by an image that was deregistered, with the image and why. */
function snapshotsLeft(deleted: readonly Deleted[]) {
  return deleted.flatMap((e) => e.snapshotsLeft.map((l) => ({ region: e.region, imageId: e.imageId, snapshotId: l.snapshotId, error: errorText(l.error) })));
}

/** "deregistered 2 images and deleted their 3 snapshots", "… deleted 1 of its 2 snapshots": exactly what happened. */
function deletedImagesText(deleted: readonly Deleted[]): string {
  const removed = deleted.reduce((sum, e) => sum + e.snapshotIds.length, 0);
  const left = deleted.reduce((sum, e) => sum + e.snapshotsLeft.length, 0);
  const whose = deleted.length === 1 ? "its" : "their";
  const snapshots = left === 0 ? `${whose} ${plural(removed, "snapshot")}` : `${removed} of ${whose} ${plural(removed + left, "snapshot")}`;
  return `deregistered ${plural(deleted.length, "image")} and deleted ${snapshots}`;
}

/** The last lines: what was done, and what failed, was left or was interrupted. */
export function formatCleanupResult(result: CleanupResult): string {
  const c = counts(result.outcome);
  const done = [
    ...(c.deleted.length ? [deletedImagesText(c.deleted)] : []),
    ...(c.snapshots.length ? [`deleted ${plural(c.snapshots.length, "orphaned snapshot")}`] : []),
    ...(c.deprecated.length ? [`deprecated ${plural(c.deprecated.length, "image")}`] : []),
  ];
  const lines = [`Cleanup ${result.outcome.interrupted ? "interrupted" : "done"}: ${done.length ? done.join(", ") : "nothing changed in AWS"}.`];
  const left = snapshotsLeft(c.deleted);
  if (left.length) {
    lines.push(
      `⚠️  ${plural(left.length, "snapshot")} left behind by deregistered images (each costs until deleted; the next cleanup deletes it as orphaned):`,
      ...left.map((l) => `  ${l.region} ${l.snapshotId} of ${l.imageId}: ${l.error}`),
    );
  }
  if (result.dropped.length) lines.push(`Registry: removed ${goneAmis(result.dropped.length)} from history (${some(result.dropped.map(recordName))}).`);
  if (result.registryFailure) {
    const failure = result.registryFailure;
    lines.push(
      `❌ the registry could not be written: ${failure.message}`,
      ...(failure.stillListed.length ? [`   its history still names ${goneAmis(failure.stillListed.length)} (${some(failure.stillListed.map(recordName))})`] : []),
      `   → ${failure.suggestion ? `${failure.suggestion}; then ` : ""}run cws ami cleanup again: it removes from the history every AMI that no longer exists`,
    );
  }
  for (const image of result.nowKept) lines.push(`📌 kept ${image.imageId} (${image.region}): ${image.reasons.map(describeReason).join("; ")}, since the plan was shown`);
  if (c.failed.length) lines.push(`${plural(c.failed.length, "failure")}:`, ...c.failed.map((e) => `  ${formatCleanupEvent(e)}`));
  if (result.outcome.interrupted) lines.push("Interrupted: what was under way was finished; run cleanup again for anything left.");
  return `${lines.join("\n")}\n`;
}

/** An image's reasons as --json gives them: what keeps it, or why it goes; each with its kind and its text. */
function reasonsJson(image: PlannedImage): Record<string, unknown>[] {
  if (image.goes) return [{ ...image.goes, text: describeGoReason(image.goes) }];
  return image.reasons.map((reason) => ({ ...reason, text: describeReason(reason) }));
}

/** --json: the plan (and, when it ran, the result) as one document. */
export function cleanupJson(plan: CleanupPlan, options: { prices: string; regions: readonly string[]; dryRun: boolean; warnings?: readonly string[]; result?: CleanupResult; exitCode: number }): Record<string, unknown> {
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
    warnings: options.warnings ?? [],
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
      reasons: reasonsJson(image),
    })),
    orphanedSnapshots: plan.orphans,
    historyGone: plan.goneFromHistory,
    unresolvedLaunchTemplates: plan.unresolved,
    savedPerMonth: { ...plan.savedPerMonth, prices: options.prices },
    result:
      result && c
        ? {
            deleted: c.deleted.map((e) => ({ region: e.region, imageId: e.imageId, snapshotIds: e.snapshotIds, snapshotsLeft: e.snapshotsLeft.map((l) => ({ snapshotId: l.snapshotId, error: errorText(l.error) })) })),
            snapshotsLeft: snapshotsLeft(c.deleted),
            deprecated: c.deprecated,
            snapshotsDeleted: c.snapshots,
            snapshotsInUse: c.inUse,
            failed: c.failed.map((e) => ({ region: e.region, id: e.id, error: errorText(e.error) })),
            registryDropped: result.dropped,
            registryError: result.registryFailure ?? null,
            keptSincePlan: result.nowKept.map((image) => ({ region: image.region, imageId: image.imageId })),
            interrupted: result.outcome.interrupted,
          }
        : null,
    exitCode: options.exitCode,
  };
}
