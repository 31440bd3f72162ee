/**
 * The registry's fields (design doc §5, `registry/amis.json`), listed once.
 * Everything that knows the registry's shape is derived from this list:
 *
 * - the zod schema (`registrySchemasOf` in schema.ts), and through it the JSON Schema in schemas/;
 * - the order `serializeRegistry` writes fields in (`registrySerializerOf` in store.ts);
 * - the quick check `cws ami list` runs instead of zod (`compileQuickCheck` in quick-check.ts);
 * - how `cws ami registry merge` combines copies of it (`registryMergerOf` in merge.ts): each
 *   field declares its `merge` rule, so the result never depends on the order of the files.
 *
 * A level's fields are written in the order listed here (the design's fields
 * first, then the extensions a user needs to trace and roll back an image);
 * fields the list does not know are kept and written after them. Nothing here
 * imports zod: `cws ami list` reads this list on its fast path.
 */

export const HISTORY_LIMIT = 10;

/**
 * The registry formats this cws reads and writes, oldest first; the last is
 * what it writes. A file with another `version` is refused, never rewritten:
 * a newer cws may have written fields whose meaning this one does not know.
 */
export const REGISTRY_FORMAT_VERSIONS = ["1.0"] as const;
export const REGISTRY_FORMAT_VERSION = REGISTRY_FORMAT_VERSIONS[REGISTRY_FORMAT_VERSIONS.length - 1]!;

/**
 * What a field holds. Each derivation implements every kind (a table keyed by
 * kind, so the compiler names a kind one of them misses).
 */
export type FieldKind =
  /** Any string. */
  | "string"
  /** One of `REGISTRY_FORMAT_VERSIONS`. */
  | "formatVersion"
  /** An ISO 8601 UTC time as `Date.toISOString` writes it (`isIsoTimestamp` in timestamps.ts). */
  | "isoDate"
  | "boolean"
  /** An AMI id (`AMI_ID_PATTERN`, the same rule as templates and flags). */
  | "amiId"
  /** A finite number, 0 or more. */
  | "nonNegativeNumber"
  /** A list of (safe) integers. */
  | "intArray"
  /** A number per architecture, for some of the architectures. */
  | "costByArchitecture"
  /** Where a copy came from: `{ region, ami_id }`, a region name and an AMI id, and nothing else. */
  | "copySource"
  /** Template id → template (the `template` level). */
  | "templates"
  /** Region → architecture → the current AMI (the `entry` level). */
  | "amisByRegion"
  /** Earlier AMIs (the `record` level), newest first, at most `HISTORY_LIMIT`. */
  | "history";

/** The kinds that hold another level of the registry. */
export type LevelKind = Extract<FieldKind, "templates" | "amisByRegion" | "history">;

/**
 * How `cws ami registry merge` picks a field's value when the files disagree.
 * Each rule is a maximum under a total order, so the winner is the same
 * whatever the order of the files (and merging is associative and idempotent).
 * A field the list does not know is merged by "greatest".
 */
export type MergeRule =
  /** The value from the copy of the template whose newest AMI is newest (its latest build wrote it); a tie: "greatest". */
  | "newest"
  /** The latest time (then the greatest text, for one time written two ways). */
  | "latest"
  /** The greatest value as canonical JSON (keys sorted): for copies of one AMI, which should agree; `true` beats `false`. */
  | "greatest"
  /** Every key of every copy (template ids; regions, then architectures), each value merged with its own level's rules. */
  | "union"
  /** Which copies are the same AMI: its copies are merged field by field, and it appears once. */
  | "identity"
  /** From the copy whose current AMI wins the entry (merge.ts says which), with that AMI: a rollback's pin belongs to it. */
  | "winner"
  /** Every AMI of every copy except the current one, once, newest `created` first, at most `HISTORY_LIMIT`. */
  | "history";

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
  /** The JSON Schema's description of the field (editors show it). */
  readonly description: string;
  readonly merge: MergeRule;
}

export interface LevelSpec {
  readonly description: string;
  readonly fields: readonly FieldSpec[];
}

/** The registry's levels. An entry is a record plus its own fields: see `entryFields`. */
export interface RegistryFields {
  /** The file. */
  readonly root: LevelSpec;
  /** One template's AMIs. */
  readonly template: LevelSpec;
  /** One AMI: an entry's history items, and the start of every entry. */
  readonly record: LevelSpec;
  /** The current AMI for a region and architecture: the record's fields, then these. */
  readonly entry: LevelSpec;
}

export const required = <const N extends string, const K extends FieldKind>(name: N, kind: K, merge: MergeRule, description: string) =>
  ({ name, kind, required: true, merge, description }) as const;
export const optional = <const N extends string, const K extends FieldKind>(name: N, kind: K, merge: MergeRule, description: string) =>
  ({ name, kind, required: false, merge, description }) as const;

export const REGISTRY_FIELDS = {
  root: {
    description: "The CloudWorkstation AMI registry.",
    fields: [
      required("version", "formatVersion", "greatest", `Registry format version (this cws reads ${REGISTRY_FORMAT_VERSIONS.join(", ")}).`),
      required("last_updated", "isoDate", "latest", "When any entry last changed (UTC)."),
      required("templates", "templates", "union", "Templates by id."),
    ],
  },
  template: {
    description: "One template's AMIs.",
    fields: [
      required("version", "string", "newest", "Template version of the newest build."),
      required("description", "string", "newest", "The template's description."),
      required("amis", "amisByRegion", "union", "Current AMIs by region, then architecture."),
      required("ports", "intArray", "newest", "Ports the environment serves."),
      required("estimated_cost_per_hour", "costByArchitecture", "newest", "USD per hour, per architecture."),
    ],
  },
  record: {
    description: "One AMI.",
    fields: [
      required("ami_id", "amiId", "identity", "The AMI id: ami- and 8 or 17 lowercase hex digits."),
      required("created", "isoDate", "latest", "When the image was created (UTC)."),
      required("validated", "boolean", "greatest", "The image passed its template's validation tests."),
      required("size_gb", "nonNegativeNumber", "greatest", "Root volume size, GiB."),
      optional("name", "string", "greatest", "The image name, cws-<template>-<version>-<arch>-<timestamp>."),
      optional("version", "string", "greatest", "The template version the image was built from."),
      optional("build_id", "string", "greatest", "The build that made it (tag cws:build-id)."),
      optional("base_ami", "string", "greatest", "The base image it was built from."),
      optional("content_hash", "string", "greatest", "Hash of what the image is made of: the template's content and its base AMI (tag cws:content-hash)."),
      optional("source_commit", "string", "greatest", "Git commit of the templates, when built from a checkout."),
      optional("validated_at", "isoDate", "latest", "When validation passed (UTC)."),
      optional(
        "copied_from",
        "copySource",
        "greatest",
        "For an image copied from another region (build-all builds once per architecture and copies): that region and the AMI copied. Absent for an image built where it is.",
      ),
    ],
  },
  entry: {
    description: "The current AMI for a region and architecture, with its history.",
    fields: [
      optional("pinned", "boolean", "winner", "Set by `cws ami rollback`: `update-registry` leaves this entry alone until the next build."),
      optional("rolled_back_at", "isoDate", "winner", "When `cws ami rollback` made this AMI current again (UTC)."),
      optional(
        "history",
        "history",
        "history",
        `Earlier AMIs for this region and architecture, newest \`created\` first (at most ${HISTORY_LIMIT}), for rollback.`,
      ),
    ],
  },
} as const satisfies RegistryFields;

/** An entry's fields in order: the record's, then its own. */
export function entryFields(fields: RegistryFields): readonly FieldSpec[] {
  return [...fields.record.fields, ...fields.entry.fields];
}
