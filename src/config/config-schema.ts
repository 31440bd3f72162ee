import * as z from "zod";
// Through the template schema: its z.config (no JIT) holds for this schema too.
import { INSTANCE_TYPE_PATTERN } from "../template/schema.js";
import { AWS_REGIONS } from "../template/regions.js";
import { CONFIG_FIELDS, INSTANCE_PROFILE_PATTERN, isGroup, ON_ERROR_MODES, SUBNET_PATTERN, type ConfigEntry, type ConfigKind } from "./fields.js";

/**
 * cws.config.json's zod schema, derived from its field list (fields.ts):
 * strict objects, so an unknown key is reported (with "did you mean"), every
 * key optional. Used for the JSON Schema in schemas/ and to say what is wrong
 * with a config the quick check turned down; a valid config never loads it.
 */
const KIND_SCHEMAS: Record<ConfigKind, () => z.ZodType> = {
  path: () => z.string().min(1),
  name: () => z.string().min(1),
  region: () => z.enum(AWS_REGIONS),
  boolean: () => z.boolean(),
  instanceProfile: () => z.string().regex(INSTANCE_PROFILE_PATTERN, { message: "not a valid instance profile name" }),
  instanceType: () => z.string().regex(INSTANCE_TYPE_PATTERN, { message: "expected an EC2 instance type such as t3.medium" }),
  subnet: () => z.string().regex(SUBNET_PATTERN, { message: "expected a subnet id such as subnet-0123456789abcdef0" }),
  onError: () => z.enum(ON_ERROR_MODES),
};

function entrySchema(entry: ConfigEntry): z.ZodType {
  const schema = isGroup(entry) ? levelSchema(entry.fields) : KIND_SCHEMAS[entry.kind]();
  return schema.optional().describe(entry.description);
}

function levelSchema(fields: readonly ConfigEntry[]): z.ZodObject {
  return z.strictObject(Object.fromEntries(fields.map((entry) => [entry.key, entrySchema(entry)])));
}

export const configSchema = levelSchema(CONFIG_FIELDS).describe("cws project config: defaults for every command run in this repository (flags and environment variables win)");

/** schemas/config.schema.json: what editors check cws.config.json against (through its `$schema`). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as Record<string, unknown>;
  return { $schema: schema.$schema, title: "cws project config (cws.config.json)", ...schema };
}
