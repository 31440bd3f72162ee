/**
 * Registers aws-sdk-client-mock-vitest's matchers (toHaveReceivedCommandWith
 * and friends) for the test files that import this module.
 */
import { allCustomMatcher, type BaseMatcher } from "aws-sdk-client-mock-vitest";
import { expect } from "vitest";

expect.extend(allCustomMatcher);

declare module "vitest" {
  // The type parameter must match vitest's own declaration to merge with it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends BaseMatcher<T> {}
}
