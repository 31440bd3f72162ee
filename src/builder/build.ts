import type { AwsPorts } from "../aws/ports.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import { buildCost, snapshotMonthlyCost, type BuildCost, type StorageCost } from "../fleet/cost.js";
import { describePrices, type PriceTable } from "../fleet/prices.js";
import type { RegistryLockOptions } from "../registry/lock.js";
import { claimBuild, type BuildOwnerOptions } from "./build-owner.js";
import {
  BuildFailure,
  newBuildId,
  PreflightFailure,
  requestFor,
  rootVolumeSizeGb,
  type BuildContext,
  type BuildInput,
  type KeptInstance,
  type PipelineStep,
  type Purpose,
  type ValidationOutcome,
  type Verification,
} from "./context.js";
import { freshInstanceSteps } from "./fresh-instance.js";
import { keptLogDir, localLogs } from "./local-logs.js";
import type { PollSettings } from "./poll.js";
import { reportSteps, type BuildReporter } from "./reporter.js";
import { InterruptedError, runPipeline, type Outcome, type StepEvents } from "./runner.js";
import { resolveBaseAmi } from "./steps/base-ami.js";
import { checkUpToDate } from "./steps/up-to-date.js";
import { createImageStep } from "./steps/create-image.js";
import { imageUnderTest } from "./steps/image-under-test.js";
import { launchInstance } from "./steps/launch.js";
import { preflight } from "./steps/preflight.js";
import { provision } from "./steps/provision.js";
import { publishToSsm, recordInRegistry } from "./steps/record.js";
import { recordValidation, type ValidationRecordOptions } from "./steps/record-validation.js";
import { securityGroup } from "./steps/security-group.js";
import { generalizeAndStop } from "./steps/stop.js";
import { validate } from "./steps/validate.js";
import { verifyImage } from "./steps/verify.js";
import { waitReady } from "./steps/wait-ready.js";

/** The options that change which steps a build has. */
export interface PipelineOptions {
  /** undefined: do not touch the registry. */
  registryFile: string | undefined;
  /** Also write the AMI id to SSM Parameter Store. */
  publishSsm?: boolean;
  /** How the registry's lock is taken (as which process, how long to wait); waiting is told through the reporter. */
  registryLock?: RegistryLockOptions;
  /**
   * Where a template built on another finds its parent's current image when
   * the request names none (read only, also with --no-registry-update).
   * Default: `registryFile`.
   */
  parentRegistryFile?: string | undefined;
  /** Build even when an image of the same content exists (--force): the cache check is left out. */
  force?: boolean;
  /** An image of the same content older than this is built again (--max-age). */
  maxAgeMs?: number | undefined;
  /**
   * Prove the new image on a fresh instance before it is recorded (--verify;
   * build-all's default): its template's tests run on an instance launched
   * from it, and an image that fails is kept out of the registry.
   */
  verify?: boolean;
}

/**
 * The build, as a list of steps (Packer's amazon-ebs builder reads the same
 * way). Each step's cleanup runs in reverse order whatever happens: the
 * instance is terminated and the security group deleted after success,
 * failure or Ctrl-C; an unfinished image is deregistered. When an image of
 * the same content exists, the cache check ends the build early, successfully,
 * and only the steps that finish every build (registry, SSM) run after it. The
 * dry run describes this same list (plan.ts).
 */
export function buildSteps({ registryFile, publishSsm = false, registryLock, parentRegistryFile, force = false, maxAgeMs, verify = false }: PipelineOptions): PipelineStep[] {
  return [
    preflight,
    resolveBaseAmi(parentRegistryFile ?? registryFile),
    ...(force ? [] : [checkUpToDate({ maxAgeMs })]),
    securityGroup,
    launchInstance,
    waitReady,
    provision,
    validate,
    generalizeAndStop,
    createImageStep({ verify }),
    ...(verify ? [verifyImage] : []),
    ...(registryFile ? [recordInRegistry(registryFile, registryLock, { verify })] : []),
    ...(publishSsm ? [publishToSsm] : []),
  ];
}

/** What changes the steps of a validation (`cws ami validate`): the image to launch a fresh instance from, and where its verdict is recorded. */
export interface ValidationOptions extends ValidationRecordOptions {
  imageId: string;
}

/**
 * The validation of an existing image (`cws ami validate`), as a list of the
 * build's own steps: a preflight, the image, a security group with no inbound
 * rules, the fresh-instance steps (launch, SSM, the template's tests), then
 * the record of the verdict. The instance is terminated and the group deleted
 * whatever happens, as in a build.
 */
export function validationSteps({ imageId, ...record }: ValidationOptions): PipelineStep[] {
  return [preflight, imageUnderTest(imageId), securityGroup, ...freshInstanceSteps, recordValidation(record)];
}

export interface BuildResult {
  status: Outcome;
  /**
   * The build stopped at its cache check: `imageId` is an existing image of the
   * same content (built at `imageCreated`), and nothing was launched.
   */
  upToDate: boolean;
  buildId: string;
  template: string;
  region: string;
  architecture: string;
  version: string;
  imageId?: string;
  imageName?: string;
  imageState?: string;
  /** When the up-to-date image was made (only with upToDate). */
  imageCreated?: string;
  baseAmi?: string;
  /** What determines the image: the template's content and the base AMI (tag cws:content-hash). */
  contentHash?: string;
  instanceId?: string;
  instanceType: string;
  durationSeconds: number;
  validation: ValidationOutcome[];
  /** Where its logs are (.cws/logs/<build-id>); null when it wrote none (the empty directory is removed). */
  logDir: string | null;
  /** The step that failed or was interrupted. */
  failedStep?: string;
  /** Why it failed, with a code like every error cws reports (`AWS_CREDENTIALS`, `BUILD_FAILED`, …) and the value at fault. */
  error?: RunError;
  /** What the process exits with: 0 built, 1 the build failed, 2 the user's setup is at fault (preflight), 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (exitCodeOfSignal). */
  exitCode: ExitCode;
  /** --verify: what the fresh instance from the new image found. */
  verification?: Omit<Verification, "instanceSeconds">;
  /** When the new image passed on a fresh instance (--verify), as tagged cws:validated-at. */
  validatedAt?: string;
  /** What this build wrote the new AMI into: absent when nothing was (--no-registry-update, a pending image, a failure). */
  written: { registry?: string; ssmParameter?: string };
  /** The registry stayed on this AMI, pinned by a rollback, rather than take the up-to-date image (`imageId`): what users of the registry still get. */
  pinnedTo?: string;
  cleaned: string[];
  kept: string[];
  cleanupErrors: string[];
  /** What AWS bills for, measured: present when an instance was launched. */
  billing?: BuildBilling;
  /** `billing` priced, when the build was given prices; and the image's snapshot storage when an image was made. */
  cost?: BuildResultCost;
}

/**
 * The running times AWS bills a build for, upper bounds measured around the
 * steps: the instance from the start of the launch to the end of the stop
 * (or, never stopped, to the end of the cleanups that terminate it), the root
 * volume from the launch to the end of the cleanups.
 */
export interface BuildBilling {
  instanceSeconds: number;
  volumeSeconds: number;
  volumeGb: number;
  /**
   * --verify's fresh instance (the build's type, a volume of the image's size), from the start of its launch to
   * its termination: a second instance, billed on its own (with its own 60-second minimum). Absent when none ran.
   */
  freshInstanceSeconds?: number;
  /** The instances --on-error abort kept, as they were left: billed until they are terminated (a stopped one for its volume). */
  keptInstances: KeptInstance[];
}

export interface BuildResultCost {
  build: BuildCost;
  /** The new image's snapshots per month, at most; absent when no image was kept. */
  snapshotsPerMonth?: StorageCost;
  /** Which prices: "the shipped price table (2026-11-28)" or the file's path and date. */
  prices: string;
}

/** Why a run (a build, a validation) failed, with a code like every error cws reports (`AWS_CREDENTIALS`, `BUILD_FAILED`, …). */
export interface RunError {
  code: string;
  message: string;
  value?: string;
  suggestion?: string;
  logPath?: string;
  /** The user's setup is at fault (exit 2). */
  preflight: boolean;
}

/** What a run of steps (a build, a validation) needs from outside. */
export interface RunDeps {
  aws: AwsPorts;
  reporter: BuildReporter;
  poll: PollSettings;
  signal: AbortSignal;
  now?: () => Date;
  /** Called with the context as soon as it exists (the CLI reads live ids from it on a second Ctrl-C). */
  onContext?: (ctx: BuildContext) => void;
  /** Told each step's id as its run or its cleanup starts (the reporter hears titles). */
  onStep?: (stepId: string, phase: "run" | "cleanup") => void;
  /** Turns an AWS error the user must act on (credentials, permissions) into a message and suggestion. */
  describeError?: (error: unknown) => CwsError | undefined;
  /**
   * Record which process runs the build or validation (`.cws/builds/<build-id>.json`)
   * until its cleanups are done, so that `cws ami reap` can tell a killed run's
   * leftovers at once; without it they are judged by their age.
   */
  owner?: BuildOwnerOptions;
}

export interface BuildDeps extends PipelineOptions, RunDeps {
  /** Prices to report the build's cost with (src/fleet/prices.ts); without them the result has `billing` only. */
  prices?: PriceTable;
}

/**
 * A new run's context: its id, its request (with its log directory, made now) and its clients. `purpose`:
 * a build's instance, or a fresh one to validate an image on.
 */
export async function newRunContext(input: BuildInput, deps: Pick<RunDeps, "aws" | "reporter" | "poll" | "now" | "onContext">, purpose: Purpose): Promise<BuildContext> {
  const startedAt = (deps.now ?? (() => new Date()))();
  const buildId = newBuildId(startedAt);
  const request = requestFor(input, buildId);
  const ctx: BuildContext = {
    request,
    buildId,
    startedAt,
    ...(purpose === "build" ? {} : { purpose }),
    aws: deps.aws,
    ec2: deps.aws.ec2(input.region),
    ssm: deps.aws.ssm(input.region),
    sts: deps.aws.sts(input.region),
    iam: deps.aws.iam(input.region),
    reporter: deps.reporter,
    poll: deps.poll,
    ...(await localLogs(request.logDir, purpose === "build" ? undefined : "the validation's log directory")),
    cleaned: [],
    kept: [],
  };
  deps.onContext?.(ctx);
  return ctx;
}

/**
 * What failed a run, as every error of cws is told: a code, the message, the value at fault and what
 * to do. An AWS error the user must act on (credentials, permissions, no network) keeps its own code and
 * exit status; a preflight problem is the user's setup (exit 2); anything else failed the run (exit 1).
 */
export function runFailure(error: unknown, describe: RunDeps["describeError"], purpose: Purpose = "build"): { error: RunError; exitCode: ExitCode } {
  const known = error instanceof CwsError ? error : describe?.(error);
  if (known) {
    const { code, message, value, suggestion, exitCode } = known;
    return {
      error: { code, message, ...(value === undefined ? {} : { value }), ...(suggestion ? { suggestion } : {}), preflight: exitCode === EXIT.usage },
      exitCode,
    };
  }
  const preflight = error instanceof PreflightFailure;
  return {
    error: {
      code: preflight ? "PREFLIGHT_FAILED" : purpose === "validate" ? "VALIDATION_FAILED" : "BUILD_FAILED",
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof BuildFailure && error.suggestion ? { suggestion: error.suggestion } : {}),
      ...(error instanceof BuildFailure && error.logPath ? { logPath: error.logPath } : {}),
      preflight,
    },
    exitCode: preflight ? EXIT.usage : EXIT.failed,
  };
}

/**
 * How a run (a build, a validation) ended, as its result says it: the error
 * (none when it succeeded; `INTERRUPTED` when a stop signal, or build-all's
 * --fail-fast, stopped it, with the signal's exit code) and the exit code.
 */
export function runEnding(
  ended: { outcome: Outcome; error?: unknown },
  deps: Pick<RunDeps, "signal" | "describeError">,
  purpose: Purpose,
): { error?: RunError; exitCode: ExitCode } {
  if (ended.outcome === "succeeded") return { exitCode: EXIT.ok };
  if (ended.outcome === "interrupted") {
    const what = purpose === "validate" ? "the validation" : "the build";
    return {
      error: { code: "INTERRUPTED", message: `${new InterruptedError(deps.signal).message}: ${what} stopped and cleaned up`, preflight: false },
      exitCode: exitCodeOfSignal(deps.signal.reason),
    };
  }
  return runFailure(ended.error, deps.describeError, purpose);
}

/** The runner's events for a run: told to the reporter, and each step's id to `onStep`. */
export function runEvents(deps: Pick<RunDeps, "reporter" | "onStep">): StepEvents {
  const told = reportSteps(deps.reporter);
  return {
    ...told,
    stepStarted: (step) => {
      deps.onStep?.(step.id, "run");
      told.stepStarted(step);
    },
    cleanupStarted: (step) => deps.onStep?.(step.id, "cleanup"),
  };
}

/**
 * Runs `run` (a build's or a validation's steps) with its owner file claimed: before anything is
 * created, so that whatever exists of the run has an owner to judge it by, and released once every
 * cleanup has run (what is left then was kept on purpose, --on-error abort or a slow image, or could
 * not be removed, and is judged by its age). A record that cannot be removed only means reap finds
 * nothing of a gone process.
 */
export async function ownedRun<T>(deps: Pick<RunDeps, "owner">, ctx: BuildContext, run: () => Promise<T>): Promise<T> {
  const release = deps.owner
    ? await claimBuild(deps.owner, { buildId: ctx.buildId, startedAt: ctx.startedAt, template: ctx.request.templateId, region: ctx.request.region })
    : undefined;
  try {
    return await run();
  } finally {
    await release?.().catch(() => undefined);
  }
}

export async function runBuild(request: BuildInput, deps: BuildDeps): Promise<BuildResult> {
  const ctx = await newRunContext(request, deps, "build");
  const { buildId } = ctx;
  const started = Date.now();
  // When the instance started and stopped being billed (billing below).
  let launchedAt: number | undefined;
  let stoppedAt: number | undefined;
  const events = runEvents(deps);
  const result = await ownedRun(deps, ctx, () => runPipeline(buildSteps(deps), ctx, deps.signal, {
    ...events,
    stepStarted: (step) => {
      if (step.id === launchInstance.id) launchedAt = Date.now();
      events.stepStarted?.(step);
    },
    stepSucceeded: (step, seconds, message) => {
      if (step.id === generalizeAndStop.id) stoppedAt = Date.now();
      events.stepSucceeded?.(step, seconds, message);
    },
  }));
  const ended = Date.now();
  const fresh = ctx.verification?.instanceSeconds;
  const billing: BuildBilling | undefined =
    ctx.launchedInstanceId === undefined || launchedAt === undefined
      ? undefined
      : {
          instanceSeconds: ((stoppedAt ?? ended) - launchedAt) / 1000,
          volumeSeconds: (ended - launchedAt) / 1000,
          volumeGb: rootVolumeSizeGb(request.template, ctx.baseImage),
          ...(fresh ? { freshInstanceSeconds: fresh } : {}),
          keptInstances: ctx.keptInstances ?? [],
        };
  // A verdict stands: an image the fresh instance judged failed is a failed build, whatever stop came after it
  // (Ctrl-C, or build-all's --fail-fast for another target's failure).
  const outcome = result.outcome === "interrupted" && ctx.verification?.judged === true && !ctx.verification.passed ? "failed" : result.outcome;
  const ending = runEnding({ outcome, error: result.error }, deps, "build");
  const reused = outcome === "succeeded" ? ctx.upToDate : undefined;
  const image = reused ? { imageId: reused.imageId, imageName: reused.name, imageState: reused.state, imageCreated: reused.creationDate } : builtImage(ctx);
  return {
    status: outcome,
    upToDate: reused !== undefined,
    buildId,
    template: request.templateId,
    region: request.region,
    architecture: request.architecture,
    version: request.version,
    ...image,
    ...(ctx.baseImage ? { baseAmi: ctx.baseImage.imageId } : {}),
    ...(ctx.contentHash ? { contentHash: ctx.contentHash } : {}),
    ...(ctx.launchedInstanceId ? { instanceId: ctx.launchedInstanceId } : {}),
    instanceType: request.instanceType,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    validation: ctx.validation ?? [],
    logDir: await keptLogDir(ctx.request.logDir),
    ...(result.failedStep ? { failedStep: result.failedStep } : {}),
    ...(ending.error ? { error: ending.error } : {}),
    exitCode: ending.exitCode,
    written: { ...(ctx.recordedIn ? { registry: ctx.recordedIn } : {}), ...(ctx.publishedAs ? { ssmParameter: ctx.publishedAs } : {}) },
    ...(ctx.pinnedTo ? { pinnedTo: ctx.pinnedTo } : {}),
    cleaned: ctx.cleaned,
    kept: ctx.kept,
    cleanupErrors: result.cleanupErrors.map((c) => `${c.step}: ${(c.error as Error).message}`),
    ...(ctx.verification ? { verification: withoutSeconds(ctx.verification) } : {}),
    ...(ctx.validatedAt ? { validatedAt: ctx.validatedAt } : {}),
    ...(billing ? { billing } : {}),
    ...(billing && deps.prices ? { cost: priceBuild(request, billing, outcome === "succeeded" || ctx.imageKept ? ctx : {}, deps.prices) } : {}),
  };
}

function withoutSeconds({ instanceSeconds: _seconds, ...verification }: Verification): Omit<Verification, "instanceSeconds"> {
  return verification;
}

/** A build's billing priced: the instance and its volume, and the image's snapshots when one was kept. */
function priceBuild(
  request: Pick<BuildInput, "region" | "instanceType">,
  billing: BuildBilling,
  image: Pick<BuildContext, "imageId" | "imageSizeGb">,
  prices: PriceTable,
): BuildResultCost {
  const { region, instanceType } = request;
  return {
    build: buildCost(
      { region, instanceType, seconds: billing.instanceSeconds, volumeGb: billing.volumeGb, volumeSeconds: billing.volumeSeconds, freshSeconds: billing.freshInstanceSeconds },
      prices,
    ),
    ...(image.imageId ? { snapshotsPerMonth: snapshotMonthlyCost({ region, sizeGb: image.imageSizeGb ?? billing.volumeGb }, prices) } : {}),
    prices: describePrices(prices),
  };
}

/** The image this build made, as far as it got. */
function builtImage(ctx: BuildContext): Pick<BuildResult, "imageId" | "imageName" | "imageState"> {
  if (!ctx.imageId) return {};
  return { imageId: ctx.imageId, ...(ctx.imageName ? { imageName: ctx.imageName } : {}), ...(ctx.imageState ? { imageState: ctx.imageState } : {}) };
}
