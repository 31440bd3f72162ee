import { join } from "node:path";
import type { AwsPorts, CallerIdentity, Ec2Port, IamPort, ImageInfo, InstanceInfo, SsmPort, StsPort, SubnetInfo } from "../aws/ports.js";
import type { Architecture, Template } from "../template/schema.js";
import type { PollSettings } from "./poll.js";
import type { BuildReporter } from "./reporter.js";
import type { Step } from "./runner.js";

/** Where the build keeps its scripts and logs on the instance; removed before imaging. */
export const REMOTE_WORK_ROOT = "/var/lib/cws-build";

export interface BuildRequest {
  templateId: string;
  template: Template;
  architecture: Architecture;
  region: string;
  /** e.g. v1.2.3 or a short commit; defaults to the template's version. */
  version: string;
  instanceType: string;
  subnetId: string | undefined;
  /** Where the subnet was set (`--subnet`, `build.subnet in cws.config.json`), for the preflight's message when it does not exist. */
  subnetFrom?: string | undefined;
  instanceProfile: string;
  onError: "cleanup" | "abort";
  /** The template's own content hash (templateContentHash), tagged `cws:template-hash`; the image's hash adds its base AMI. */
  templateHash: string;
  /**
   * For a template built on another (`base_ami.template`): the parent's image
   * to build on, e.g. the one build-all has just made. Without it the parent's
   * current validated image in the registry is used.
   */
  parentImage?: { templateId: string; imageId: string };
  sourceCommit: string | undefined;
  /** Local directory for this build's logs: .cws/logs/<build-id>. */
  logDir: string;
}

/** What the CLI asks for: a request whose log directory is made per build, under `logRoot`. */
export type BuildInput = Omit<BuildRequest, "logDir"> & { logRoot: string };

export function requestFor(input: BuildInput, buildId: string): BuildRequest {
  const { logRoot, ...request } = input;
  return { ...request, logDir: join(logRoot, buildId) };
}

/**
 * What the run's instance is for: `build` (it is provisioned and imaged) or
 * `validate` (a fresh instance launched from an image to run its template's
 * tests on: `cws ami validate`, and `build --verify` after the image is made).
 * Tagged `cws:purpose` on the instance and the security group, and it names
 * them.
 */
export type Purpose = "build" | "validate";

export interface ValidationOutcome {
  name: string;
  passed: boolean;
  exitCode: number;
  /** Why it failed: expected vs actual. */
  detail?: string;
  stdout: string;
}

export interface BuildContext {
  readonly request: BuildRequest;
  readonly buildId: string;
  readonly startedAt: Date;
  /** What the instance is for; absent: a build. */
  readonly purpose?: Purpose;
  readonly ec2: Ec2Port;
  readonly ssm: SsmPort;
  readonly sts: StsPort;
  readonly iam: IamPort;
  readonly aws: AwsPorts;
  readonly reporter: BuildReporter;
  readonly poll: PollSettings;
  /** Appends a chunk to a local log file (created on first write). */
  readonly writeLog: (name: string, chunk: Uint8Array | string) => Promise<void>;
  readonly logPath: (name: string) => string;
  /** The last `lines` lines of a local log. */
  readonly readLogTail: (name: string, lines: number) => Promise<string>;

  // Filled in by the steps, each the moment the thing exists.
  identity?: CallerIdentity;
  subnets?: SubnetInfo[];
  /** The image the instance is launched from: the build's base, or the image under validation. */
  baseImage?: ImageInfo;
  /** What determines the image: the template's hash and the base AMI (imageContentHash), once the base AMI is known. */
  contentHash?: string;
  /** An available, validated image with this content hash already exists: the build stopped at its cache check. */
  upToDate?: ImageInfo;
  securityGroupId?: string;
  instance?: InstanceInfo;
  /** Kept after termination, for the result. */
  launchedInstanceId?: string;
  /** The instance is reachable through SSM. */
  online?: boolean;
  validation?: ValidationOutcome[];
  imageName?: string;
  imageId?: string;
  snapshotIds?: string[];
  imageState?: string;
  imageSizeGb?: number;
  /** Where the new AMI was written, set by the steps that wrote it: the registry file, the SSM parameter. */
  recordedIn?: string;
  /** The registry entry stayed on this AMI, pinned by a rollback, rather than take the up-to-date image. */
  pinnedTo?: string;
  publishedAs?: string;
  /** The fresh instance's run while `--verify` is under way (the CLI names its instance on a second Ctrl-C). */
  verifying?: BuildContext;
  /** What `--verify` found on a fresh instance from the new image (steps/verify.ts). */
  verification?: Verification;
  /** When the image passed its tests on a fresh instance, as tagged `cws:validated-at`. */
  validatedAt?: string;
  /** What became of the validated image's record in the registry (validate). */
  registryRecord?: RegistryRecord;

  // Cleanup decisions, each written by the step that owns the resource and read by the cleanups.
  /** The launch cleanup left the instance running for inspection (--on-error abort); its security group stays too. */
  instanceKept?: boolean;
  /** The instances kept for inspection (--on-error abort): the build's, and --verify's fresh one; the group's cleanup says how to remove them all. */
  keptInstances?: KeptInstance[];
  /** The instance was stopped for imaging (the generalize step waited for it): kept, it is stopped, not running. */
  instanceStopped?: boolean;
  /**
   * The image stays although the build did not succeed: still pending when its wait timed out (slow is not
   * broken), or available and validated when a later step failed or the build was interrupted. Its cleanup
   * keeps it, and its snapshots count in the build's cost.
   */
  imageKept?: boolean;

  /**
   * What was removed and what was kept, as lines for the final summary. Display
   * only: written as a cleanup acts, never read back to decide anything.
   */
  cleaned: string[];
  kept: string[];
}

/** An instance `--on-error abort` kept to look at: which one, and whether it was left stopped (imaged) or running. */
export interface KeptInstance {
  instanceId: string;
  /** build: the build instance; fresh: --verify's instance launched from the new image. */
  role: "build" | "fresh";
  state: "running" | "stopped";
}

/**
 * Where `cws ami validate` marked a passing image in the registry: its entry's
 * current AMI, one in the entry's history, `none` (the registry has no record
 * of it there), `no-registry` (the registry file does not exist) or `failed`
 * (the image is tagged, but the registry could not be written).
 */
export type RegistryRecord = "current" | "history" | "none" | "no-registry" | "failed";

/**
 * The verdict of `--verify`. `judged`: a fresh instance was launched from the
 * image, so its failing says something about the image (its tests failed, or
 * it never came online); a launch refused by EC2 says nothing about it.
 */
export interface Verification {
  judged: boolean;
  passed: boolean;
  instanceId?: string;
  tests: ValidationOutcome[];
  /** How long the fresh instance ran, for the build's cost. */
  instanceSeconds: number;
}

/** What is known of a build before it runs: enough for each step to say what it will do. */
export type PlannedBuild = Pick<BuildContext, "request" | "buildId" | "startedAt" | "purpose">;

/** What a step will do for a build, in the words of the dry-run plan. */
export interface StepPlan {
  run: string;
  /** What its cleanup undoes: present exactly when the step has a cleanup. */
  cleanup?: string;
}

/** A step of the build: it runs, cleans up, and describes itself, so the plan is the list the run uses. */
export interface PipelineStep extends Step<BuildContext> {
  describe(build: PlannedBuild): StepPlan;
}

export class BuildFailure extends Error {
  constructor(
    message: string,
    readonly suggestion?: string,
    readonly logPath?: string,
  ) {
    super(message);
    this.name = "BuildFailure";
  }
}

/** A preflight problem: the user's setup, not the build, is at fault (exit 2). */
export class PreflightFailure extends BuildFailure {
  constructor(message: string, suggestion?: string) {
    super(message, suggestion);
    this.name = "PreflightFailure";
  }
}

/**
 * What of a build exists in AWS while it cleans up, for the second Ctrl-C:
 * `instance i-…`, `security group sg-…`, an unfinished `image ami-…` (each
 * step clears its id once its resource is gone). All carry `cws:build-id`.
 * With `--verify`, the fresh instance too, and the image while it is not yet
 * judged (steps/verify.ts removes it then, as an unfinished one); a
 * validation's run (`cws ami validate`) names its instance and group.
 */
/** What a second Ctrl-C says while a build or a validation (`what`) cleans up: what of it is still alive, and the tag to find it by. */
export function stillAliveNotice(ctx: (Parameters<typeof aliveResources>[0] & { buildId: string }) | undefined, region: string, what: "build" | "validation"): string {
  const alive = ctx ? aliveResources(ctx) : [];
  return alive.length ? `still cleaning up; alive in ${region}: ${alive.join(", ")} (all tagged cws:build-id=${ctx!.buildId})` : `still cleaning up; nothing of this ${what} is alive any more`;
}

export function aliveResources(ctx: Pick<BuildContext, "instance" | "securityGroupId" | "imageId" | "imageState" | "verifying" | "verification">): string[] {
  const unproven = ctx.imageState !== "available" || ctx.verifying !== undefined || ctx.verification?.judged === false;
  const alive = [
    ...(ctx.verifying ? aliveResources(ctx.verifying) : []),
    ctx.instance ? `instance ${ctx.instance.instanceId}` : undefined,
    ctx.securityGroupId ? `security group ${ctx.securityGroupId}` : undefined,
    ctx.imageId && unproven ? `image ${ctx.imageId}` : undefined,
  ].filter((what) => what !== undefined);
  // The fresh instance shares the build's security group.
  return [...new Set(alive)];
}

/** A base image's root volume when nothing says its size (offline, or an image that does not report it): 8 GiB, as Ubuntu's and Debian's are. */
export const DEFAULT_ROOT_VOLUME_GB = 8;

/** The build's root volume, hence its image's size: the template's volume_size_gb, else the base image's, else the default. */
export function rootVolumeSizeGb(template: Pick<Template, "volume_size_gb">, baseImage: Pick<ImageInfo, "rootVolumeSizeGb"> | undefined): number {
  return template.volume_size_gb ?? baseImage?.rootVolumeSizeGb ?? DEFAULT_ROOT_VOLUME_GB;
}

export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** EC2's limit on an AMI name. */
const AMI_NAME_MAX = 128;

/**
 * `cws-<template>-<version>-<arch>-<build id>` (the build id is its UTC start
 * and a random suffix, `20261126t083000z-4f2a1c`), limited to the characters
 * AMI names allow. Names are unique per region and a copy keeps its source's:
 * builds started in the same second (each region's with --strategy
 * per-region, two runs) must not share one, so the name ends with the whole
 * build id, which is never cut; a version too long for EC2's 128 characters is.
 */
export function imageNameFor(build: { request: Pick<BuildRequest, "templateId" | "version" | "architecture">; buildId: string }): string {
  const { request, buildId } = build;
  const safe = (s: string) => s.replace(/[^A-Za-z0-9().\-/_]/g, "-");
  const head = `cws-${safe(request.templateId)}-`;
  // The plan's placeholder is shown as it reads, not as an AMI name would have to spell it.
  const tail = `-${request.architecture}-${buildId === PLANNED_BUILD_ID ? buildId : safe(buildId)}`;
  return `${head}${safe(request.version).slice(0, Math.max(0, AMI_NAME_MAX - head.length - tail.length))}${tail}`.slice(-AMI_NAME_MAX);
}

/** Stands for the build id in a plan (`--dry-run`), which only a real run has. */
export const PLANNED_BUILD_ID = "<build-id>";

export function newBuildId(at: Date, random: () => number = Math.random): string {
  const suffix = Math.floor(random() * 0xffffff)
    .toString(16)
    .padStart(6, "0");
  return `${utcStamp(at).toLowerCase()}-${suffix}`;
}

const BOOTSTRAP_ID_PREFIX = "bootstrap-";

/**
 * The id `cws ami bootstrap` tags its short-lived security group with
 * (src/bootstrap/probe.ts): a build id marked as bootstrap's, so that `cws
 * ami reap` finds a group a killed bootstrap left, and dates it like a build's.
 */
export function bootstrapBuildId(at: Date, random: () => number = Math.random): string {
  return `${BOOTSTRAP_ID_PREFIX}${newBuildId(at, random)}`;
}

/**
 * When a build started, read back from its id (newBuildId's UTC stamp, to the
 * second; a bootstrapBuildId's too); undefined for an id cws did not make.
 * Every resource of a build is tagged with the id, so this dates even a
 * security group, which EC2 does not.
 */
export function buildStartedAt(taggedId: string): Date | undefined {
  const buildId = taggedId.startsWith(BOOTSTRAP_ID_PREFIX) ? taggedId.slice(BOOTSTRAP_ID_PREFIX.length) : taggedId;
  const match = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z-[0-9a-f]{6}$/.exec(buildId);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 20261340 over into the next year: only a stamp that reads back the same is one.
  return utcStamp(date).toLowerCase() === buildId.slice(0, 16) ? date : undefined;
}

/** The build's own directory on the instance: scripts, their logs, validation files. */
export function remoteWorkDir(build: Pick<BuildContext, "buildId">): string {
  return `${REMOTE_WORK_ROOT}/${build.buildId}`;
}

/** How many tags EC2 allows on one resource (an image, a snapshot, an instance, …). */
export const EC2_MAX_TAGS_PER_RESOURCE = 50;

/** The tags cws sets on every resource of a build (or a validation), so a later command can find what a killed process left behind. */
export const CWS_RESOURCE_TAG_KEYS = ["Name", "cws:build-id", "cws:template", "cws:managed-by", "cws:purpose"] as const;

/** What a run's instance and security group are called: `cws-build-…`, `cws-validate-…`. */
export function resourceName(build: Pick<BuildContext, "purpose">, what: string): string {
  return `cws-${build.purpose ?? "build"}-${what}`;
}

/**
 * The tags cws sets on every image and its snapshots, besides the template's
 * own `tags` (which go on the image and snapshots only). The template schema
 * derives from this list which tag keys a template may not set and how many
 * tags it may add (EC2_MAX_TAGS_PER_RESOURCE less these).
 */
export const CWS_IMAGE_TAG_KEYS = [
  "Name",
  "cws:template",
  "cws:version",
  "cws:arch",
  "cws:build-id",
  "cws:base-ami",
  "cws:content-hash",
  "cws:template-hash",
  "cws:validated",
  // When the image passed its tests on a fresh instance (build --verify, cws ami validate), tagged then.
  "cws:validated-at",
  "cws:managed-by",
  "cws:source-commit",
  // Set on copies only (build-all copies an image to its template's other regions): counted, so a copy fits EC2's limit too.
  "cws:copied-from",
] as const;

/** The template's tags leave room for cws's own on every image, however many a build sets. */
export const MAX_TEMPLATE_TAGS = EC2_MAX_TAGS_PER_RESOURCE - CWS_IMAGE_TAG_KEYS.length;

export function resourceTags(build: Pick<BuildContext, "request" | "buildId" | "purpose">, name: string): Record<string, string> {
  const own: Record<(typeof CWS_RESOURCE_TAG_KEYS)[number], string> = {
    Name: name,
    "cws:build-id": build.buildId,
    "cws:template": build.request.templateId,
    "cws:managed-by": "cws",
    "cws:purpose": build.purpose ?? "build",
  };
  return own;
}

/** What the image is made of, known once the base AMI is resolved (the plan shows placeholders). */
export interface ImageOrigin {
  baseAmiId: string;
  contentHash: string;
}

/**
 * `cws:validated` on a new image: `true` when the build's tests passed on the
 * build instance, or `pending` while `--verify` has yet to run them on a fresh
 * instance (it then tags `true` or `false`). Only `true` is ever taken by the
 * cache check, update-registry or a copy's source.
 */
export type ValidatedTag = "true" | "pending" | "false";

export function imageTags(build: Pick<BuildContext, "request" | "buildId">, imageName: string, origin: ImageOrigin, validated: ValidatedTag = "true"): Record<string, string> {
  const r = build.request;
  // Every key of CWS_IMAGE_TAG_KEYS, or the compiler says which is missing; the source commit only in a git checkout.
  const own: Record<(typeof CWS_IMAGE_TAG_KEYS)[number], string | undefined> = {
    Name: imageName,
    "cws:template": r.templateId,
    "cws:version": r.version,
    "cws:arch": r.architecture,
    "cws:build-id": build.buildId,
    "cws:base-ami": origin.baseAmiId,
    "cws:content-hash": origin.contentHash,
    "cws:template-hash": r.templateHash,
    "cws:validated": validated,
    // Tagged once the image has passed on a fresh instance (steps/verify.ts).
    "cws:validated-at": undefined,
    "cws:managed-by": "cws",
    "cws:source-commit": r.sourceCommit,
    // A build's own image is no copy (src/fleet/copy.ts adds it to a copy's tags).
    "cws:copied-from": undefined,
  };
  const tags: Record<string, string> = { ...(r.template.tags ?? {}) };
  for (const [key, value] of Object.entries(own)) if (value !== undefined) tags[key] = value;
  return tags;
}

/** Tags as the plan shows them: `key=value`, hashes cut to 12 characters, Name bare (the plan names the resource). */
export function describeTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([key, value]) => (key === "Name" ? key : `${key}=${/^[0-9a-f]{40,}$/.test(value) ? `${value.slice(0, 12)}…` : value}`))
    .join(", ");
}
