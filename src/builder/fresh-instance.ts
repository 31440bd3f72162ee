import { join } from "node:path";
import type { ImageInfo } from "../aws/ports.js";
import type { BuildContext, PipelineStep } from "./context.js";
import { localLogs } from "./local-logs.js";
import { launchInstance } from "./steps/launch.js";
import { validate } from "./steps/validate.js";
import { waitReady } from "./steps/wait-ready.js";

/**
 * What proves an image: a fresh instance launched from it with a build's
 * safety (IMDSv2 required, the builder's instance profile, a security group
 * with no inbound rules, cws's tags with `cws:purpose=validate`), its SSM agent
 * online, and the template's validation tests run on it. The launch's cleanup
 * terminates it. What lived only in the build instance's memory, /tmp or /run
 * is not there; what the image enables at boot is. `cws ami validate` runs
 * these after a preflight and a security group of its own
 * (`validationSteps`, build.ts); `build --verify` runs them on the new image,
 * in the build's security group (steps/verify.ts).
 */
export const freshInstanceSteps: readonly PipelineStep[] = [launchInstance, waitReady, validate];

/**
 * A run of the fresh-instance steps inside a build: the build's request, id,
 * clients, network and security group, the image to launch, and an instance
 * and logs (`<log dir>/verify/`) of its own. What it removes or keeps is told
 * in the build's lines.
 */
export async function freshInstanceContext(build: BuildContext, image: ImageInfo): Promise<BuildContext> {
  const { request, buildId, startedAt, ec2, ssm, sts, iam, aws, reporter, poll, identity, subnets, securityGroupId, cleaned, kept } = build;
  return {
    request,
    buildId,
    startedAt,
    purpose: "validate",
    ec2,
    ssm,
    sts,
    iam,
    aws,
    reporter,
    poll,
    ...(await localLogs(join(request.logDir, "verify"))),
    ...(identity ? { identity } : {}),
    ...(subnets ? { subnets } : {}),
    ...(securityGroupId ? { securityGroupId } : {}),
    baseImage: image,
    cleaned,
    kept,
  };
}
