/**
 * The architectures cws builds for, and what an EC2 instance type looks like.
 * A module of its own, without zod, so that code on the fast paths (the
 * registry's field list, the project config's quick check) can use them
 * without loading the template schema.
 */
export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** An EC2 instance type such as t3.medium (templates, cws.config.json, --instance-type). */
export const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
