import { CwsError } from "../errors.js";
import { describeValue, formatPath } from "../template/problems.js";
import type { Architecture, Template } from "../template/schema.js";
import { checkWritableDirectory } from "../file-access.js";
import { linkedFile, writeFileAtomic } from "../write-file-atomic.js";
import { entryFields, REGISTRY_FIELDS, REGISTRY_FORMAT_VERSIONS, type FieldKind, type FieldSpec, type RegistryFields } from "./fields.js";
import { lineColumn, parseJsonText, stripBom } from "./json-text.js";
import { checkRegistryLock, withRegistryLock, type RegistryLockOptions } from "./lock.js";
import { ownValue, setOwn } from "../own-keys.js";
import { boundedHistory, entriesFor, setEntry, templateAt } from "./operations.js";
import { readRegistryText } from "./registry-file.js";
import { emptyRegistry, registrySchema, type AmiEntry, type AmiRecord, type Registry } from "./schema.js";
import { isoSeconds } from "./timestamps.js";

export { isoSeconds };

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
  for (const key of keys) if (value[key] !== undefined) setOwn(out, key, child(key, value[key]));
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
  // Where a copy came from reads as it is said: from a region, that AMI.
  const copySource: Write = (v) => (v !== null && typeof v === "object" ? ordered(asRecord(v), ["region", "ami_id"], (_key, child) => plain(child)) : v);
  // History items are written in an entry's order: each was an entry once, and a rollback keeps its rolled_back_at.
  const entry: Write = levelWriter(entryFields(fields), { copySource, history: (v) => (Array.isArray(v) ? v.map(entry) : plain(v)) });
  const template = levelWriter(fields.template.fields, { amisByRegion: (v) => sortedMap(v, (_region, archs) => sortedMap(archs, (_arch, e) => entry(e))) });
  const root = levelWriter(fields.root.fields, { templates: (v) => sortedMap(v, (_id, t) => template(t)) });
  return (registry) => `${JSON.stringify(root(registry), null, 2)}\n`;
}

/** The registry file's text: the same content is always the same bytes. */
export const serializeRegistry = registrySerializerOf(REGISTRY_FIELDS);

export { withRegistryLock, type RegistryLockOptions };

/**
 * That the registry can be locked and written where it is: its lock and the
 * new file are created beside it (beside the file a symbolic link names, for
 * the new file), and a lock file already there must be one cws can read
 * (checkRegistryLock). Thrown as a CwsError (exit 2) naming the directory or
 * the lock; what to do about the directory is `suggestion`.
 */
export function checkRegistryWritable(file: string, suggestion: string): void {
  const role = { role: "the registry's directory", suggestion };
  checkWritableDirectory(file, role);
  const target = linkedFile(file);
  if (target !== file) checkWritableDirectory(target, role);
  checkRegistryLock(file);
}

/** Undefined when the file does not exist; a CwsError (exit 2) naming file:line:col when it is not a valid registry. */
export async function readRegistry(file: string, role?: { role: string; suggestion?: string }): Promise<Registry | undefined> {
  const text = readRegistryText(file, role);
  return text === undefined ? undefined : parseRegistry(text, file);
}

const KEEP_IT = "cws never overwrites an invalid registry";

/**
 * The registry in `text` (a byte-order mark is ignored, and positions are
 * counted without it, as editors show them), or a CwsError (exit 2) naming
 * each problem as file:line:col: a JSON syntax error, a key repeated in an
 * object, or a value the schema refuses (a format this cws does not read, a
 * time that is not ISO 8601 UTC, an AMI id that is not one).
 */
export async function parseRegistry(input: string, file: string): Promise<Registry> {
  const text = stripBom(input);
  const json = parseJsonText(text);
  if (json.problem) {
    const { line, column } = lineColumn(text, json.problem.offset);
    const { kind, message } = json.problem;
    const suggestion = {
      "duplicate-key": "keep the right one (a merge may have written both)",
      "proto-key": "remove that key (or rename it, if it was meant as a field)",
      syntax: "fix the file (git diff / git checkout it; merge conflict markers may be left in it)",
    }[kind];
    throw new CwsError("REGISTRY_INVALID", `${file}:${line}:${column} ${kind === "syntax" ? "the registry is not valid JSON: " : ""}${message}`, { value: file, suggestion: `${suggestion}; ${KEEP_IT}` });
  }
  const parsed = registrySchema.safeParse(json.value, { reportInput: true });
  if (!parsed.success) {
    const { registryProblems } = await import("./issues.js");
    const issues = parsed.error.issues;
    const all = registryProblems(issues.slice(0, 10), json.value, text, file);
    const problems = all.map((problem) => `${problem.file}:${problem.line}:${problem.column} ${problem.path || "(the file)"}: ${problem.message}`);
    const more = issues.length > 10 ? `\n  … and ${issues.length - 10} more` : "";
    const format = issues.some((issue) => issue.path.length === 1 && issue.path[0] === "version");
    throw new CwsError("REGISTRY_INVALID", problems.length === 1 ? problems[0]! : `the registry is invalid:\n  ${problems.join("\n  ")}${more}`, {
      value: file,
      suggestion: format
        ? `this cws reads registry format ${REGISTRY_FORMAT_VERSIONS.join(", ")}; if a newer cws wrote the file, upgrade cws; ${KEEP_IT}`
        : `fix the ${problems.length === 1 ? "entry" : "entries"} named above; ${KEEP_IT}`,
    });
  }
  return parsed.data;
}

/** Write the registry, only if cws would read it back: never a file that the next command refuses. */
export async function writeRegistryAtomically(file: string, registry: Registry): Promise<void> {
  const checked = registrySchema.safeParse(registry, { reportInput: true });
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const got = "input" in issue ? ` (got ${describeValue(issue.input)})` : "";
    throw new CwsError("REGISTRY_WRITE_REFUSED", `${file} was left as it was: the new registry would be invalid at ${formatPath(issue.path) || "its top level"}: ${issue.message}${got}`, {
      value: file,
      suggestion: "this is a bug in cws or in the data it was given; please report it with the command you ran",
      exitCode: 1,
    });
  }
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
  const byArch = entriesFor(registry, templateId, region, () => ({
    version: record.version ?? template.version ?? "0.0.0",
    description: template.description,
    amis: {},
    ports: template.ports,
    estimated_cost_per_hour: template.estimated_cost_per_hour ?? {},
  }));
  const entry = templateAt(registry, templateId)!;
  entry.description = template.description;
  entry.ports = template.ports;
  entry.estimated_cost_per_hour = template.estimated_cost_per_hour ?? {};
  if (record.version) entry.version = record.version;
  const current = ownValue(byArch, architecture);
  // Recording an AMI (a build, update-registry) ends any rollback pin, also when it is the pinned AMI itself (--unpin).
  const { history: previousHistory, pinned: _pinned, rolled_back_at: _rolledBack, ...previous } = (current ?? { history: undefined }) as AmiEntry & {
    pinned?: unknown;
    rolled_back_at?: unknown;
  };
  if (current?.ami_id === record.ami_id) {
    setEntry(byArch, architecture, { ...previous, ...record, ...(previousHistory ? { history: previousHistory } : {}) } as AmiEntry);
    return;
  }
  const history = current ? boundedHistory([previous as AmiRecord, ...(previousHistory ?? [])].filter((h) => h.ami_id !== record.ami_id)) : [];
  setEntry(byArch, architecture, { ...record, ...(history.length ? { history } : {}) });
}
