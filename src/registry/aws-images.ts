import type { Ec2Port, ImageInfo } from "../aws/ports.js";
import type { Architecture } from "../template/schema.js";
import { COPIED_FROM_TAG, parseCopiedFromTag } from "./copied-from.js";
import type { AmiRecord } from "./schema.js";
import { isIsoTimestamp } from "./timestamps.js";

/**
 * What AWS itself says about cws images: every image cws makes carries
 * `cws:managed-by=cws`, `cws:template`, `cws:arch`, `cws:version`,
 * `cws:validated` and more, so the registry can be rebuilt (and checked)
 * from AWS alone.
 */
export const MANAGED_TAG = { "cws:managed-by": "cws" } as const;

/**
 * When an image passed its template's tests on a fresh instance (`cws ami
 * validate`, `build --verify`): the registry's `validated_at`, rebuilt from
 * AWS like every other field.
 */
export const VALIDATED_AT_TAG = "cws:validated-at";

/** Every cws image in the region (all pages), optionally of one template. */
export async function listCwsImages(ec2: Ec2Port, templateId?: string): Promise<ImageInfo[]> {
  return ec2.describeImages({
    owners: ["self"],
    tags: { ...MANAGED_TAG, ...(templateId ? { "cws:template": templateId } : {}) },
  });
}

export function isValidatedAvailable(image: ImageInfo): boolean {
  return image.state === "available" && image.tags["cws:validated"] === "true";
}

/**
 * What of the template an image was built from (`templateImageHash`), tagged on
 * every image and copy; images of an older cws lack it.
 */
export const TEMPLATE_HASH_TAG = "cws:template-hash";

/** The available, validated cws images of a template and architecture, newest first. */
export function validatedNewestFirst(images: readonly ImageInfo[], templateId: string, architecture: Architecture): ImageInfo[] {
  return images
    .filter((image) => image.tags["cws:template"] === templateId && (image.tags["cws:arch"] ?? image.architecture) === architecture && isValidatedAvailable(image))
    .sort((a, b) => b.creationDate.localeCompare(a.creationDate) || b.imageId.localeCompare(a.imageId));
}

/** The newest available, validated cws image of a template and architecture, if any. */
export function newestValidated(images: readonly ImageInfo[], templateId: string, architecture: Architecture): ImageInfo | undefined {
  return validatedNewestFirst(images, templateId, architecture)[0];
}

/** A registry record from an image's own tags and attributes. */
export function recordFromImage(image: ImageInfo): AmiRecord {
  const tag = (key: string) => image.tags[key];
  const created = normalizeDate(image.creationDate);
  const copiedFrom = parseCopiedFromTag(tag(COPIED_FROM_TAG));
  return {
    ami_id: image.imageId,
    created,
    validated: tag("cws:validated") === "true",
    size_gb: image.rootVolumeSizeGb ?? 8,
    name: image.name,
    ...(tag("cws:version") ? { version: tag("cws:version")! } : {}),
    ...(tag("cws:build-id") ? { build_id: tag("cws:build-id")! } : {}),
    ...(tag("cws:base-ami") ? { base_ami: tag("cws:base-ami")! } : {}),
    ...(tag("cws:content-hash") ? { content_hash: tag("cws:content-hash")! } : {}),
    ...(tag("cws:source-commit") ? { source_commit: tag("cws:source-commit")! } : {}),
    ...(tag("cws:validated") === "true" ? { validated_at: validatedAt(tag(VALIDATED_AT_TAG)) ?? created } : {}),
    ...(copiedFrom ? { copied_from: copiedFrom } : {}),
  };
}

/** When the image passed on a fresh instance, as its tags say (`cws:validated=true` and `cws:validated-at`), in the registry's form; undefined when they do not. */
export function taggedValidatedAt(image: ImageInfo): string | undefined {
  return image.tags["cws:validated"] === "true" ? validatedAt(image.tags[VALIDATED_AT_TAG]) : undefined;
}

/** The `cws:validated-at` tag as the registry writes times; undefined when absent or not a time (a tag edited by hand). */
function validatedAt(value: string | undefined): string | undefined {
  return value !== undefined && isIsoTimestamp(value) ? normalizeDate(value) : undefined;
}

/** EC2 dates come as 2024-06-17T08:30:00.000Z; the registry keeps whole seconds. */
export function normalizeDate(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
