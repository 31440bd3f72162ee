import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateImageCommand,
  CreateSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DescribeInstanceInformationCommand, GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ec2Adapter } from "../../src/aws/ec2.js";
import { IamAdapter } from "../../src/aws/iam.js";
import { SsmAdapter } from "../../src/aws/ssm.js";
import { StsAdapter } from "../../src/aws/sts.js";
import type { AwsPorts } from "../../src/aws/ports.js";
import { BUILDER_TRUST_POLICY_JSON } from "../../src/bootstrap/trust-policy.js";
import { runBuild } from "../../src/builder/build.js";
import { BuildFailure, PreflightFailure, type BuildContext } from "../../src/builder/context.js";
import { silentReporter } from "../../src/builder/reporter.js";
import { resolveBaseAmi } from "../../src/builder/steps/base-ami.js";
import { createImage } from "../../src/builder/steps/create-image.js";
import { launchInstance } from "../../src/builder/steps/launch.js";
import { checkInstanceProfile, preflight } from "../../src/builder/steps/preflight.js";
import { securityGroup } from "../../src/builder/steps/security-group.js";
import { waitReady } from "../../src/builder/steps/wait-ready.js";
import { CwsError } from "../../src/errors.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { ec2Error } from "../aws/errors.js";
import "../aws/matchers.js";
import { buildInput, FAST_POLL, fakeAws, testRequest } from "./fake-build.js";

/**
 * Each build step against aws-sdk-client-mock, through the real adapters: the
 * assertions are on the exact AWS requests a step makes.
 */
const ec2Client = new EC2Client({ region: "us-east-1" });
const ssmClient = new SSMClient({ region: "us-east-1" });
const stsClient = new STSClient({ region: "us-east-1" });
const iamClient = new IAMClient({ region: "us-east-1" });
const ec2 = mockClient(ec2Client);
const ssm = mockClient(ssmClient);
const sts = mockClient(stsClient);
const iam = mockClient(iamClient);
let logDir: string;

beforeEach(() => {
  for (const m of [ec2, ssm, sts, iam]) m.reset();
  logDir = mkdtempSync(join(tmpdir(), "cws-steps-"));
});
afterEach(() => rmSync(logDir, { recursive: true, force: true }));

function context(overrides: Partial<BuildContext> = {}, templateSource = VALID_TEMPLATE): BuildContext {
  const ports = {
    ec2: new Ec2Adapter(ec2Client, "us-east-1"),
    ssm: new SsmAdapter(ssmClient, "us-east-1"),
    sts: new StsAdapter(stsClient),
    iam: new IamAdapter(iamClient),
  };
  const aws: AwsPorts = { ec2: () => ports.ec2, ssm: () => ports.ssm, sts: () => ports.sts, iam: () => ports.iam };
  return {
    request: { ...testRequest(templateSource), sourceCommit: "abc123", logDir },
    buildId: "20261126t000000z-abcdef",
    startedAt: new Date("2026-11-26T00:00:00Z"),
    aws,
    ...ports,
    reporter: silentReporter,
    poll: FAST_POLL,
    writeLog: async () => {},
    logPath: (name) => join(logDir, name),
    readLogTail: async () => "",
    cleaned: [],
    kept: [],
    ...overrides,
  };
}

const signal = new AbortController().signal;
/** GetInstanceProfile's answer for the builder's profile, its role's trust policy (default EC2 alone, bootstrap's) URL-encoded as IAM sends it. */
const builderProfile = (trust: string = BUILDER_TRUST_POLICY_JSON) => ({
  InstanceProfile: {
    InstanceProfileName: "cws-ami-builder",
    Arn: "arn:p",
    Path: "/",
    InstanceProfileId: "x",
    CreateDate: new Date(),
    Roles: [{ RoleName: "cws-ami-builder", Arn: "arn:r", Path: "/", RoleId: "r", CreateDate: new Date(), AssumeRolePolicyDocument: encodeURIComponent(trust) }],
  },
});
const subnet = (id: string, az: string, free = 100) => ({ SubnetId: id, VpcId: "vpc-1", AvailabilityZone: az, AvailableIpAddressCount: free, DefaultForAz: true, MapPublicIpOnLaunch: true });

describe("preflight", () => {
  it("fails with the bootstrap command when the instance profile is missing", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/me" });
    iam.on(GetInstanceProfileCommand).rejects(Object.assign(new Error("not found"), { name: "NoSuchEntity", $metadata: { httpStatusCode: 404 } }));
    const ctx = context();
    const error = await preflight.run(ctx, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightFailure);
    expect((error as PreflightFailure).suggestion).toContain("cws ami bootstrap");
    expect(iam).toHaveReceivedCommandWith(GetInstanceProfileCommand, { InstanceProfileName: "cws-ami-builder" });
  });

  it("picks default subnets of the default VPC, most free addresses first", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/me" });
    iam.on(GetInstanceProfileCommand).resolves(builderProfile());
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: "vpc-1", IsDefault: true }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet("subnet-a", "us-east-1a", 10), subnet("subnet-b", "us-east-1b", 500), subnet("subnet-c", "us-east-1c", 0)] });
    const ctx = context();
    expect(await preflight.run(ctx, signal)).toContain("subnet subnet-b (us-east-1b)");
    expect(ctx.subnets!.map((s) => s.subnetId)).toEqual(["subnet-b", "subnet-a"]);
    expect(ec2).toHaveReceivedCommandWith(DescribeVpcsCommand, { Filters: [{ Name: "is-default", Values: ["true"] }] });
  });

  it("refuses a subnet EC2 does not know (it answers with an error, not an empty list), naming it and where it was set", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/me" });
    iam.on(GetInstanceProfileCommand).resolves(builderProfile());
    ec2.on(DescribeSubnetsCommand).rejects(Object.assign(new Error("The subnet ID 'subnet-0123456789abcdef0' does not exist"), { name: "InvalidSubnetID.NotFound", $metadata: { httpStatusCode: 400 } }));
    const ctx = context();
    const base = ctx.request;
    const error = await preflight.run({ ...ctx, request: { ...base, subnetId: "subnet-0123456789abcdef0", subnetFrom: "build.subnet in cws.config.json" } }, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightFailure);
    expect((error as PreflightFailure).message).toBe("subnet subnet-0123456789abcdef0 (from build.subnet in cws.config.json) does not exist in us-east-1");
    expect((error as PreflightFailure).suggestion).toBe(
      "set build.subnet in cws.config.json to a subnet of us-east-1 (aws ec2 describe-subnets --region us-east-1 lists them), or leave it out to use a default subnet of the default VPC",
    );
  });
});

describe("preflight: the builder role's trust", () => {
  const planted = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com", AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" }],
  });

  it("refuses a role that trusts another account, as bootstrap does (BUILDER_ROLE_TRUST, exit 2), before looking for a subnet", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/me" });
    iam.on(GetInstanceProfileCommand).resolves(builderProfile(planted));
    const error = await preflight.run(context(), signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({
      code: "BUILDER_ROLE_TRUST",
      value: "cws-ami-builder",
      exitCode: 2,
      message: "role cws-ami-builder exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): it also trusts AWS arn:aws:iam::444455556666:root",
    });
    expect((error as CwsError).suggestion).toContain("aws iam update-assume-role-policy --role-name cws-ami-builder");
    // Read from GetInstanceProfile's answer: no iam:GetRole, which the CI policy does not need otherwise.
    expect(iam).not.toHaveReceivedCommand(GetRoleCommand);
    expect(ec2).not.toHaveReceivedCommand(DescribeVpcsCommand);
  });

  it("accepts EC2 alone however it is written, and says so in its plan line", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/me" });
    const rewritten = JSON.stringify({ Statement: [{ Sid: "Builders", Action: ["sts:AssumeRole"], Principal: { Service: ["ec2.amazonaws.com"] }, Effect: "Allow" }], Version: "2012-10-17" });
    iam.on(GetInstanceProfileCommand).resolves(builderProfile(rewritten));
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: "vpc-1", IsDefault: true }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet("subnet-a", "us-east-1a")] });
    expect(await preflight.run(context(), signal)).toContain("instance profile cws-ami-builder");
    expect(preflight.describe(context()).run).toContain("instance profile cws-ami-builder (its role trusted by EC2 alone)");
  });

  it("stops a whole build there, launching nothing, and build-all's check of the profile says the same", async () => {
    const { aws, calls } = fakeAws({ builderTrust: planted });
    const result = await runBuild(buildInput(logDir), { aws, reporter: silentReporter, poll: FAST_POLL, signal, registryFile: undefined });
    expect(result.status).toBe("failed");
    expect(result.exitCode).toBe(2);
    expect(result.error).toMatchObject({ code: "BUILDER_ROLE_TRUST", value: "cws-ami-builder", preflight: true, message: expect.stringContaining("it also trusts AWS arn:aws:iam::444455556666:root") });
    expect(calls).toEqual([]);
    const once = await checkInstanceProfile(aws.iam("us-east-1"), "cws-ami-builder", "111122223333").catch((e: unknown) => e);
    expect(once).toMatchObject({ code: "BUILDER_ROLE_TRUST", message: result.error!.message, suggestion: result.error!.suggestion });
  });
});

describe("base AMI", () => {
  const image = { ImageId: "ami-0123456789abcdef0", Name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240701", Architecture: "x86_64" as const, State: "available" as const, CreationDate: "2024-07-01T00:00:00Z", OwnerId: "099720109477", RootDeviceName: "/dev/sda1", BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-1", VolumeSize: 8 } }] };

  it("resolves an alias through Canonical's public SSM parameter", async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: image.ImageId } });
    ec2.on(DescribeImagesCommand).resolves({ Images: [image] });
    const ctx = context();
    expect(await resolveBaseAmi(undefined).run(ctx, signal)).toBe(`Base AMI: ${image.ImageId} (${image.Name})`);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id" });
    expect(ctx.baseImage?.rootVolumeSizeGb).toBe(8);
  });

  it("refuses a literal AMI of the wrong architecture", async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ...image, Architecture: "arm64" }] });
    const ctx = context({}, VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: ami-0123456789abcdef0"));
    await expect(resolveBaseAmi(undefined).run(ctx, signal)).rejects.toThrow("base image ami-0123456789abcdef0 is arm64, but this build is x86_64");
  });

  it("picks the most recent match of { name, owners }", async () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        { ...image, ImageId: "ami-0000000000000000a", CreationDate: "2024-01-01T00:00:00Z" },
        { ...image, ImageId: "ami-0000000000000000b", CreationDate: "2024-09-01T00:00:00Z" },
      ],
    });
    const ctx = context({}, VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: { name: 'ubuntu/images/*', owners: ['099720109477'] }"));
    await resolveBaseAmi(undefined).run(ctx, signal);
    expect(ctx.baseImage?.imageId).toBe("ami-0000000000000000b");
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ["099720109477"] });
  });
});

describe("security group and launch", () => {
  const base = { imageId: "ami-0123456789abcdef0", name: "base", architecture: "x86_64", state: "available", creationDate: "", ownerId: "1", rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 8, snapshotIds: [], tags: {} };
  const subnets = [
    { subnetId: "subnet-a", vpcId: "vpc-1", availabilityZone: "us-east-1a", availableIpAddressCount: 9, defaultForAz: true, mapPublicIpOnLaunch: true },
    { subnetId: "subnet-b", vpcId: "vpc-1", availabilityZone: "us-east-1b", availableIpAddressCount: 9, defaultForAz: true, mapPublicIpOnLaunch: true },
  ];

  it("creates a tagged security group in the subnet's VPC", async () => {
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: "sg-1" });
    const ctx = context({ subnets });
    await securityGroup.run(ctx, signal);
    expect(ctx.securityGroupId).toBe("sg-1");
    expect(ec2).toHaveReceivedCommandWith(CreateSecurityGroupCommand, {
      VpcId: "vpc-1",
      GroupName: "cws-build-20261126t000000z-abcdef",
      TagSpecifications: [{ ResourceType: "security-group", Tags: expect.arrayContaining([{ Key: "cws:build-id", Value: "20261126t000000z-abcdef" }]) }],
    });
  });

  it("launches with IMDSv2, the instance profile, an encrypted gp3 root volume, tags and a client token", async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-1", State: { Name: "pending" }, InstanceType: "t3.medium" }] });
    const ctx = context({ subnets, baseImage: base, securityGroupId: "sg-1" }, `${VALID_TEMPLATE}volume_size_gb: 30\n`);
    expect(await launchInstance.run(ctx, signal)).toBe("Instance launched: i-1 (t3.medium, us-east-1a)");
    const tags = expect.arrayContaining([
      { Key: "cws:build-id", Value: "20261126t000000z-abcdef" },
      { Key: "cws:template", Value: "test-env" },
      { Key: "cws:managed-by", Value: "cws" },
    ]);
    expect(ec2).toHaveReceivedCommandWith(RunInstancesCommand, {
      ImageId: base.imageId,
      InstanceType: "t3.medium",
      SubnetId: "subnet-a",
      SecurityGroupIds: ["sg-1"],
      IamInstanceProfile: { Name: "cws-ami-builder" },
      MetadataOptions: expect.objectContaining({ HttpTokens: "required" }),
      BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: expect.objectContaining({ VolumeType: "gp3", Encrypted: true, VolumeSize: 30, DeleteOnTermination: true }) }],
      TagSpecifications: [
        { ResourceType: "instance", Tags: tags },
        { ResourceType: "volume", Tags: tags },
      ],
      ClientToken: "20261126t000000z-abcdef-0",
    });
  });

  it("tries the next zone on InsufficientInstanceCapacity", async () => {
    ec2
      .on(RunInstancesCommand, { SubnetId: "subnet-a" })
      .rejects(ec2Error("InsufficientInstanceCapacity", "no capacity", 500))
      .on(RunInstancesCommand, { SubnetId: "subnet-b" })
      .resolves({ Instances: [{ InstanceId: "i-2", State: { Name: "pending" }, InstanceType: "t3.medium" }] });
    const ctx = context({ subnets, baseImage: base, securityGroupId: "sg-1" });
    expect(await launchInstance.run(ctx, signal)).toBe("Instance launched: i-2 (t3.medium, us-east-1b)");
    expect(ec2).toHaveReceivedCommandWith(RunInstancesCommand, { SubnetId: "subnet-b", ClientToken: "20261126t000000z-abcdef-1" });
  });
});

describe("waiting for SSM", () => {
  it("explains the likely causes when the agent never comes online", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-1", State: { Name: "running" }, InstanceType: "t3.medium" }] }] });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const ctx = context({ instance: { instanceId: "i-1", state: "pending", stateReason: undefined, instanceType: "t3.medium", subnetId: undefined, availabilityZone: undefined, tags: {} } });
    const error = (await waitReady.run(ctx, signal).catch((e: unknown) => e)) as BuildFailure;
    expect(error).toBeInstanceOf(BuildFailure);
    expect(error.message).toContain("the SSM agent on i-1 did not come online");
    expect(error.suggestion).toContain("AmazonSSMManagedInstanceCore");
    expect(error.suggestion).toContain("VPC endpoints for ssm, ssmmessages and ec2messages");
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: "InstanceIds", Values: ["i-1"] }] });
  });
});

describe("create image", () => {
  const instance = { instanceId: "i-1", state: "stopped", stateReason: undefined, instanceType: "t3.medium", subnetId: undefined, availabilityZone: undefined, tags: {} };
  const baseImage = { imageId: "ami-0base0000000000000", name: "base", architecture: "x86_64", state: "available", creationDate: "", ownerId: "1", rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 8, snapshotIds: [], tags: {} };

  it("tags the image and its snapshots and waits until it is available", async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: "ami-0new" });
    ec2.on(DescribeImagesCommand).resolvesOnce({ Images: [{ ImageId: "ami-0new", State: "pending" }] }).resolves({
      Images: [{ ImageId: "ami-0new", State: "available", RootDeviceName: "/dev/sda1", BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-9", VolumeSize: 8 } }] }],
    });
    const ctx = context({ instance, baseImage, contentHash: "d".repeat(64) });
    expect(await createImage.run(ctx, signal)).toBe("AMI created: ami-0new");
    const tags = expect.arrayContaining([
      { Key: "cws:template", Value: "test-env" },
      { Key: "cws:version", Value: "v1.0.0" },
      { Key: "cws:arch", Value: "x86_64" },
      { Key: "cws:base-ami", Value: "ami-0base0000000000000" },
      // The image's hash (template and base AMI), and the template's own.
      { Key: "cws:content-hash", Value: "d".repeat(64) },
      { Key: "cws:template-hash", Value: "c".repeat(64) },
      { Key: "cws:validated", Value: "true" },
      { Key: "cws:source-commit", Value: "abc123" },
    ]);
    expect(ec2).toHaveReceivedCommandWith(CreateImageCommand, {
      InstanceId: "i-1",
      Name: "cws-test-env-v1.0.0-x86_64-20261126t000000z-abcdef",
      TagSpecifications: [
        { ResourceType: "image", Tags: tags },
        { ResourceType: "snapshot", Tags: tags },
      ],
    });
    expect(ctx.snapshotIds).toEqual(["snap-9"]);
    await createImage.cleanup!(ctx, "succeeded");
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  it("keeps a slow image whose wait timed out", async () => {
    ec2.on(CreateImageCommand).resolves({ ImageId: "ami-0slow" });
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0slow", State: "pending" }] });
    const ctx = context({ instance, baseImage, contentHash: "d".repeat(64) });
    expect(await createImage.run(ctx, signal)).toBe("AMI created: ami-0slow (still pending)");
    expect(ctx.kept).toEqual(["image ami-0slow (still pending)"]);
    await createImage.cleanup!(ctx, "failed");
    expect(ec2).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  it("deregisters an unfinished image and deletes its snapshots when the build is interrupted", async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0half", State: "pending", BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-h" } }] }] });
    const ctx = context({ instance, baseImage, imageId: "ami-0half", imageState: "pending" });
    await createImage.cleanup!(ctx, "interrupted");
    expect(ec2).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: "ami-0half" });
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: "snap-h" });
    expect(ctx.cleaned).toEqual(["image ami-0half", "snapshot snap-h"]);
  });
});
