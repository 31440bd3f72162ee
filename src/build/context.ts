import type { AwsPorts, CallerIdentity, Ec2Port, IamPort, ImageInfo, InstanceInfo, SsmPort, StsPort, SubnetInfo } from "../aws/ports.js";
import type { Architecture, Template } from "../template/schema.js";
import type { PollSettings } from "./poll.js";
import type { BuildReporter } from "./reporter.js";

export const DEFAULT_INSTANCE_TYPES: Record<Architecture, string> = { x86_64: "t3.medium", arm64: "t4g.medium" };
export const DEFAULT_INSTANCE_PROFILE = "cws-ami-builder";
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
  instanceProfile: string;
  onError: "cleanup" | "abort";
  contentHash: string;
  sourceCommit: string | undefined;
  /** Local directory for this build's logs: .cws/logs/<build-id>. */
  logDir: string;
}

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
  baseImage?: ImageInfo;
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

  // Cleanup decisions, each written by the step that owns the resource and read by the cleanups.
  /** The launch cleanup left the instance running for inspection (--on-error abort); its security group stays too. */
  instanceKept?: boolean;
  /** The image was still pending when its wait timed out: slow is not broken, so its cleanup keeps it. */
  imageKept?: boolean;

  /**
   * What was removed and what was kept, as lines for the final summary. Display
   * only: written as a cleanup acts, never read back to decide anything.
   */
  cleaned: string[];
  kept: string[];
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

export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** `cws-<template>-<version>-<arch>-<yyyymmddThhmmssZ>`, limited to the characters AMI names allow. */
export function imageNameFor(request: Pick<BuildRequest, "templateId" | "version" | "architecture">, at: Date): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9().\-/_]/g, "-");
  return `cws-${safe(request.templateId)}-${safe(request.version)}-${request.architecture}-${utcStamp(at)}`.slice(0, 128);
}

export function newBuildId(at: Date, random: () => number = Math.random): string {
  const suffix = Math.floor(random() * 0xffffff)
    .toString(16)
    .padStart(6, "0");
  return `${utcStamp(at).toLowerCase()}-${suffix}`;
}

/** Tags every resource of a build carries, so a later command can find what a killed process left behind. */
export function resourceTags(ctx: Pick<BuildContext, "request" | "buildId">, name: string): Record<string, string> {
  return {
    Name: name,
    "cws:build-id": ctx.buildId,
    "cws:template": ctx.request.templateId,
    "cws:managed-by": "cws",
  };
}

export function imageTags(ctx: Pick<BuildContext, "request" | "buildId" | "baseImage">, imageName: string): Record<string, string> {
  const r = ctx.request;
  return {
    ...(r.template.tags ?? {}),
    Name: imageName,
    "cws:template": r.templateId,
    "cws:version": r.version,
    "cws:arch": r.architecture,
    "cws:build-id": ctx.buildId,
    "cws:base-ami": ctx.baseImage?.imageId ?? "unknown",
    "cws:content-hash": r.contentHash,
    "cws:validated": "true",
    "cws:managed-by": "cws",
    ...(r.sourceCommit ? { "cws:source-commit": r.sourceCommit } : {}),
  };
}
