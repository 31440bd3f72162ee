import type { ChildProcess } from "node:child_process";
import type { SimClock } from "./clock.js";
import type { Architecture, FamilyKey } from "./public-amis.js";
import type { Sandbox, ShellMode } from "./sandbox.js";
import type { Stats } from "./stats.js";

/** Simulated seconds that things take. */
export interface Latencies {
  /** RunInstances: pending → running. */
  instancePending: number;
  /** running → the SSM agent is Online (only with a usable instance profile). */
  ssmAgentOnline: number;
  /** stopping → stopped. */
  instanceStopping: number;
  /** shutting-down → terminated. */
  instanceShuttingDown: number;
  /** CreateImage without NoReboot: the SSM agent is offline this long while the instance reboots. */
  instanceReboot: number;
  /** CreateImage: pending → available, fixed part ... */
  imageBase: number;
  /** ... plus this much per GiB of the instance's volumes. */
  imagePerGiB: number;
  /** CopyImage: pending → available, fixed part ... */
  copyImageBase: number;
  /** ... plus this much per GiB. */
  copyImagePerGiB: number;
  /** After SendCommand, GetCommandInvocation answers InvocationDoesNotExist this long. */
  invocationNotFound: number;
  /** After SendCommand, the invocation stays Pending this long before the script starts. */
  commandPending: number;
  /** An instance profile created through IAM is rejected by RunInstances for this long (IAM propagation). */
  iamPropagation: number;
}

export const DEFAULT_LATENCIES: Readonly<Latencies> = Object.freeze({
  instancePending: 15,
  ssmAgentOnline: 30,
  instanceStopping: 20,
  instanceShuttingDown: 30,
  instanceReboot: 25,
  imageBase: 60,
  imagePerGiB: 8,
  copyImageBase: 120,
  copyImagePerGiB: 15,
  invocationNotFound: 2,
  commandPending: 1,
  iamPropagation: 8,
});

export interface ResolvedOptions {
  accountId: string;
  rejectCredentials: boolean;
  shell: ShellMode;
  scaleExecutionTimeout: boolean;
  requireSsmPolicy: boolean;
}

export type Tags = Map<string, string>;

export type InstanceStateName = "pending" | "running" | "stopping" | "stopped" | "shutting-down" | "terminated";

export const STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface Instance {
  id: string;
  region: string;
  reservationId: string;
  imageId: string;
  family: FamilyKey;
  architecture: Architecture;
  instanceType: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  privateIp: string;
  privateDnsName: string;
  hostname: string;
  securityGroupIds: string[];
  profile?: { name: string; arn: string; id: string };
  metadata: { httpTokens: string; httpEndpoint: string; hopLimit: number; instanceMetadataTags: string };
  rootDeviceName: string;
  volumeIds: string[];
  tags: Tags;
  clientToken?: string;
  launchTime: number;
  state: InstanceStateName;
  stateSince: number;
  transition?: { to: InstanceStateName; at: number };
  stateReason?: { code: string; message: string };
  stateTransitionReason: string;
  /** When the SSM agent (re)connects, if the instance has a profile. */
  agentOnlineAt?: number;
  /** When the agent first registered with SSM (after that the instance shows in DescribeInstanceInformation). */
  registeredAt?: number;
  /** Scratch root holding the instance's writable trees. */
  root: string;
  treeReady: boolean;
  treeReadyAt?: number;
  treeError?: string;
  treePromise: Promise<void>;
  /** The current boot: its scripts (/etc/cws-emulator-boot.d, boot.ts) and when they ended. Set when the instance becomes running and at a reboot. */
  boot?: Boot;
}

/** One boot of an instance (boot.ts). */
export interface Boot {
  /** Simulated time at which the boot scripts may start. */
  at: number;
  started: boolean;
  /** Simulated time at which the last one ended; the agent comes online only after it. */
  doneAt?: number;
  /** What must be done first (a reboot empties /run). */
  after?: Promise<void>;
}

export interface Volume {
  id: string;
  size: number;
  type: string;
  encrypted: boolean;
  kmsKeyId?: string;
  iops?: number;
  throughput?: number;
  availabilityZone: string;
  snapshotId?: string;
  instanceId?: string;
  deviceName?: string;
  deleteOnTermination: boolean;
  createTime: number;
  state: "in-use" | "available" | "deleted";
  tags: Tags;
}

export interface ImageDevice {
  deviceName: string;
  snapshotId: string;
  size: number;
  type: string;
  encrypted: boolean;
  deleteOnTermination: boolean;
  iops?: number;
  throughput?: number;
}

export interface Image {
  id: string;
  region: string;
  name: string;
  description?: string;
  ownerId: string;
  ownerAlias?: string;
  public: boolean;
  architecture: Architecture;
  family: FamilyKey;
  availableAt: number;
  creationDate: string;
  rootDeviceName: string;
  devices: ImageDevice[];
  tags: Tags;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
  imdsSupport?: string;
  bootMode?: string;
  /** EnableImageDeprecation: when the image is (or was) deprecated, ISO 8601 (whole minutes). */
  deprecationTime?: string;
  /** Scratch tree with the image's files; undefined for seeded images (their family's base tree). */
  tree?: string;
  treeReady: boolean;
  treeError?: string;
  treePromise: Promise<void>;
}

export interface Snapshot {
  id: string;
  region: string;
  volumeSize: number;
  ownerId: string;
  /** Simulated time the snapshot was started (DescribeSnapshots' StartTime). */
  startedAt: number;
  completeAt: number;
  encrypted?: boolean;
  /** The image whose creation made this snapshot (its readiness gates the snapshot's). */
  imageId?: string;
  tags: Tags;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  ownerId: string;
  isDefault: boolean;
  tags: Tags;
}

export interface Vpc {
  id: string;
  cidr: string;
  isDefault: boolean;
  dhcpOptionsId: string;
  tags: Tags;
}

export interface Subnet {
  id: string;
  vpcId: string;
  availabilityZone: string;
  availabilityZoneId: string;
  cidr: string;
  defaultForAz: boolean;
  /** Next host number handed out in this subnet. */
  nextHost: number;
  tags: Tags;
}

/** One version of a launch template: what cws reads of it is the image it launches. */
export interface LaunchTemplateVersion {
  versionNumber: number;
  description?: string;
  createTime: number;
  /** As written: an AMI id, or `resolve:ssm:<parameter>` resolved at launch. */
  imageId?: string;
  instanceType?: string;
}

export interface LaunchTemplate {
  id: string;
  name: string;
  createTime: number;
  defaultVersion: number;
  versions: LaunchTemplateVersion[];
  tags: Tags;
}

export interface Reservation {
  id: string;
  instanceIds: string[];
}

export interface Parameter {
  name: string;
  type: string;
  value: string;
  version: number;
  lastModified: number;
  dataType: string;
  description?: string;
}

export type InvocationStatus = "Pending" | "InProgress" | "Success" | "Failed" | "TimedOut" | "Cancelled";

export interface Invocation {
  commandId: string;
  instanceId: string;
  visibleAt: number;
  startAt: number;
  started: boolean;
  finished: boolean;
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  startedSim?: number;
  endedSim?: number;
  stdout: string;
  stderr: string;
  process?: ChildProcess;
  startTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  timedOut?: boolean;
  cancelled?: boolean;
  /** Set when the instance was stopped, terminated or rebooted under the command. */
  interruptedBy?: string;
}

export interface Command {
  id: string;
  region: string;
  documentName: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  requestedAt: number;
  timeoutSeconds: number;
  executionTimeout: number;
  workingDirectory?: string;
  script: string;
  invocations: Map<string, Invocation>;
}

export class RegionState {
  readonly name: string;
  readonly instances = new Map<string, Instance>();
  readonly reservations = new Map<string, Reservation>();
  readonly volumes = new Map<string, Volume>();
  readonly images = new Map<string, Image>();
  readonly snapshots = new Map<string, Snapshot>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly vpcs = new Map<string, Vpc>();
  readonly subnets = new Map<string, Subnet>();
  /** Parameters put through PutParameter (the public ones are computed). */
  readonly parameters = new Map<string, Parameter>();
  readonly commands = new Map<string, Command>();
  readonly runTokens = new Map<string, { fingerprint: string; reservationId: string }>();
  readonly copyTokens = new Map<string, { fingerprint: string; imageId: string }>();
  readonly launchTemplates = new Map<string, LaunchTemplate>();

  constructor(name: string) {
    this.name = name;
  }
}

export interface IamRole {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: number;
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  tags: Array<{ key: string; value: string }>;
  attachedPolicyArns: string[];
}

export interface IamInstanceProfile {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: number;
  roleNames: string[];
  tags: Array<{ key: string; value: string }>;
  /** EC2 accepts the profile from this simulated time on (IAM propagation). */
  usableAt: number;
}

export class IamState {
  readonly roles = new Map<string, IamRole>();
  readonly instanceProfiles = new Map<string, IamInstanceProfile>();
}

export interface World {
  readonly accountId: string;
  readonly clock: SimClock;
  readonly latencies: Latencies;
  readonly options: ResolvedOptions;
  readonly iam: IamState;
  readonly sandbox: Sandbox;
  readonly stats: Stats;
  region(name: string): RegionState;
  readonly regions: ReadonlyMap<string, RegionState>;
  log(message: string): void;
}
