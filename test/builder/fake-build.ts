/** What a whole build needs in a unit test: a request, fast polls and a fake AWS. */
import { join } from "node:path";
import { AwsCallError, type AwsPorts, type CommandInvocation, type Ec2Port, type IamPort, type ImageFilter, type ImageInfo, type InstanceInfo, type SsmPort, type StsPort, type Tags } from "../../src/aws/ports.js";
import { BUILDER_TRUST_POLICY_JSON } from "../../src/bootstrap/trust-policy.js";
import type { BuildInput, BuildRequest } from "../../src/builder/context.js";
import type { PollSettings } from "../../src/builder/poll.js";
import { parseTemplate } from "../../src/template/load.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/** The test template, its validation judged by exit code alone (the fake's tests print nothing). */
export const SETUP_SCRIPT_TEMPLATE = VALID_TEMPLATE.replace('    expected: "ready"\n', "");
/** The same with named build steps instead of a setup script. */
export const BUILD_STEPS_TEMPLATE = SETUP_SCRIPT_TEMPLATE.replace(
  /setup_script: \|\n( {2}.*\n)+/,
  'build_steps:\n  - name: "First"\n    script: "echo one"\n  - name: "Second"\n    script: "echo two"\n    timeout_seconds: 60\n',
);

export const FAST_POLL: PollSettings = { overrideMs: 1, timeoutScale: 0.0001 };

/** The request every build test makes, less where its logs go. */
export function testRequest(templateSource = SETUP_SCRIPT_TEMPLATE): Omit<BuildRequest, "logDir"> {
  return {
    templateId: "test-env",
    template: parseTemplate(templateSource, "t.yml").template!,
    architecture: "x86_64",
    region: "us-east-1",
    version: "v1.0.0",
    instanceType: "t3.medium",
    subnetId: undefined,
    instanceProfile: "cws-ami-builder",
    onError: "cleanup",
    templateHash: "c".repeat(64),
    sourceCommit: undefined,
  };
}

export function buildInput(dir: string, overrides: Partial<BuildInput> = {}, templateSource = SETUP_SCRIPT_TEMPLATE): BuildInput {
  return { ...testRequest(templateSource), logRoot: join(dir, "logs"), ...overrides };
}

/**
 * An in-memory AWS behind the ports, just enough for a whole build to run in a
 * unit test: one base image, one subnet, an instance that does what it is
 * told at once, and an SSM agent that answers the build's commands (uploads,
 * log reads, validation, generalize) the way a real instance would. `calls`
 * records every request that creates or removes something, in order, and
 * `tags` the tags each kind of resource was created with. DryRun requests
 * create nothing and answer DryRunOperation, as EC2 does.
 */
export interface FakeAwsOptions {
  /** Exit code of every provisioning script (0: they succeed). */
  setupExitCode?: number;
  /** The new image never becomes available (its wait times out). */
  imagePending?: boolean;
  /** Called when the image is requested, e.g. to interrupt the build there. */
  onCreateImage?: () => unknown;
  /** The instance profile does not exist (preflight fails). */
  noInstanceProfile?: boolean;
  /** The trust policy of the role in the instance profile, as JSON text (default: EC2 alone, as bootstrap makes it). */
  builderTrust?: string;
  /** Images of this account there already are, e.g. one of the same content for the cache check to find. */
  images?: ImageInfo[];
  /**
   * What each validation test exits with on an instance, by its launch (1: the
   * build's, 2: a fresh one for --verify or validate): 0 when not given.
   */
  testExitCode?: (launch: number) => number;
  /** Called at each launch (1, 2, …) before the instance exists, e.g. to refuse it (throw) or to interrupt there. */
  onRunInstance?: (launch: number) => unknown;
  /** Called at each validation command, with the launch of the instance it runs on, e.g. to interrupt there. */
  onValidation?: (launch: number) => unknown;
}

export const FAKE_BASE_AMI = "ami-0base0000000000000";
/** The account the fake's credentials belong to; images it makes are this account's. */
export const ACCOUNT = "111122223333";
/** The image a fake build makes: an id of EC2's shape, since the registry refuses any other. */
export const FAKE_IMAGE_ID = "ami-0f0000000000000a1";

/** Whether DescribeImages answers `filter` with `image`, as EC2 filters: by id, owner (self: this account's), state and exact tags. */
/** DescribeImages' `name` filter: `*` any characters, `?` exactly one. */
function globMatches(pattern: string, name: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${regex}$`).test(name);
}

export function imageMatches(image: ImageInfo, filter: ImageFilter): boolean {
  return (
    (!filter.imageIds || filter.imageIds.includes(image.imageId)) &&
    (!filter.owners || filter.owners.some((owner) => (owner === "self" ? image.ownerId === ACCOUNT : owner === image.ownerId))) &&
    (!filter.states || filter.states.includes(image.state)) &&
    (filter.namePattern === undefined || globMatches(filter.namePattern, image.name)) &&
    Object.entries(filter.tags ?? {}).every(([key, value]) => image.tags[key] === value)
  );
}

/** The EC2 action behind each method of the port, for a fake's refusal to name. */
const EC2_ACTIONS: Record<Exclude<keyof Ec2Port, "region">, string> = {
  describeImages: "DescribeImages",
  defaultVpcId: "DescribeVpcs",
  describeSubnets: "DescribeSubnets",
  createSecurityGroup: "CreateSecurityGroup",
  deleteSecurityGroup: "DeleteSecurityGroup",
  runInstance: "RunInstances",
  describeInstance: "DescribeInstances",
  describeInstances: "DescribeInstances",
  stopInstance: "StopInstances",
  terminateInstance: "TerminateInstances",
  createImage: "CreateImage",
  copyImage: "CopyImage",
  createTags: "CreateTags",
  deregisterImage: "DeregisterImage",
  deleteSnapshot: "DeleteSnapshot",
  describeSnapshots: "DescribeSnapshots",
  launchTemplateImages: "DescribeLaunchTemplates",
  enableImageDeprecation: "EnableImageDeprecation",
  describeSecurityGroups: "DescribeSecurityGroups",
};

/** An EC2 port of `region` that does what `own` does and refuses every other call, naming its action (a test's fake of one concern). */
export function ec2PortWith(region: string, own: Partial<Omit<Ec2Port, "region">>): Ec2Port {
  const refused = Object.fromEntries(Object.entries(EC2_ACTIONS).map(([method, action]) => [method, () => Promise.reject(new Error(`the fake does not do ${action}`))]));
  return { ...(refused as unknown as Omit<Ec2Port, "region">), ...own, region };
}

export function fakeAws(options: FakeAwsOptions = {}): { aws: AwsPorts; calls: string[]; tags: Record<string, Tags>; launchedFrom: Record<string, string> } {
  const calls: string[] = [];
  const tags: Record<string, Tags> = {};
  const dryRun = (action: string) => new AwsCallError("DryRunOperation", action, "Request would have succeeded, but DryRun flag is set.", 412);
  const instances = new Map<string, InstanceInfo>();
  /** Each instance's launch number (i-1 is 1), and the image it was launched from. */
  const launches = new Map<string, number>();
  const launchedFrom: Record<string, string> = {};
  const commands = new Map<string, { script: string; comment: string }>();
  let newImage: ImageInfo | undefined;
  const baseImage: ImageInfo = {
    imageId: FAKE_BASE_AMI,
    name: "base",
    architecture: "x86_64",
    state: "available",
    creationDate: "2026-01-01T00:00:00Z",
    ownerId: "099720109477",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: ["snap-base"],
    tags: {},
  };
  const setState = (instanceId: string, state: string) => {
    const instance = instances.get(instanceId);
    if (instance) instances.set(instanceId, { ...instance, state });
  };
  const unused = (what: string) => () => Promise.reject(new Error(`the fake does not do ${what}`));

  const ec2: Ec2Port = {
    region: "us-east-1",
    async describeImages(filter) {
      return [baseImage, ...(options.images ?? []), ...(newImage ? [newImage] : [])].filter((image) => imageMatches(image, filter));
    },
    defaultVpcId: async () => "vpc-1",
    describeSubnets: async () => [{ subnetId: "subnet-1", vpcId: "vpc-1", availabilityZone: "us-east-1a", availableIpAddressCount: 100, defaultForAz: true, mapPublicIpOnLaunch: true }],
    async createSecurityGroup(request) {
      if (request.dryRun) throw dryRun("CreateSecurityGroup");
      tags["security group"] = request.tags;
      calls.push("create security group sg-1");
      return "sg-1";
    },
    async deleteSecurityGroup(groupId) {
      calls.push(`delete security group ${groupId}`);
    },
    async runInstance(request) {
      if (request.dryRun) throw dryRun("RunInstances");
      const launch = launches.size + 1;
      await options.onRunInstance?.(launch);
      tags[launch === 1 ? "instance" : `instance ${launch}`] = request.tags;
      const instanceId = `i-${launch}`;
      const instance: InstanceInfo = { instanceId, state: "running", stateReason: undefined, instanceType: request.instanceType, subnetId: request.subnetId, availabilityZone: "us-east-1a", tags: request.tags };
      instances.set(instanceId, instance);
      launches.set(instanceId, launch);
      calls.push(`run instance ${instanceId}`);
      launchedFrom[instanceId] = request.imageId;
      return { ...instance, state: "pending" };
    },
    describeInstance: async (instanceId) => instances.get(instanceId),
    describeInstances: unused("DescribeInstances"),
    async stopInstance(instanceId) {
      setState(instanceId, "stopped");
      calls.push(`stop instance ${instanceId}`);
    },
    async terminateInstance(instanceId) {
      setState(instanceId, "terminated");
      calls.push(`terminate instance ${instanceId}`);
    },
    async createImage(request) {
      tags.image = request.tags;
      newImage = { ...baseImage, imageId: FAKE_IMAGE_ID, ownerId: ACCOUNT, name: request.name, state: options.imagePending ? "pending" : "available", snapshotIds: ["snap-1"], tags: request.tags };
      calls.push(`create image ${FAKE_IMAGE_ID}`);
      options.onCreateImage?.();
      return FAKE_IMAGE_ID;
    },
    copyImage: unused("CopyImage"),
    describeSecurityGroups: unused("DescribeSecurityGroups"),
    async createTags(resourceIds, added) {
      calls.push(`tag ${resourceIds.join(" ")} ${Object.entries(added).map(([key, value]) => `${key}=${value}`).join(" ")}`);
      const found = [...(options.images ?? []), ...(newImage ? [newImage] : [])].find((image) => resourceIds.includes(image.imageId));
      if (found) found.tags = { ...found.tags, ...added };
    },
    async deregisterImage(imageId) {
      newImage = undefined;
      calls.push(`deregister image ${imageId}`);
    },
    async deleteSnapshot(snapshotId) {
      calls.push(`delete snapshot ${snapshotId}`);
    },
    describeSnapshots: unused("DescribeSnapshots"),
    launchTemplateImages: unused("DescribeLaunchTemplates"),
    enableImageDeprecation: unused("EnableImageDeprecation"),
  };

  const ssm: SsmPort = {
    region: "us-east-1",
    getParameter: async (name) => (name.startsWith("/aws/service/") ? FAKE_BASE_AMI : undefined),
    async putParameter(name, value) {
      calls.push(`put parameter ${name} = ${value}`);
    },
    pingStatus: async () => "Online",
    async sendShellCommand(request) {
      const id = `cmd-${commands.size + 1}`;
      commands.set(id, { script: request.script, comment: request.comment });
      if (request.comment === "cws validation") await options.onValidation?.(launches.get(request.instanceId) ?? 0);
      return id;
    },
    async getCommandInvocation(commandId, instanceId) {
      const command = commands.get(commandId)!;
      return answer(command.script, command.comment, options.setupExitCode ?? 0, options.testExitCode?.(launches.get(instanceId) ?? 0) ?? 0);
    },
    cancelCommand: async () => {},
  };

  const sts: StsPort = { callerIdentity: async () => ({ account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/me` }) };
  const iam: IamPort = {
    getInstanceProfile: async (name) =>
      options.noInstanceProfile
        ? undefined
        : {
            name,
            arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}`,
            roles: [{ name: "cws-ami-builder", arn: `arn:aws:iam::${ACCOUNT}:role/cws-ami-builder`, trustPolicy: options.builderTrust ?? BUILDER_TRUST_POLICY_JSON }],
          },
    getRole: unused("GetRole"),
    createRole: unused("CreateRole"),
    attachedPolicyArns: unused("ListAttachedRolePolicies"),
    attachRolePolicy: unused("AttachRolePolicy"),
    createInstanceProfile: unused("CreateInstanceProfile"),
    addRoleToInstanceProfile: unused("AddRoleToInstanceProfile"),
  };

  return { aws: { ec2: () => ec2, ssm: () => ssm, sts: () => sts, iam: () => iam }, calls, tags, launchedFrom };
}

/** What the instance's agent says to each kind of command the build sends (src/builder/remote.ts, validation.ts). */
function answer(script: string, comment: string, setupExitCode: number, testExitCode: number): CommandInvocation {
  const success = (stdout: string): CommandInvocation => ({ status: "Success", statusDetails: undefined, responseCode: 0, stdout, stderr: "" });
  // A log read: the script has exited, with an empty log.
  if (comment.endsWith(" log")) return success(`cws-log rc=${setupExitCode} size=0\n`);
  // Validation: every test exits with testExitCode (0 unless told) with no output.
  if (comment === "cws validation") {
    const indexes = [...script.matchAll(/echo "cws-test (\d+) /g)].map((m) => m[1]);
    return success(indexes.map((i) => `cws-test ${i} ${testExitCode} 0 b: b:`).join("\n"));
  }
  return success(comment === "cws generalize" ? "generalized" : "started");
}
