import { execFile } from "node:child_process";
import { Chalk } from "chalk";
import * as z from "zod";
import type { AwsPorts } from "../aws/ports.js";
import { readSharedConfig } from "../aws/shared-config.js";
import type { PipelineOptions } from "../builder/build.js";
import type { BuildContext, BuildInput, BuildRequest } from "../builder/context.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, describeRegionSource, resolveAwsContext, type AwsContext } from "../config/aws-context.js";
import { INSTANCE_PROFILE_PATTERN, ON_ERROR_MODES, SUBNET_PATTERN } from "../config/fields.js";
import { projectAwsConfig, resolveBuildSettings, resolveInstanceType } from "../config/settings.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import { readRegistry } from "../registry/store.js";
import { templateContentHash } from "../template/content-hash.js";
import { formatProblem } from "../template/problems.js";
import { loadTemplateFile, selectTemplateFiles } from "../template/repository.js";
import { AWS_REGIONS } from "../template/regions.js";
import { ARCHITECTURES, INSTANCE_TYPE_PATTERN } from "../template/schema.js";
import { didYouMean } from "../template/suggest.js";
import { colorLevel, isCI, type CliIO, type GlobalOptions } from "./io.js";
import { registryLockOptions } from "./registry-lock.js";

const optionsSchema = z.object({
  architecture: z.enum(ARCHITECTURES).optional(),
  region: z.string().optional(),
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, { message: "use letters, digits and . _ + - (e.g. v1.2.3 or a commit)" })
    .optional(),
  profile: z.string().min(1).optional(),
  instanceType: z.string().regex(INSTANCE_TYPE_PATTERN, { message: "expected an EC2 instance type such as t3.medium" }).optional(),
  subnet: z.string().regex(SUBNET_PATTERN, { message: "expected a subnet id such as subnet-0123456789abcdef0" }).optional(),
  instanceProfile: z.string().regex(INSTANCE_PROFILE_PATTERN, { message: "not a valid instance profile name" }).optional(),
  dryRun: z.boolean().optional(),
  onError: z.enum(ON_ERROR_MODES).optional(),
  quiet: z.boolean().optional(),
  registryUpdate: z.boolean().optional(),
  publishSsm: z.boolean().optional(),
});

/** A build request as the options describe it, before the run adds its hash, commit and log directory. */
export type ResolvedBuild = Omit<BuildRequest, "contentHash" | "sourceCommit" | "logDir"> & {
  awsContext: AwsContext;
  dryRun: boolean;
  quiet: boolean;
  registryUpdate: boolean;
  publishSsm: boolean;
};

/** Options, template and defaults → a complete build request, or a usage error (exit 2) naming the value at fault. */
export async function resolveBuild(templateId: string, raw: Record<string, unknown>, globals: GlobalOptions, io: CliIO): Promise<ResolvedBuild> {
  const merged = { ...raw, architecture: raw.architecture ?? raw.arch };
  delete (merged as Record<string, unknown>).arch;
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const value = (merged as Record<string, unknown>)[String(issue.path[0])];
    const hint = issue.path[0] === "architecture" && typeof value === "string" ? didYouMean(value, ARCHITECTURES) : "";
    throw new CwsError("BAD_OPTION", `${flag} ${JSON.stringify(value)}: ${issue.code === "invalid_value" ? `expected one of ${ARCHITECTURES.join(", ")}` : issue.message}${hint}`, {
      value: String(value),
      suggestion: `see cws ami build --help`,
    });
  }
  const options = parsed.data;

  const [file] = await selectTemplateFiles(globals.templatesDir, [templateId]);
  const loaded = await loadTemplateFile(file!);
  if (!loaded.template) {
    for (const problem of loaded.problems) io.stderr.write(`${formatProblem(problem)}\n`);
    throw new CwsError("TEMPLATE_INVALID", `template ${templateId} has ${loaded.problems.filter((p) => p.severity === "error").length} problem(s); nothing was built`, {
      value: file!.file,
      suggestion: `fix them (cws ami lint ${templateId} shows them again)`,
    });
  }
  const template = loaded.template;
  const archs = template.base_ami.architecture;
  const architecture = options.architecture ?? (archs.length === 1 ? archs[0]! : undefined);
  if (!architecture) {
    throw new CwsError("ARCHITECTURE_REQUIRED", `${templateId} builds ${archs.join(" and ")}: say which with --architecture`, { suggestion: `e.g. cws ami build ${templateId} --architecture ${archs[0]}` });
  }
  if (!archs.includes(architecture)) {
    throw new CwsError("ARCHITECTURE_NOT_IN_TEMPLATE", `${templateId} does not build ${architecture} (base_ami.architecture: ${archs.join(", ")})`, {
      value: architecture,
      suggestion: `add ${architecture} to base_ami.architecture in ${file!.file}, or pick one of ${archs.join(", ")}`,
    });
  }
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env, {
    readSharedConfig,
    templateRegions: template.regions,
    suggestion: `${templateId} builds in ${template.regions.join(", ")}`,
  });
  const { region } = context;
  const settings = resolveBuildSettings(options, globals.project);
  if (!(AWS_REGIONS as readonly string[]).includes(region)) {
    throw new CwsError("BAD_REGION", `"${region}" (from ${describeRegionSource(context)}) is not an AWS region${didYouMean(region, AWS_REGIONS)}`, { value: region });
  }
  if (!template.regions.includes(region as (typeof template.regions)[number])) {
    throw new CwsError("REGION_NOT_IN_TEMPLATE", `${templateId} is not built in ${region} (from ${describeRegionSource(context)}; regions: ${template.regions.join(", ")})`, {
      value: region,
      suggestion: `add ${region} to regions in ${file!.file}, or pick one of ${template.regions.join(", ")}`,
    });
  }
  return {
    templateId: loaded.id,
    template,
    architecture,
    region,
    version: options.version ?? (template.version ? `v${template.version}` : "v0.0.0"),
    instanceType: resolveInstanceType(options.instanceType, architecture, { id: loaded.id, instanceType: template.instance_type }, globals.project).value,
    subnetId: settings.subnet.value,
    instanceProfile: settings.instanceProfile.value,
    onError: settings.onError.value,
    awsContext: context,
    dryRun: options.dryRun === true,
    quiet: options.quiet === true,
    registryUpdate: options.registryUpdate !== false,
    publishSsm: settings.publishSsm.value,
  };
}

export function gitCommit(cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["rev-parse", "HEAD"], { cwd, timeout: 5_000 }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

export async function createPorts(build: Pick<ResolvedBuild, "awsContext">): Promise<AwsPorts> {
  const { createAwsPorts } = await import("../aws/sdk.js");
  return createAwsPorts(awsClientProfile(build.awsContext));
}

export async function runBuildCommand(templateId: string, raw: Record<string, unknown>, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const build = await resolveBuild(templateId, raw, globals, io);
  // A registry the build could not record in (a directory, a pipe, an invalid file) stops it now, not after the image is made.
  if (build.registryUpdate) await readRegistry(globals.registry);
  const chalk = new Chalk({ level: colorLevel(io, globals.color) });
  const { describeAwsError } = await import("../aws/sdk.js");
  const aws = await createPorts(build);
  const poll = pollSettingsFromEnv(io.env);
  const sourceCommit = await gitCommit(globals.templatesDir);
  const contentHash = templateContentHash(build.template);
  // The dry run and the build get the same request and the same step options.
  const request: BuildInput = {
    templateId: build.templateId,
    template: build.template,
    architecture: build.architecture,
    region: build.region,
    version: build.version,
    instanceType: build.instanceType,
    subnetId: build.subnetId,
    instanceProfile: build.instanceProfile,
    onError: build.onError,
    contentHash,
    sourceCommit,
    logRoot: ".cws/logs",
  };
  const pipeline: PipelineOptions = { registryFile: build.registryUpdate ? globals.registry : undefined, publishSsm: build.publishSsm, registryLock: registryLockOptions(io) };

  if (build.dryRun) {
    const { dryRunPlan } = await import("../builder/plan.js");
    const plan = await dryRunPlan(request, pipeline, aws, describeAwsError);
    io.stdout.write(globals.json ? `${JSON.stringify(plan.json, null, 2)}\n` : plan.text);
    return EXIT.ok;
  }

  const { createBuildReporter, buildHeader, formatBuildResult } = await import("../output/build-reporter.js");
  // Spinners only on a real terminal of known width outside CI: ora redraws forever on a 0-column pty.
  const fancy = io.stderr.isTTY === true && (io.stderr.columns ?? 0) > 0 && !isCI(io.env);
  const reporter = await createBuildReporter({ stream: io.stderr, color: colorLevel({ ...io, stdout: io.stderr }, globals.color), fancy, quiet: build.quiet });
  if (!build.quiet) io.stderr.write(`${buildHeader(build)}\n`);

  const controller = new AbortController();
  let context: BuildContext | undefined;
  let interrupts = 0;
  const unsubscribe = io.onSignal?.((signal) => {
    interrupts++;
    if (interrupts === 1) {
      reporter.warn(`${signal}: stopping the build and cleaning up (press Ctrl-C again to see what is still alive)`);
      controller.abort(signal);
    } else {
      const alive = [
        context?.instance ? `instance ${context.instance.instanceId}` : undefined,
        context?.securityGroupId ? `security group ${context.securityGroupId}` : undefined,
        context?.imageId && context.imageState !== "available" ? `image ${context.imageId}` : undefined,
      ].filter(Boolean);
      reporter.warn(
        alive.length
          ? `still cleaning up; alive in ${build.region}: ${alive.join(", ")} (all tagged cws:build-id=${context?.buildId})`
          : "still cleaning up; nothing of this build is alive any more",
      );
    }
  });

  const { runBuild } = await import("../builder/build.js");
  let result;
  try {
    result = await runBuild(request, {
      aws,
      reporter,
      poll,
      signal: controller.signal,
      ...pipeline,
      onContext: (ctx) => {
        context = ctx;
      },
      describeError: (error) => describeAwsError(error),
    });
  } finally {
    reporter.close();
    unsubscribe?.();
  }

  if (globals.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else (result.status === "succeeded" ? io.stdout : io.stderr).write(formatBuildResult(result, chalk));
  if (result.status === "succeeded") return EXIT.ok;
  if (result.status === "interrupted") return EXIT.interrupted;
  return result.error?.preflight ? EXIT.usage : EXIT.failed;
}
