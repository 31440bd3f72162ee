import type { ImageInfo } from "../../aws/ports.js";
import { resolveAmi } from "../../registry/resolve.js";
import { readRegistry } from "../../registry/store.js";
import { imageContentHash } from "../../template/content-hash.js";
import { BASE_AMI_ALIASES, type Architecture, type BaseAmiAlias, type BaseAmiSource, type Template } from "../../template/schema.js";
import { baseImageParameter } from "../base-images.js";
import { PreflightFailure, type BuildContext, type BuildRequest, type PipelineStep } from "../context.js";

/**
 * The image the build starts from, and with it the image's content hash (the
 * template's hash and the base AMI id), which the cache check, the image's tags
 * and the registry use. `registryFile`: where a template built on another finds
 * its parent's current image when the request does not name one.
 */
export function resolveBaseAmi(registryFile: string | undefined): PipelineStep {
  return {
    id: "base-ami",
    title: "Finding base AMI",
    describe: ({ request }) => ({ run: `Base AMI: ${describeBaseImageSource(request, registryFile)}; the image's content hash is the template's with the base AMI id` }),
    async run(ctx) {
      ctx.baseImage = await findBaseImage(ctx.request, ctx, registryFile);
      ctx.contentHash = imageContentHash(ctx.request.templateHash, ctx.baseImage.imageId);
      return `Base AMI: ${ctx.baseImage.imageId} (${ctx.baseImage.name})`;
    },
  };
}

export interface BaseImageQuery extends Pick<BuildRequest, "parentImage"> {
  template: Pick<Template, "base_ami">;
  architecture: Architecture;
  region: string;
}

function isAlias(source: BaseAmiSource): source is BaseAmiAlias {
  return typeof source === "string" && (BASE_AMI_ALIASES as readonly string[]).includes(source);
}

/** Where the base image will come from, before asking AWS. */
export function describeBaseImageSource(query: Omit<BaseImageQuery, "region">, registryFile?: string): string {
  const { source, template: parent } = query.template.base_ami;
  if (parent !== undefined) {
    const from = query.parentImage ? `${query.parentImage.imageId}, just built` : `its current validated image in ${registryFile ?? "the registry"}`;
    return `${parent}'s ${query.architecture} image (${from})`;
  }
  if (source === undefined) throw new Error("a template's base_ami has source or template (lint's base-image-source-or-template rule)");
  if (isAlias(source)) return `${source} via SSM parameter ${baseImageParameter(source, query.architecture)}`;
  if (typeof source === "string") return source;
  return `newest ${query.architecture} image named ${source.name} owned by ${source.owners.join(", ")}`;
}

export async function findBaseImage(query: BaseImageQuery, ctx: Pick<BuildContext, "ec2" | "ssm" | "reporter">, registryFile?: string): Promise<ImageInfo> {
  const { template, architecture, region } = query;
  const { source, template: parent } = template.base_ami;
  if (parent !== undefined) {
    const { imageId, from } = await parentImage(query, parent, registryFile, ctx.reporter.warn.bind(ctx.reporter));
    return describeOne(query, ctx, imageId, `${parent}'s image, ${from}`);
  }
  if (source === undefined) throw new Error("a template's base_ami has source or template (lint's base-image-source-or-template rule)");
  if (isAlias(source)) {
    const parameter = baseImageParameter(source, architecture);
    ctx.reporter.detail(`${source}/${architecture} → ${parameter}`);
    const imageId = await ctx.ssm.getParameter(parameter);
    if (!imageId) {
      throw new PreflightFailure(`the public parameter ${parameter} does not exist in ${region}`, `${source} may not be published for ${architecture} in ${region}; pick another base_ami.source`);
    }
    return describeOne(query, ctx, imageId, `${source} (${parameter})`);
  }
  if (typeof source === "string") return describeOne(query, ctx, source, source);

  const images = await ctx.ec2.describeImages({ owners: source.owners, namePattern: source.name, architecture, states: ["available"] });
  const newest = images.sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0];
  if (!newest) {
    throw new PreflightFailure(
      `no available ${architecture} image named ${source.name} owned by ${source.owners.join(", ")} in ${region}`,
      "check base_ami.source.name (wildcards: *) and owners",
    );
  }
  return newest;
}

/**
 * The parent template's image to build on: the one the request names (build-all
 * passes the image it has just built), else the parent's current validated
 * image in the registry (resolveAmi: an unvalidated current one is passed over
 * for the newest validated one in its history, with a warning).
 */
async function parentImage(query: BaseImageQuery, parent: string, registryFile: string | undefined, warn: (message: string) => void): Promise<{ imageId: string; from: string }> {
  const { architecture, region } = query;
  if (query.parentImage) {
    if (query.parentImage.templateId !== parent) {
      throw new Error(`the build request names ${query.parentImage.templateId}'s image, but the template builds on ${parent}`);
    }
    return { imageId: query.parentImage.imageId, from: "just built" };
  }
  const buildParent = `build it first (cws ami build ${parent} --architecture ${architecture} --region ${region}), or run cws ami build-all, which builds parents first`;
  // An invalid registry is its own error (exit 2, file:line:col); a missing one has no image in it.
  const registry = registryFile === undefined ? undefined : await readRegistry(registryFile);
  if (!registry) throw new PreflightFailure(`${parent} has no validated ${architecture} image in ${region}: ${registryFile ? `${registryFile} does not exist` : "no registry to look in"}`, buildParent);
  try {
    const resolved = await resolveAmi(parent, region, architecture, { registry, warn });
    return { imageId: resolved.amiId, from: `current in ${registryFile}` };
  } catch (error) {
    if ((error as { code?: string }).code !== "AMI_NOT_FOUND") throw error;
    throw new PreflightFailure(`${parent} has no validated ${architecture} image in ${region} (${registryFile})`, buildParent);
  }
}

async function describeOne(query: BaseImageQuery, ctx: Pick<BuildContext, "ec2">, imageId: string, what: string): Promise<ImageInfo> {
  const { architecture, region } = query;
  const [image] = await ctx.ec2.describeImages({ imageIds: [imageId] }).catch((error: unknown) => {
    if ((error as { code?: string }).code?.startsWith("InvalidAMIID")) return [];
    throw error;
  });
  const check = query.template.base_ami.template === undefined ? "check base_ami.source" : `the registry names an image that is gone: rebuild ${query.template.base_ami.template}, or roll it back (cws ami rollback)`;
  if (!image) throw new PreflightFailure(`base image ${imageId} (${what}) does not exist in ${region}`, `AMI ids are per region; ${check}`);
  if (image.architecture !== architecture) {
    throw new PreflightFailure(
      `base image ${imageId} is ${image.architecture}, but this build is ${architecture}`,
      `use an ${architecture} image, or build with --architecture ${image.architecture}`,
    );
  }
  if (image.state !== "available") throw new PreflightFailure(`base image ${imageId} is ${image.state}, not available`);
  return image;
}
