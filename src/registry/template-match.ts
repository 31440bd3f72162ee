import type { ImageInfo } from "../aws/ports.js";
import { TEMPLATE_HASH_TAG } from "./aws-images.js";

/** The parent image an image was built on (the home-region one, on a copy too: a copy carries its source's tags). */
export const BASE_AMI_TAG = "cws:base-ami";

/**
 * Why an image is not one of its template as it is now (`--match-templates`):
 * - untagged  it has no `cws:template-hash` (an older cws built it): what it was built from is unknown
 * - template  its template hash is another version of the template's
 * - base      its template is built on `parent`, and the image was built on `builtOn`, which is not an image of
 *             `parent` as it is now (another version, deregistered, or itself on an outdated base); no `builtOn`:
 *             the image has no `cws:base-ami` tag
 */
export type Mismatch = { kind: "untagged" } | { kind: "template" } | { kind: "base"; parent: string; builtOn?: string };

/** Undefined when the image is one of its template as it is now, else why not. */
export type ImageMatch = (image: ImageInfo) => Mismatch | undefined;

/** What matching needs of a template: its `templateImageHash`, and the template it is built on, if any. */
export interface MatchTemplate {
  templateHash: string;
  parent?: string | undefined;
}

/**
 * Which images are of their templates as they are now, following the parent chain: an image matches when its
 * `cws:template-hash` is its template's and, for a template built on another, its `cws:base-ami` is a matching image
 * of the parent (recursively). The template hash of a child does not involve its parent, so without the chain every
 * child image would match after a parent's revert and the newest, built on the reverted parent, would win.
 *
 * `order` lists parents before their children (the dependency graph's order); `images` are the cws images of every
 * region the templates' images may be in. A parent image counts in any region: a child built in one region records
 * that region's parent image, and its copies carry the same tag. Matching is about content only: the registry (a
 * rollback's pin of the parent) plays no part, and a parent image need not be validated to count as a base (its own
 * target asks that).
 */
export function templateMatcher(templates: ReadonlyMap<string, MatchTemplate>, order: readonly string[], images: readonly ImageInfo[]): (templateId: string) => ImageMatch {
  const matching = new Map<string, ReadonlySet<string>>();
  const mismatchOf = (templateId: string, image: ImageInfo): Mismatch | undefined => {
    const template = templates.get(templateId);
    const hash = image.tags[TEMPLATE_HASH_TAG];
    if (hash === undefined) return { kind: "untagged" };
    if (template === undefined || hash !== template.templateHash) return { kind: "template" };
    if (template.parent === undefined) return undefined;
    const builtOn = image.tags[BASE_AMI_TAG];
    if (builtOn === undefined) return { kind: "base", parent: template.parent };
    return matching.get(template.parent)?.has(builtOn) ? undefined : { kind: "base", parent: template.parent, builtOn };
  };
  for (const id of order) {
    if (!templates.has(id)) continue;
    matching.set(id, new Set(images.filter((image) => image.tags["cws:template"] === id && mismatchOf(id, image) === undefined).map((image) => image.imageId)));
  }
  return (templateId) => (image) => mismatchOf(templateId, image);
}
