import { didYouMean } from "./suggest.js";

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

/**
 * Undefined for an AWS region, else what is wrong with `value`, with the
 * nearest region for a typo: `not an AWS region (did you mean "us-east-1"?)`.
 * One rule for templates, flags, the environment and cws.config.json.
 */
export function regionProblem(value: string): string | undefined {
  return isAwsRegion(value) ? undefined : `not an AWS region${didYouMean(value, AWS_REGIONS)}`;
}
