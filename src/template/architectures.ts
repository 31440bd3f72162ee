/**
 * The architectures cws builds for, the regions it builds in, and what an EC2
 * instance type and an AMI id look like. A module of its own, without zod, so that code on the fast
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

/**
 * AWS regions a template may name. A static list rather than a DescribeRegions
 * call: linting must work offline and before anything touches AWS. Opt-in
 * regions are included; a region that is not enabled in the account is caught
 * by the build's preflight instead.
 */
export const AWS_REGIONS = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "cn-north-1",
  "cn-northwest-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-gov-east-1",
  "us-gov-west-1",
  "us-west-1",
  "us-west-2",
] as const;

export type AwsRegion = (typeof AWS_REGIONS)[number];

const regionSet: ReadonlySet<string> = new Set(AWS_REGIONS);

export function isAwsRegion(value: string): value is AwsRegion {
  return regionSet.has(value);
}
