import { ARCHITECTURES, INSTANCE_TYPE_PATTERN } from "../template/architectures.js";
import { AWS_REGIONS } from "../template/regions.js";

/**
 * The keys of cws.config.json, listed once (as the registry's fields are, in
 * src/registry/fields.ts). Two things are derived from the list: the zod
 * schema (config-schema.ts, hence schemas/config.schema.json and the messages
 * for a config with problems) and the quick check below, which is all a valid
 * config costs on the hot path (`cws ami lint`, `cws ami list`): no zod, no
 * YAML parser. This module imports no zod.
 *
 * Only settings that exist today are here. build-all's build region and
 * concurrency come with build-all.
 */

/** What a value may be; each kind is implemented once here (quick check) and once in config-schema.ts (zod). */
export type ConfigKind = "path" | "name" | "region" | "boolean" | "instanceProfile" | "instanceType" | "subnet" | "onError";

export interface ConfigField {
  key: string;
  kind: ConfigKind;
  description: string;
}

export interface ConfigGroup {
  key: string;
  description: string;
  fields: readonly ConfigEntry[];
}

export type ConfigEntry = ConfigField | ConfigGroup;

export const SUBNET_PATTERN = /^subnet-[0-9a-f]{8,17}$/;
/** IAM's rule for instance profile names. */
export const INSTANCE_PROFILE_PATTERN = /^[\w+=,.@-]{1,128}$/;
export const ON_ERROR_MODES = ["cleanup", "abort"] as const;
export type OnErrorMode = (typeof ON_ERROR_MODES)[number];

export const CONFIG_FIELDS: readonly ConfigEntry[] = [
  { key: "$schema", kind: "path", description: "the JSON Schema editors check this file against: schemas/config.schema.json" },
  { key: "templates_dir", kind: "path", description: "template directory, relative to this file (default: templates); --templates-dir and CWS_TEMPLATES_DIR win" },
  { key: "registry", kind: "path", description: "AMI registry file, relative to this file (default: registry/amis.json); --registry and CWS_REGISTRY win" },
  { key: "profile", kind: "name", description: "AWS profile (default: default); --profile and AWS_PROFILE win" },
  {
    key: "region",
    kind: "region",
    description: "AWS region for build, bootstrap and rollback; --region, AWS_REGION and AWS_DEFAULT_REGION win, and it wins over the AWS profile's region",
  },
  { key: "instance_profile", kind: "instanceProfile", description: "IAM instance profile the build instances get (build, build-all) and bootstrap creates (default: cws-ami-builder)" },
  { key: "publish_ssm", kind: "boolean", description: "also write each recorded AMI id to SSM Parameter Store (build, build-all, update-registry, rollback; default: false)" },
  {
    key: "prices",
    kind: "path",
    description: "a JSON price file, relative to this file, merged over the price table shipped with cws for the cost of builds and images (see schemas/prices.schema.json); --prices wins",
  },
  {
    key: "build",
    description: "defaults for cws ami build",
    fields: [
      {
        key: "instance_type",
        description: "build instance type per architecture, for templates that name none (default: t3.medium, t4g.medium); a template's instance_type wins",
        fields: ARCHITECTURES.map((architecture) => ({ key: architecture, kind: "instanceType" as const, description: `build instance type for ${architecture}` })),
      },
      { key: "subnet", kind: "subnet", description: "subnet for the build instance (default: a default subnet of the default VPC)" },
      { key: "on_error", kind: "onError", description: "on failure: cleanup removes everything, abort keeps the instance to debug (default: cleanup)" },
    ],
  },
];

export function isGroup(entry: ConfigEntry): entry is ConfigGroup {
  return "fields" in entry;
}

const nonEmpty = (value: unknown) => typeof value === "string" && value !== "";
const matches = (pattern: RegExp) => (value: unknown) => typeof value === "string" && pattern.test(value);
const oneOf = (values: readonly string[]) => (value: unknown) => typeof value === "string" && values.includes(value);

const QUICK_CHECKS: Record<ConfigKind, (value: unknown) => boolean> = {
  path: nonEmpty,
  name: nonEmpty,
  region: oneOf(AWS_REGIONS),
  boolean: (value) => typeof value === "boolean",
  instanceProfile: matches(INSTANCE_PROFILE_PATTERN),
  instanceType: matches(INSTANCE_TYPE_PATTERN),
  subnet: matches(SUBNET_PATTERN),
  onError: oneOf(ON_ERROR_MODES),
};

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** True when the zod schema would accept `data` too; false leaves it to the schema to say what is wrong. */
export function quickCheckConfig(data: unknown, fields: readonly ConfigEntry[] = CONFIG_FIELDS): boolean {
  if (!isMapping(data)) return false;
  for (const key of Object.keys(data)) {
    const entry = fields.find((field) => field.key === key);
    if (entry === undefined) return false;
    const value = data[key];
    if (isGroup(entry) ? !quickCheckConfig(value, entry.fields) : !QUICK_CHECKS[entry.kind](value)) return false;
  }
  return true;
}

/** The keys allowed at a path of the config (`[]`, `["build"]`), for "did you mean". */
export function configKeysAt(path: readonly PropertyKey[], fields: readonly ConfigEntry[] = CONFIG_FIELDS): string[] {
  let level = fields;
  for (const segment of path) {
    const entry = level.find((field) => field.key === segment);
    if (entry === undefined || !isGroup(entry)) return [];
    level = entry.fields;
  }
  return level.map((field) => field.key);
}

/** A valid config, as the file says it (every key optional). */
export interface ProjectConfig {
  $schema?: string;
  templates_dir?: string;
  registry?: string;
  profile?: string;
  region?: string;
  instance_profile?: string;
  publish_ssm?: boolean;
  prices?: string;
  build?: {
    instance_type?: Partial<Record<(typeof ARCHITECTURES)[number], string>>;
    subnet?: string;
    on_error?: OnErrorMode;
  };
}
