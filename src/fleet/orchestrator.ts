import type { AwsPorts, ImageInfo } from "../aws/ports.js";
import { runBuild, type BuildResult } from "../builder/build.js";
import type { BuildOwnerOptions } from "../builder/build-owner.js";
import { findUpToDateImage } from "../builder/cache.js";
import type { BuildInput } from "../builder/context.js";
import type { PollSettings } from "../builder/poll.js";
import { formatDuration } from "../duration.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import { recordFromImage } from "../registry/aws-images.js";
import { COPIED_FROM_TAG, parseCopiedFromTag } from "../registry/copied-from.js";
import { copyRecord, recordCopy } from "../registry/copies.js";
import type { RegistryLockOptions } from "../registry/lock.js";
import { entryAt, isPinned } from "../registry/operations.js";
import { publishAmiToSsm } from "../registry/publish.js";
import { recordAmi, updateRegistryFile } from "../registry/store.js";
import { CopyFailure, copyImageToRegion, copySourceOf, type CopyResult } from "./copy.js";
import { snapshotMonthlyCost } from "./cost.js";
import { describePrices, type PriceTable } from "./prices.js";
import type { FleetInFlight } from "./in-flight.js";
import { targetBuildReporter, type FleetReporter, type FleetResult, type FleetRow, type FleetSummary, type TargetOutcome } from "./reporter.js";
import { runJobs, type Job, type JobOutcome } from "./schedule.js";
import type { FleetTarget } from "./targets.js";

/**
 * build-all's run: every target's build in its home region, then its copies
 * to the other regions, as jobs of the scheduler (schedule.ts): at most
 * `concurrency` at once, a child template's build after its parent's image is
 * in the child's home region, a failure skipping only what needs it. Each
 * build is `runBuild`, the very pipeline `cws ami build` runs (its cache check
 * included: an up-to-date target launches nothing and is only copied where it
 * is missing); each copy is `copyImageToRegion`. Both clean up what they made
 * when they fail or are interrupted, and the scheduler waits for every started
 * job to end, so nothing is left running when this returns.
 *
 * The registry is written by each build as it finishes (the pipeline's record
 * step) and by each copy as it becomes available, one write at a time
 * (withRegistryLock queues this process's writers): a run cut short keeps what
 * it finished.
 */
export interface FleetRunOptions {
  targets: readonly FleetTarget[];
  aws: AwsPorts;
  poll: PollSettings;
  /** Ctrl-C: every job is stopped and cleans up; the run ends "interrupted". */
  signal: AbortSignal;
  reporter: FleetReporter;
  concurrency: number;
  failFast: boolean;
  force: boolean;
  maxAgeMs?: number | undefined;
  /** Where builds and copies are recorded; undefined with --no-registry-update. */
  registryFile: string | undefined;
  /** Where a child finds its parent's image when this run does not make it (read only). */
  parentRegistryFile: string | undefined;
  registryLock?: RegistryLockOptions;
  publishSsm: boolean;
  /** Prove each new image on a fresh instance before it is recorded or copied (build-all's default; --no-verify). */
  verify?: boolean;
  prices: PriceTable;
  /** This run's id: with the source image it makes each copy's client token. */
  runId: string;
  /** The rest of a target's build request in `region`: instance type, profile, subnet, version, commit, logs. */
  buildInput(target: FleetTarget, region: string): Omit<BuildInput, "region" | "parentImage" | "templateId" | "template" | "architecture">;
  describeError?: (error: unknown) => CwsError | undefined;
  /** Where each running build and unfinished copy is kept track of, for a second Ctrl-C to list (one per run). */
  inFlight?: FleetInFlight;
  now?: () => Date;
  /** Each build records this process as its owner while it runs (src/builder/build-owner.ts), for `cws ami reap`. */
  owner?: BuildOwnerOptions;
}

export interface FleetRunResult {
  summary: FleetSummary;
  /** 0 every image is there; 1 something failed, was skipped or cancelled; 2 every failure was the user's setup (credentials, permissions); 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (exitCodeOfSignal). */
  exitCode: ExitCode;
}

/** One image in one region: what a job makes, and the jobs that must succeed first. */
export interface FleetJob {
  /** imageJobId(template, architecture, region). */
  id: string;
  target: FleetTarget;
  region: string;
  /** build: the target's build in its home region; copy: its image copied to another region. */
  kind: "build" | "copy";
  /**
   * A build: its parent template's job in the build's region (the parent's
   * build there, or its copy there), when the run makes one. A copy: its
   * target's build.
   */
  needs: string[];
}

/** The functions that make images, replaceable for tests; the defaults are the real ones. */
export interface FleetDeps {
  runBuild: typeof runBuild;
  copyImageToRegion: typeof copyImageToRegion;
}

const REAL_DEPS: FleetDeps = { runBuild, copyImageToRegion };

/** `pinnedTo`: the registry kept this AMI in the region, pinned by a rollback (a child built there builds on it, as `cws ami build` would). */
type JobValue =
  | { kind: "build"; result: BuildResult; image: ImageInfo | undefined }
  | { kind: "copy"; copy?: CopyResult; found?: ImageInfo; note?: string; pinnedTo?: string; published?: string };

/** A build that did not succeed, with its result (logs, cost, what was cleaned). */
class BuildNotDone extends Error {
  constructor(readonly result: BuildResult) {
    super(result.error?.message ?? `the build was ${result.status}`);
    this.name = "BuildNotDone";
  }
}

/**
 * A copy job that did not succeed, as the user reads it: an AWS error the
 * user must act on (a permission, credentials) in cws's words, with what to do
 * and its exit code (2); any other failure as it came, exit 1.
 */
class CopyNotDone extends Error {
  constructor(
    message: string,
    readonly suggestion: string | undefined,
    readonly exitCode: ExitCode,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = "CopyNotDone";
  }
}

function copyNotDone(error: unknown, meta: FleetJob, describe: FleetRunOptions["describeError"]): CopyNotDone {
  const cause = error instanceof CopyFailure ? error.cause : error;
  const known = cause instanceof CwsError ? cause : describe?.(cause);
  const left = error instanceof CopyFailure ? error.suggestion : undefined;
  if (!known) return new CopyNotDone(error instanceof Error ? error.message : String(error), left, EXIT.failed, { cause: error });
  const what = error instanceof CopyFailure ? `copy from ${meta.target.home} to ${meta.region} failed: ` : "";
  const suggestion = [known.suggestion, left].filter((s) => s !== undefined).join("; ");
  return new CopyNotDone(`${what}${known.message}`, suggestion || undefined, known.exitCode, { cause: error });
}

/** The job id of a template's image for one architecture in one region. */
export function imageJobId(templateId: string, architecture: string, region: string): string {
  return `${templateId}/${architecture}@${region}`;
}

/**
 * The run's jobs, target by target (the order of the rows): each target's
 * build, then its copies. A child's build needs its parent's image
 * in the child's home region, which is the parent's build when both are built
 * there and the parent's copy there when not.
 */
export function fleetJobs(targets: readonly FleetTarget[]): FleetJob[] {
  const ids = new Set(targets.flatMap((t) => [t.home, ...t.copyTo].map((r) => imageJobId(t.templateId, t.architecture, r))));
  return targets.flatMap((target) => {
    const buildId = imageJobId(target.templateId, target.architecture, target.home);
    const parentJob = target.parent === undefined ? undefined : imageJobId(target.parent, target.architecture, target.home);
    return [
      { id: buildId, target, region: target.home, kind: "build" as const, needs: parentJob !== undefined && ids.has(parentJob) ? [parentJob] : [] },
      ...target.copyTo.map((region) => ({ id: imageJobId(target.templateId, target.architecture, region), target, region, kind: "copy" as const, needs: [buildId] })),
    ];
  });
}

/**
 * The order the scheduler starts ready jobs in: the longest chain of jobs
 * from a job on first (a parent's build, the copy its child is built on, then
 * builds with copies to follow), among chains as long a build before a copy
 * (a build launches, provisions, validates and images; a copy only moves
 * snapshots), otherwise target by target. In the order of the rows, a
 * parent's copies would take every free slot before its child's build, which
 * is on the run's longest path.
 */
export function startOrder(jobs: readonly FleetJob[]): FleetJob[] {
  const dependents = new Map<string, FleetJob[]>();
  for (const job of jobs) for (const need of job.needs) dependents.set(need, [...(dependents.get(need) ?? []), job]);
  const chain = new Map<string, number>();
  const chainFrom = (job: FleetJob): number => {
    let length = chain.get(job.id);
    if (length === undefined) {
      length = 1 + Math.max(0, ...(dependents.get(job.id) ?? []).map(chainFrom));
      chain.set(job.id, length);
    }
    return length;
  };
  return jobs
    .map((job, index) => ({ job, index, length: chainFrom(job) }))
    .sort((a, b) => b.length - a.length || Number(a.job.kind === "copy") - Number(b.job.kind === "copy") || a.index - b.index)
    .map(({ job }) => job);
}

export async function runFleet(options: FleetRunOptions, deps: FleetDeps = REAL_DEPS): Promise<FleetRunResult> {
  const { targets, reporter, aws } = options;
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const metas = new Map<string, FleetJob>();
  const values = new Map<string, JobValue>();
  const jobs: Job<JobValue>[] = [];
  const byTarget = new Map<string, { meta: FleetJob[]; ended: number; started: boolean }>();
  /** Per target, the source image, described once, when the first copy needs it. */
  const sources = new Map<string, Promise<ImageInfo>>();

  for (const meta of fleetJobs(targets)) {
    metas.set(meta.id, meta);
    const { target } = meta;
    const state = byTarget.get(target.key);
    if (state) state.meta.push(meta);
    else {
      byTarget.set(target.key, { meta: [meta], ended: 0, started: false });
      reporter.targetQueued(target.key, label(target));
    }
    const parentJob = meta.needs[0];
    jobs.push({
      id: meta.id,
      needs: meta.needs,
      run:
        meta.kind === "build"
          ? (signal) => runTargetBuild(meta, parentJob === undefined ? undefined : values.get(parentJob), signal)
          : (signal) => {
              const buildId = meta.needs[0]!;
              const built = values.get(buildId);
              if (built?.kind !== "build" || !built.result.imageId) throw new Error(`${meta.id}: the build's image is not known`);
              let source = sources.get(target.key);
              if (!source) sources.set(target.key, (source = describeSource(target.home, built.result.imageId, built.image)));
              return runTargetCopy(meta, built, source, signal).catch((error: unknown) => {
                throw copyNotDone(error, meta, options.describeError);
              });
            },
    });
  }

  async function describeSource(region: string, imageId: string, known: ImageInfo | undefined): Promise<ImageInfo> {
    if (known) return known;
    const [image] = await aws.ec2(region).describeImages({ imageIds: [imageId] });
    if (!image) throw new Error(`${imageId} is not in ${region} any more`);
    return image;
  }

  async function runTargetBuild(meta: FleetJob, parent: JobValue | undefined, signal: AbortSignal): Promise<JobValue> {
    const { target, region } = meta;
    // The parent's image in this region as the registry has it: a rollback's pin wins over an image of the same content (a
    // pin says the newer image is not to be used), as it does for `cws ami build`, which reads the registry.
    const parentImageId =
      parent?.kind === "build" ? (parent.result.pinnedTo ?? parent.result.imageId) : parent?.kind === "copy" ? (parent.pinnedTo ?? parent.copy?.imageId ?? parent.found?.imageId) : undefined;
    const request: BuildInput = {
      ...options.buildInput(target, region),
      templateId: target.templateId,
      template: target.template,
      architecture: target.architecture,
      region,
      ...(target.parent !== undefined && parentImageId !== undefined ? { parentImage: { templateId: target.parent, imageId: parentImageId } } : {}),
    };
    const result = await deps.runBuild(request, {
      aws,
      reporter: targetBuildReporter(reporter, target.key, target.copyTo.length > 0 ? `${region}: ` : ""),
      poll: options.poll,
      signal,
      registryFile: options.registryFile,
      parentRegistryFile: options.parentRegistryFile,
      publishSsm: options.publishSsm,
      ...(options.registryLock ? { registryLock: options.registryLock } : {}),
      force: options.force,
      maxAgeMs: options.maxAgeMs,
      verify: options.verify === true,
      ...(options.describeError ? { describeError: options.describeError } : {}),
      prices: options.prices,
      onContext: (context) => options.inFlight?.build(meta.id, label(target), region, context),
      ...(options.owner ? { owner: options.owner } : {}),
    });
    if (result.status !== "succeeded") throw new BuildNotDone(result);
    if (!result.imageId || (result.imageState !== undefined && result.imageState !== "available")) {
      throw new BuildNotDone({
        ...result,
        status: "failed",
        error: { code: "IMAGE_PENDING", message: `${result.imageId ?? "the image"} is not available yet, so it was neither recorded nor copied`, preflight: false },
      });
    }
    return { kind: "build", result, image: undefined };
  }

  async function runTargetCopy(meta: FleetJob, built: Extract<JobValue, { kind: "build" }>, sourcePromise: Promise<ImageInfo>, signal: AbortSignal): Promise<JobValue> {
    const { target, region } = meta;
    const ec2 = aws.ec2(region);
    const where = `${target.templateId}.${region}.${target.architecture}`;
    const source = await sourcePromise;
    // An image found up to date at home may have been copied here by an earlier run: a copy carries the source's content hash.
    // With --max-age only a copy of that very build will do: the home image is young enough, but an older build of the same
    // content (copied here before the home was built again) need not be, and a copy's creation date is when it was copied.
    const sourceBuild = source.tags["cws:build-id"];
    if (built.result.upToDate && built.result.contentHash && (options.maxAgeMs === undefined || sourceBuild !== undefined)) {
      reporter.targetStep(target.key, `${region}: looking for a copy of ${source.imageId}'s content`);
      const found = await findUpToDateImage(ec2, {
        templateId: target.templateId,
        architecture: target.architecture,
        contentHash: built.result.contentHash,
        ...(options.maxAgeMs === undefined ? {} : { buildId: sourceBuild }),
        now: now(),
      });
      if (found.upToDate && found.image) {
        return { kind: "copy", found: found.image, ...(await recordFound(meta, found.image)) };
      }
    }
    if (signal.aborted) throw new Error("interrupted");
    // The copy says when it starts, naming the source and the copy (copyImageToRegion's detail); this says when it is done.
    const made = await deps
      .copyImageToRegion({
        source: copySourceOf(target.home, source),
        destinationRegion: region,
        buildId: `${options.runId}-${source.imageId}`,
        ec2,
        poll: options.poll,
        signal,
        reporter: { detail: (text) => reporter.targetStep(target.key, text), warn: (text) => reporter.log(target.key, `⚠️  ${text}`), cleanup: (text) => reporter.log(target.key, `🧹 ${text}`) },
        onCopyMade: (imageId) => options.inFlight?.copy(meta.id, label(target), region, imageId, { region: target.home, ami_id: source.imageId }),
      })
      .then(
        (copy) => ({ copy }),
        (error: unknown) => {
          // The source's name is held here by a copy of this very build (one the search did not see, e.g. made since): the
          // region has the image, as if found up to date.
          if (error instanceof CopyFailure && error.nameTakenBy?.sameBuild) return { found: error.nameTakenBy.image };
          throw error;
        },
      );
    if ("found" in made) return { kind: "copy", found: made.found, ...(await recordFound(meta, made.found)) };
    const { copy } = made;
    if (copy.state !== "available") {
      throw new Error(`the copy ${copy.imageId} in ${region} is still pending after ${formatDuration(copy.seconds)}; it is kept: record it once available with cws ami update-registry ${target.templateId} --region ${region} --architecture ${target.architecture}`);
    }
    let note: string | undefined;
    let pinnedTo: string | undefined;
    if (options.registryFile) {
      const file = options.registryFile;
      const record = copyRecord(recordFromImage(source), copy, now());
      await updateRegistryFile(
        file,
        now(),
        (registry) => {
          const entry = entryAt(registry, target.templateId, region, target.architecture);
          // A copy of a new build ends a rollback's pin, as that build would had it run here; a copy of an image found up to
          // date does not (the pin says not to use that content).
          if (isPinned(entry) && built.result.upToDate) {
            pinnedTo = entry!.ami_id;
            note = `${where} stays ${entry!.ami_id}: a rollback pinned it (record ${copy.imageId} with cws ami update-registry ${target.templateId} --region ${region} --architecture ${target.architecture} --unpin)`;
            return;
          }
          recordCopy(registry, target.templateId, target.template, region, target.architecture, record);
        },
        { ...options.registryLock, onWait: (message) => reporter.log(target.key, `⏳ ${message}`) },
      );
      if (note) reporter.log(target.key, `⚠️  ${note}`);
    }
    const published = note ? undefined : await publish(meta, copy.imageId);
    reporter.log(target.key, `✅ ${region}: ${copy.imageId} copied from ${target.home} (${formatDuration(copy.seconds)})`);
    return { kind: "copy", copy, ...(note ? { note } : {}), ...(pinnedTo ? { pinnedTo } : {}), ...(published ? { published } : {}) };
  }

  /** An image of the same content already in the region: current in the registry unless it is or a rollback pinned the entry. */
  async function recordFound(meta: FleetJob, image: ImageInfo): Promise<{ note?: string; pinnedTo?: string; published?: string }> {
    const { target, region } = meta;
    const where = `${target.templateId}.${region}.${target.architecture}`;
    let note: string | undefined;
    let pinnedTo: string | undefined;
    if (options.registryFile) {
      await updateRegistryFile(
        options.registryFile,
        now(),
        (registry) => {
          const entry = entryAt(registry, target.templateId, region, target.architecture);
          if (entry?.ami_id === image.imageId) return;
          if (isPinned(entry)) {
            pinnedTo = entry!.ami_id;
            note = `${where} stays ${entry!.ami_id}: a rollback pinned it`;
            return;
          }
          recordAmi(registry, target.templateId, target.template, region, target.architecture, recordFromImage(image));
        },
        { ...options.registryLock, onWait: (message) => reporter.log(target.key, `⏳ ${message}`) },
      );
    }
    const published = note ? undefined : await publish(meta, image.imageId);
    return { ...(note ? { note } : {}), ...(pinnedTo ? { pinnedTo } : {}), ...(published ? { published } : {}) };
  }

  /** --publish-ssm: a copy's (or a found image's) id in its region's parameter, said as the home build's publish step says it. */
  async function publish(meta: FleetJob, imageId: string): Promise<string | undefined> {
    if (!options.publishSsm) return undefined;
    const { target, region } = meta;
    const name = await publishAmiToSsm(aws.ssm(region), { templateId: target.templateId, region, architecture: target.architecture }, imageId);
    reporter.targetStep(target.key, `✅ ${region}: Published ${name} = ${imageId}`);
    return name;
  }


  const onEnd = (id: string, outcome: JobOutcome<unknown>) => {
    const meta = metas.get(id)!;
    if (outcome.status === "succeeded") values.set(id, outcome.value as JobValue);
    const state = byTarget.get(meta.target.key)!;
    state.ended++;
    if (state.ended === state.meta.length) reporter.targetDone(meta.target.key, targetOutcome(meta.target, state.meta, outcomes(), metas));
  };
  const seen = new Map<string, JobOutcome<JobValue>>();
  const outcomes = () => seen;

  const position = new Map(startOrder([...metas.values()]).map((meta, index) => [meta.id, index]));
  const inStartOrder = [...jobs].sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  const finalOutcomes = await runJobs(inStartOrder, {
    concurrency: options.concurrency,
    signal: options.signal,
    failFast: options.failFast,
    // A build that failed by itself (its image judged failed on a fresh instance, say) before or as the run was cancelled.
    failedOnItsOwn: (error) => error instanceof BuildNotDone && error.result.status === "failed",
    onStart: (id) => {
      const meta = metas.get(id)!;
      const state = byTarget.get(meta.target.key)!;
      if (!state.started) {
        state.started = true;
        reporter.targetStarted(meta.target.key, label(meta.target));
      }
    },
    onEnd: (id, outcome) => {
      options.inFlight?.ended(id);
      seen.set(id, outcome as JobOutcome<JobValue>);
      onEnd(id, outcome);
    },
  });

  const rows = [...metas.values()].map((meta) => rowOf(meta, finalOutcomes.get(meta.id)!, metas, options.prices));
  const interrupted = options.signal.aborted;
  const summary: FleetSummary = {
    rows,
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    prices: describePrices(options.prices),
    ...(interrupted ? { interrupted: true } : {}),
  };
  return { summary, exitCode: interrupted ? exitCodeOfSignal(options.signal.reason) : exitCodeOf(rows, finalOutcomes) };
}

function label(target: FleetTarget): string {
  return target.key;
}

/** The row of one image: what its job did, its cost, and why when it did not. */
/** A row whose registry entry a rollback pinned: what it keeps, the image set aside, and how to take that one. */
function pinnedDetail(target: FleetTarget, region: string, pinnedTo: string, imageId: string | undefined): string {
  return `pinned by a rollback: the registry keeps ${pinnedTo}${imageId ? `; ${imageId} (this content) is not used` : ""} (take it with cws ami update-registry ${target.templateId} --region ${region} --architecture ${target.architecture} --unpin)`;
}

function rowOf(meta: FleetJob, outcome: JobOutcome<JobValue>, metas: ReadonlyMap<string, FleetJob>, prices: PriceTable): FleetRow {
  const { target, region } = meta;
  const base = { template: target.templateId, architecture: target.architecture, region };
  switch (outcome.status) {
    case "succeeded": {
      const value = outcome.value;
      if (value.kind === "build") {
        const r = value.result;
        // The row's AMI is the one the registry holds: a rollback's pin, not the image of the same content it set aside.
        const pinned = r.pinnedTo === undefined ? undefined : pinnedDetail(target, region, r.pinnedTo, r.imageId);
        return {
          ...base,
          result: r.upToDate ? "up-to-date" : "built",
          ...(r.pinnedTo ? { amiId: r.pinnedTo } : r.imageId ? { amiId: r.imageId } : {}),
          durationSeconds: r.durationSeconds,
          ...(r.cost ? { cost: r.cost.build } : {}),
          ...(r.cost?.snapshotsPerMonth && !r.upToDate ? { storage: r.cost.snapshotsPerMonth } : {}),
          ...(r.written.ssmParameter ? { ssmParameter: r.written.ssmParameter } : {}),
          ...(pinned ? { detail: pinned } : r.upToDate ? { detail: `an image of this content exists: ${r.imageId}${r.imageCreated ? ` (built ${r.imageCreated})` : ""}` } : {}),
        };
      }
      if (value.found) {
        const from = parseCopiedFromTag(value.found.tags[COPIED_FROM_TAG]);
        return {
          ...base,
          result: "up-to-date",
          amiId: value.pinnedTo ?? value.found.imageId,
          ...(from && !value.pinnedTo ? { copiedFrom: { region: from.region, amiId: from.ami_id } } : {}),
          durationSeconds: outcome.seconds,
          ...(value.published ? { ssmParameter: value.published } : {}),
          detail: value.pinnedTo ? pinnedDetail(target, region, value.pinnedTo, value.found.imageId) : (value.note ?? `an image of this content is here: ${value.found.imageId}`),
        };
      }
      const copy = value.copy!;
      return {
        ...base,
        result: "copied",
        amiId: value.pinnedTo ?? copy.imageId,
        copiedFrom: { region: copy.copiedFrom.region, amiId: copy.copiedFrom.ami_id },
        durationSeconds: Math.round(copy.seconds * 10) / 10,
        storage: snapshotMonthlyCost({ region, sizeGb: copy.sizeGb }, prices),
        ...(value.published ? { ssmParameter: value.published } : {}),
        ...(value.pinnedTo ? { detail: pinnedDetail(target, region, value.pinnedTo, copy.imageId) } : value.note ? { detail: value.note } : {}),
      };
    }
    case "failed": {
      const error = outcome.error;
      if (error instanceof BuildNotDone) {
        const r = error.result;
        return {
          ...base,
          result: "failed",
          durationSeconds: r.durationSeconds,
          ...(r.cost ? { cost: r.cost.build } : {}),
          ...(r.cost?.snapshotsPerMonth ? { storage: r.cost.snapshotsPerMonth } : {}),
          // A failed record's error names the image it kept, and how to record it, already.
          detail: `${failedBuildDetail(r)}${r.failedStep === "record" ? "" : keptNote(r)}`,
          ...(r.logDir ? { logDir: r.logDir } : {}),
        };
      }
      const message = error instanceof CopyNotDone ? `${error.message}${error.suggestion ? ` (${error.suggestion})` : ""}` : error instanceof Error ? error.message : String(error);
      return { ...base, result: "failed", durationSeconds: outcome.seconds, detail: message };
    }
    case "skipped":
      return { ...base, result: "skipped", detail: skippedBecause(target, outcome.because, metas) };
    case "cancelled": {
      const error = outcome.error;
      const r = error instanceof BuildNotDone ? error.result : undefined;
      return {
        ...base,
        result: "cancelled",
        ...(outcome.seconds === undefined ? {} : { durationSeconds: outcome.seconds }),
        ...(r?.cost ? { cost: r.cost.build } : {}),
        ...(r?.cost?.snapshotsPerMonth ? { storage: r.cost.snapshotsPerMonth } : {}),
        // A job that never started has nothing to clean up.
        detail: `${
          outcome.seconds === undefined
            ? `not started: ${outcome.reason === "interrupted" ? "interrupted" : "cancelled by --fail-fast after a failure"}`
            : `${outcome.reason === "interrupted" ? "interrupted" : "cancelled by --fail-fast after a failure"}: ${stoppedAndCleaned(error)}`
        }${r ? keptNote(r) : ""}`,
        ...(r?.logDir ? { logDir: r.logDir } : {}),
      };
    }
  }
}

/**
 * A failed build's row, one line: the step and the error, with the error's
 * suggestion when it says what to do. A failure that points at a log (setup,
 * validation) has for suggestion the log's last lines and its path: the row
 * names the build's log directory already (logDir), and the tail is on the
 * progress output, so a table, a job summary or a JSON document does not get
 * thirty lines of log in one cell.
 */
function failedBuildDetail(r: BuildResult): string {
  const suggestion = r.error?.suggestion !== undefined && r.error.logPath === undefined ? ` (${r.error.suggestion})` : "";
  return `${r.failedStep ? `${r.failedStep}: ` : ""}${r.error?.message ?? "failed"}${suggestion}`;
}

/** A cancelled job's cleanup in words: what its build or copy removed (`stopped; removed instance i-…, security group sg-…`). */
function stoppedAndCleaned(error: unknown): string {
  const copyFailure = error instanceof CopyNotDone && error.cause instanceof CopyFailure ? error.cause : error instanceof CopyFailure ? error : undefined;
  const cleaned = error instanceof BuildNotDone ? error.result.cleaned : (copyFailure?.cleaned ?? []);
  const problems = error instanceof BuildNotDone && error.result.cleanupErrors.length > 0 ? `; cleanup problems: ${error.result.cleanupErrors.join("; ")} (find leftovers by the tag cws:build-id=${error.result.buildId})` : "";
  return `${cleaned.length > 0 ? `stopped; removed ${cleaned.join(", ")}` : "stopped before it made anything"}${problems}`;
}

/**
 * What a build that did not succeed left on purpose: an image made and
 * validated before Ctrl-C or a later failure (the next run finds it up to
 * date), the instance --on-error abort keeps.
 */
function keptNote(r: BuildResult): string {
  return r.kept.length > 0 ? `; kept: ${r.kept.join(", ")}` : "";
}

/** Why an image was skipped, from the failed job at the root: its own build, or the template it builds on, directly or through its parent (in words, not job ids). */
function skippedBecause(target: FleetTarget, because: string, metas: ReadonlyMap<string, FleetJob>): string {
  const root = metas.get(because);
  if (root === undefined) return because;
  if (root.target === target) return `its build in ${root.region} failed`;
  const through = root.target.templateId === target.parent ? "" : ` through ${target.parent}`;
  return `${root.target.templateId}/${root.target.architecture} in ${root.region} failed (${target.templateId} builds on it${through})`;
}

/** What a target came to: its worst image, or built/copied/up to date. */
function targetOutcome(target: FleetTarget, metas: readonly FleetJob[], outcomes: ReadonlyMap<string, JobOutcome<JobValue>>, allMetas: ReadonlyMap<string, FleetJob>): TargetOutcome {
  const results = metas.map((meta) => ({ meta, outcome: outcomes.get(meta.id) }));
  const failed = results.filter((r) => r.outcome?.status === "failed");
  if (failed.length > 0) {
    const first = failed[0]!;
    const error = (first.outcome as { error: unknown }).error;
    const message =
      error instanceof BuildNotDone ? `${error.result.error?.message ?? "failed"}${error.result.logDir ? ` (logs: ${error.result.logDir})` : ""}` : error instanceof Error ? error.message : String(error);
    return { result: "failed", detail: `${first.meta.region}: ${message}` };
  }
  const build = outcomes.get(metas[0]!.id);
  const value = build?.status === "succeeded" ? build.value : undefined;
  const imageId = value?.kind === "build" ? value.result.imageId : undefined;
  const copies = results.slice(1).filter((r) => r.outcome?.status === "succeeded" && (r.outcome.value as JobValue).kind === "copy" && (r.outcome.value as { copy?: CopyResult }).copy).length;
  const upToDate = value?.kind === "build" && value.result.upToDate;
  const copiedTo = copies > 0 ? `, copied to ${copies} region${copies === 1 ? "" : "s"}` : "";
  const other = (["cancelled", "skipped"] as const).find((status) => results.some((r) => r.outcome?.status === status));
  if (other === "skipped") {
    const first = results.find((r) => r.outcome?.status === other)!.outcome as { because: string };
    return { result: other, detail: skippedBecause(target, first.because, allMetas) };
  }
  if (other === "cancelled") {
    const first = results.find((r) => r.outcome?.status === other)!.outcome as { reason: string };
    const why = first.reason === "interrupted" ? "interrupted" : "cancelled by --fail-fast";
    // The home image was made (or found) before the stop: say so, and how many copies the stop cut off, as its rows do.
    if (imageId === undefined) return { result: other, detail: why };
    const cancelled = results.filter((r) => r.outcome?.status === "cancelled").length;
    const copyJobs = results.length - 1;
    return {
      result: other,
      detail: `${why} after ${imageId} was ${upToDate ? "found up to date" : "built"} in ${target.home}${copiedTo}; ${cancelled} of ${copyJobs} cop${copyJobs === 1 ? "y" : "ies"} cancelled`,
    };
  }
  const result: FleetResult = upToDate ? (copies > 0 ? "copied" : "up-to-date") : "built";
  const where = `${imageId ?? "?"} in ${target.home}`;
  return { result, detail: `${where}${upToDate && copies > 0 ? " (up to date there)" : ""}${copiedTo}` };
}

function exitCodeOf(rows: readonly FleetRow[], outcomes: ReadonlyMap<string, JobOutcome<JobValue>>): ExitCode {
  if (rows.every((row) => row.result === "built" || row.result === "copied" || row.result === "up-to-date")) return EXIT.ok;
  const failures = [...outcomes.values()].filter((o): o is Extract<JobOutcome<JobValue>, { status: "failed" }> => o.status === "failed");
  const exitCodeOfFailure = (error: unknown) => (error instanceof BuildNotDone ? error.result.exitCode : error instanceof CopyNotDone ? error.exitCode : EXIT.failed);
  // 2 says "nothing happened, fix your setup": only when no image was made or found and every failure was the user's setup.
  // Once some image is there, a failed target is a partial run: 1, as for any failed target.
  const someDone = rows.some((row) => row.result === "built" || row.result === "copied" || row.result === "up-to-date");
  const usage = !someDone && failures.length > 0 && failures.every((f) => exitCodeOfFailure(f.error) === EXIT.usage);
  return usage ? EXIT.usage : EXIT.failed;
}
