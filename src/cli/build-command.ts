import { execFile } from "node:child_process";
import { basename, relative } from "node:path";
import { Chalk } from "chalk";
import type { AwsPorts } from "../aws/ports.js";
import { readSharedConfig } from "../aws/shared-config.js";
import type { PipelineOptions } from "../builder/build.js";
import { stillAliveNotice, type BuildContext, type BuildInput, type BuildRequest } from "../builder/context.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, describeRegionSource, resolveAwsContext, type AwsContext, type AwsRegionContext } from "../config/aws-context.js";
import type { OnErrorMode } from "../config/fields.js";
import { describeSource, projectAwsConfig, resolveBuildSettings, resolveInstanceType, type SettingSource } from "../config/settings.js";
import { parseDuration } from "../duration.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import { checkRegistryWritable, readRegistry } from "../registry/store.js";
import { templateImageHash } from "../template/content-hash.js";
import { formatProblemAndSuggestion, lintAgainCommand } from "../template/problems.js";
import type { Architecture } from "../template/architectures.js";
import { instanceTypeMismatch } from "../template/lint.js";
import { loadTemplateFile, selectTemplateFiles } from "../template/repository.js";
import { abortOnSignal } from "./interrupts.js";
import { colorLevel, fancyProgress, type CliIO, type GlobalOptions } from "./io.js";
import { registryLockOptions } from "./registry-lock.js";
import { resolvePrices } from "./prices.js";
import { checkRegionBuilt, chooseArchitecture } from "./targets.js";
import { runOwner } from "./run-owner.js";

/** Build's options, as the command table declares them; their values are checked before this module is loaded (option-values.ts). */
export interface BuildOptions {
  architecture?: Architecture;
  region?: string;
  version?: string;
  profile?: string;
  instanceType?: string;
  subnet?: string;
  instanceProfile?: string;
  dryRun?: boolean;
  onError?: OnErrorMode;
  quiet?: boolean;
  registryUpdate?: boolean;
  publishSsm?: boolean;
  force?: boolean;
  /** A duration (7d, 12h), checked by the command table's value kind. */
  maxAge?: string;
  /** A price file (src/fleet/price-file.ts), for the cost the build reports. */
  prices?: string;
  /** Prove the new image on a fresh instance before it is recorded. */
  verify?: boolean;
}

/** A build request as the options describe it, before the run adds its hash, commit and log directory. */
export type ResolvedBuild = Omit<BuildRequest, "templateHash" | "sourceCommit" | "logDir"> & {
  awsContext: AwsContext;
  dryRun: boolean;
  quiet: boolean;
  registryUpdate: boolean;
  publishSsm: boolean;
  force: boolean;
  maxAgeMs: number | undefined;
  verify: boolean;
};

/**
 * The command a build request is resolved for (build, validate), as its
 * messages name it: the command line they suggest and what an invalid
 * template stops.
 */
export interface ResolvedFor {
  command: "build" | "validate";
  /** What did not happen when the template is invalid: "nothing was built". */
  nothing: string;
  /**
   * validate --ami: the image's own architecture, which the run takes (the
   * image fixes it); `asked` is --architecture, refused when it contradicts
   * the image. Given the resolved template id and the AWS context (region).
   */
  imageArchitecture?: (templateId: string, context: AwsRegionContext, asked: Architecture | undefined) => Promise<Architecture>;
}

const FOR_BUILD: ResolvedFor = { command: "build", nothing: "nothing was built" };

/**
 * Options, template and defaults → a complete build request, or a usage error
 * (exit 2) naming the value at fault. Everything a flag, the environment or
 * the config names is checked here, before any AWS call: the region and
 * architecture against the template, the instance type against the
 * architecture (lint's instance-type-arch rule).
 */
export async function resolveBuild(templateId: string, options: BuildOptions, globals: GlobalOptions, io: CliIO, resolvedFor: ResolvedFor = FOR_BUILD): Promise<ResolvedBuild> {
  const [file] = await selectTemplateFiles(globals.templatesDir, [templateId]);
  const loaded = await loadTemplateFile(file!);
  if (!loaded.template) {
    for (const problem of loaded.problems) io.stderr.write(`${formatProblemAndSuggestion(problem)}\n`);
    throw new CwsError("TEMPLATE_INVALID", `template ${loaded.id} has ${loaded.problems.filter((p) => p.severity === "error").length} problem(s); ${resolvedFor.nothing}`, {
      value: file!.file,
      suggestion: `fix them (${lintAgainCommand([loaded.id])} shows them again)`,
    });
  }
  const template = loaded.template;
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env, {
    readSharedConfig,
    templateRegions: template.regions,
    suggestion: `${templateId} builds in ${template.regions.join(", ")}`,
  });
  const { region } = context;
  checkRegionBuilt(loaded.id, template.regions, region, { from: describeRegionSource(context), file: file!.file });
  const asked = resolvedFor.imageArchitecture ? await resolvedFor.imageArchitecture(loaded.id, context, options.architecture) : options.architecture;
  const architecture = chooseArchitecture(asked, template.base_ami.architecture, {
    subject: `${loaded.id} builds`,
    command: `cws ami ${resolvedFor.command} ${loaded.id}`,
    addTo: `base_ami.architecture in ${file!.file}`,
  });
  const settings = resolveBuildSettings(options, globals.project);
  const instanceType = resolveInstanceType(options.instanceType, architecture, { id: loaded.id, instanceType: template.instance_type }, globals.project);
  const mismatch = instanceTypeMismatch(instanceType.value, architecture, "the build is");
  if (mismatch) {
    const from = settingSource(instanceType.from, globals);
    throw new CwsError("INSTANCE_TYPE_ARCHITECTURE", `${mismatch.message} (instance type from ${from})`, {
      value: instanceType.value,
      suggestion: mismatch.suggestion,
    });
  }
  return {
    templateId: loaded.id,
    template,
    architecture,
    region,
    version: options.version ?? (template.version ? `v${template.version}` : "v0.0.0"),
    instanceType: instanceType.value,
    subnetId: settings.subnet.value,
    ...(settings.subnet.value === undefined ? {} : { subnetFrom: whereSet(settings.subnet.from, globals) }),
    instanceProfile: settings.instanceProfile.value,
    onError: settings.onError.value,
    awsContext: context,
    dryRun: options.dryRun === true,
    quiet: options.quiet === true,
    registryUpdate: options.registryUpdate !== false,
    publishSsm: settings.publishSsm.value,
    force: options.force === true,
    maxAgeMs: options.maxAge === undefined ? undefined : parseDuration(options.maxAge),
    verify: options.verify === true,
  };
}

/** Where a setting came from, in words; a config file named as from where cws was started, as its own problems are. */
export function settingSource(from: SettingSource, globals: Pick<GlobalOptions, "project">): string {
  return describeSource(from, (file) => (globals.project ? relative(globals.project.invokedFrom, file) : file));
}

/** Where a setting was set, as the place to change it: `--subnet`, `build.subnet in cws.config.json`. */
export function whereSet(from: SettingSource, globals: Pick<GlobalOptions, "project">): string {
  return from.kind === "config" && globals.project ? `${from.key} in ${relative(globals.project.invokedFrom, from.file)}` : settingSource(from, globals);
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

export async function runBuildCommand(templateId: string, options: BuildOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const build = await resolveBuild(templateId, options, globals, io);
  // A registry the build could not record in (a directory, a pipe, an invalid file, a directory it may not write) stops it
  // now, not after the image is made.
  // So does one a template built on another cannot find its parent's image in (it reads it, recording or not).
  if (build.registryUpdate || build.template.base_ami.template !== undefined) await readRegistry(globals.registry);
  if (build.registryUpdate) {
    checkRegistryWritable(
      globals.registry,
      `the build records the AMI in ${globals.registry} (creating ${basename(globals.registry)}.lock and a temporary file beside it): make that directory writable, pass --registry FILE, or --no-registry-update (then record it later with cws ami update-registry)`,
    );
  }
  // So does a price file that cannot be read.
  const prices = await resolvePrices(options.prices, globals);
  const chalk = new Chalk({ level: colorLevel(io, globals.color) });
  const { describeAwsError } = await import("../aws/sdk.js");
  const aws = await createPorts(build);
  const poll = pollSettingsFromEnv(io.env);
  const sourceCommit = await gitCommit(globals.templatesDir);
  const templateHash = templateImageHash(build.template);
  // The dry run and the build get the same request and the same step options.
  const request: BuildInput = {
    templateId: build.templateId,
    template: build.template,
    architecture: build.architecture,
    region: build.region,
    version: build.version,
    instanceType: build.instanceType,
    subnetId: build.subnetId,
    subnetFrom: build.subnetFrom,
    instanceProfile: build.instanceProfile,
    onError: build.onError,
    templateHash,
    sourceCommit,
    logRoot: ".cws/logs",
  };
  const pipeline: PipelineOptions = {
    registryFile: build.registryUpdate ? globals.registry : undefined,
    // A template built on another reads its parent's image from the registry, recorded in or not.
    parentRegistryFile: globals.registry,
    publishSsm: build.publishSsm,
    registryLock: registryLockOptions(io),
    force: build.force,
    maxAgeMs: build.maxAgeMs,
    verify: build.verify,
  };

  if (build.dryRun) {
    const { dryRunPlan } = await import("../builder/plan.js");
    const plan = await dryRunPlan(request, pipeline, aws, describeAwsError, { prices });
    io.stdout.write(globals.json ? `${JSON.stringify(plan.json, null, 2)}\n` : plan.text);
    return EXIT.ok;
  }

  const { createBuildReporter, buildHeader, formatBuildResult } = await import("../output/build-reporter.js");
  const fancy = fancyProgress(io);
  const reporter = await createBuildReporter({ stream: io.stderr, color: colorLevel({ ...io, stdout: io.stderr }, globals.color), fancy, quiet: build.quiet });
  if (!build.quiet) io.stderr.write(`${buildHeader(build)}\n`);

  const controller = new AbortController();
  let context: BuildContext | undefined;
  const unsubscribe = abortOnSignal(io, controller, {
    doing: "stopping the build and cleaning up",
    say: (line) => reporter.warn(line),
    again: () => reporter.warn(stillAliveNotice(context, build.region, "build")),
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
      prices,
      ...runOwner(io),
    });
  } finally {
    reporter.close();
    unsubscribe?.();
  }

  if (globals.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else (result.status === "succeeded" ? io.stdout : io.stderr).write(formatBuildResult(result, chalk));
  return result.exitCode;
}
