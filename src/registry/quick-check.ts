import { ARCHITECTURES, isAmiId, isAwsRegion } from "../template/architectures.js";
import { isTemplateId } from "../template/template-id.js";
import { HISTORY_LIMIT, REGISTRY_FORMAT_VERSIONS, type FieldKind, type FieldSpec, type RegistryFields } from "./fields.js";
import { isIsoTimestamp } from "./timestamps.js";

/**
 * The registry check `cws ami list` runs instead of zod (docs/decisions.md
 * §16): loading zod and running it cold over 800 AMIs takes longer than
 * Node's own start-up. It accepts only what the zod schema derived from the
 * same field list accepts (if anything it is stricter); whatever it does not
 * accept goes to zod, which accepts it too or names every problem.
 *
 * It is compiled from the field list into one plain function per level, with
 * a named property read and an inline test per field: what a hand-written
 * check looks like to V8. A loop over the field list costs about three times
 * as much, cold (docs/decisions.md §23). Only the field names (quoted) and
 * the fixed expressions below go into the source.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isArchitecture = (key: string) => (ARCHITECTURES as readonly string[]).includes(key);

// What the compiled source calls, by these names. Plain loops, no closures: they run over every record, cold.
const helpers = {
  isObject,
  isNumber,
  isAmiId,
  isIsoTimestamp,
  isFormatVersion: (value: unknown) => (REGISTRY_FORMAT_VERSIONS as readonly unknown[]).includes(value),
  isIntArray(value: unknown): boolean {
    if (!Array.isArray(value)) return false;
    for (const item of value) if (!Number.isSafeInteger(item)) return false;
    return true;
  },
  isCostByArchitecture(value: unknown): boolean {
    if (!isObject(value)) return false;
    for (const arch in value) if (!Object.hasOwn(value, arch) || !isArchitecture(arch) || !isNumber(value[arch])) return false;
    return true;
  },
  /** `{ region, ami_id }` and no other key, as the schema's strict object. */
  isCopySource(value: unknown): boolean {
    if (!isObject(value)) return false;
    let keys = 0;
    for (const key in value) if (Object.hasOwn(value, key)) keys++;
    return keys === 2 && typeof value.region === "string" && value.region !== "" && isAmiId(value.ami_id);
  },
  isHistory(value: unknown, isRecord: (value: unknown) => boolean): boolean {
    if (!Array.isArray(value) || value.length > HISTORY_LIMIT) return false;
    for (const old of value) if (!isRecord(old)) return false;
    return true;
  },
  isAmisByRegion(value: unknown, isEntry: (value: unknown) => boolean): boolean {
    if (!isObject(value)) return false;
    for (const region in value) {
      const byArch = value[region];
      if (!Object.hasOwn(value, region) || !isAwsRegion(region) || !isObject(byArch)) return false;
      for (const arch in byArch) if (!Object.hasOwn(byArch, arch) || !isArchitecture(arch) || !isEntry(byArch[arch])) return false;
    }
    return true;
  },
  isTemplates(value: unknown, isTemplate: (value: unknown) => boolean): boolean {
    if (!isObject(value)) return false;
    for (const id in value) if (!Object.hasOwn(value, id) || !isTemplateId(id) || !isTemplate(value[id])) return false;
    return true;
  },
};

/** Each kind's test of `x`, a JavaScript expression; a level is named by its function (`record`, `entry`, ...). Each rejects undefined. */
const KIND_TESTS: Record<FieldKind, string> = {
  string: 'typeof x === "string"',
  formatVersion: "isFormatVersion(x)",
  isoDate: "isIsoTimestamp(x)",
  boolean: 'typeof x === "boolean"',
  amiId: "isAmiId(x)",
  nonNegativeNumber: "isNumber(x) && x >= 0",
  intArray: "isIntArray(x)",
  costByArchitecture: "isCostByArchitecture(x)",
  copySource: "isCopySource(x)",
  history: "isHistory(x, record)",
  amisByRegion: "isAmisByRegion(x, entry)",
  templates: "isTemplates(x, template)",
};

/** One level's check: `base`, a level whose fields come first (an entry's record), or a plain object. */
function levelSource(name: string, fields: readonly FieldSpec[], base?: string): string {
  const tests = fields.map((field) => {
    const test = KIND_TESTS[field.kind];
    return `  x = v[${JSON.stringify(field.name)}];\n  if (${field.required ? `!(${test})` : `x !== undefined && !(${test})`}) return false;\n`;
  });
  return `function ${name}(v) {\n  if (!${base ?? "isObject"}(v)) return false;\n  let x;\n${tests.join("")}  return true;\n}\n`;
}

/** The source of the check of a registry described by `fields`: a function per level, returning the root's. */
function quickCheckSource(fields: RegistryFields): string {
  return [
    '"use strict";',
    levelSource("record", fields.record.fields),
    levelSource("entry", fields.entry.fields, "record"),
    levelSource("template", fields.template.fields),
    levelSource("root", fields.root.fields),
    "return root;",
  ].join("\n");
}

/** True when `data` is plainly a registry described by `fields`; false means "ask the zod schema". */
export function compileQuickCheck(fields: RegistryFields): (data: unknown) => boolean {
  const names = Object.keys(helpers);
  // Built from the field list and the fixed tests above, never from input.
  const build = new Function(...names, quickCheckSource(fields)) as (...values: unknown[]) => (data: unknown) => boolean;
  return build(...Object.values(helpers));
}
