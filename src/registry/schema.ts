import * as z from "zod";
// Through the template schema, not architectures.ts: its z.config (no JIT) holds for this schema too.
import { ARCHITECTURES } from "../template/schema.js";
import { TEMPLATE_ID_MAX_LENGTH, TEMPLATE_ID_PATTERN, TEMPLATE_ID_RULE } from "../template/template-id.js";
import {
  entryFields,
  HISTORY_LIMIT,
  REGISTRY_AMI_ID,
  REGISTRY_FIELDS,
  type FieldKind,
  type FieldSpec,
  type LevelKind,
  type LevelSpec,
  type RegistryFields,
} from "./fields.js";

/**
 * The AMI registry's zod schema, derived from its field list (fields.ts).
 * Unknown fields are kept (loose objects) so an older cws does not drop what
 * a newer one wrote.
 */
export const REGISTRY_FORMAT_VERSION = "1.0";
export { HISTORY_LIMIT };

const byArchitecture = <T extends z.ZodType>(value: T) => z.partialRecord(z.enum(ARCHITECTURES), value);

/** Template ids as the keys of `templates`: the one rule (template-id.ts), which editors see as the JSON Schema's propertyNames. */
const byTemplateId = <T extends z.ZodType>(value: T) =>
  z.record(z.string().max(TEMPLATE_ID_MAX_LENGTH).regex(TEMPLATE_ID_PATTERN), value, {
    error: (issue) => (issue.code === "invalid_key" ? `not a valid template id: use ${TEMPLATE_ID_RULE}` : undefined),
  });

/** The kinds that hold no other level; each field gets its own copy (`.describe` copies). */
const VALUE_SCHEMAS = {
  string: z.string(),
  isoDate: z.string().describe("ISO 8601 UTC timestamp."),
  boolean: z.boolean(),
  amiId: z.string().regex(REGISTRY_AMI_ID),
  nonNegativeNumber: z.number().nonnegative(),
  intArray: z.array(z.int()),
  costByArchitecture: byArchitecture(z.number()),
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
  const template: TemplateSchema<D> = levelSchema(fields.template, fields.template.fields, { ...VALUE_SCHEMAS, amisByRegion: z.record(z.string(), byArchitecture(entry)) });
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
  return { version: REGISTRY_FORMAT_VERSION, last_updated: now.toISOString().replace(/\.\d{3}Z$/, "Z"), templates: {} };
}
