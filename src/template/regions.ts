import { AWS_REGIONS, isAwsRegion } from "./architectures.js";
import { didYouMean } from "./suggest.js";

// The list lives with the architectures (no imports), so the registry's quick check on `cws ami list`'s path loads no more modules.
export { AWS_REGIONS, isAwsRegion, type AwsRegion } from "./architectures.js";

/**
 * Undefined for an AWS region, else what is wrong with `value`, with the
 * nearest region for a typo: `not an AWS region (did you mean "us-east-1"?)`.
 * One rule for templates, flags, the environment and cws.config.json.
 */
export function regionProblem(value: string): string | undefined {
  return isAwsRegion(value) ? undefined : `not an AWS region${didYouMean(value, AWS_REGIONS)}`;
}
