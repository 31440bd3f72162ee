import { CwsError } from "../errors.js";
import { ownValue, setOwn } from "../own-keys.js";
import { entryAt, templateAt } from "./lookup.js";
import type { Architecture } from "../template/schema.js";
import { HISTORY_LIMIT, type AmiEntry, type AmiRecord, type Registry } from "./schema.js";
import { compareTimestamps } from "./timestamps.js";

export { entriesFor, entryAt, setEntry, templateAt } from "./lookup.js";

/** Pure operations on a registry object; store.ts reads and writes the file, merge.ts merges files. */

function withoutHistory(entry: AmiEntry): AmiRecord {
  const { history: _history, pinned: _pinned, ...record } = entry as AmiEntry & { pinned?: unknown };
  return record as AmiRecord;
}

/** Newest `created` first, then the greater AMI id: a total order, the same on every machine (no locale). */
export function byNewest(a: AmiRecord, b: AmiRecord): number {
  return compareTimestamps(b.created, a.created) || (a.ami_id < b.ami_id ? 1 : a.ami_id > b.ami_id ? -1 : 0);
}

/**
 * An entry's history as every writer keeps it: each AMI once (the first
 * copy), newest `created` first, at most HISTORY_LIMIT. One order that
 * follows from the AMIs alone, so that merging a registry with itself gives it back.
 */
export function boundedHistory(records: readonly AmiRecord[]): AmiRecord[] {
  const seen = new Set<string>();
  const unique = records.filter((record) => !seen.has(record.ami_id) && seen.add(record.ami_id));
  return unique.sort(byNewest).slice(0, HISTORY_LIMIT);
}

/**
 * The AMI an entry stands for: its current AMI when validated, else the
 * newest validated one in its history; with `allowUnvalidated`, the current
 * AMI. Undefined when none qualifies. What `resolveAmi` returns and what
 * `update-templates` writes.
 */
export function usableRecord(entry: AmiEntry, options: { allowUnvalidated?: boolean | undefined } = {}): AmiRecord | undefined {
  const { history = [], ...current } = entry;
  const candidates: AmiRecord[] = [current as AmiRecord, ...history];
  return options.allowUnvalidated ? candidates[0] : candidates.find((candidate) => candidate.validated);
}

export interface RollbackResult {
  from: string;
  to: AmiRecord;
}

/**
 * Make an earlier AMI current again: the one named by `to` (an AMI id or a
 * version) or, by default, the most recent in history. The current one moves
 * into history, so a rollback can itself be rolled back. The entry is pinned,
 * so `update-registry` does not undo the rollback; the next build unpins it.
 */
export function rollbackEntry(registry: Registry, templateId: string, region: string, architecture: Architecture, to: string | undefined, now: string): RollbackResult {
  const where = `${templateId}.${region}.${architecture}`;
  const entry = entryAt(registry, templateId, region, architecture);
  if (!entry) {
    throw new CwsError("NO_REGISTRY_ENTRY", `the registry has no AMI for ${where}`, { value: where, suggestion: "cws ami list shows what it has" });
  }
  const history = entry.history ?? [];
  let target: AmiRecord | undefined;
  if (to === undefined) {
    target = history[0];
    if (!target) throw new CwsError("NO_HISTORY", `${where} has no earlier AMI to roll back to`, { value: where, suggestion: `cws ami list --template ${templateId} shows what the registry has` });
  } else if (to.startsWith("ami-")) {
    if (to === entry.ami_id) throw new CwsError("ALREADY_CURRENT", `${to} is already the current AMI of ${where}`, { value: to, suggestion: "nothing to do; --to names an earlier AMI or version" });
    target = history.find((h) => h.ami_id === to);
  } else {
    target = history.filter((h) => h.version === to || h.version === `v${to}`).sort(byNewest)[0];
  }
  if (!target) {
    const known = history.map((h) => `${h.ami_id}${h.version ? ` (${h.version})` : ""}`).join(", ") || "none";
    throw new CwsError("ROLLBACK_TARGET_UNKNOWN", `${to} is not in the history of ${where}`, { value: String(to), suggestion: `earlier AMIs: ${known}` });
  }
  const previous = withoutHistory(entry);
  const rest = history.filter((h) => h.ami_id !== target!.ami_id);
  setOwn(ownValue(templateAt(registry, templateId)!.amis, region)!, architecture, {
    ...target,
    pinned: true,
    rolled_back_at: now,
    history: boundedHistory([previous, ...rest]),
  } as AmiEntry);
  return { from: entry.ami_id, to: target };
}

/**
 * Record that `amiId` passed its template's tests (on a fresh instance, at
 * `at`) in the entry for a template, region and architecture: the entry's
 * current AMI or the one in its history. Nothing else changes: which AMI is
 * current, a rollback's pin. Says where it was found; undefined when the entry
 * does not name it.
 */
export function markValidated(registry: Registry, templateId: string, region: string, architecture: Architecture, amiId: string, at: string): "current" | "history" | undefined {
  const entry = entryAt(registry, templateId, region, architecture);
  if (!entry) return undefined;
  if (entry.ami_id === amiId) {
    entry.validated = true;
    entry.validated_at = at;
    return "current";
  }
  const earlier = entry.history?.find((record) => record.ami_id === amiId);
  if (!earlier) return undefined;
  earlier.validated = true;
  earlier.validated_at = at;
  return "history";
}

/**
 * update-registry: a validation the image's tags hold (`cws:validated-at`, see
 * taggedValidatedAt) that the entry's record of that AMI, current or in its
 * history, lacks: a `cws ami validate` whose registry write failed, or a
 * registry restored from git. Taken only when later than what the record has;
 * as markValidated, nothing else changes. Says where it was marked.
 */
export function takeTaggedValidation(registry: Registry, templateId: string, region: string, architecture: Architecture, amiId: string, at: string): "current" | "history" | undefined {
  const entry = entryAt(registry, templateId, region, architecture);
  const record = entry?.ami_id === amiId ? entry : entry?.history?.find((earlier) => earlier.ami_id === amiId);
  if (!record || (record.validated && record.validated_at !== undefined && record.validated_at >= at)) return undefined;
  return markValidated(registry, templateId, region, architecture, amiId, at);
}

export function isPinned(entry: AmiEntry | undefined): boolean {
  return (entry as { pinned?: unknown } | undefined)?.pinned === true;
}

export const SSM_PARAMETER_PREFIX = "/cloudworkstation/amis";

/** Where running CloudWorkstation systems look up the current AMI without the git file. */
export function ssmParameterName(templateId: string, region: string, architecture: Architecture): string {
  return `${SSM_PARAMETER_PREFIX}/${templateId}/${region}/${architecture}`;
}

/** An AMI a registry entry's history no longer lists. */
export interface DroppedRecord {
  templateId: string;
  region: string;
  architecture: string;
  amiId: string;
}

/**
 * Removes the AMIs `gone` (deleted from AWS, by region) from every history
 * that lists them, so the registry never offers a rollback to an image that
 * no longer exists. The current AMI of an entry is never touched (cleanup
 * never deletes one). Returns what was dropped.
 */
export function dropFromHistory(registry: Registry, gone: ReadonlyMap<string, ReadonlySet<string>>): DroppedRecord[] {
  const dropped: DroppedRecord[] = [];
  for (const [templateId, template] of Object.entries(registry.templates)) {
    for (const [region, byArchitecture] of Object.entries(template?.amis ?? {})) {
      const ids = gone.get(region);
      if (!ids) continue;
      for (const [architecture, entry] of Object.entries(byArchitecture ?? {})) {
        const history = entry?.history;
        if (!entry || !history?.some((record) => ids.has(record.ami_id))) continue;
        for (const record of history) if (ids.has(record.ami_id)) dropped.push({ templateId, region, architecture, amiId: record.ami_id });
        const kept = history.filter((record) => !ids.has(record.ami_id));
        if (kept.length > 0) entry.history = kept;
        else delete entry.history;
      }
    }
  }
  return dropped;
}
