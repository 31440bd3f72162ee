/**
 * The architectures cws builds for, and what an EC2 instance type and an AMI
 * id look like. A module of its own, without zod, so that code on the fast
 * paths (the registry's field list and quick check, the project config's
 * quick check) can use them without loading the template schema.
 */
export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * Other names people give the two architectures (Debian's and Go's amd64,
 * Linux's aarch64, ...), so that a suggestion names the architecture meant
 * rather than the nearest spelling: `amd64` is one edit from `arm64`.
 */
export const ARCHITECTURE_SYNONYMS: Readonly<Record<string, Architecture>> = {
  amd64: "x86_64",
  x64: "x86_64",
  "x86-64": "x86_64",
  x86: "x86_64",
  intel: "x86_64",
  aarch64: "arm64",
  arm: "arm64",
  armv8: "arm64",
  graviton: "arm64",
};

/** An EC2 instance type such as t3.medium (templates, cws.config.json, --instance-type). */
export const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/**
 * What an AMI id is, once for every place that takes one: a template's
 * `base_ami.source` and `amis:` block, every AMI in the registry (its schema
 * and `cws ami list`'s quick check), and flags such as `rollback --to`. EC2
 * ids are `ami-` and 8 hex digits (before 2016) or 17 (since), in lower case.
 */
export const AMI_ID_PATTERN = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export const AMI_ID_EXAMPLE = "ami-0abcd1234ef567890";

/** The message for a value that is not an AMI id, for the schemas and flags alike. */
export const AMI_ID_RULE = `expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ${AMI_ID_EXAMPLE}`;

export function isAmiId(value: unknown): value is string {
  return typeof value === "string" && AMI_ID_PATTERN.test(value);
}
