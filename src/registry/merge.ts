import { REGISTRY_FIELDS, REGISTRY_FORMAT_VERSION, type FieldKind, type FieldSpec, type MergeRule, type RegistryFields } from "./fields.js";
import { ownValue, setOwn } from "../own-keys.js";
import { boundedHistory } from "./operations.js";
import type { AmiRecord, Registry } from "./schema.js";
import { compareTimestamps } from "./timestamps.js";

/**
 * `cws ami registry merge`: several registries (the artifacts of parallel CI
 * jobs, a registry and a branch's copy) into one, each field by the rule its
 * entry in the field list declares (fields.ts, `MergeRule`). Every rule takes
 * a maximum under a total order, so the result is the same bytes whatever the
 * order of the files, merging a file with itself changes nothing, and merging
 * in steps gives what merging at once gives.
 *
 * Per template, region and architecture, every AMI any copy knows (current or
 * in history) is pooled; copies of one AMI are merged field by field. The
 * current AMI is the one that became current last: a copy's current AMI
 * became current when it was created, or, when a rollback pinned it, when it
 * was rolled back to. So a rollback holds against the AMIs it rolled back
 * from, and a build after it wins, as it would have in one registry. The rest
 * go to history, newest `created` first.
 */

type Json = Record<string, unknown>;

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with every object's keys sorted: one text for one value, whatever order its keys were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort(compareText);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The greatest item under `compare` (the last of the ties: they are equal under a total order). */
function maxBy<T>(items: readonly T[], compare: (a: T, b: T) => number): T {
  return items.reduce((best, item) => (compare(item, best) > 0 ? item : best));
}

const byCanonical = (a: unknown, b: unknown) => compareText(canonical(a), canonical(b));
const byTime = (a: unknown, b: unknown) => (typeof a === "string" && typeof b === "string" ? compareTimestamps(a, b) || byCanonical(a, b) : byCanonical(a, b));

/** One copy of an object and, for "newest", the time it is judged by (undefined: older than any time). */
interface Copy {
  value: Json;
  stamp?: string | undefined;
}

const byStamp = (a: string | undefined, b: string | undefined) => (a === undefined ? (b === undefined ? 0 : -1) : b === undefined ? 1 : compareTimestamps(a, b));

/** Which kinds and levels each rule applies to; the merger refuses a field list that breaks them. */
const RULE_KINDS: Partial<Record<MergeRule, readonly FieldKind[]>> = {
  union: ["templates", "amisByRegion"],
  history: ["history"],
  identity: ["amiId"],
};
const RULE_LEVELS: Partial<Record<MergeRule, readonly (keyof RegistryFields)[]>> = { identity: ["record"], winner: ["entry"], history: ["entry"] };

function checkRules(fields: RegistryFields): void {
  for (const level of ["root", "template", "record", "entry"] as const) {
    for (const field of fields[level].fields) {
      const kinds = RULE_KINDS[field.merge];
      const levels = RULE_LEVELS[field.merge];
      if ((kinds && !kinds.includes(field.kind)) || (levels && !levels.includes(level)) || ((field.kind === "templates" || field.kind === "amisByRegion") && field.merge !== "union")) {
        throw new Error(`registry field ${level}.${field.name}: a ${field.kind} at the ${level} level cannot be merged by "${field.merge}"`);
      }
    }
  }
  if (fields.record.fields.filter((field) => field.merge === "identity").length !== 1) throw new Error("registry fields: exactly one record field must be the AMI's identity");
}

/** The merge of registries described by `fields`. */
export function registryMergerOf(fields: RegistryFields): (inputs: readonly Registry[]) => Registry {
  checkRules(fields);
  const identity = fields.record.fields.find((field) => field.merge === "identity")!.name;
  const entryOnly = fields.entry.fields.filter((field) => field.merge === "winner" || field.merge === "history").map((field) => field.name);
  const historyField = fields.entry.fields.find((field) => field.merge === "history")?.name;
  const winnerFields = fields.entry.fields.filter((field) => field.merge === "winner").map((field) => field.name);

  /** Each key any copy has (sorted), merged by its field's rule; a field the list does not know by "greatest". */
  function mergeLevel(list: readonly FieldSpec[], copies: readonly Copy[]): Json {
    const specs = new Map(list.map((field) => [field.name, field]));
    const keys = [...new Set(copies.flatMap((copy) => Object.keys(copy.value)))].sort(compareText);
    const out: Json = {};
    for (const key of keys) {
      const present = copies.filter((copy) => ownValue(copy.value, key) !== undefined);
      if (present.length === 0) continue;
      const spec = specs.get(key);
      const values = present.map((copy) => copy.value[key]);
      const merged = (value: unknown) => setOwn(out, key, value);
      switch (spec?.merge ?? "greatest") {
        case "union":
          merged(spec!.kind === "templates" ? mergeMap(values, mergeTemplate) : mergeMap(values, (regions) => mergeMap(regions, mergeEntry)));
          break;
        case "newest":
          merged(maxBy(present, (a, b) => byStamp(a.stamp, b.stamp) || byCanonical(a.value[key], b.value[key])).value[key]);
          break;
        case "latest":
          merged(maxBy(values, byTime));
          break;
        default:
          // "greatest", and "identity", "winner", "history" where mergeEntry has not already taken them.
          merged(maxBy(values, byCanonical));
      }
    }
    return out;
  }

  /** Every key of every map (sorted), its values merged by `merge`. */
  function mergeMap(maps: readonly unknown[], merge: (values: unknown[]) => unknown): Json {
    const out: Json = {};
    const objects = maps as Json[];
    for (const key of [...new Set(objects.flatMap((map) => Object.keys(map)))].sort(compareText)) {
      // A key one map has is looked up in the others as their own: `templates.constructor` is a template, not Object.
      const values = objects.map((map) => ownValue(map, key)).filter((value) => value !== undefined);
      if (values.length > 0) setOwn(out, key, merge(values));
    }
    return out;
  }

  /** A template's copies; "newest" fields come from the copy with the newest AMI (its latest build set them). */
  function mergeTemplate(copies: unknown[]): Json {
    return mergeLevel(
      fields.template.fields,
      (copies as Json[]).map((value) => ({ value, stamp: newestAmi(value) })),
    );
  }

  /** The newest `created` of any AMI, current or earlier, in a template's copy. */
  function newestAmi(template: Json): string | undefined {
    let newest: string | undefined;
    for (const byArch of Object.values((template.amis ?? {}) as Record<string, Record<string, Json>>)) {
      for (const entry of Object.values(byArch)) {
        for (const record of [entry, ...((historyField ? entry[historyField] : undefined) as Json[] | undefined ?? [])]) {
          const created = record.created;
          if (typeof created === "string" && byStamp(created, newest) > 0) newest = created;
        }
      }
    }
    return newest;
  }

  /** When a copy's current AMI became current: its rollback if pinned, else its creation. */
  const becameCurrent = (entry: Json) => String(entry.pinned === true && typeof entry.rolled_back_at === "string" ? entry.rolled_back_at : entry.created);

  /** One region and architecture's copies: the AMI that became current last, every other AMI in history. */
  function mergeEntry(copies: unknown[]): Json {
    const entries = copies as Json[];
    // Ties (one AMI, current since the same time in two copies) go by the fields the winner brings, which a merge keeps as they are.
    const brought = (entry: Json) => winnerFields.map((name) => entry[name]);
    const winner = maxBy(
      entries,
      (a, b) => compareTimestamps(becameCurrent(a), becameCurrent(b)) || compareText(String(a[identity]), String(b[identity])) || byCanonical(brought(a), brought(b)),
    );
    const pool = new Map<string, Copy[]>();
    const add = (record: Json) => {
      const id = String(record[identity]);
      pool.set(id, [...(pool.get(id) ?? []), { value: record }]);
    };
    for (const entry of entries) {
      add(Object.fromEntries(Object.entries(entry).filter(([key]) => !entryOnly.includes(key))));
      for (const old of ((historyField ? entry[historyField] : undefined) ?? []) as Json[]) add(old);
    }
    const records = new Map([...pool].map(([id, recordCopies]) => [id, mergeLevel(fields.record.fields, recordCopies)]));
    const currentId = String(winner[identity]);
    // The pin and its time are the winning copy's, not those another copy's history kept for the AMI.
    const current: Json = Object.fromEntries(Object.entries(records.get(currentId)!).filter(([key]) => !winnerFields.includes(key)));
    for (const name of winnerFields) if (winner[name] !== undefined) current[name] = winner[name];
    const history = boundedHistory([...records].filter(([id]) => id !== currentId).map(([, record]) => record as unknown as AmiRecord));
    if (historyField && history.length > 0) current[historyField] = history;
    return current;
  }

  return (inputs) =>
    inputs.length === 0
      ? { version: REGISTRY_FORMAT_VERSION, last_updated: "1970-01-01T00:00:00Z", templates: {} }
      : (mergeLevel(fields.root.fields, inputs.map((value) => ({ value: value as unknown as Json }))) as unknown as Registry);
}

/**
 * Merge registries: the same result, byte for byte once serialized, whatever
 * the order of `inputs`. The README's "registry merge" section says which
 * rule each field follows.
 */
export const mergeRegistries = registryMergerOf(REGISTRY_FIELDS);
