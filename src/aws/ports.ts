/**
 * Narrow ports between the build pipeline and AWS. The pipeline, the registry
 * and every other part of the core talk to these interfaces only; the SDK
 * adapters in this folder implement them (and are the only code that imports
 * @aws-sdk). Each method is one AWS concept in the project's own terms, so a
 * step reads as what it does, and a test can fake a port or mock the SDK
 * client under the real adapter.
 *
 * Errors: adapters let AWS errors through as `AwsCallError` (name = the AWS
 * error code), so steps can decide what is retryable or what advice to give.
 */
import type { Architecture } from "../template/schema.js";

export type Tags = Record<string, string>;

export class AwsCallError extends Error {
  /** The AWS error code, e.g. `InsufficientInstanceCapacity`, `InvocationDoesNotExist`. */
  readonly code: string;
  /** The API action, e.g. `RunInstances`. */
  readonly action: string;
  readonly httpStatus: number | undefined;
  constructor(code: string, action: string, message: string, httpStatus?: number) {
    super(`${action}: ${code}: ${message}`);
    this.name = "AwsCallError";
    this.code = code;
    this.action = action;
    this.httpStatus = httpStatus;
  }
}

export function isAwsError(error: unknown, ...codes: string[]): error is AwsCallError {
  return error instanceof AwsCallError && (codes.length === 0 || codes.includes(error.code));
}

export interface ImageInfo {
  imageId: string;
  name: string;
  architecture: string;
  state: string;
  creationDate: string;
  ownerId: string;
  /** EC2's alias for the owner (ImageOwnerAlias: `amazon`, `aws-marketplace`), when it gives one. */
  ownerAlias?: string;
  rootDeviceName: string | undefined;
  /** Size of the root volume's snapshot, GiB. */
  rootVolumeSizeGb: number | undefined;
  snapshotIds: string[];
  /**
   * Every EBS snapshot of the image is encrypted (a cws build's always are: its
   * root volume is launched encrypted). Undefined when the image has no EBS
   * snapshot to judge by.
   */
  encrypted?: boolean;
  /** GiB of all its EBS volumes together (what its snapshots store at most); undefined when it has none. */
  totalVolumeSizeGb?: number;
  /** When EnableImageDeprecation deprecates (or deprecated) it, as EC2 gives it; undefined when never. */
  deprecationTime?: string;
  /**
   * The image it was made from, as EC2 records it (SourceImageId and
   * SourceImageRegion): a copy's source, or the image of the instance
   * CreateImage was called on. Whatever its tags say; undefined when EC2 does
   * not say (an older image, or one registered from snapshots).
   */
  source?: { imageId: string; region: string };
  tags: Tags;
}

/** CopyImage, as the destination region's port sends it. */
export interface CopyImageRequest {
  sourceRegion: string;
  sourceImageId: string;
  /** The copy's name in the destination region (AMI names are unique per region, so the source's name serves). */
  name: string;
  description: string;
  /** Applied to the copy and to each of its snapshots. */
  tags: Tags;
  /** The same token and request again returns the same copy instead of making a second one. */
  clientToken: string;
  /** Make every snapshot of the copy encrypted (with the destination region's default EBS key). */
  encrypted?: boolean;
}

export interface ImageFilter {
  /** Exactly these images; EC2 fails the whole call if one does not exist. */
  imageIds?: string[];
  /** Any of these images (the `image-id` filter): ids that do not exist are simply left out. */
  anyOfImageIds?: string[];
  owners?: string[];
  /** DescribeImages `name` filter; `*` and `?` are wildcards. */
  namePattern?: string;
  architecture?: Architecture;
  states?: string[];
  /** Exact tag matches. */
  tags?: Tags;
}

export interface SubnetInfo {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  availableIpAddressCount: number;
  defaultForAz: boolean;
  mapPublicIpOnLaunch: boolean;
}

export interface LaunchRequest {
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  instanceProfileName: string;
  /** Root device of the image, for the block device mapping. */
  rootDeviceName: string;
  volumeSizeGb: number | undefined;
  /** Applied to the instance and its volume. */
  tags: Tags;
  clientToken: string;
  dryRun?: boolean;
}

export interface InstanceInfo {
  instanceId: string;
  /** The image it was launched from. */
  imageId?: string;
  state: string;
  stateReason: string | undefined;
  instanceType: string;
  subnetId: string | undefined;
  availabilityZone: string | undefined;
  /** When the instance was launched (ISO 8601), as EC2 reports it. */
  launchTime?: string;
  tags: Tags;
}

export interface SecurityGroupInfo {
  groupId: string;
  name: string;
  vpcId: string | undefined;
  tags: Tags;
}

// --- what cws ami cleanup reads and does beside a build's calls -------------

/** One EBS snapshot of the account. */
export interface SnapshotInfo {
  snapshotId: string;
  /** pending, completed, error, ... */
  state: string;
  /** When the snapshot was started (ISO 8601). */
  startTime: string;
  volumeSizeGb: number;
  tags: Tags;
}

/** One version of a launch template and the image it launches, as written there. */
export interface LaunchTemplateImage {
  launchTemplateId: string;
  launchTemplateName: string;
  versionNumber: number;
  /** An AMI id, `resolve:ssm:<parameter>` (resolved when an instance is launched), or undefined (none given). */
  imageId: string | undefined;
}

/**
 * A read-only call that may be abandoned: a stop signal (Ctrl-C) aborts it at once rather than after its
 * retries, e.g. the preflight's against an endpoint that does not answer. Calls that create or remove
 * something take none: a cleanup must finish them.
 */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface Ec2Port {
  readonly region: string;
  /** All images matching, every page. */
  describeImages(filter: ImageFilter): Promise<ImageInfo[]>;
  defaultVpcId(options?: CallOptions): Promise<string | undefined>;
  describeSubnets(filter: { subnetIds?: string[]; vpcId?: string; defaultForAz?: boolean }, options?: CallOptions): Promise<SubnetInfo[]>;
  createSecurityGroup(request: { name: string; description: string; vpcId: string; tags: Tags; dryRun?: boolean }): Promise<string>;
  /** Idempotent: a group that is already gone is not an error. */
  deleteSecurityGroup(groupId: string): Promise<void>;
  runInstance(request: LaunchRequest): Promise<InstanceInfo>;
  /** Undefined when the instance does not exist (any more). */
  describeInstance(instanceId: string): Promise<InstanceInfo | undefined>;
  /** Every page; `imageIds`: launched from any of these images (asked 200 at a time, EC2's most values per filter). */
  describeInstances(filter: { tags?: Tags; states?: string[]; imageIds?: readonly string[] }): Promise<InstanceInfo[]>;
  stopInstance(instanceId: string): Promise<void>;
  /** Idempotent: an instance that is already gone is not an error. */
  terminateInstance(instanceId: string): Promise<void>;
  createImage(request: { instanceId: string; name: string; description: string; tags: Tags; dryRun?: boolean }): Promise<string>;
  /**
   * Starts a copy of an image from another region into this port's region and
   * returns the copy's id at once (it is pending until its snapshots are copied).
   */
  copyImage(request: CopyImageRequest): Promise<string>;
  createTags(resourceIds: string[], tags: Tags): Promise<void>;
  deregisterImage(imageId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  // cws ami cleanup
  /** The account's snapshots with these tags (every page). */
  describeSnapshots(filter: { owners?: string[]; tags?: Tags }): Promise<SnapshotInfo[]>;
  /** Every version of every launch template in the region (DescribeLaunchTemplates, then each one's versions; every page). */
  launchTemplateImages(): Promise<LaunchTemplateImage[]>;
  /** Deprecate the image at `deprecateAt` (EC2 rounds it to the minute and refuses the past). */
  enableImageDeprecation(imageId: string, deprecateAt: Date): Promise<void>;

  // cws ami reap: what a killed build left behind; cws ami bootstrap: a cws group to check a launch with.
  /** Every security group with these exact tags, every page. */
  describeSecurityGroups(filter: { tags?: Tags }): Promise<SecurityGroupInfo[]>;
}

export type PingStatus = "Online" | "ConnectionLost" | "Inactive" | "NotRegistered";

export type CommandStatus = "Pending" | "InProgress" | "Delayed" | "Success" | "Cancelled" | "TimedOut" | "Failed" | "Cancelling";

export interface CommandInvocation {
  status: CommandStatus;
  statusDetails: string | undefined;
  /** The script's exit code; -1 until it has one. */
  responseCode: number;
  /** At most 24,000 characters (SSM truncates); the full output is read from the instance. */
  stdout: string;
  stderr: string;
}

export interface SsmPort {
  readonly region: string;
  /** Undefined when the parameter does not exist. */
  getParameter(name: string): Promise<string | undefined>;
  putParameter(name: string, value: string, options: { overwrite: boolean; description?: string }): Promise<void>;
  /** The SSM agent's status on the instance; NotRegistered when SSM does not know it. */
  pingStatus(instanceId: string): Promise<PingStatus>;
  /** Run a shell script with AWS-RunShellScript; returns the command id. */
  sendShellCommand(request: { instanceId: string; script: string; timeoutSeconds: number; comment: string }): Promise<string>;
  /**
   * Undefined while SSM does not know the invocation yet (InvocationDoesNotExist
   * right after SendCommand), so callers wait it out.
   */
  getCommandInvocation(commandId: string, instanceId: string): Promise<CommandInvocation | undefined>;
  cancelCommand(commandId: string, instanceId: string): Promise<void>;
}

export interface CallerIdentity {
  account: string;
  arn: string;
}

export interface StsPort {
  callerIdentity(options?: CallOptions): Promise<CallerIdentity>;
}

/** A role as GetRole describes it. */
export interface RoleInfo {
  name: string;
  arn: string;
  /** Whom it trusts: the trust policy as JSON text (IAM sends it URL-encoded; the adapter decodes it). */
  trustPolicy: string;
}

export interface InstanceProfileInfo {
  name: string;
  arn: string;
  /**
   * The role it holds (IAM allows one), each with its trust policy: GetInstanceProfile
   * answers the roles whole, so whom they trust is known without iam:GetRole.
   */
  roles: RoleInfo[];
}

export interface IamPort {
  /** Undefined when it does not exist. */
  getInstanceProfile(name: string, options?: CallOptions): Promise<InstanceProfileInfo | undefined>;
  /** Undefined when the role does not exist. */
  getRole(name: string): Promise<RoleInfo | undefined>;
  createRole(name: string, assumeRolePolicyDocument: string, description: string, tags: Tags): Promise<void>;
  attachedPolicyArns(roleName: string): Promise<string[]>;
  attachRolePolicy(roleName: string, policyArn: string): Promise<void>;
  createInstanceProfile(name: string, tags: Tags): Promise<void>;
  addRoleToInstanceProfile(profileName: string, roleName: string): Promise<void>;
}

/** Where clients come from: the CLI builds one per process from the user's credential chain. */
export interface AwsPorts {
  ec2(region: string): Ec2Port;
  ssm(region: string): SsmPort;
  sts(region: string): StsPort;
  /** IAM is global within a partition: the port for the partition `region` is in. */
  iam(region: string): IamPort;
}

export interface AwsClientOptions {
  /** AWS_PROFILE / --profile. */
  profile?: string;
  /** Custom endpoint (AWS_ENDPOINT_URL is also honoured by the SDK itself). */
  endpoint?: string;
  maxAttempts?: number;
}
