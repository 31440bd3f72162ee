/**
 * The registry's fields (design doc §5, `registry/amis.json`), listed once.
 * Everything that knows the registry's shape is derived from this list:
 *
 * - the zod schema (`registrySchemasOf` in schema.ts), and through it the JSON Schema in schemas/;
 * - the order `serializeRegistry` writes fields in (`registrySerializerOf` in store.ts);
 * - the quick check `cws ami list` runs instead of zod (`compileQuickCheck` in quick-check.ts).
 *
 * A level's fields are written in the order listed here (the design's fields
 * first, then the extensions a user needs to trace and roll back an image);
 * fields the list does not know are kept and written after them. Nothing here
 * imports zod: `cws ami list` reads this list on its fast path.
 */

export const HISTORY_LIMIT = 10;

/** What an AMI id in the registry looks like (looser than a template's pinned AMI: any length of hex). */
export const REGISTRY_AMI_ID = /^ami-[0-9a-f]+$/;

/**
 * What a field holds. Each derivation implements every kind (a table keyed by
 * kind, so the compiler names a kind one of them misses).
 */
export type FieldKind =
  /** Any string. */
  | "string"
  /** An ISO 8601 UTC timestamp; checked as a string, so an older file with another format still reads. */
  | "isoDate"
  | "boolean"
  /** `ami-` and hex digits (`REGISTRY_AMI_ID`). */
  | "amiId"
  /** A finite number, 0 or more. */
  | "nonNegativeNumber"
  /** A list of (safe) integers. */
  | "intArray"
  /** A number per architecture, for some of the architectures. */
  | "costByArchitecture"
  /** Template id → template (the `template` level). */
  | "templates"
  /** Region → architecture → the current AMI (the `entry` level). */
  | "amisByRegion"
  /** Earlier AMIs (the `record` level), newest first, at most `HISTORY_LIMIT`. */
  | "history";

/** The kinds that hold another level of the registry. */
export type LevelKind = Extract<FieldKind, "templates" | "amisByRegion" | "history">;

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
  /** The JSON Schema's description of the field (editors show it). */
  readonly description: string;
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

export const required = <const N extends string, const K extends FieldKind>(name: N, kind: K, description: string) =>
  ({ name, kind, required: true, description }) as const;
export const optional = <const N extends string, const K extends FieldKind>(name: N, kind: K, description: string) =>
  ({ name, kind, required: false, description }) as const;

export const REGISTRY_FIELDS = {
  root: {
    description: "The CloudWorkstation AMI registry.",
    fields: [
      required("version", "string", "Registry format version."),
      required("last_updated", "isoDate", "When any entry last changed."),
      required("templates", "templates", "Templates by id."),
    ],
  },
  template: {
    description: "One template's AMIs.",
    fields: [
      required("version", "string", "Template version of the newest build."),
      required("description", "string", "The template's description."),
      required("amis", "amisByRegion", "Current AMIs by region, then architecture."),
      required("ports", "intArray", "Ports the environment serves."),
      required("estimated_cost_per_hour", "costByArchitecture", "USD per hour, per architecture."),
    ],
  },
  record: {
    description: "One AMI.",
    fields: [
      required("ami_id", "amiId", "The AMI id."),
      required("created", "isoDate", "When the image was created (UTC)."),
      required("validated", "boolean", "The image passed its template's validation tests."),
      required("size_gb", "nonNegativeNumber", "Root volume size, GiB."),
      optional("name", "string", "The image name, cws-<template>-<version>-<arch>-<timestamp>."),
      optional("version", "string", "The template version the image was built from."),
      optional("build_id", "string", "The build that made it (tag cws:build-id)."),
      optional("base_ami", "string", "The base image it was built from."),
      optional("content_hash", "string", "Hash of what the image is made of: the template's content and its base AMI (tag cws:content-hash)."),
      optional("source_commit", "string", "Git commit of the templates, when built from a checkout."),
      optional("validated_at", "isoDate", "When validation passed."),
    ],
  },
  entry: {
    description: "The current AMI for a region and architecture, with its history.",
    fields: [
      optional("pinned", "boolean", "Set by `cws ami rollback`: `update-registry` leaves this entry alone until the next build."),
      optional("rolled_back_at", "isoDate", "When `cws ami rollback` made this AMI current again."),
      optional("history", "history", `Earlier AMIs for this region and architecture, newest first (at most ${HISTORY_LIMIT}), for rollback.`),
    ],
  },
} as const satisfies RegistryFields;

/** An entry's fields in order: the record's, then its own. */
export function entryFields(fields: RegistryFields): readonly FieldSpec[] {
  return [...fields.record.fields, ...fields.entry.fields];
}
