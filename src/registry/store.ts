import { CwsError } from "../errors.js";
import type { Architecture, Template } from "../template/schema.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import { withRegistryLock, type RegistryLockOptions } from "./lock.js";
import { readRegistryText } from "./registry-file.js";
import { entryFields, REGISTRY_FIELDS, type FieldKind, type FieldSpec, type RegistryFields } from "./fields.js";
import { emptyRegistry, HISTORY_LIMIT, registrySchema, type AmiEntry, type AmiRecord, type Registry } from "./schema.js";

/**
 * The registry file: read with precise errors, written deterministically
 * (stable key order, 2-space indent, trailing newline, so a one-AMI change is
 * a few-line diff), atomically (temp file + rename, so a reader or a crash
 * sees the old file or the new one, never half) and under a lock file (so
 * concurrent cws processes do not lose each other's updates).
 */

function ordered(value: Record<string, unknown>, order: readonly string[], child: (key: string, v: unknown) => unknown): Record<string, unknown> {
  const rank = (key: string) => {
    const index = order.indexOf(key);
    return index < 0 ? Infinity : index;
  };
  const keys = Object.keys(value).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = child(key, value[key]);
  return out;
}

type Write = (value: unknown) => unknown;
const asRecord = (v: unknown) => v as Record<string, unknown>;
const sortedMap = (v: unknown, child: (key: string, v: unknown) => unknown) => ordered(asRecord(v), [], child);
const plain: Write = (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? sortedMap(v, (_key, child) => plain(child)) : v);

/** A level's fields in their listed order (unknown ones after, by name), each written as its kind says. */
function levelWriter(fields: readonly FieldSpec[], nested: Partial<Record<FieldKind, Write>>): Write {
  const order = fields.map((field) => field.name);
  const writers = new Map(fields.map((field) => [field.name, nested[field.kind] ?? plain]));
  return (value) => ordered(asRecord(value), order, (key, child) => (writers.get(key) ?? plain)(child));
}

/**
 * How a registry described by `fields` is written: each level's fields in
 * their listed order (the design doc's, extensions after), maps (template ids,
 * regions, architectures) sorted.
 */
export function registrySerializerOf(fields: RegistryFields): (registry: Registry) => string {
  // History items are written in an entry's order: each was an entry once, and a rollback keeps its rolled_back_at.
  const entry: Write = levelWriter(entryFields(fields), { history: (v) => (Array.isArray(v) ? v.map(entry) : plain(v)) });
  const template = levelWriter(fields.template.fields, { amisByRegion: (v) => sortedMap(v, (_region, archs) => sortedMap(archs, (_arch, e) => entry(e))) });
  const root = levelWriter(fields.root.fields, { templates: (v) => sortedMap(v, (_id, t) => template(t)) });
  return (registry) => `${JSON.stringify(root(registry), null, 2)}\n`;
}

/** The registry file's text: the same content is always the same bytes. */
export const serializeRegistry = registrySerializerOf(REGISTRY_FIELDS);

export { withRegistryLock, type RegistryLockOptions };

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Undefined when the file does not exist; a CwsError (exit 2) naming file:line:col when it is not a valid registry. */
export async function readRegistry(file: string): Promise<Registry | undefined> {
  const text = readRegistryText(file);
  return text === undefined ? undefined : parseRegistry(text, file);
}

export async function parseRegistry(text: string, file: string): Promise<Registry> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const { line, column } = jsonErrorPosition(text, (error as Error).message);
    throw new CwsError("REGISTRY_INVALID", `${file}:${line}:${column} the registry is not valid JSON: ${(error as Error).message.replace(/ in JSON at position \d+.*$/, "")}`, {
      value: file,
      suggestion: "fix the file (git diff / git checkout it), or merge conflict markers may be left in it; cws never overwrites an invalid registry",
    });
  }
  const parsed = registrySchema.safeParse(data);
  if (!parsed.success) {
    const { locatePath } = await import("./locate.js");
    const problems = parsed.error.issues.slice(0, 10).map((issue) => {
      const { line, column } = locatePath(text, issue.path);
      const path = issue.path.map((s) => (typeof s === "number" ? `[${s}]` : `.${String(s)}`)).join("").replace(/^\./, "");
      return `${file}:${line}:${column} ${path}: ${issue.message}`;
    });
    throw new CwsError("REGISTRY_INVALID", `the registry is invalid:\n  ${problems.join("\n  ")}`, {
      value: file,
      suggestion: "fix the entries named above; cws never overwrites an invalid registry",
    });
  }
  return parsed.data;
}

function jsonErrorPosition(text: string, message: string): { line: number; column: number } {
  const match = /position (\d+)/.exec(message);
  const offset = match ? Number(match[1]) : text.length;
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

export async function writeRegistryAtomically(file: string, registry: Registry): Promise<void> {
  await writeFileAtomic(file, serializeRegistry(registry));
}

/**
 * Read (or start) the registry, change it, write it back: locked, atomic, and
 * never over an invalid file. `lock`: who this process is and where to say
 * that it waits (lock.ts).
 */
export async function updateRegistryFile(file: string, now: Date, mutate: (registry: Registry) => void | Promise<void>, lock: RegistryLockOptions = {}): Promise<Registry> {
  const update = async () => {
    const registry = (await readRegistry(file)) ?? emptyRegistry(now);
    const before = serializeRegistry(registry);
    await mutate(registry);
    if (serializeRegistry(registry) !== before) {
      registry.last_updated = isoSeconds(now);
      await writeRegistryAtomically(file, registry);
    }
    return registry;
  };
  return withRegistryLock(file, update, lock);
}

/**
 * Make `record` the current AMI for a template, region and architecture; the
 * previous one moves into the bounded history. Recording the current AMI again
 * changes nothing.
 */
export function recordAmi(
  registry: Registry,
  templateId: string,
  template: Pick<Template, "description" | "ports" | "estimated_cost_per_hour"> & { version?: string | undefined },
  region: string,
  architecture: Architecture,
  record: AmiRecord,
): void {
  const entry = (registry.templates[templateId] ??= {
    version: record.version ?? template.version ?? "0.0.0",
    description: template.description,
    amis: {},
    ports: template.ports,
    estimated_cost_per_hour: template.estimated_cost_per_hour ?? {},
  });
  entry.description = template.description;
  entry.ports = template.ports;
  entry.estimated_cost_per_hour = template.estimated_cost_per_hour ?? {};
  if (record.version) entry.version = record.version;
  const byArch = (entry.amis[region] ??= {});
  const current = byArch[architecture];
  if (current?.ami_id === record.ami_id) {
    byArch[architecture] = { ...current, ...record, ...(current.history ? { history: current.history } : {}) };
    return;
  }
  // A new AMI ends any rollback pin.
  const { history: previousHistory, pinned: _pinned, rolled_back_at: _rolledBack, ...previous } = (current ?? { history: undefined }) as AmiEntry & {
    pinned?: unknown;
    rolled_back_at?: unknown;
  };
  const history = current ? [previous as AmiRecord, ...(previousHistory ?? [])].filter((h) => h.ami_id !== record.ami_id).slice(0, HISTORY_LIMIT) : [];
  byArch[architecture] = { ...record, ...(history.length ? { history } : {}) };
}
