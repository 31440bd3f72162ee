import * as z from "zod";
import { AMI_ID_PATTERN, AMI_ID_RULE } from "../template/architectures.js";
// Through the template schema, not architectures.ts: its z.config (no JIT) holds for this schema too.
import { ARCHITECTURES, awsRegion } from "../template/schema.js";
import { TEMPLATE_ID_MAX_LENGTH, TEMPLATE_ID_PATTERN, TEMPLATE_ID_RULE } from "../template/template-id.js";
import {
  entryFields,
  HISTORY_LIMIT,
  REGISTRY_FIELDS,
  REGISTRY_FORMAT_VERSION,
  REGISTRY_FORMAT_VERSIONS,
  type FieldKind,
  type FieldSpec,
  type LevelKind,
  type LevelSpec,
  type RegistryFields,
} from "./fields.js";
import { describeValue } from "../template/problems.js";
import { isIsoTimestamp, isoSeconds, TIMESTAMP, TIMESTAMP_RULE } from "./timestamps.js";

/**
 * The AMI registry's zod schema, derived from its field list (fields.ts).
 * Unknown fields are kept (loose objects) so an older cws does not drop what
 * a newer one wrote.
 */
export { HISTORY_LIMIT, REGISTRY_FORMAT_VERSION };

const understood = REGISTRY_FORMAT_VERSIONS.join(", ");
const formatNumber = (version: string) => version.split(".").map(Number) as [number, number];

/** Why a registry's `version` is not one this cws reads: a newer format (upgrade cws), or no format at all; `written`, the value as the file has it (`1.0`, not 1). */
export function formatVersionMessage(value: unknown, written?: string): string {
  if (typeof value === "string" && /^\d+\.\d+$/.test(value)) {
    const [major, minor] = formatNumber(value);
    const [newestMajor, newestMinor] = formatNumber(REGISTRY_FORMAT_VERSION);
    if (major > newestMajor || (major === newestMajor && minor > newestMinor)) {
      return `registry format ${JSON.stringify(value)} is newer than this cws reads (${understood}), so a newer cws wrote it; upgrade cws to read it, and leave the file as it is`;
    }
  }
  return `${typeof value === "string" ? `${JSON.stringify(value)} is not a registry format` : `expected a registry format such as "${REGISTRY_FORMAT_VERSION}", got ${describeValue(value, written)}`}; this cws reads format ${understood}`;
}

const byArchitecture = <T extends z.ZodType>(value: T) => z.partialRecord(z.enum(ARCHITECTURES), value);

const NOT_AN_ID = `not a valid template id: use ${TEMPLATE_ID_RULE}`;

/** Template ids as the keys of `templates`: the one rule (template-id.ts), which editors see as the JSON Schema's propertyNames. */
const byTemplateId = <T extends z.ZodType>(value: T) =>
  z.record(z.string().max(TEMPLATE_ID_MAX_LENGTH, { message: NOT_AN_ID, abort: true }).regex(TEMPLATE_ID_PATTERN, { message: NOT_AN_ID }), value, { error: () => NOT_AN_ID });

/** The kinds that hold no other level; each field gets its own copy (`.describe` copies). */
const VALUE_SCHEMAS = {
  string: z.string(),
  formatVersion: z.enum(REGISTRY_FORMAT_VERSIONS, { error: (issue) => formatVersionMessage(issue.input) }),
  // The pattern (in the JSON Schema too, so editors flag a bad time), then February 29th's year.
  isoDate: z
    .string()
    .regex(TIMESTAMP, { message: TIMESTAMP_RULE, abort: true })
    .refine(isIsoTimestamp, { error: (issue) => `no such day: ${String(issue.input).slice(0, 4)} is not a leap year` })
    .describe("ISO 8601 UTC time."),
  boolean: z.boolean(),
  amiId: z.string().regex(AMI_ID_PATTERN, { message: AMI_ID_RULE }),
  nonNegativeNumber: z.number().nonnegative(),
  intArray: z.array(z.int()),
  costByArchitecture: byArchitecture(z.number()),
  copySource: z.strictObject({
    region: z.string().min(1).describe("The region the image was copied from."),
    ami_id: z.string().regex(AMI_ID_PATTERN, { message: AMI_ID_RULE }).describe("The AMI it was copied from."),
  }),
} satisfies Record<Exclude<FieldKind, LevelKind>, z.ZodType>;

/** The zod type of a level, as TypeScript sees it: one property per field, optional unless required. */
type KindSchemas = Record<string, z.ZodType>;
type KindSchema<Kinds extends KindSchemas, K extends FieldKind> = K extends keyof Kinds ? Kinds[K] : z.ZodNever;
type LevelShape<Fields extends readonly FieldSpec[], Kinds extends KindSchemas> = {
  -readonly [F in Fields[number] as F["name"]]: F["required"] extends true ? KindSchema<Kinds, F["kind"]> : z.ZodOptional<KindSchema<Kinds, F["kind"]>>;
};
type LevelSchema<Fields extends readonly FieldSpec[], Kinds extends KindSchemas> = z.ZodObject<LevelShape<Fields, Kinds>, z.core.$loose>;

function levelSchema<Fields extends readonly FieldSpec[], Kinds extends KindSchemas>(level: LevelSpec, fields: Fields, kinds: Kinds): LevelSchema<Fields, Kinds> {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const schema = kinds[field.kind];
    if (schema === undefined) throw new Error(`registry field ${field.name}: a ${field.kind} cannot appear at this level`);
    shape[field.name] = (field.required ? schema : schema.optional()).describe(field.description);
  }
  return z.looseObject(shape).describe(level.description) as unknown as LevelSchema<Fields, Kinds>;
}

type ValueSchemas = typeof VALUE_SCHEMAS;
type RecordSchema<D extends RegistryFields> = LevelSchema<D["record"]["fields"], ValueSchemas>;
type EntrySchema<D extends RegistryFields> = LevelSchema<
  readonly [...D["record"]["fields"], ...D["entry"]["fields"]],
  ValueSchemas & { history: z.ZodArray<RecordSchema<D>> }
>;
type TemplateSchema<D extends RegistryFields> = LevelSchema<
  D["template"]["fields"],
  ValueSchemas & { amisByRegion: z.ZodRecord<z.ZodString, ReturnType<typeof byArchitecture<EntrySchema<D>>>> }
>;
type RootSchema<D extends RegistryFields> = LevelSchema<D["root"]["fields"], ValueSchemas & { templates: z.ZodRecord<z.ZodString, TemplateSchema<D>> }>;

export interface RegistrySchemas<D extends RegistryFields> {
  root: RootSchema<D>;
  template: TemplateSchema<D>;
  entry: EntrySchema<D>;
  record: RecordSchema<D>;
}

/**
 * The schema of each level of a registry described by `fields`. A level holds
 * only the levels below it: an entry its history of records, a template its
 * entries, the root its templates.
 */
export function registrySchemasOf<D extends RegistryFields>(fields: D): RegistrySchemas<D> {
  const record: RecordSchema<D> = levelSchema(fields.record, fields.record.fields, VALUE_SCHEMAS);
  const entry: EntrySchema<D> = levelSchema(fields.entry, entryFields(fields), { ...VALUE_SCHEMAS, history: z.array(record).max(HISTORY_LIMIT) });
  // Regions are the template's regions (the same schema, so the same messages): a key "mars-1" is refused, not listed and merged.
  // Typed by string keys: code looks regions up by any string (own-keys.ts), and a lookup of one not there finds nothing.
  const amisByRegion = z.partialRecord(awsRegion, byArchitecture(entry)) as unknown as z.ZodRecord<z.ZodString, ReturnType<typeof byArchitecture<EntrySchema<D>>>>;
  const template: TemplateSchema<D> = levelSchema(fields.template, fields.template.fields, { ...VALUE_SCHEMAS, amisByRegion });
  const root: RootSchema<D> = levelSchema(fields.root, fields.root.fields, { ...VALUE_SCHEMAS, templates: byTemplateId(template) });
  return { root, template, entry, record };
}

const schemas = registrySchemasOf(REGISTRY_FIELDS);
export const amiRecordSchema = schemas.record;
export const amiEntrySchema = schemas.entry;
export const registryTemplateSchema = schemas.template;
export const registrySchema = schemas.root;

export type AmiRecord = z.infer<typeof amiRecordSchema>;
export type AmiEntry = z.infer<typeof amiEntrySchema>;
export type RegistryTemplate = z.infer<typeof registryTemplateSchema>;
export type Registry = z.infer<typeof registrySchema>;

export function emptyRegistry(now: Date): Registry {
  return { version: REGISTRY_FORMAT_VERSION, last_updated: isoSeconds(now), templates: {} };
}
