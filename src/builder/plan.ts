import { imageLaunch, type ImageLaunch } from "../aws/iam-policy-facts.js";
import type { AwsPorts, ImageInfo } from "../aws/ports.js";
import { buildCost, describeBuildCost, describeStorageCost, EXPECTED_BUILD_SECONDS, EXPECTED_VERIFY_SECONDS, snapshotMonthlyCost } from "../fleet/cost.js";
import { describePrices, SHIPPED_PRICES, type PriceTable } from "../fleet/prices.js";
import { buildSteps, type PipelineOptions } from "./build.js";
import { PLANNED_BUILD_ID, requestFor, rootVolumeSizeGb, type BuildInput, type PipelineStep, type PlannedBuild } from "./context.js";
import { silentReporter } from "./reporter.js";
import { cleanupOrder } from "./runner.js";
import { findBaseImage } from "./steps/base-ami.js";
import { findUpToDateImage } from "./cache.js";
import { imageContentHash } from "../template/content-hash.js";

export interface Plan {
  text: string;
  json: Record<string, unknown>;
}

/** One line of the plan: a step, by the id the runner knows it by, and what it will do. */
export interface PlannedStep {
  id: string;
  does: string;
}

type Describe = (error: unknown) => { message: string; suggestion?: string | undefined } | undefined;

/** The steps describing themselves: what each run will do, in order, then the cleanups in the order the runner unwinds them. */
export function describePipeline(steps: readonly PipelineStep[], build: PlannedBuild): { run: PlannedStep[]; cleanup: PlannedStep[] } {
  return {
    run: steps.map((step) => ({ id: step.id, does: step.describe(build).run })),
    cleanup: cleanupOrder(steps).map((step) => ({ id: step.id, does: step.describe(build).cleanup ?? step.title })),
  };
}

/**
 * `--dry-run`: the whole plan, offline: the very step list `runBuild` would
 * run, each step describing itself, and what it would cost. With credentials
 * it also resolves the base AMI, looks for an image of the same content (would
 * the build stop at its cache check?) and asks EC2 whether the launch would be
 * allowed (DryRun), creating nothing.
 */
export async function dryRunPlan(
  input: BuildInput,
  options: PipelineOptions,
  aws: AwsPorts,
  describe: Describe,
  { now = new Date(), prices = SHIPPED_PRICES }: { now?: Date; prices?: PriceTable } = {},
): Promise<Plan> {
  const request = requestFor(input, PLANNED_BUILD_ID);
  const { template, architecture, region } = request;
  const steps = describePipeline(buildSteps(options), { request, buildId: PLANNED_BUILD_ID, startedAt: now });
  const lines = [
    `Plan for ${request.templateId} ${request.version} (${architecture}, ${region}): dry run, nothing is created`,
    ...steps.run.map((step, i) => `${String(i + 1).padStart(2)}. ${step.does}`),
    "Cleanup, in reverse order, after success, failure or Ctrl-C:",
    ...steps.cleanup.map((step) => `    - ${step.does}`),
    "",
  ];

  const checks: { check: string; result: string }[] = [];
  let baseImage: ImageInfo | undefined;
  let launch: ImageLaunch | undefined;
  let contentHash: string | undefined;
  let upToDate: string | undefined;
  try {
    const identity = await aws.sts(region).callerIdentity();
    checks.push({ check: "credentials", result: `ok: ${identity.arn}` });
    const ec2 = aws.ec2(region);
    try {
      baseImage = await findBaseImage(request, { ec2, ssm: aws.ssm(region), reporter: silentReporter }, options.parentRegistryFile ?? options.registryFile);
      checks.push({ check: "base AMI", result: `${baseImage.imageId} (${baseImage.name})` });
      launch = imageLaunch(baseImage);
      checks.push({ check: "launch from the base image", result: describeImageLaunch(baseImage.imageId, launch) });
    } catch (error) {
      checks.push({ check: "base AMI", result: `not resolved: ${(error as Error).message}` });
    }
    if (baseImage) {
      contentHash = imageContentHash(request.templateHash, baseImage.imageId);
      if (options.force) {
        checks.push({ check: "up to date", result: "not looked for (--force)" });
      } else {
        try {
          const found = await findUpToDateImage(ec2, { templateId: request.templateId, architecture, contentHash, maxAgeMs: options.maxAgeMs, now });
          if (found.upToDate) upToDate = found.image?.imageId;
          checks.push({ check: "up to date", result: found.upToDate ? `yes: ${found.reason}; the build would stop there and launch nothing` : `no: ${found.reason}; the build would launch` });
        } catch (error) {
          checks.push({ check: "up to date", result: `not checked (${describe(error)?.message ?? (error as Error).message})` });
        }
      }
    }
    const vpcId = await ec2.defaultVpcId().catch(() => undefined);
    // The policy lets a build launch only into security groups tagged cws:managed-by=cws, and a
    // build creates its own first. A dry run creates nothing, so it borrows an existing cws group
    // of this VPC if there is one. Without one it does not ask: EC2 would judge a launch naming no
    // group with the VPC's default group, which docs/iam/cws-cli-policy.json denies by design, so a
    // holder of the policy would only be told "denied" (and account alarms on unauthorized API
    // calls would count it) about a launch the build never makes (docs/decisions.md §50).
    const cwsGroup = await ec2
      .describeSecurityGroups({ tags: { "cws:managed-by": "cws" } })
      .then((groups) => groups.find((group) => vpcId === undefined || group.vpcId === vpcId))
      .catch(() => undefined);
    if (baseImage && cwsGroup) {
      const outcome = await permission(() =>
        ec2.runInstance({
          imageId: baseImage!.imageId,
          instanceType: request.instanceType,
          subnetId: request.subnetId ?? "",
          securityGroupIds: [cwsGroup.groupId],
          instanceProfileName: request.instanceProfile,
          rootDeviceName: baseImage!.rootDeviceName ?? "/dev/sda1",
          volumeSizeGb: template.volume_size_gb,
          tags: DRY_RUN_TAGS,
          clientToken: `dry-run-${Date.now()}`,
          dryRun: true,
        }),
      );
      checks.push({ check: `ec2:RunInstances (DryRun, into ${cwsGroup.groupId})`, result: outcome });
    } else if (baseImage) {
      const where = vpcId ?? "the default VPC";
      checks.push({
        check: "ec2:RunInstances (DryRun)",
        result: `not checked: no security group tagged cws:managed-by=cws in ${where} to try the launch with (a build makes its own first; a launch naming none is judged with the VPC's default group, which the policy denies)`,
      });
    }
    if (vpcId) {
      const outcome = await permission(() => ec2.createSecurityGroup({ name: "cws-dry-run", description: "dry run", vpcId, tags: DRY_RUN_TAGS, dryRun: true }));
      checks.push({ check: "ec2:CreateSecurityGroup (DryRun)", result: outcome });
    }
  } catch (error) {
    const described = describe(error);
    checks.push({ check: "credentials", result: `none usable (${described?.message ?? (error as Error).message}); the plan above is offline` });
  }
  lines.push("Checks:", ...checks.map((c) => `  ${c.check}: ${c.result}`), "");
  const estimate = estimateBuild(request, baseImage, prices, options.verify === true);
  lines.push(...estimate.text, "");
  return {
    text: lines.join("\n"),
    json: {
      dryRun: true,
      template: request.templateId,
      version: request.version,
      architecture,
      region,
      steps: steps.run,
      cleanup: steps.cleanup,
      checks,
      ...(baseImage ? { baseAmi: baseImage.imageId } : {}),
      ...(baseImage && launch ? { baseAmiOwner: { id: baseImage.ownerId, ...(baseImage.ownerAlias ? { alias: baseImage.ownerAlias } : {}), launchAllowedBy: launch.allowed ? launch.statement : null } } : {}),
      ...(contentHash ? { contentHash } : {}),
      ...(upToDate ? { upToDate } : {}),
      estimatedCost: estimate.json,
    },
  };
}

/**
 * What the build would cost: the instance and its volume for a typical build
 * (EXPECTED_BUILD_SECONDS: a template says nothing of how long it takes), with
 * --verify a fresh instance of the same type for a typical verification
 * (EXPECTED_VERIFY_SECONDS), and the image's snapshots per month, at most. The
 * volume is the template's, else the base image's when it was resolved, else
 * the default a base image has.
 */
function estimateBuild(
  request: Pick<BuildInput, "region" | "instanceType" | "template">,
  baseImage: ImageInfo | undefined,
  prices: PriceTable,
  verify: boolean,
): { text: string[]; json: Record<string, unknown> } {
  const { region, instanceType, template } = request;
  const volumeGb = rootVolumeSizeGb(template, baseImage);
  const volumeFrom = template.volume_size_gb !== undefined ? "template" : baseImage?.rootVolumeSizeGb !== undefined ? "base image" : "assumed";
  const build = buildCost({ region, instanceType, seconds: EXPECTED_BUILD_SECONDS, volumeGb, ...(verify ? { freshSeconds: EXPECTED_VERIFY_SECONDS } : {}) }, prices);
  const snapshots = snapshotMonthlyCost({ region, sizeGb: volumeGb }, prices);
  const assumed = `a ${EXPECTED_BUILD_SECONDS / 60}-minute build${verify ? ` and a ${EXPECTED_VERIFY_SECONDS / 60}-minute fresh instance to verify it` : ""}`;
  return {
    text: [
      `Estimated cost (${describePrices(prices)}; on-demand estimates):`,
      `  build: ${describeBuildCost(build)}, for ${assumed}`,
      `  image: ${describeStorageCost(snapshots)}`,
      ...(volumeFrom === "assumed" ? [`  (the base image's size is not known offline: ${volumeGb} GiB assumed; volume_size_gb in the template sets it)`] : []),
    ],
    json: {
      build,
      snapshotsPerMonth: snapshots,
      assumedSeconds: EXPECTED_BUILD_SECONDS,
      assumedVerifySeconds: verify ? EXPECTED_VERIFY_SECONDS : null,
      volumeGbFrom: volumeFrom,
      prices: describePrices(prices),
    },
  };
}

/**
 * The image check's result: RunInstances is authorized against the image too,
 * so a base image the policy does not cover fails the build at launch, after
 * its preflight; said here, with the one edit that fixes it.
 */
function describeImageLaunch(imageId: string, launch: ImageLaunch): string {
  if (!launch.allowed) {
    return `warning: ${imageId} is owned by ${launch.owner}, which docs/iam/cws-cli-policy.json does not list (LaunchFromDistributionImages); a holder of that policy will be denied at launch: add the owner there (docs/iam/README.md, "Other distributions")`;
  }
  return launch.statement === "LaunchFromCwsImages" ? "ok: a cws image (LaunchFromCwsImages)" : `ok: owned by ${launch.distribution} (${launch.owner})`;
}

/** The tag keys the policy requires on whatever a build creates (docs/iam/cws-cli-policy.json), so a dry run is judged as the build would be. */
const DRY_RUN_TAGS = { "cws:managed-by": "cws", "cws:build-id": "dry-run" } as const;

async function permission(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "allowed";
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "DryRunOperation") return "allowed";
    if (code === "UnauthorizedOperation") return "DENIED: see docs/iam/cws-cli-policy.json";
    return `not checked (${code ?? (error as Error).message})`;
  }
}
