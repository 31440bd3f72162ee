/**
 * The architectures cws builds for, and what an EC2 instance type looks like.
 * A module of its own, without zod, so that code on the fast paths (the
 * registry's field list, the project config's quick check) can use them
 * without loading the template schema.
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
