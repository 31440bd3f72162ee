import { CwsError } from "../../errors.js";
import { VALIDATED_AT_TAG } from "../../registry/aws-images.js";
import type { RegistryLockOptions } from "../../registry/lock.js";
import { markValidated } from "../../registry/operations.js";
import { isoSeconds, updateRegistryFile } from "../../registry/store.js";
import { BuildFailure, type PipelineStep } from "../context.js";
import { tagImageAndSnapshots } from "../image-lifecycle.js";

/**
 * After the image passed on a fresh instance (`cws ami validate`): tag it and
 * its snapshots `cws:validated=true` and `cws:validated-at=<time>`, and mark
 * its record validated in the registry, in its template's entry for the
 * region and architecture, whether it is the current AMI or one in the
 * entry's history. Which AMI is current does not change.
 */
export function recordValidation(registryFile: string | undefined, lock: RegistryLockOptions = {}): PipelineStep {
  return {
    id: "record-validation",
    title: "Recording the validation",
    describe: ({ request }) => ({
      run: `Tag the image and its snapshots cws:validated=true and ${VALIDATED_AT_TAG}=<time>${
        registryFile ? `; mark it validated (validated_at) in ${registryFile}, in the entry of ${request.templateId}.${request.region}.${request.architecture}, current or in its history` : ""
      }`,
    }),
    async run(ctx) {
      const image = ctx.baseImage;
      if (!image) throw new Error("recording a validation needs the image (the image step sets it)");
      const { templateId, region, architecture } = ctx.request;
      const where = `${templateId}.${region}.${architecture}`;
      const at = isoSeconds(new Date());
      await tagImageAndSnapshots(ctx.ec2, image, { "cws:validated": "true", [VALIDATED_AT_TAG]: at });
      ctx.validatedAt = at;
      const tagged = `${image.imageId} tagged ${VALIDATED_AT_TAG}=${at}`;
      if (!registryFile) return `Validated: ${tagged}`;
      let found: "current" | "history" | undefined;
      try {
        await updateRegistryFile(
          registryFile,
          new Date(),
          (registry) => {
            found = markValidated(registry, templateId, region, architecture, image.imageId, at);
          },
          { ...lock, onWait: (message) => ctx.reporter.detail(message) },
        );
      } catch (error) {
        if (!(error instanceof CwsError)) throw error;
        throw new BuildFailure(`${image.imageId} passed and is ${tagged.slice(image.imageId.length + 1)}, but marking it validated in ${registryFile} failed: ${error.message}`, error.suggestion);
      }
      ctx.registryRecord = found ?? "none";
      if (!found) return `Validated: ${tagged}; ${registryFile} has no record of it in ${where}, so nothing was marked there`;
      ctx.recordedIn = registryFile;
      return `Validated: ${tagged}; marked validated in ${registryFile} (${where}, ${found === "current" ? "its current AMI" : "in its history"})`;
    },
  };
}
