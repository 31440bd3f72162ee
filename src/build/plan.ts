import type { AwsPorts, ImageInfo } from "../aws/ports.js";
import { BASE_AMI_ALIASES, type BaseAmiAlias } from "../template/schema.js";
import { baseImageParameter } from "./base-images.js";
import { imageNameFor, REMOTE_WORK_ROOT, type BuildRequest } from "./context.js";
import { imageWaitTimeoutMs } from "./steps/create-image.js";
import { findBaseImage } from "./steps/base-ami.js";
import { silentReporter } from "./reporter.js";

/** What a build would be given, minus what only a real run has (its log directory, the --on-error choice). */
export type PlanInput = Omit<BuildRequest, "onError" | "logDir"> & { registryFile: string | undefined };

export interface Plan {
  text: string;
  json: Record<string, unknown>;
}

type Describe = (error: unknown) => { message: string; suggestion?: string | undefined } | undefined;

/**
 * `--dry-run`: the whole plan, offline. With credentials it also resolves the
 * base AMI and asks EC2 whether the launch would be allowed (DryRun), creating
 * nothing.
 */
export async function dryRunPlan(input: PlanInput, aws: AwsPorts, describe: Describe): Promise<Plan> {
  const { template, architecture, region } = input;
  const source = template.base_ami.source;
  const sourceText =
    typeof source === "string"
      ? (BASE_AMI_ALIASES as readonly string[]).includes(source)
        ? `${source} via SSM parameter ${baseImageParameter(source as BaseAmiAlias, architecture)}`
        : source
      : `newest ${architecture} image named ${source.name} owned by ${source.owners.join(", ")}`;
  const volume = template.volume_size_gb ? `${template.volume_size_gb} GiB` : "the base image's size";
  const provisioning = template.build_steps
    ? template.build_steps.map((s, i) => `      ${i + 1}. ${s.name} (timeout ${s.timeout_seconds}s)`)
    : [`      setup_script: ${(template.setup_script ?? "").split("\n").length} lines (timeout ${template.setup_timeout_seconds}s)`];
  const steps = [
    `Preflight: credentials (sts:GetCallerIdentity), instance profile ${input.instanceProfile}, ${input.subnetId ? `subnet ${input.subnetId}` : "a default subnet of the default VPC"}`,
    `Base AMI: ${sourceText}`,
    "Security group cws-build-<build-id>: no inbound rules (SSM needs none)",
    `Launch ${input.instanceType}: IMDSv2 required, instance profile ${input.instanceProfile}, encrypted gp3 root volume (${volume}), tags Name, cws:build-id, cws:template=${input.templateId}, cws:managed-by=cws; another zone on InsufficientInstanceCapacity`,
    "Wait for running, then for the SSM agent to be Online",
    `Provision as root with bash through SSM (work dir ${REMOTE_WORK_ROOT}/<build-id>, logs in .cws/logs/<build-id>/):\n${provisioning.join("\n")}`,
    `Validation: ${template.validation_tests.length} test(s), all run: ${template.validation_tests.map((t) => t.name).join("; ") || "none"}`,
    "Generalize (cloud-init clean, SSH host keys and authorized_keys, machine-id, SSM registration, shell histories), stop the instance",
    `Create image ${imageNameFor(input, new Date())} (name ends with the build's UTC time), tags on image and snapshots: cws:template, cws:version=${input.version}, cws:arch, cws:build-id, cws:base-ami, cws:content-hash=${input.contentHash.slice(0, 12)}…, cws:validated=true, cws:managed-by=cws${input.sourceCommit ? `, cws:source-commit=${input.sourceCommit.slice(0, 12)}` : ""}; wait up to ${Math.round(imageWaitTimeoutMs(template.volume_size_gb ?? 8) / 60_000)} min for available`,
    "Terminate the instance and wait; delete the security group",
    input.registryFile ? `Record the AMI in ${input.registryFile}` : "Leave the registry alone (--no-registry-update)",
  ];
  const lines = [
    `Plan for ${input.templateId} ${input.version} (${architecture}, ${region}): dry run, nothing is created`,
    ...steps.map((step, i) => `${String(i + 1).padStart(2)}. ${step}`),
    "",
  ];

  const checks: { check: string; result: string }[] = [];
  let baseImage: ImageInfo | undefined;
  try {
    const identity = await aws.sts(region).callerIdentity();
    checks.push({ check: "credentials", result: `ok: ${identity.arn}` });
    const ec2 = aws.ec2(region);
    try {
      baseImage = await findBaseImage({ template, architecture, region }, { ec2, ssm: aws.ssm(region), reporter: silentReporter });
      checks.push({ check: "base AMI", result: `${baseImage.imageId} (${baseImage.name})` });
    } catch (error) {
      checks.push({ check: "base AMI", result: `not resolved: ${(error as Error).message}` });
    }
    if (baseImage) {
      const outcome = await permission(() =>
        ec2.runInstance({
          imageId: baseImage!.imageId,
          instanceType: input.instanceType,
          subnetId: input.subnetId ?? "",
          securityGroupIds: [],
          instanceProfileName: input.instanceProfile,
          rootDeviceName: baseImage!.rootDeviceName ?? "/dev/sda1",
          volumeSizeGb: template.volume_size_gb,
          tags: { "cws:managed-by": "cws" },
          clientToken: `dry-run-${Date.now()}`,
          dryRun: true,
        }),
      );
      checks.push({ check: "ec2:RunInstances (DryRun)", result: outcome });
    }
    const vpcId = await ec2.defaultVpcId().catch(() => undefined);
    if (vpcId) {
      const outcome = await permission(() => ec2.createSecurityGroup({ name: "cws-dry-run", description: "dry run", vpcId, tags: {}, dryRun: true }));
      checks.push({ check: "ec2:CreateSecurityGroup (DryRun)", result: outcome });
    }
  } catch (error) {
    const described = describe(error);
    checks.push({ check: "credentials", result: `none usable (${described?.message ?? (error as Error).message}); the plan above is offline` });
  }
  lines.push("Checks:", ...checks.map((c) => `  ${c.check}: ${c.result}`), "");
  return {
    text: lines.join("\n"),
    json: { dryRun: true, template: input.templateId, version: input.version, architecture, region, steps, checks, ...(baseImage ? { baseAmi: baseImage.imageId } : {}) },
  };
}

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
