import { CwsError } from "../errors.js";
import type { Architecture } from "../template/schema.js";
import { HISTORY_LIMIT, type AmiEntry, type AmiRecord, type Registry, type RegistryTemplate } from "./schema.js";

/** Pure operations on a registry object; store.ts reads and writes the file. */

export function entryAt(registry: Registry, templateId: string, region: string, architecture: Architecture): AmiEntry | undefined {
  return registry.templates[templateId]?.amis[region]?.[architecture];
}

function withoutHistory(entry: AmiEntry): AmiRecord {
  const { history: _history, pinned: _pinned, ...record } = entry as AmiEntry & { pinned?: unknown };
  return record as AmiRecord;
}

function byNewest(a: AmiRecord, b: AmiRecord): number {
  return b.created.localeCompare(a.created) || b.ami_id.localeCompare(a.ami_id);
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
  const templateEntry = registry.templates[templateId]!;
  templateEntry.amis[region]![architecture] = {
    ...target,
    pinned: true,
    rolled_back_at: now,
    history: [previous, ...rest].slice(0, HISTORY_LIMIT),
  } as AmiEntry;
  return { from: entry.ami_id, to: target };
}

export function isPinned(entry: AmiEntry | undefined): boolean {
  return (entry as { pinned?: unknown } | undefined)?.pinned === true;
}

/**
 * Merge registries deterministically (e.g. the artifacts of parallel CI jobs):
 * per template, region and architecture, every AMI any input knows (current or
 * history) is pooled; the newest `created` becomes current and the rest go to
 * history, newest first. The result does not depend on the order of the inputs
 * (template-level fields come from the input updated last).
 */
export function mergeRegistries(inputs: readonly Registry[]): Registry {
  // The newest input's time, not "now": the same inputs give byte-identical output.
  const lastUpdated = inputs.map((i) => i.last_updated).sort().at(-1) ?? "1970-01-01T00:00:00Z";
  const result: Registry = { version: inputs[0]?.version ?? "1.0", last_updated: lastUpdated, templates: {} };
  // Template-level fields (version, description, ports, costs) come from the input updated last.
  const ordered = [...inputs].sort((a, b) => a.last_updated.localeCompare(b.last_updated));
  for (const input of ordered) {
    for (const [templateId, template] of Object.entries(input.templates)) {
      const target = (result.templates[templateId] ??= { ...template, amis: {} } as RegistryTemplate);
      const { amis: _amis, ...fields } = template;
      Object.assign(target, fields);
    }
  }
  for (const templateId of Object.keys(result.templates)) {
    const pools = new Map<string, Map<string, AmiRecord>>();
    for (const input of inputs) {
      for (const [region, archs] of Object.entries(input.templates[templateId]?.amis ?? {})) {
        for (const [arch, entry] of Object.entries(archs ?? {})) {
          if (!entry) continue;
          const key = `${region}\u0000${arch}`;
          const pool = pools.get(key) ?? new Map<string, AmiRecord>();
          pools.set(key, pool);
          for (const record of [withoutHistory(entry), ...(entry.history ?? [])]) {
            const known = pool.get(record.ami_id);
            // The same AMI seen twice: keep every field either copy has, stable across input order.
            pool.set(record.ami_id, known ? mergeRecord(known, record) : record);
          }
        }
      }
    }
    const amis: RegistryTemplate["amis"] = {};
    for (const [key, pool] of pools) {
      const [region, arch] = key.split("\u0000") as [string, Architecture];
      const [current, ...history] = [...pool.values()].sort(byNewest);
      amis[region] ??= {};
      amis[region]![arch] = { ...current!, ...(history.length ? { history: history.slice(0, HISTORY_LIMIT) } : {}) };
    }
    result.templates[templateId]!.amis = amis;
  }
  return result;
}

function mergeRecord(a: AmiRecord, b: AmiRecord): AmiRecord {
  const out: Record<string, unknown> = {};
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const va = (a as Record<string, unknown>)[key];
    const vb = (b as Record<string, unknown>)[key];
    // Deterministic whatever the order: prefer a defined value, then the larger one as text.
    out[key] = va === undefined ? vb : vb === undefined ? va : JSON.stringify(va) >= JSON.stringify(vb) ? va : vb;
  }
  return out as AmiRecord;
}

export const SSM_PARAMETER_PREFIX = "/cloudworkstation/amis";

/** Where running CloudWorkstation systems look up the current AMI without the git file. */
export function ssmParameterName(templateId: string, region: string, architecture: Architecture): string {
  return `${SSM_PARAMETER_PREFIX}/${templateId}/${region}/${architecture}`;
}
