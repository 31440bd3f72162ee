import { basename } from "node:path";
import type { AwsPorts, Ec2Port } from "../aws/ports.js";
import { Chalk } from "chalk";
import { stillAliveNotice, type BuildContext, type BuildInput } from "../builder/context.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig, resolveBuildSettings } from "../config/settings.js";
import { CwsError, type ExitCode } from "../errors.js";
import type { ValidationTarget } from "../lifecycle/validate.js";
import { resolveAmi } from "../registry/resolve.js";
import type { Registry } from "../registry/schema.js";
import { checkRegistryWritable, readRegistry } from "../registry/store.js";
import { templateImageHash } from "../template/content-hash.js";
import { listTemplateFiles, loadTemplateFile } from "../template/repository.js";
import type { Architecture, Template } from "../template/schema.js";
import { createPorts, resolveBuild, whereSet } from "./build-command.js";
import { checkCredentialsAndProfile, DEFAULT_CONCURRENCY, instanceTypesFor } from "./build-all-command.js";
import { fleetReporterFor } from "./fleet-output.js";
import { abortOnSignal, abortRunOnSignal } from "./interrupts.js";
import { colorLevel, fancyProgress, type CliIO, type GlobalOptions } from "./io.js";
import { registryLockOptions } from "./registry-lock.js";
import { runOwner } from "./run-owner.js";

/** validate's options, as the command table declares them; values are checked before this module loads (option-values.ts). */
export interface ValidateOptions {
  region?: string;
  architecture?: Architecture;
  ami?: string;
  all?: boolean;
  concurrency?: string;
  profile?: string;
  instanceProfile?: string;
}

const LOG_ROOT = ".cws/logs";

/**
 * `cws ami validate <template>` proves one image (the registry's current AMI
 * for the template, region and architecture, or `--ami`) on a fresh instance;
 * `--all` every template's current images in the registry, in parallel.
 */
export async function runValidateCommand(templateId: string | undefined, options: ValidateOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  if (templateId === undefined && !options.all) {
    throw new CwsError("TEMPLATE_REQUIRED", "name a template, or pass --all for every template's current AMIs", { suggestion: "e.g. cws ami validate r-research --region us-east-1" });
  }
  if (options.concurrency !== undefined && !options.all) {
    throw new CwsError("OPTION_CONFLICT", "--concurrency applies to --all (one image is one validation)", { value: options.concurrency, suggestion: "add --all, or leave --concurrency out" });
  }
  return options.all ? validateAll(options, globals, io) : validateOne(templateId!, options, globals, io);
}

/** The registry, which validate reads for the current AMIs and marks validated; its directory checked to be writable now. */
async function registryToMark(globals: GlobalOptions): Promise<Registry | undefined> {
  const registry = await readRegistry(globals.registry);
  if (registry) {
    checkRegistryWritable(
      globals.registry,
      `validate marks the image validated in ${globals.registry} (creating ${basename(globals.registry)}.lock and a temporary file beside it): make that directory writable, or pass --registry FILE`,
    );
  }
  return registry;
}

function requireTests(templateId: string, template: Template): void {
  if (template.validation_tests.length > 0) return;
  throw new CwsError("NO_VALIDATION_TESTS", `${templateId} has no validation_tests: there is nothing to run on a fresh instance`, {
    value: templateId,
    suggestion: "add validation_tests to the template (each a command and what its output must be)",
  });
}

async function validateOne(templateId: string, options: ValidateOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  // The template, architecture, region, instance type and profile are found as build finds them, and checked the same way;
  // an image named with --ami is looked at first, so that it sets the architecture.
  let ports: AwsPorts | undefined;
  const build = await resolveBuild(templateId, { ...options, onError: "cleanup" }, globals, io, {
    command: "validate",
    nothing: "nothing was launched or validated",
    ...(options.ami === undefined
      ? {}
      : {
          imageArchitecture: async (id, context, asked) => {
            ports = await createPorts({ awsContext: context });
            return imageArchitecture(ports.ec2(context.region), options.ami!, id, context.region, asked);
          },
        }),
  });
  requireTests(build.templateId, build.template);
  const registry = await registryToMark(globals);
  const where = `${build.templateId}.${build.region}.${build.architecture}`;
  if (!options.ami && !registry) {
    throw new CwsError("NO_REGISTRY", `${globals.registry} does not exist, so there is no current AMI of ${where} to validate`, {
      value: globals.registry,
      suggestion: `name the image with --ami ami-…, or pass --registry FILE`,
    });
  }
  // The current AMI, whether or not it was validated before (that is what this will tell).
  const imageId = options.ami ?? (await resolveAmi(build.templateId, build.region, build.architecture, { registry: registry!, allowUnvalidated: true })).amiId;
  const request = {
    ...requestOf(build.templateId, build.template, build.architecture, build.region, {
      instanceType: build.instanceType,
      subnetId: build.subnetId,
      subnetFrom: build.subnetFrom,
      instanceProfile: build.instanceProfile,
    }),
    imageId,
  };

  const chalk = new Chalk({ level: colorLevel(io, globals.color) });
  const { describeAwsError } = await import("../aws/sdk.js");
  const aws = ports ?? (await createPorts(build));
  const { createBuildReporter } = await import("../output/build-reporter.js");
  const { formatValidationResult, validationHeader } = await import("../output/validation-report.js");
  const reporter = await createBuildReporter({ stream: io.stderr, color: colorLevel({ ...io, stdout: io.stderr }, globals.color), fancy: fancyProgress(io), quiet: false });
  io.stderr.write(`${validationHeader(request)}\n`);
  const controller = new AbortController();
  let context: BuildContext | undefined;
  const unsubscribe = abortOnSignal(io, controller, {
    doing: "stopping the validation and cleaning up",
    say: (line) => reporter.warn(line),
    again: () => reporter.warn(stillAliveNotice(context, build.region, "validation")),
  });
  const { runValidation } = await import("../lifecycle/validate.js");
  let result;
  try {
    result = await runValidation(request, {
      aws,
      reporter,
      poll: pollSettingsFromEnv(io.env),
      signal: controller.signal,
      registryFile: registry ? globals.registry : undefined,
      // A registry that does not exist (--ami before any build, or a mistyped --registry) is not created: the result says so.
      missingRegistry: registry ? undefined : globals.registry,
      registryLock: registryLockOptions(io),
      describeError: (error) => describeAwsError(error),
      ...runOwner(io),
      onContext: (ctx) => {
        context = ctx;
      },
    });
  } finally {
    reporter.close();
    unsubscribe?.();
  }
  if (globals.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else (result.status === "succeeded" ? io.stdout : io.stderr).write(formatValidationResult(result, chalk));
  return result.exitCode;
}

/**
 * `--ami`: the image's architecture, which the validation takes (the image fixes it), the image checked
 * now as the run would check it (it exists in the region, cws made it for this template, it is
 * available), and an --architecture that contradicts it refused: exit 2 before anything runs.
 */
async function imageArchitecture(ec2: Ec2Port, imageId: string, templateId: string, region: string, asked: Architecture | undefined): Promise<Architecture> {
  const { checkImageUnderTest, describeImage } = await import("../builder/steps/image-under-test.js");
  const { PreflightFailure } = await import("../builder/context.js");
  const { describeAwsError } = await import("../aws/sdk.js");
  try {
    return checkImageUnderTest(await describeImage(ec2, imageId), imageId, { region, templateId, architecture: asked }).architecture as Architecture;
  } catch (error) {
    if (error instanceof PreflightFailure) throw new CwsError("PREFLIGHT_FAILED", error.message, { value: imageId, ...(error.suggestion ? { suggestion: error.suggestion } : {}) });
    throw describeAwsError(error) ?? error;
  }
}

/** A validation's build request: what a build of the template would run under (its instance type, profile, subnet, logs). */
function requestOf(
  templateId: string,
  template: Template,
  architecture: Architecture,
  region: string,
  machine: Pick<BuildInput, "instanceType" | "subnetId" | "subnetFrom" | "instanceProfile">,
): BuildInput {
  return {
    templateId,
    template,
    architecture,
    region,
    version: template.version ? `v${template.version}` : "v0.0.0",
    ...machine,
    onError: "cleanup",
    templateHash: templateImageHash(template),
    sourceCommit: undefined,
    logRoot: LOG_ROOT,
  };
}

/** The templates of the templates directory: the valid ones, and the file of each that is not (its images are reported as such). */
async function templatesToValidate(globals: GlobalOptions): Promise<{ valid: Map<string, Template>; invalid: Map<string, string> }> {
  const valid = new Map<string, Template>();
  const invalid = new Map<string, string>();
  for (const file of await listTemplateFiles(globals.templatesDir)) {
    const loaded = await loadTemplateFile(file);
    if (loaded.template) valid.set(file.id, loaded.template);
    else invalid.set(file.id, file.file);
  }
  return { valid, invalid };
}

async function validateAll(options: ValidateOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const registry = await registryToMark(globals);
  if (!registry) {
    throw new CwsError("NO_REGISTRY", `${globals.registry} does not exist: there are no current AMIs to validate`, { value: globals.registry, suggestion: "build some first (cws ami build-all), or pass --registry FILE" });
  }
  const { registryValidationTargets } = await import("../lifecycle/validate.js");
  const { valid, invalid } = await templatesToValidate(globals);
  const { targets, leftOut } = registryValidationTargets(registry, valid, { region: options.region, architecture: options.architecture }, invalid);
  if (targets.length === 0 && leftOut.length === 0) {
    const narrowed = [options.region, options.architecture].filter(Boolean).join(" / ");
    throw new CwsError("NO_TARGETS", `${globals.registry} has no current AMI${narrowed ? ` for ${narrowed}` : ""}: nothing to validate`, {
      suggestion: narrowed ? "check --region and --architecture against cws ami list" : "build some first (cws ami build-all)",
    });
  }
  // Everything the config or a template names is checked now, before any AWS call.
  const machines = instanceTypesFor(targets, globals.project, "instance");
  const settings = resolveBuildSettings({ instanceProfile: options.instanceProfile }, globals.project);
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env);
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws = createAwsPorts(awsClientProfile(context));
  // A subnet belongs to one region: cws.config.json's build.subnet is used in cws.config.json's region, others use their default VPC.
  const subnet = settings.subnet.value;
  const subnetFrom = subnet === undefined ? undefined : whereSet(settings.subnet.from, globals);
  const subnetRegion = projectAwsConfig(globals.project)?.region;
  const reporter = fleetReporterFor(io, globals);
  const controller = new AbortController();
  // A stop signal from here on ends the run with its document, also during the check below.
  const { inFlight, unsubscribe } = await abortRunOnSignal(io, controller, {
    doing: "stopping every validation and cleaning up; each terminates its instance and deletes its security group",
    say: (line) => reporter.notice(line),
  });
  const { runValidations } = await import("../lifecycle/validate.js");
  const { formatValidationTable, validationSummaryJson } = await import("../output/validation-report.js");
  let outcome;
  try {
    // Credentials and the instance profile once, before anything is launched: without them every validation would fail the
    // same way. Stopped during the check, the run goes on with its signal aborted: every validation is cancelled unstarted.
    if (targets[0]) await checkCredentialsAndProfile(aws, targets[0].region, settings.instanceProfile.value, describeAwsError, controller.signal);
    outcome = await runValidations({
      targets,
      leftOut,
      aws,
      poll: pollSettingsFromEnv(io.env),
      signal: controller.signal,
      reporter,
      concurrency: options.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(options.concurrency),
      registryFile: globals.registry,
      registryLock: registryLockOptions(io, (message) => reporter.notice(message)),
      describeError: (error) => describeAwsError(error),
      inFlight,
      // Each validation's instance is owned as a build's is: reap leaves it while this process runs, and takes it once killed.
      ...runOwner(io),
      input: (target: ValidationTarget) =>
        requestOf(target.templateId, target.template, target.architecture, target.region, {
          instanceType: machines.get(target.key)!,
          ...(subnet !== undefined && target.region === subnetRegion ? { subnetId: subnet, subnetFrom } : { subnetId: undefined }),
          instanceProfile: settings.instanceProfile.value,
        }),
    });
    reporter.finish(outcome.summary);
  } finally {
    reporter.close();
    unsubscribe?.();
  }
  io.stdout.write(globals.json ? `${JSON.stringify(validationSummaryJson(outcome.summary, outcome.exitCode), null, 2)}\n` : formatValidationTable(outcome.summary));
  return outcome.exitCode;
}
