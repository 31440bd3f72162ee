import type { ImageInfo } from "../../aws/ports.js";
import { BASE_AMI_ALIASES, type Architecture, type BaseAmiAlias, type Template } from "../../template/schema.js";
import { baseImageParameter } from "../base-images.js";
import { PreflightFailure, type BuildContext, type PipelineStep } from "../context.js";

export const resolveBaseAmi: PipelineStep = {
  id: "base-ami",
  title: "Finding base AMI",
  describe: ({ request }) => ({ run: `Base AMI: ${describeBaseImageSource(request)}` }),
  async run(ctx) {
    ctx.baseImage = await findBaseImage(ctx.request, ctx);
    return `Base AMI: ${ctx.baseImage.imageId} (${ctx.baseImage.name})`;
  },
};

export interface BaseImageQuery {
  template: Pick<Template, "base_ami">;
  architecture: Architecture;
  region: string;
}

function isAlias(source: Template["base_ami"]["source"]): source is BaseAmiAlias {
  return typeof source === "string" && (BASE_AMI_ALIASES as readonly string[]).includes(source);
}

/** Where the base image will come from, before asking AWS. */
export function describeBaseImageSource(query: Omit<BaseImageQuery, "region">): string {
  const source = query.template.base_ami.source;
  if (isAlias(source)) return `${source} via SSM parameter ${baseImageParameter(source, query.architecture)}`;
  if (typeof source === "string") return source;
  return `newest ${query.architecture} image named ${source.name} owned by ${source.owners.join(", ")}`;
}

export async function findBaseImage(query: BaseImageQuery, ctx: Pick<BuildContext, "ec2" | "ssm" | "reporter">): Promise<ImageInfo> {
  const { template, architecture, region } = query;
  const source = template.base_ami.source;
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

async function describeOne(query: BaseImageQuery, ctx: Pick<BuildContext, "ec2">, imageId: string, what: string): Promise<ImageInfo> {
  const { architecture, region } = query;
  const [image] = await ctx.ec2.describeImages({ imageIds: [imageId] }).catch((error: unknown) => {
    if ((error as { code?: string }).code?.startsWith("InvalidAMIID")) return [];
    throw error;
  });
  if (!image) throw new PreflightFailure(`base image ${imageId} (${what}) does not exist in ${region}`, "AMI ids are per region; check base_ami.source");
  if (image.architecture !== architecture) {
    throw new PreflightFailure(
      `base image ${imageId} is ${image.architecture}, but this build is ${architecture}`,
      `use an ${architecture} image, or build with --architecture ${image.architecture}`,
    );
  }
  if (image.state !== "available") throw new PreflightFailure(`base image ${imageId} is ${image.state}, not available`);
  return image;
}
