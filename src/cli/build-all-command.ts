import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import type { AwsPorts } from "../aws/ports.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import type { OnErrorMode } from "../config/fields.js";
import { projectAwsConfig, resolveBuildSettings, resolveInstanceType } from "../config/settings.js";
import { parseDuration } from "../duration.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import type { FleetTarget, FleetTemplate, FleetStrategy } from "../fleet/targets.js";
import { checkRegistryWritable, readRegistry } from "../registry/store.js";
import { templateImageHash } from "../template/content-hash.js";
import { instanceTypeMismatch } from "../template/lint.js";
import { formatProblemAndSuggestion, invalidTemplatesError, type Problem } from "../template/problems.js";
import { listTemplateFiles, loadTemplateFile, selectTemplateFiles } from "../template/repository.js";
import type { Architecture, Template } from "../template/schema.js";
import { gitCommit, whereSet } from "./build-command.js";
import { fleetReporterFor, writeFleetPlan, writeFleetResult } from "./fleet-output.js";
import { abortRunOnSignal } from "./interrupts.js";
import type { CliIO, GlobalOptions } from "./io.js";
import { resolvePrices } from "./prices.js";
import { registryLockOptions } from "./registry-lock.js";
import { runOwner } from "./run-owner.js";

/** build-all's options, as the command table declares them; values are checked before this module loads (option-values.ts). */
export interface BuildAllOptions {
  /** Every --templates given, in order (repeatable). */
  templates?: string[];
  architecture?: Architecture;
  region?: string;
  buildRegion?: string;
  strategy?: FleetStrategy;
  concurrency?: string;
  failFast?: boolean;
  force?: boolean;
  maxAge?: string;
  dryRun?: boolean;
  profile?: string;
  instanceProfile?: string;
  onError?: OnErrorMode;
  registryUpdate?: boolean;
  publishSsm?: boolean;
  prices?: string;
  /** --no-verify: false. By default every new image is proven on a fresh instance before it is recorded or copied. */
  verify?: boolean;
}

export const DEFAULT_CONCURRENCY = 4;

/**
 * The ids asked for: the arguments and every --templates a,b (spaces around the commas allowed; the flag may be
 * repeated), each once, in the order given. An id written with spaces for commas says so.
 */
export function requestedIds(args: readonly string[], templates: readonly string[] | string | undefined): string[] {
  const lists = templates === undefined ? [] : typeof templates === "string" ? [templates] : templates;
  const fromFlag: string[] = [];
  for (const list of lists) {
    const ids = list.split(",").map((id) => id.trim());
    if (ids.every((id) => id === "")) {
      throw new CwsError("NO_TEMPLATES", "--templates names no template", { value: list, suggestion: "give template ids separated by commas, e.g. --templates r-research,python-research" });
    }
    for (const id of ids) {
      if (/\s/.test(id)) {
        throw new CwsError("TEMPLATE_ID_INVALID", `--templates "${list}": "${id}" is not a template id (ids are separated by commas)`, {
          value: id,
          suggestion: `write --templates ${id.split(/\s+/).join(",")}`,
        });
      }
      if (id !== "") fromFlag.push(id);
    }
  }
  return [...new Set([...args, ...fromFlag])];
}

/**
 * The templates the run involves, loaded and valid: those asked for and every
 * template they build on. An invalid one stops the run before anything
 * touches AWS (exit 2), its problems printed at file:line:col; templates not
 * involved are not even read.
 */
async function loadInvolved(requested: readonly string[], globals: GlobalOptions, io: CliIO): Promise<Map<string, FleetTemplate>> {
  const files = await listTemplateFiles(globals.templatesDir);
  if (files.length === 0) throw new CwsError("NO_TEMPLATES", `no templates in ${globals.templatesDir}`, { value: globals.templatesDir, suggestion: "add a template (templates/<id>.yml), or pass --templates-dir" });
  const byId = new Map(files.map((file) => [file.id, file]));
  const loaded = new Map<string, FleetTemplate>();
  const queue = requested.length > 0 ? [...requested] : [...byId.keys()];
  const invalid: { id: string; file: string; problems: Problem[] }[] = [];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    if (loaded.has(id) || invalid.some((t) => t.id === id)) continue;
    const file = byId.get(id);
    // A parent with no file: the graph reports it (missing parent, exit 2).
    if (!file) continue;
    const result = await loadTemplateFile(file);
    if (!result.template) {
      for (const problem of result.problems) io.stderr.write(`${formatProblemAndSuggestion(problem)}\n`);
      invalid.push({ id, file: file.file, problems: result.problems });
      continue;
    }
    loaded.set(id, { id, file: file.file, template: result.template });
    if (result.template.base_ami.template !== undefined) queue.push(result.template.base_ami.template);
  }
  if (invalid.length > 0) throw invalidTemplatesError(invalid, "; nothing was built");
  return loaded;
}

/**
 * Each target's instance type (the template's, else cws.config.json's, else the default for its
 * architecture), refused (exit 2) when it is of the other architecture, by lint's instance-type-arch
 * rule, before anything touches AWS. `what` the instance is, in the message: "build", "instance".
 */
export function instanceTypesFor(
  targets: readonly { key: string; templateId: string; architecture: Architecture; template: Pick<Template, "instance_type"> }[],
  project: GlobalOptions["project"],
  what: string,
): Map<string, string> {
  const types = new Map<string, string>();
  for (const target of targets) {
    const type = resolveInstanceType(undefined, target.architecture, { id: target.templateId, instanceType: target.template.instance_type }, project);
    const mismatch = instanceTypeMismatch(type.value, target.architecture, `${target.templateId}'s ${target.architecture} ${what} is`);
    if (mismatch) throw new CwsError("INSTANCE_TYPE_ARCHITECTURE", mismatch.message, { value: type.value, suggestion: mismatch.suggestion });
    types.set(target.key, type.value);
  }
  return types;
}

/**
 * Credentials and the instance profile once, before a run of many launches anything (build-all, validate --all):
 * without them each would fail the same way. The instance profile is checked as the build's preflight checks it,
 * and said as it says it (exit 2, one line).
 */
export async function checkCredentialsAndProfile(
  aws: AwsPorts,
  region: string,
  instanceProfile: string,
  describe: (error: unknown) => CwsError | undefined,
  signal: AbortSignal,
): Promise<"checked" | "interrupted"> {
  const { checkInstanceProfile } = await import("../builder/steps/preflight.js");
  const { PreflightFailure } = await import("../builder/context.js");
  try {
    const identity = await aws.sts(region).callerIdentity({ signal });
    await checkInstanceProfile(aws.iam(region), instanceProfile, identity.account, { signal });
    return "checked";
  } catch (error) {
    // Stopped while it asked (the calls are abandoned at once): the run ends as interrupted, having started nothing.
    if (signal.aborted) return "interrupted";
    if (error instanceof PreflightFailure) {
      throw new CwsError("PREFLIGHT_FAILED", error.message, { value: instanceProfile, ...(error.suggestion ? { suggestion: error.suggestion } : {}) });
    }
    throw describe(error) ?? error;
  }
}

export async function runBuildAllCommand(args: readonly string[], options: BuildAllOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const strategy = options.strategy ?? "copy";
  if (options.buildRegion !== undefined && strategy === "per-region") {
    throw new CwsError("OPTION_CONFLICT", "--build-region has no meaning with --strategy per-region (each region builds its own image)", {
      value: options.buildRegion,
      suggestion: "leave --build-region out, or use --strategy copy",
    });
  }
  // Ids as build and lint take them (`r-research`, `r-research.yml`); an unknown one is a usage error with a suggestion.
  const typed = requestedIds(args, options.templates);
  const requested = typed.length === 0 ? [] : [...new Set((await selectTemplateFiles(globals.templatesDir, typed)).map((file) => file.id))];
  const templates = await loadInvolved(requested, globals, io);
  const { fleetTargets } = await import("../fleet/targets.js");
  const { targets, leftOut } = fleetTargets({ templates, requested, strategy, buildRegion: options.buildRegion, region: options.region, architecture: options.architecture });
  const concurrency = options.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(options.concurrency);
  const maxAgeMs = options.maxAge === undefined ? undefined : parseDuration(options.maxAge);
  const force = options.force === true;
  const registryUpdate = options.registryUpdate !== false;

  // Everything a flag, the config or a template names is checked now, before any AWS call.
  const instanceTypes = instanceTypesFor(targets, globals.project, "build");
  const prices = await resolvePrices(options.prices, globals);
  const registry = await readRegistry(globals.registry);
  if (leftOut.length > 0) io.stderr.write(`Left out: ${leftOut.join(", ")}\n`);
  // A parent not asked for is made only where its children need it: said, so that its other regions are not thought updated.
  for (const target of targets.filter((t) => !t.requested)) {
    const children = targets.filter((t) => t.parent === target.templateId && t.architecture === target.architecture).map((t) => t.templateId);
    const regions = [target.home, ...target.copyTo];
    const all = target.template.regions.length;
    io.stderr.write(
      `Included: ${target.templateId}/${target.architecture} in ${regions.join(", ")}${regions.length < all ? ` only (of its ${all} regions)` : ""}, since ${[...new Set(children)].join(", ") || "a template asked for"} builds on it${regions.length < all ? `; cws ami build-all ${target.templateId} updates the rest` : ""}\n`,
    );
  }

  if (options.dryRun) {
    const { plannedTargets } = await import("../fleet/dry-run.js");
    const { fleetPlanReport } = await import("../fleet/plan-report.js");
    const planned = plannedTargets(targets, registry, { force, maxAgeMs, now: new Date(), instanceType: (target) => instanceTypes.get(target.key)! });
    writeFleetPlan(fleetPlanReport(planned, prices, { leftOut, verify: options.verify !== false }), globals, io);
    return EXIT.ok;
  }

  if (registryUpdate) {
    checkRegistryWritable(
      globals.registry,
      `build-all records every image in ${globals.registry} (creating ${basename(globals.registry)}.lock and a temporary file beside it): make that directory writable, pass --registry FILE, or --no-registry-update`,
    );
  }
  const settings = resolveBuildSettings({ instanceProfile: options.instanceProfile, onError: options.onError, publishSsm: options.publishSsm }, globals.project);
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env);
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  // One set of clients for the whole run: one per service and region, so parallel builds and copies in a region share its retry budget.
  const aws: AwsPorts = createAwsPorts(awsClientProfile(context));

  const poll = pollSettingsFromEnv(io.env);
  const sourceCommit = await gitCommit(globals.templatesDir);
  const reporter = fleetReporterFor(io, globals);
  const controller = new AbortController();
  // A stop signal from here on ends the run with its document, also during the check below.
  const { inFlight, unsubscribe } = await abortRunOnSignal(io, controller, {
    doing: "stopping every target and cleaning up; each removes what it made",
    say: (line) => reporter.notice(line),
  });
  // A subnet belongs to one region: cws.config.json's build.subnet is used in cws.config.json's region, every other region uses its default VPC.
  const subnet = settings.subnet.value;
  const subnetFrom = subnet === undefined ? undefined : whereSet(settings.subnet.from, globals);
  const subnetRegion = projectAwsConfig(globals.project)?.region;
  const runId = randomBytes(4).toString("hex");
  let result;
  try {
    // Credentials and the instance profile once, before anything is launched: without them every target would fail the same
    // way. Stopped during the check, the run goes on with its signal aborted: every target is cancelled before it starts.
    await checkCredentialsAndProfile(aws, targets[0]!.home, settings.instanceProfile.value, describeAwsError, controller.signal);
    const { runFleet } = await import("../fleet/orchestrator.js");
    result = await runFleet({
      targets,
      aws,
      poll,
      signal: controller.signal,
      reporter,
      concurrency,
      failFast: options.failFast === true,
      force,
      maxAgeMs,
      registryFile: registryUpdate ? globals.registry : undefined,
      parentRegistryFile: globals.registry,
      registryLock: registryLockOptions(io, (message) => reporter.notice(message)),
      publishSsm: settings.publishSsm.value,
      verify: options.verify !== false,
      prices,
      runId,
      buildInput: (target: FleetTarget, region: string) => ({
        version: target.template.version ? `v${target.template.version}` : "v0.0.0",
        instanceType: instanceTypes.get(target.key)!,
        ...(subnet !== undefined && region === subnetRegion ? { subnetId: subnet, subnetFrom } : { subnetId: undefined }),
        instanceProfile: settings.instanceProfile.value,
        onError: settings.onError.value,
        templateHash: templateImageHash(target.template),
        sourceCommit,
        logRoot: ".cws/logs",
      }),
      describeError: (error) => describeAwsError(error),
      inFlight,
      ...runOwner(io),
    });
    reporter.finish(result.summary);
  } finally {
    reporter.close();
    unsubscribe?.();
  }
  writeFleetResult(leftOut.length > 0 ? { ...result.summary, leftOut } : result.summary, result.exitCode, globals, io);
  return result.exitCode;
}
