import type { Ec2Port, ImageInfo } from "../aws/ports.js";
import { describeAge, describeLimit } from "../duration.js";
import { MANAGED_TAG } from "../registry/aws-images.js";
import type { Architecture } from "../template/architectures.js";

/**
 * The build cache: an image need not be built again when one with the same
 * content already exists. Images name their content with the
 * `cws:content-hash` tag (the template's content hash and the base AMI id,
 * imageContentHash), which image names cannot do (Packer declined
 * skip-if-exists for that reason), so the question is one DescribeImages call
 * with tag filters in the build region.
 */
export interface CacheQuery {
  templateId: string;
  architecture: Architecture;
  contentHash: string;
  /** An image older than this is not reused (--max-age: the weekly security rebuild). */
  maxAgeMs?: number | undefined;
  /**
   * Only an image of this build (`cws:build-id`): in another region, a copy of
   * the very image found up to date at home (build-all with --max-age, where a
   * copy's own creation date says when it was copied, not when it was built).
   */
  buildId?: string | undefined;
  now: Date;
}

export interface CacheLookup {
  /** An image may be reused: `image` exists and is not too old. */
  upToDate: boolean;
  /** The newest available, validated image with this content, if any (also when it is too old). */
  image?: ImageInfo;
  /** In words: "ami-… (built 2026-11-20T08:30:00Z)", "no image of this content (9f2c…) in us-east-1", "ami-… is 9 days old, more than the 7 days --max-age allows". */
  reason: string;
}

/** The tags an image reused for a build must carry: made by cws for this template and architecture, of this content, validated. */
export function cacheTags(query: Pick<CacheQuery, "templateId" | "architecture" | "contentHash" | "buildId">): Record<string, string> {
  return {
    ...MANAGED_TAG,
    "cws:template": query.templateId,
    "cws:arch": query.architecture,
    "cws:content-hash": query.contentHash,
    "cws:validated": "true",
    ...(query.buildId === undefined ? {} : { "cws:build-id": query.buildId }),
  };
}

/**
 * The newest available image of this account in `ec2`'s region tagged as
 * `cacheTags` says (every page), and whether it may be reused. Read-only:
 * `--dry-run` asks it too.
 */
export async function findUpToDateImage(ec2: Ec2Port, query: CacheQuery): Promise<CacheLookup> {
  const images = await ec2.describeImages({ owners: ["self"], states: ["available"], tags: cacheTags(query) });
  const image = images.sort((a, b) => b.creationDate.localeCompare(a.creationDate) || b.imageId.localeCompare(a.imageId))[0];
  if (!image) return { upToDate: false, reason: `no image of this content (${query.contentHash.slice(0, 12)}…) in ${ec2.region}` };
  const created = Date.parse(image.creationDate);
  const age = query.now.getTime() - created;
  if (query.maxAgeMs !== undefined && !(age <= query.maxAgeMs)) {
    const old = Number.isNaN(age) ? "of unknown age" : `${describeAge(age)} old`;
    return { upToDate: false, image, reason: `${image.imageId} is ${old}, more than the ${describeLimit(query.maxAgeMs)} --max-age allows` };
  }
  return { upToDate: true, image, reason: `${image.imageId} (built ${image.creationDate})` };
}
