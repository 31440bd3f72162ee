import { newRunContext, ownedRun, runEnding, runEvents, validationSteps, type RunDeps, type RunError } from "../builder/build.js";
import type { BuildInput, RegistryRecord, ValidationOutcome } from "../builder/context.js";
import { keptLogDir } from "../builder/local-logs.js";
import { runPipeline, type Outcome } from "../builder/runner.js";
import { EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import type { FleetInFlight } from "../fleet/in-flight.js";
import { targetBuildReporter, type FleetReporter } from "../fleet/reporter.js";
import { runJobs, type JobOutcome } from "../fleet/schedule.js";
import type { RegistryLockOptions } from "../registry/lock.js";
import type { Registry } from "../registry/schema.js";
import { ownValue } from "../own-keys.js";
import type { Architecture, Template } from "../template/schema.js";

/**
 * `cws ami validate`: an image already made is proven again on a fresh
 * instance, with a build's safety, by the build's own steps
 * (`validationSteps`, src/builder/build.ts): preflight, the image, a security
 * group with no inbound rules, a fresh instance (IMDSv2, the builder profile,
 * cws's tags, `cws:purpose=validate`), its SSM agent, the template's tests,
 * then the verdict: the image and its snapshots tagged `cws:validated-at`, its
 * record in the registry (current or in history) marked validated. The
 * instance is terminated and the group deleted whatever happens; a failure
 * records nothing.
 */

/** A validation: the build request it runs under (template, region, instance type, profile, subnet, logs) and the image. */
export interface ValidationRequest extends BuildInput {
  imageId: string;
}

export interface ValidationDeps extends RunDeps {
  /** Where to mark the image validated; undefined: tag it only. */
  registryFile: string | undefined;
  /** The registry file named when it does not exist (validate --ami before any build, a mistyped --registry): tagged only, and said so. */
  missingRegistry?: string | undefined;
  registryLock?: RegistryLockOptions;
}

/**
 * One validation's result (`--json` prints it as it is: every key, null when it has no value). `status` is
 * the run's outcome, as a build's result says it (`succeeded`, `failed`, `interrupted`); `--all`'s rows say
 * what became of each image (`validated`, …), as build-all's rows do (`built`, …).
 */
export interface ValidationResult {
  status: Outcome;
  /** The run's id: its instance and security group carry it as `cws:build-id`, and its logs are .cws/logs/<id>. */
  validationId: string;
  template: string;
  region: string;
  architecture: string;
  imageId: string;
  instanceId: string | null;
  /** Each of the template's tests as it ran on the fresh instance. */
  tests: ValidationOutcome[];
  /** When it passed, as tagged `cws:validated-at` (also when the registry could not be marked after) and recorded as `validated_at`. */
  validatedAt: string | null;
  /** The registry file the verdict was to be marked in (or was looked for); null when none was named. */
  registry: string | null;
  /** What became of the image's record there (RegistryRecord); null when nothing was recorded. */
  registryRecord: RegistryRecord | null;
  durationSeconds: number;
  /** Its logs; null when it wrote none (one that ended before its tests ran). */
  logDir: string | null;
  failedStep: string | null;
  /** Why it did not pass: `VALIDATION_FAILED` (a test, the instance), `PREFLIGHT_FAILED` (no such image, no profile), `INTERRUPTED`, an AWS or registry code. */
  error: RunError | null;
  /** 0 passed, 1 it failed (a test, the instance, AWS), 2 the user's setup or input (no such image, no profile, a registry cws cannot write), 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (exitCodeOfSignal). */
  exitCode: ExitCode;
  cleaned: string[];
  kept: string[];
  cleanupErrors: string[];
}

export async function runValidation(request: ValidationRequest, deps: ValidationDeps): Promise<ValidationResult> {
  const { imageId, ...input } = request;
  const ctx = await newRunContext(input, deps, "validate");
  const started = Date.now();
  const steps = validationSteps({ imageId, registryFile: deps.registryFile, missingRegistry: deps.missingRegistry, registryLock: deps.registryLock });
  const result = await ownedRun(deps, ctx, () => runPipeline(steps, ctx, deps.signal, runEvents(deps)));
  const ending = runEnding(result, deps, "validate");
  return {
    status: result.outcome,
    validationId: ctx.buildId,
    template: request.templateId,
    region: request.region,
    architecture: request.architecture,
    imageId,
    instanceId: ctx.launchedInstanceId ?? null,
    tests: ctx.validation ?? [],
    validatedAt: ctx.validatedAt ?? null,
    registry: deps.registryFile ?? deps.missingRegistry ?? null,
    registryRecord: ctx.registryRecord ?? null,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    logDir: await keptLogDir(ctx.request.logDir),
    failedStep: result.failedStep ?? null,
    error: ending.error ?? null,
    exitCode: ending.exitCode,
    cleaned: ctx.cleaned,
    kept: ctx.kept,
    cleanupErrors: result.cleanupErrors.map((c) => `${c.step}: ${(c.error as Error).message}`),
  };
}

/** One image `--all` validates: a template's current image for one region and architecture in the registry. */
export interface ValidationTarget {
  /** `<template>/<arch>@<region>`. */
  key: string;
  templateId: string;
  template: Template;
  region: string;
  architecture: Architecture;
  imageId: string;
}

/** A current image of the registry that `--all` cannot validate, and why. */
export interface LeftOut {
  templateId: string;
  region: string;
  architecture: string;
  imageId: string;
  why: string;
}

export function validationKey(templateId: string, architecture: string, region: string): string {
  return `${templateId}/${architecture}@${region}`;
}

/**
 * `--all`: every template's current image in the registry, in every region
 * and architecture it has one (`--region`, `--architecture` narrow them),
 * sorted by template, region, architecture. A registry template with no
 * template in the directory, an invalid one (`invalid`: its file), or one
 * without validation tests, cannot be validated: it is left out with why.
 */
export function registryValidationTargets(
  registry: Registry,
  templates: ReadonlyMap<string, Template>,
  only: { region?: string | undefined; architecture?: Architecture | undefined } = {},
  invalid: ReadonlyMap<string, string> = new Map(),
): { targets: ValidationTarget[]; leftOut: LeftOut[] } {
  const targets: ValidationTarget[] = [];
  const leftOut: LeftOut[] = [];
  for (const templateId of Object.keys(registry.templates).sort()) {
    const amis = ownValue(registry.templates, templateId)!.amis;
    for (const region of Object.keys(amis).sort()) {
      if (only.region !== undefined && region !== only.region) continue;
      const byArchitecture = ownValue(amis, region)!;
      for (const architecture of Object.keys(byArchitecture).sort() as Architecture[]) {
        if (only.architecture !== undefined && architecture !== only.architecture) continue;
        const imageId = ownValue(byArchitecture, architecture)!.ami_id;
        const template = templates.get(templateId);
        const where = { templateId, region, architecture, imageId };
        const file = invalid.get(templateId);
        if (file !== undefined) leftOut.push({ ...where, why: `its template ${file} is invalid, so its tests cannot be read (cws ami lint ${templateId} shows its problems)` });
        else if (!template) leftOut.push({ ...where, why: `no template ${templateId} in the templates directory, so its tests are unknown` });
        else if (template.validation_tests.length === 0) leftOut.push({ ...where, why: `${templateId} has no validation_tests` });
        else targets.push({ key: validationKey(templateId, architecture, region), templateId, template, region, architecture, imageId });
      }
    }
  }
  return { targets, leftOut };
}

/** What became of one image in `--all`. */
export type ValidationRowResult = "validated" | "failed" | "skipped" | "cancelled";

export interface ValidationRow {
  template: string;
  architecture: string;
  region: string;
  amiId: string;
  result: ValidationRowResult;
  durationSeconds?: number;
  /** Tests passed and run. */
  tests?: { passed: number; total: number };
  validatedAt?: string;
  /** Why it failed or was skipped or cancelled. */
  detail?: string;
  logDir?: string;
}

export interface ValidationSummary {
  rows: ValidationRow[];
  durationSeconds: number;
  interrupted?: boolean;
}

export interface ValidationRunOptions extends Omit<ValidationDeps, "reporter" | "onContext" | "onStep"> {
  targets: readonly ValidationTarget[];
  leftOut: readonly LeftOut[];
  /** The rest of a target's request: instance type, profile, subnet, version, logs. */
  input(target: ValidationTarget): Omit<BuildInput, "templateId" | "template" | "region" | "architecture">;
  reporter: FleetReporter;
  concurrency: number;
  /** Where each running validation is kept track of, for a second Ctrl-C to list what is alive (as build-all's). */
  inFlight?: FleetInFlight;
}

/**
 * `--all`: each target validated as `cws ami validate` does one, at most
 * `concurrency` at once (the fleet's scheduler, with no job needing another).
 * A failure stops nothing else; Ctrl-C stops every validation, each cleaning up
 * its instance and security group.
 */
export async function runValidations(options: ValidationRunOptions, validate: typeof runValidation = runValidation): Promise<{ summary: ValidationSummary; exitCode: ExitCode }> {
  const { reporter } = options;
  const started = performance.now();
  const byKey = new Map(options.targets.map((target) => [target.key, target]));
  for (const target of options.targets) reporter.targetQueued(target.key, label(target));
  const outcomes = await runJobs(
    options.targets.map((target) => ({
      id: target.key,
      needs: [],
      run: async (signal: AbortSignal) => {
        const result = await validate(
          { ...options.input(target), templateId: target.templateId, template: target.template, region: target.region, architecture: target.architecture, imageId: target.imageId },
          {
            ...options,
            reporter: targetBuildReporter(reporter, target.key, ""),
            signal,
            onContext: (context) => options.inFlight?.build(target.key, `${target.templateId}/${target.architecture}`, target.region, context),
          },
        );
        if (result.status !== "succeeded") throw new NotValidated(result);
        return result;
      },
    })),
    {
      concurrency: options.concurrency,
      signal: options.signal,
      // A verdict reached before the stop stands: that image failed.
      failedOnItsOwn: (error) => error instanceof NotValidated && error.result.status === "failed",
      onStart: (id) => reporter.targetStarted(id, label(byKey.get(id)!)),
      onEnd: (id, outcome) => {
        options.inFlight?.ended(id);
        const row = rowOf(byKey.get(id)!, outcome as JobOutcome<ValidationResult>);
        reporter.targetDone(id, { result: row.result, ...(row.detail || row.amiId ? { detail: row.detail ?? `${row.amiId} in ${row.region}` } : {}) });
      },
    },
  );
  const rows = [
    ...options.targets.map((target) => rowOf(target, outcomes.get(target.key) as JobOutcome<ValidationResult>)),
    ...options.leftOut.map((left): ValidationRow => ({ template: left.templateId, architecture: left.architecture, region: left.region, amiId: left.imageId, result: "skipped", detail: left.why })),
  ];
  const interrupted = options.signal.aborted;
  const summary: ValidationSummary = { rows, durationSeconds: Math.round((performance.now() - started) / 100) / 10, ...(interrupted ? { interrupted } : {}) };
  return { summary, exitCode: interrupted ? exitCodeOfSignal(options.signal.reason) : exitCodeOf(summary, outcomes) };
}

function label(target: ValidationTarget): string {
  return `${target.templateId}/${target.architecture} ${target.region}`;
}

/** A validation that did not pass, with its result (tests, logs, what was cleaned). */
class NotValidated extends Error {
  constructor(readonly result: ValidationResult) {
    super(result.error?.message ?? `the validation was ${result.status}`);
    this.name = "NotValidated";
  }
}

function testCount(tests: readonly ValidationOutcome[]): { passed: number; total: number } | undefined {
  return tests.length === 0 ? undefined : { passed: tests.filter((test) => test.passed).length, total: tests.length };
}

function rowOf(target: ValidationTarget, outcome: JobOutcome<ValidationResult>): ValidationRow {
  const base = { template: target.templateId, architecture: target.architecture, region: target.region, amiId: target.imageId };
  switch (outcome.status) {
    case "succeeded": {
      const tests = testCount(outcome.value.tests);
      const { validatedAt, logDir } = outcome.value;
      return { ...base, result: "validated", durationSeconds: outcome.value.durationSeconds, ...(tests ? { tests } : {}), ...(validatedAt ? { validatedAt } : {}), ...(logDir ? { logDir } : {}) };
    }
    case "failed":
    case "cancelled": {
      const result = outcome.error instanceof NotValidated ? outcome.error.result : undefined;
      const tests = result ? testCount(result.tests) : undefined;
      const why = result?.error ? `${result.failedStep ? `${result.failedStep}: ` : ""}${result.error.message}` : outcome.error instanceof Error ? outcome.error.message : undefined;
      return {
        ...base,
        result: outcome.status === "failed" ? "failed" : "cancelled",
        ...(outcome.seconds === undefined ? {} : { durationSeconds: outcome.seconds }),
        ...(tests ? { tests } : {}),
        detail: outcome.status === "cancelled" ? (outcome.seconds === undefined ? "not started: interrupted" : "interrupted: stopped and cleaned up") : (why ?? "failed"),
        ...(result?.logDir ? { logDir: result.logDir } : {}),
      };
    }
    case "skipped":
      return { ...base, result: "skipped", detail: outcome.because };
  }
}

/** 0 every image validated; 2 every failure was the user's setup (no instance profile, credentials); 1 otherwise (a stop signal's code is the caller's). */
function exitCodeOf(summary: ValidationSummary, outcomes: ReadonlyMap<string, JobOutcome<ValidationResult>>): ExitCode {
  if (summary.rows.every((row) => row.result === "validated")) return EXIT.ok;
  const failures = [...outcomes.values()].filter((o): o is Extract<JobOutcome<ValidationResult>, { status: "failed" }> => o.status === "failed");
  const usage = failures.length > 0 && failures.every((f) => f.error instanceof NotValidated && f.error.result.exitCode === EXIT.usage);
  return usage ? EXIT.usage : EXIT.failed;
}
