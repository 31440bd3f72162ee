import { describeLimit } from "../../duration.js";
import { findUpToDateImage } from "../cache.js";
import type { PipelineStep } from "../context.js";

export interface CachePolicy {
  /** An image older than this when the build starts is built again (--max-age). */
  maxAgeMs?: number | undefined;
}

/**
 * The cache check, right after the base AMI (which completes the content
 * hash): when an available, validated image of the same content exists in the
 * build region, the build stops here, successfully. Nothing is launched; the
 * steps that finish every build (the registry, SSM) still run, with that image.
 * `--force` leaves this step out.
 */
export function checkUpToDate(policy: CachePolicy = {}): PipelineStep {
  const age = policy.maxAgeMs === undefined ? "" : ` and at most ${describeLimit(policy.maxAgeMs)} old (--max-age)`;
  return {
    id: "up-to-date",
    title: "Looking for an image of the same content",
    describe: ({ request }) => ({
      run: `Up to date? An available image in ${request.region} tagged cws:managed-by=cws, cws:template=${request.templateId}, cws:arch=${request.architecture}, cws:validated=true and cws:content-hash=<content-hash>${age}: if there is one, stop here (nothing is launched; only the steps that record the image run, with that image); --force builds anyway`,
    }),
    async run(ctx) {
      const { request } = ctx;
      if (!ctx.contentHash) throw new Error("the cache check needs the content hash, which the base AMI step sets");
      const found = await findUpToDateImage(ctx.ec2, {
        templateId: request.templateId,
        architecture: request.architecture,
        contentHash: ctx.contentHash,
        maxAgeMs: policy.maxAgeMs,
        now: ctx.startedAt,
      });
      if (!found.upToDate || !found.image) return found.image ? `Building again: ${found.reason}` : "No image of this content yet: building";
      ctx.upToDate = found.image;
      return { message: `Up to date: ${found.reason}; nothing to build (--force builds anyway)`, stop: "up-to-date" };
    },
  };
}
