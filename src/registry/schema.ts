import * as z from "zod";
import { ARCHITECTURES } from "../template/schema.js";

/**
 * The AMI registry (design doc §5), `registry/amis.json`. The design's fields
 * come first; the rest are extensions a user needs to trace and roll back an
 * image. Unknown fields are kept (passthrough) so an older cws does not drop
 * what a newer one wrote.
 */
export const REGISTRY_FORMAT_VERSION = "1.0";
export const HISTORY_LIMIT = 10;

const isoDate = z.string().describe("ISO 8601 UTC timestamp.");

export const amiRecordSchema = z
  .looseObject({
    ami_id: z.string().regex(/^ami-[0-9a-f]+$/).describe("The AMI id."),
    created: isoDate.describe("When the image was created (UTC)."),
    validated: z.boolean().describe("The image passed its template's validation tests."),
    size_gb: z.number().nonnegative().describe("Root volume size, GiB."),
    name: z.string().optional().describe("The image name, cws-<template>-<version>-<arch>-<timestamp>."),
    version: z.string().optional().describe("The template version the image was built from."),
    build_id: z.string().optional().describe("The build that made it (tag cws:build-id)."),
    base_ami: z.string().optional().describe("The base image it was built from."),
    content_hash: z.string().optional().describe("Hash of the normalized template it was built from."),
    source_commit: z.string().optional().describe("Git commit of the templates, when built from a checkout."),
    validated_at: isoDate.optional().describe("When validation passed."),
  })
  .describe("One AMI.");

export const amiEntrySchema = amiRecordSchema
  .extend({
    pinned: z.boolean().optional().describe("Set by `cws ami rollback`: `update-registry` leaves this entry alone until the next build."),
    rolled_back_at: isoDate.optional().describe("When `cws ami rollback` made this AMI current again."),
    history: z
      .array(amiRecordSchema)
      .max(HISTORY_LIMIT)
      .optional()
      .describe(`Earlier AMIs for this region and architecture, newest first (at most ${HISTORY_LIMIT}), for rollback.`),
  })
  .describe("The current AMI for a region and architecture, with its history.");

export const registryTemplateSchema = z
  .looseObject({
    version: z.string().describe("Template version of the newest build."),
    description: z.string().describe("The template's description."),
    amis: z
      .record(z.string(), z.partialRecord(z.enum(ARCHITECTURES), amiEntrySchema))
      .describe("Current AMIs by region, then architecture."),
    ports: z.array(z.int()).describe("Ports the environment serves."),
    estimated_cost_per_hour: z.partialRecord(z.enum(ARCHITECTURES), z.number()).describe("USD per hour, per architecture."),
  })
  .describe("One template's AMIs.");

export const registrySchema = z
  .looseObject({
    version: z.string().describe("Registry format version."),
    last_updated: isoDate.describe("When any entry last changed."),
    templates: z.record(z.string(), registryTemplateSchema).describe("Templates by id."),
  })
  .describe("The CloudWorkstation AMI registry.");

export type AmiRecord = z.infer<typeof amiRecordSchema>;
export type AmiEntry = z.infer<typeof amiEntrySchema>;
export type RegistryTemplate = z.infer<typeof registryTemplateSchema>;
export type Registry = z.infer<typeof registrySchema>;

export function emptyRegistry(now: Date): Registry {
  return { version: REGISTRY_FORMAT_VERSION, last_updated: now.toISOString().replace(/\.\d{3}Z$/, "Z"), templates: {} };
}
