import { isAwsError, type Ec2Port, type ImageInfo } from "../../aws/ports.js";
import { COPIED_FROM_TAG, parseCopiedFromTag } from "../../registry/copied-from.js";
import { MANAGED_TAG } from "../../registry/aws-images.js";
import type { Architecture } from "../../template/architectures.js";
import { PreflightFailure, type PipelineStep } from "../context.js";

/**
 * The image `cws ami validate` launches a fresh instance from: it must exist
 * in the region, be available, of the architecture asked for, and an image
 * cws made for this template (tags `cws:managed-by=cws`, `cws:template`): cws
 * runs a template's tests on its own images only, and tags nothing else.
 */
export function imageUnderTest(imageId: string): PipelineStep {
  return {
    id: "image",
    title: "Looking up the image",
    describe: ({ request }) => ({
      run: `Image ${imageId} in ${request.region}: available, ${request.architecture}, tagged cws:managed-by=cws and cws:template=${request.templateId}`,
    }),
    async run(ctx) {
      const { region, templateId, architecture } = ctx.request;
      const image = checkImageUnderTest(await describeImage(ctx.ec2, imageId), imageId, { region, templateId, architecture });
      ctx.baseImage = image;
      const copy = parseCopiedFromTag(image.tags[COPIED_FROM_TAG]);
      return `Image ${imageId} (${image.name}${copy ? `, copied from ${copy.region}/${copy.ami_id}` : ""})`;
    },
  };
}

/** The image, or undefined when EC2 does not know the id in this region. */
export async function describeImage(ec2: Ec2Port, imageId: string): Promise<ImageInfo | undefined> {
  const [image] = await ec2.describeImages({ imageIds: [imageId] }).catch((error: unknown) => {
    if (isAwsError(error) && error.code.startsWith("InvalidAMIID")) return [];
    throw error;
  });
  return image;
}

/**
 * That `image` may be validated with `templateId`'s tests, or a PreflightFailure (exit 2) saying why not:
 * it exists in the region, cws made it for this template, it is of `architecture` (when one was asked
 * for) and available. The step checks it before anything is created; `cws ami validate --ami` before the
 * run, to take the image's architecture.
 */
export function checkImageUnderTest(
  image: ImageInfo | undefined,
  imageId: string,
  { region, templateId, architecture }: { region: string; templateId: string; architecture?: Architecture | undefined },
): ImageInfo {
  const look = `cws ami list --live --template ${templateId} compares the registry with AWS`;
  if (!image) throw new PreflightFailure(`${imageId} does not exist in ${region}`, `AMI ids are per region; ${look}`);
  const managed = image.tags["cws:managed-by"];
  const template = image.tags["cws:template"];
  if (managed !== MANAGED_TAG["cws:managed-by"] || template !== templateId) {
    throw new PreflightFailure(
      `${imageId} is not an image cws made for ${templateId} (cws:managed-by=${managed ?? "(none)"}, cws:template=${template ?? "(none)"})`,
      template !== undefined && managed === MANAGED_TAG["cws:managed-by"]
        ? `validate it with its own template: cws ami validate ${template} --ami ${imageId} --region ${region}`
        : "cws validates only the images it made, with their template's tests",
    );
  }
  if (architecture !== undefined && image.architecture !== architecture) {
    throw new PreflightFailure(`${imageId} is ${image.architecture}, not ${architecture}`, `leave --architecture out (the image's is taken), or pass --architecture ${image.architecture}`);
  }
  if (image.state !== "available") throw new PreflightFailure(`${imageId} is ${image.state}, not available`, `wait until it is available; ${look}`);
  return image;
}
