/**
 * The architectures cws builds for. A module of its own, without zod, so that
 * code on `cws ami list`'s fast path (the registry's field list) can use it
 * without loading the template schema.
 */
export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
