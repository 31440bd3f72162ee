import { CwsError, EXIT } from "../../errors.js";
import { VALIDATED_AT_TAG } from "../../registry/aws-images.js";
import type { RegistryLockOptions } from "../../registry/lock.js";
import { markValidated } from "../../registry/operations.js";
import { isoSeconds, updateRegistryFile } from "../../registry/store.js";
import type { PipelineStep } from "../context.js";
import { tagImageAndSnapshots } from "../image-lifecycle.js";

/** Where `cws ami validate` records a verdict besides the image's tags. */
export interface ValidationRecordOptions {
  /** The registry to mark the image validated in; undefined: tag the image only. */
  registryFile: string | undefined;
  /** The registry file validate was pointed at when it does not exist (--ami before any build, a mistyped --registry): nothing is marked there, and the result says so. */
  missingRegistry?: string | undefined;
  registryLock?: RegistryLockOptions | undefined;
}

/**
 * After the image passed on a fresh instance (`cws ami validate`): tag it and
 * its snapshots `cws:validated=true` and `cws:validated-at=<time>`, and mark
 * its record validated in the registry, in its template's entry for the
 * region and architecture, whether it is the current AMI or one in the
 * entry's history. Which AMI is current does not change.
 */
export function recordValidation({ registryFile, missingRegistry, registryLock = {} }: ValidationRecordOptions): PipelineStep {
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
      if (!registryFile) {
        if (missingRegistry === undefined) return `Validated: ${tagged}`;
        ctx.registryRecord = "no-registry";
        return `Validated: ${tagged}; ${missingRegistry} does not exist, so nothing was marked there`;
      }
      let found: "current" | "history" | undefined;
      try {
        await updateRegistryFile(
          registryFile,
          new Date(),
          (registry) => {
            found = markValidated(registry, templateId, region, architecture, image.imageId, at);
          },
          { ...registryLock, onWait: (message) => ctx.reporter.detail(message) },
        );
      } catch (error) {
        if (!(error instanceof CwsError)) throw error;
        // The verdict is on the image already: say exactly that, and how the registry gets it once it can be written
        // (update-registry takes validated_at from the tag). A registry cws cannot use is the user's to fix: exit 2.
        ctx.registryRecord = "failed";
        const record = `cws ami update-registry ${templateId} --region ${region} --architecture ${architecture} --registry ${registryFile}`;
        throw new CwsError(
          error.code,
          `${image.imageId} passed on a fresh instance and is tagged cws:validated=true, ${VALIDATED_AT_TAG}=${at} (image and snapshots), but ${registryFile} was not marked: ${error.message}`,
          {
            value: error.value ?? registryFile,
            suggestion: `${error.suggestion ? `${error.suggestion}; then` : "fix that, then"} record the verdict in the registry with ${record} (it takes validated_at from the image's ${VALIDATED_AT_TAG} tag)`,
            exitCode: EXIT.usage,
          },
        );
      }
      ctx.registryRecord = found ?? "none";
      if (!found) return `Validated: ${tagged}; ${registryFile} has no record of it in ${where}, so nothing was marked there`;
      ctx.recordedIn = registryFile;
      return `Validated: ${tagged}; marked validated in ${registryFile} (${where}, ${found === "current" ? "its current AMI" : "in its history"})`;
    },
  };
}
