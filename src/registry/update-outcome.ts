import type { ImageInfo } from "../aws/ports.js";
import type { Architecture } from "../template/architectures.js";
import { validatedNewestFirst } from "./aws-images.js";
import { isPinned } from "./operations.js";
import type { AmiEntry } from "./schema.js";
import type { ImageMatch, Mismatch } from "./template-match.js";

/**
 * What `update-registry` does for one target (template, region, architecture),
 * decided from the region's cws images and the registry's entry alone:
 * - missing    AWS has no available, validated image of it
 * - unmatched  (--match-templates) it has some, but none built from the template as it is now (on its parent's image as
 *              it is now, up the chain); `newest` is the newest of them, `why` why it does not match
 * - pinned     a rollback pinned the entry to another AMI, and --unpin was not given
 * - current    the entry already names the image
 * - record     the image to record
 */
export type UpdateOutcome =
  | { kind: "missing" }
  | { kind: "unmatched"; newest: ImageInfo; why: Mismatch }
  | { kind: "pinned"; pinnedTo: string; image: ImageInfo }
  | { kind: "current"; image: ImageInfo }
  | { kind: "record"; image: ImageInfo };

export interface UpdateChoice {
  templateId: string;
  architecture: Architecture;
  /** Replace a rollback's pin too. */
  unpin?: boolean;
  /**
   * --match-templates: only images this finds matching count (`templateMatcher`: the
   * current template's `templateImageHash` in `cws:template-hash`, and a base image
   * that is a matching image of the parent template, up the chain). An image
   * without the tag (built by an older cws) never matches: what it was built from is unknown.
   */
  match?: ImageMatch;
}

export function updateOutcome(images: readonly ImageInfo[], entry: AmiEntry | undefined, choice: UpdateChoice): UpdateOutcome {
  const validated = validatedNewestFirst(images, choice.templateId, choice.architecture);
  const { match } = choice;
  const image = match === undefined ? validated[0] : validated.find((candidate) => match(candidate) === undefined);
  if (!image) return validated[0] && match ? { kind: "unmatched", newest: validated[0], why: match(validated[0])! } : { kind: "missing" };
  if (isPinned(entry) && !choice.unpin && entry!.ami_id !== image.imageId) return { kind: "pinned", pinnedTo: entry!.ami_id, image };
  if (entry?.ami_id === image.imageId && !(isPinned(entry) && choice.unpin)) return { kind: "current", image };
  return { kind: "record", image };
}
