import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CopyImageCommand,
  CreateImageCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  RevokeSecurityGroupEgressCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Image,
  type Instance,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { Ec2Adapter } from "../../src/aws/ec2.js";
import type { LaunchRequest } from "../../src/aws/ports.js";
import { ec2Error, rejection } from "./errors.js";
import "./matchers.js";

const client = new EC2Client({ region: "eu-west-1" });
const ec2Mock = mockClient(client);
const ec2 = new Ec2Adapter(client, "eu-west-1");

beforeEach(() => {
  ec2Mock.reset();
});

const TAGS = { "cws:managed-by": "cws", "cws:template": "r-research", Name: "cws-build r-research" };
const TAG_LIST = [
  { Key: "cws:managed-by", Value: "cws" },
  { Key: "cws:template", Value: "r-research" },
  { Key: "Name", Value: "cws-build r-research" },
];
/** TAGS on a new image and on each of its snapshots. */
const IMAGE_AND_SNAPSHOT_TAGS = [
  { ResourceType: "image" as const, Tags: TAG_LIST },
  { ResourceType: "snapshot" as const, Tags: TAG_LIST },
];

function image(id: string, extra: Partial<Image> = {}): Image {
  return {
    ImageId: id,
    Name: `image-${id}`,
    Architecture: "arm64",
    State: "available",
    CreationDate: "2024-07-01T08:00:00.000Z",
    OwnerId: "099720109477",
    RootDeviceName: "/dev/xvda",
    BlockDeviceMappings: [
      { DeviceName: "/dev/xvdb", Ebs: { SnapshotId: "snap-data", VolumeSize: 100 } },
      { DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-root", VolumeSize: 8 } },
      { DeviceName: "/dev/sdc", VirtualName: "ephemeral0" },
    ],
    Tags: [{ Key: "team", Value: "research" }],
    ...extra,
  };
}

function instance(id: string, extra: Partial<Instance> = {}): Instance {
  return {
    InstanceId: id,
    State: { Name: "running", Code: 16 },
    InstanceType: "t3.large",
    SubnetId: "subnet-1",
    Placement: { AvailabilityZone: "eu-west-1a" },
    Tags: [{ Key: "cws:managed-by", Value: "cws" }],
    ...extra,
  };
}

/** The inputs the adapter built for one command, in call order. */
function inputs(command: Parameters<typeof ec2Mock.commandCalls>[0]): unknown[] {
  return ec2Mock.commandCalls(command).map((call) => call.args[0].input);
}

function runInstancesInput() {
  return ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
}

describe("describeImages", () => {
  it("looks up any of several ids with the image-id filter, which leaves out ids that do not exist", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1")] });
    const images = await ec2.describeImages({ anyOfImageIds: ["ami-1", "ami-gone"] });
    expect(images.map((i) => i.imageId)).toEqual(["ami-1"]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { Filters: [{ Name: "image-id", Values: ["ami-1", "ami-gone"] }] });
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input.ImageIds).toBeUndefined();
  });

  it("filters by name, architecture, state and tags, and maps root size, snapshots and tags", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1")] });
    const images = await ec2.describeImages({
      owners: ["099720109477"],
      namePattern: "ubuntu/images/*",
      architecture: "arm64",
      states: ["available"],
      tags: { team: "research" },
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DescribeImagesCommand, {
      Owners: ["099720109477"],
      Filters: [
        { Name: "name", Values: ["ubuntu/images/*"] },
        { Name: "architecture", Values: ["arm64"] },
        { Name: "state", Values: ["available"] },
        { Name: "tag:team", Values: ["research"] },
      ],
      MaxResults: 1000,
    });
    expect(images).toEqual([
      {
        imageId: "ami-1",
        name: "image-ami-1",
        architecture: "arm64",
        state: "available",
        creationDate: "2024-07-01T08:00:00.000Z",
        ownerId: "099720109477",
        rootDeviceName: "/dev/xvda",
        rootVolumeSizeGb: 8,
        snapshotIds: ["snap-data", "snap-root"],
        encrypted: false,
        totalVolumeSizeGb: 108,
        tags: { team: "research" },
      },
    ]);
  });

  it("says an image is encrypted only when every EBS snapshot of it is, and nothing for an image without one", async () => {
    const ebs = (SnapshotId: string, Encrypted?: boolean) => ({ DeviceName: `/dev/${SnapshotId}`, Ebs: { SnapshotId, ...(Encrypted === undefined ? {} : { Encrypted }) } });
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        image("ami-all", { BlockDeviceMappings: [ebs("snap-1", true), ebs("snap-2", true), { DeviceName: "/dev/sdc", VirtualName: "ephemeral0" }] }),
        image("ami-some", { BlockDeviceMappings: [ebs("snap-3", true), ebs("snap-4", false)] }),
        image("ami-unsaid", { BlockDeviceMappings: [ebs("snap-5", true), ebs("snap-6")] }),
        image("ami-none", { BlockDeviceMappings: [{ DeviceName: "/dev/sdc", VirtualName: "ephemeral0" }] }),
      ],
    });
    const images = await ec2.describeImages({});
    expect(images.map((i) => [i.imageId, i.encrypted])).toEqual([
      ["ami-all", true],
      ["ami-some", false],
      ["ami-unsaid", false],
      ["ami-none", undefined],
    ]);
    expect("encrypted" in images[3]!).toBe(false);
  });

  it("follows NextToken across pages, with a fresh input for each page", async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [image("ami-1"), image("ami-2")], NextToken: "page-2" })
      .resolvesOnce({ Images: [image("ami-3")] });
    const images = await ec2.describeImages({ owners: ["self"] });
    expect(images.map((i) => i.imageId)).toEqual(["ami-1", "ami-2", "ami-3"]);
    expect(inputs(DescribeImagesCommand)).toEqual([
      { Owners: ["self"], MaxResults: 1000 },
      { Owners: ["self"], MaxResults: 1000, NextToken: "page-2" },
    ]);
  });

  it("keeps the owner's alias when EC2 gives one (Amazon's images say amazon), and leaves it out otherwise", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-al", { OwnerId: "137112412989", ImageOwnerAlias: "amazon" }), image("ami-ubuntu")] });
    const images = await ec2.describeImages({});
    expect(images.map((i) => [i.ownerId, i.ownerAlias])).toEqual([
      ["137112412989", "amazon"],
      ["099720109477", undefined],
    ]);
    expect("ownerAlias" in images[1]!).toBe(false);
  });

  it("sends ImageIds without MaxResults, which EC2 does not accept together", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1")] });
    await ec2.describeImages({ imageIds: ["ami-1"] });
    expect(inputs(DescribeImagesCommand)).toEqual([{ ImageIds: ["ami-1"] }]);
  });

  it("leaves the root size undefined when no mapping is the root device", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1", { RootDeviceName: "/dev/sda1" })] });
    const [info] = await ec2.describeImages({ imageIds: ["ami-1"] });
    expect(info?.rootVolumeSizeGb).toBeUndefined();
    expect(info?.snapshotIds).toEqual(["snap-data", "snap-root"]);
  });

  it("stops with an error when the service repeats a page token", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1")], NextToken: "same" });
    const error = await rejection(ec2.describeImages({ owners: ["self"] }));
    expect(error.code).toBe("RepeatedPageToken");
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeImagesCommand, 2);
  });

  it("converts an SDK exception to AwsCallError with the AWS code, action and HTTP status", async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(ec2Error("InvalidAMIID.Malformed", "Invalid id: \"ami-x\""));
    const error = await rejection(ec2.describeImages({ imageIds: ["ami-x"] }));
    expect(error).toMatchObject({ code: "InvalidAMIID.Malformed", action: "DescribeImages", httpStatus: 400 });
    expect(error.message).toBe('DescribeImages: InvalidAMIID.Malformed: Invalid id: "ami-x"');
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe("network", () => {
  it("finds the default VPC by the is-default filter", async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: "vpc-default", IsDefault: true }] });
    expect(await ec2.defaultVpcId()).toBe("vpc-default");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DescribeVpcsCommand, { Filters: [{ Name: "is-default", Values: ["true"] }] });
  });

  it("has no default VPC when none is returned", async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    expect(await ec2.defaultVpcId()).toBeUndefined();
  });

  it("describes subnets by VPC and default-for-az over every page", async () => {
    ec2Mock
      .on(DescribeSubnetsCommand)
      .resolvesOnce({
        Subnets: [{ SubnetId: "subnet-a", VpcId: "vpc-1", AvailabilityZone: "eu-west-1a", AvailableIpAddressCount: 4091, DefaultForAz: true, MapPublicIpOnLaunch: true }],
        NextToken: "t2",
      })
      .resolvesOnce({ Subnets: [{ SubnetId: "subnet-b", VpcId: "vpc-1", AvailabilityZone: "eu-west-1b" }] });
    const subnets = await ec2.describeSubnets({ vpcId: "vpc-1", defaultForAz: true });
    expect(subnets).toEqual([
      { subnetId: "subnet-a", vpcId: "vpc-1", availabilityZone: "eu-west-1a", availableIpAddressCount: 4091, defaultForAz: true, mapPublicIpOnLaunch: true },
      { subnetId: "subnet-b", vpcId: "vpc-1", availabilityZone: "eu-west-1b", availableIpAddressCount: 0, defaultForAz: false, mapPublicIpOnLaunch: false },
    ]);
    const filters = [
      { Name: "vpc-id", Values: ["vpc-1"] },
      { Name: "default-for-az", Values: ["true"] },
    ];
    expect(inputs(DescribeSubnetsCommand)).toEqual([
      { Filters: filters, MaxResults: 1000 },
      { Filters: filters, MaxResults: 1000, NextToken: "t2" },
    ]);
  });

  it("describes subnets by id without MaxResults", async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    await ec2.describeSubnets({ subnetIds: ["subnet-a", "subnet-b"] });
    expect(inputs(DescribeSubnetsCommand)).toEqual([{ SubnetIds: ["subnet-a", "subnet-b"] }]);
  });
});

describe("security groups", () => {
  it("creates a tagged group and adds no ingress rules", async () => {
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: "sg-1" });
    const id = await ec2.createSecurityGroup({ name: "cws-build-1", description: "cws builder, no inbound", vpcId: "vpc-1", tags: TAGS });
    expect(id).toBe("sg-1");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateSecurityGroupCommand, {
      GroupName: "cws-build-1",
      Description: "cws builder, no inbound",
      VpcId: "vpc-1",
      TagSpecifications: [{ ResourceType: "security-group", Tags: TAG_LIST }],
      DryRun: false,
    });
    // No inbound rule, and the default egress (HTTPS to SSM and mirrors) is left alone.
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupEgressCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(RevokeSecurityGroupEgressCommand);
    expect(ec2Mock.calls()).toHaveLength(1);
  });

  it("passes DryRun, and lets EC2's DryRunOperation answer through as an AwsCallError", async () => {
    ec2Mock.on(CreateSecurityGroupCommand).rejects(ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412));
    const error = await rejection(ec2.createSecurityGroup({ name: "g", description: "d", vpcId: "vpc-1", tags: {}, dryRun: true }));
    expect(error).toMatchObject({ code: "DryRunOperation", action: "CreateSecurityGroup", httpStatus: 412 });
    expect(ec2Mock).toHaveReceivedCommandWith(CreateSecurityGroupCommand, { DryRun: true });
  });

  it("fails with IncompleteResponse when EC2 returns no GroupId", async () => {
    ec2Mock.on(CreateSecurityGroupCommand).resolves({});
    const error = await rejection(ec2.createSecurityGroup({ name: "g", description: "d", vpcId: "vpc-1", tags: {} }));
    expect(error.code).toBe("IncompleteResponse");
  });

  it("deletes a group, and a group that is already gone is success", async () => {
    ec2Mock.on(DeleteSecurityGroupCommand).resolvesOnce({}).rejectsOnce(ec2Error("InvalidGroup.NotFound", "The security group 'sg-1' does not exist"));
    await ec2.deleteSecurityGroup("sg-1");
    await ec2.deleteSecurityGroup("sg-1");
    expect(inputs(DeleteSecurityGroupCommand)).toEqual([{ GroupId: "sg-1" }, { GroupId: "sg-1" }]);
  });

  it("reports other delete failures, such as a group still in use", async () => {
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(ec2Error("DependencyViolation", "resource sg-1 has a dependent object"));
    const error = await rejection(ec2.deleteSecurityGroup("sg-1"));
    expect(error).toMatchObject({ code: "DependencyViolation", action: "DeleteSecurityGroup" });
  });
});

describe("security groups for cws ami reap", () => {
  it("finds groups by exact tags over every page, and maps id, name, VPC and tags", async () => {
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [{ GroupId: "sg-1", GroupName: "cws-build-b1", VpcId: "vpc-1", Tags: [{ Key: "cws:build-id", Value: "b1" }] }], NextToken: "next" })
      .resolvesOnce({ SecurityGroups: [{ GroupId: "sg-2", GroupName: "cws-build-b2" }] });
    const groups = await ec2.describeSecurityGroups({ tags: { "cws:managed-by": "cws" } });
    expect(groups).toEqual([
      { groupId: "sg-1", name: "cws-build-b1", vpcId: "vpc-1", tags: { "cws:build-id": "b1" } },
      { groupId: "sg-2", name: "cws-build-b2", vpcId: undefined, tags: {} },
    ]);
    const filters = [{ Name: "tag:cws:managed-by", Values: ["cws"] }];
    expect(inputs(DescribeSecurityGroupsCommand)).toEqual([
      { Filters: filters, MaxResults: 1000 },
      { Filters: filters, MaxResults: 1000, NextToken: "next" },
    ]);
  });

  it("reports a refusal with its code", async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).rejects(ec2Error("UnauthorizedOperation", "You are not authorized to perform this operation.", 403));
    expect(await rejection(ec2.describeSecurityGroups({}))).toMatchObject({ code: "UnauthorizedOperation", action: "DescribeSecurityGroups" });
    expect(inputs(DescribeSecurityGroupsCommand)).toEqual([{ MaxResults: 1000 }]);
  });
});

describe("runInstance", () => {
  const request: LaunchRequest = {
    imageId: "ami-base",
    instanceType: "t3.large",
    subnetId: "subnet-a",
    securityGroupIds: ["sg-1"],
    instanceProfileName: "cws-ami-builder",
    rootDeviceName: "/dev/sda1",
    volumeSizeGb: 30,
    tags: TAGS,
    clientToken: "cws-build-0123456789",
  };

  it("launches one IMDSv2-only instance with an encrypted gp3 root and tags on instance and volume", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({
      Instances: [instance("i-1", { State: { Name: "pending", Code: 0 }, StateReason: { Code: "pending", Message: "pending" }, Tags: TAG_LIST })],
    });
    const info = await ec2.runInstance(request);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(RunInstancesCommand, {
      MinCount: 1,
      MaxCount: 1,
      ImageId: "ami-base",
      InstanceType: "t3.large",
      SubnetId: "subnet-a",
      SecurityGroupIds: ["sg-1"],
      IamInstanceProfile: { Name: "cws-ami-builder" },
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 2 },
      BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true, VolumeSize: 30 } }],
      TagSpecifications: [
        { ResourceType: "instance", Tags: TAG_LIST },
        { ResourceType: "volume", Tags: TAG_LIST },
      ],
      ClientToken: "cws-build-0123456789",
      DryRun: false,
    });
    expect(info).toEqual({
      instanceId: "i-1",
      state: "pending",
      stateReason: "pending",
      instanceType: "t3.large",
      subnetId: "subnet-1",
      availabilityZone: "eu-west-1a",
      tags: TAGS,
    });
  });

  it("leaves the shutdown behaviour at stop, because the builder stops the instance before imaging", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [instance("i-1")] });
    await ec2.runInstance(request);
    expect(runInstancesInput()).not.toHaveProperty("InstanceInitiatedShutdownBehavior");
  });

  it("omits VolumeSize when no size is given, so the image's size is used", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [instance("i-1")] });
    await ec2.runInstance({ ...request, volumeSizeGb: undefined, dryRun: true });
    const input = runInstancesInput();
    expect(input?.BlockDeviceMappings).toEqual([{ DeviceName: "/dev/sda1", Ebs: { VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true } }]);
    expect(input?.DryRun).toBe(true);
  });

  it("reports capacity errors with their code", async () => {
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InsufficientInstanceCapacity", "We currently do not have sufficient t3.large capacity", 500));
    const error = await rejection(ec2.runInstance(request));
    expect(error).toMatchObject({ code: "InsufficientInstanceCapacity", action: "RunInstances", httpStatus: 500 });
  });
});

describe("instances", () => {
  it("describes one instance by id", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance("i-1", { StateReason: { Message: "Client.UserInitiatedShutdown" }, State: { Name: "stopped" } })] }] });
    const info = await ec2.describeInstance("i-1");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DescribeInstancesCommand, { InstanceIds: ["i-1"] });
    expect(info).toMatchObject({ instanceId: "i-1", state: "stopped", stateReason: "Client.UserInitiatedShutdown" });
  });

  it("reports when an instance was launched, and nothing when EC2 does not say", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance("i-1", { LaunchTime: new Date("2026-11-28T08:30:12Z") }), instance("i-2")] }] });
    const found = await ec2.describeInstances({});
    expect(found.map((i) => i.launchTime)).toEqual(["2026-11-28T08:30:12.000Z", undefined]);
  });

  it("answers undefined for an instance that does not exist (any more)", async () => {
    ec2Mock.on(DescribeInstancesCommand).rejectsOnce(ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist")).resolvesOnce({ Reservations: [] });
    expect(await ec2.describeInstance("i-1")).toBeUndefined();
    expect(await ec2.describeInstance("i-1")).toBeUndefined();
  });

  it("does not hide other errors", async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(ec2Error("InvalidInstanceID.Malformed"));
    const error = await rejection(ec2.describeInstance("x"));
    expect(error.code).toBe("InvalidInstanceID.Malformed");
  });

  it("lists instances by tag and state over every page and reservation", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance("i-1")] }, { Instances: [instance("i-2")] }], NextToken: "next" })
      .resolvesOnce({ Reservations: [{ Instances: [instance("i-3")] }] });
    const found = await ec2.describeInstances({ tags: { "cws:managed-by": "cws" }, states: ["pending", "running"] });
    expect(found.map((i) => i.instanceId)).toEqual(["i-1", "i-2", "i-3"]);
    const filters = [
      { Name: "tag:cws:managed-by", Values: ["cws"] },
      { Name: "instance-state-name", Values: ["pending", "running"] },
    ];
    expect(inputs(DescribeInstancesCommand)).toEqual([
      { Filters: filters, MaxResults: 1000 },
      { Filters: filters, MaxResults: 1000, NextToken: "next" },
    ]);
  });

  it("stops an instance", async () => {
    ec2Mock.on(StopInstancesCommand).resolves({});
    await ec2.stopInstance("i-1");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(StopInstancesCommand, { InstanceIds: ["i-1"] });
  });

  it("reports a failed stop", async () => {
    ec2Mock.on(StopInstancesCommand).rejects(ec2Error("IncorrectInstanceState", "This instance is not in a state from which it can be stopped."));
    const error = await rejection(ec2.stopInstance("i-1"));
    expect(error).toMatchObject({ code: "IncorrectInstanceState", action: "StopInstances" });
  });

  it("terminates an instance, and one that is already gone is success", async () => {
    ec2Mock.on(TerminateInstancesCommand).resolvesOnce({}).rejectsOnce(ec2Error("InvalidInstanceID.NotFound"));
    await ec2.terminateInstance("i-1");
    await ec2.terminateInstance("i-1");
    expect(inputs(TerminateInstancesCommand)).toEqual([{ InstanceIds: ["i-1"] }, { InstanceIds: ["i-1"] }]);
  });

  it("reports other termination failures", async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error("OperationNotPermitted", "termination protection"));
    const error = await rejection(ec2.terminateInstance("i-1"));
    expect(error).toMatchObject({ code: "OperationNotPermitted", action: "TerminateInstances" });
  });
});

describe("images", () => {
  it("creates an image with the same tags on the image and its snapshots", async () => {
    ec2Mock.on(CreateImageCommand).resolves({ ImageId: "ami-new" });
    const id = await ec2.createImage({ instanceId: "i-1", name: "cws-r-research-20240701", description: "r-research", tags: TAGS });
    expect(id).toBe("ami-new");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateImageCommand, {
      InstanceId: "i-1",
      Name: "cws-r-research-20240701",
      Description: "r-research",
      TagSpecifications: IMAGE_AND_SNAPSHOT_TAGS,
      DryRun: false,
    });
  });

  it("copies an image in its own (the destination) region, with the tags on the copy and its snapshots and the client token", async () => {
    ec2Mock.on(CopyImageCommand).resolves({ ImageId: "ami-0c0c0c0c0c0c0c0c0" });
    const id = await ec2.copyImage({
      sourceRegion: "us-east-1",
      sourceImageId: "ami-0123456789abcdef0",
      name: "cws-r-research-v1.0.0-x86_64-20240701t080000z-1a2b3c",
      description: "R Research (copied from us-east-1 ami-0123456789abcdef0)",
      tags: TAGS,
      clientToken: "cws-copy-20240701t080000z-1a2b3c-eu-west-1",
    });
    expect(id).toBe("ami-0c0c0c0c0c0c0c0c0");
    // Exactly these fields: no CopyImageTags (it would leave the snapshots bare), no Encrypted unless asked for.
    expect(ec2Mock.commandCalls(CopyImageCommand)[0]!.args[0].input).toEqual({
      SourceRegion: "us-east-1",
      SourceImageId: "ami-0123456789abcdef0",
      Name: "cws-r-research-v1.0.0-x86_64-20240701t080000z-1a2b3c",
      Description: "R Research (copied from us-east-1 ami-0123456789abcdef0)",
      TagSpecifications: IMAGE_AND_SNAPSHOT_TAGS,
      ClientToken: "cws-copy-20240701t080000z-1a2b3c-eu-west-1",
    });
  });

  it("asks for encrypted snapshots only when told to", async () => {
    ec2Mock.on(CopyImageCommand).resolves({ ImageId: "ami-0c0c0c0c0c0c0c0c0" });
    const request = { sourceRegion: "us-east-1", sourceImageId: "ami-0123456789abcdef0", name: "n-1", description: "d", tags: {}, clientToken: "t" };
    await ec2.copyImage({ ...request, encrypted: true });
    await ec2.copyImage({ ...request, encrypted: false });
    const sent = ec2Mock.commandCalls(CopyImageCommand).map((call) => call.args[0].input.Encrypted);
    expect(sent).toEqual([true, undefined]);
  });

  it("reports CopyImage's errors with their code, and a response without an ImageId as incomplete", async () => {
    const request = { sourceRegion: "us-east-1", sourceImageId: "ami-0123456789abcdef0", name: "n-1", description: "d", tags: {}, clientToken: "t" };
    ec2Mock.on(CopyImageCommand).rejectsOnce(ec2Error("IncorrectState", "Image is not in a valid state for copying")).resolvesOnce({});
    expect(await rejection(ec2.copyImage(request))).toMatchObject({ code: "IncorrectState", action: "CopyImage" });
    expect(await rejection(ec2.copyImage(request))).toMatchObject({ code: "IncompleteResponse", action: "CopyImage" });
  });

  it("reports a duplicate image name", async () => {
    ec2Mock.on(CreateImageCommand).rejects(ec2Error("InvalidAMIName.Duplicate"));
    const error = await rejection(ec2.createImage({ instanceId: "i-1", name: "n", description: "d", tags: {}, dryRun: true }));
    expect(error).toMatchObject({ code: "InvalidAMIName.Duplicate", action: "CreateImage" });
    expect(ec2Mock).toHaveReceivedCommandWith(CreateImageCommand, { DryRun: true });
  });

  it("tags resources, and skips the call when there is nothing to tag", async () => {
    ec2Mock.on(CreateTagsCommand).resolves({});
    await ec2.createTags(["ami-1", "snap-1"], { "cws:status": "tested" });
    await ec2.createTags([], { a: "b" });
    await ec2.createTags(["ami-1"], {});
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateTagsCommand, {
      Resources: ["ami-1", "snap-1"],
      Tags: [{ Key: "cws:status", Value: "tested" }],
    });
  });

  it("deregisters an image and deletes a snapshot", async () => {
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock.on(DeleteSnapshotCommand).resolves({});
    await ec2.deregisterImage("ami-1");
    await ec2.deleteSnapshot("snap-1");
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeregisterImageCommand, { ImageId: "ami-1" });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteSnapshotCommand, { SnapshotId: "snap-1" });
  });

  it("reports cleanup failures with their code", async () => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error("InvalidAMIID.Unavailable"));
    ec2Mock.on(DeleteSnapshotCommand).rejects(ec2Error("InvalidSnapshot.InUse"));
    expect(await rejection(ec2.deregisterImage("ami-1"))).toMatchObject({ code: "InvalidAMIID.Unavailable", action: "DeregisterImage" });
    expect(await rejection(ec2.deleteSnapshot("snap-1"))).toMatchObject({ code: "InvalidSnapshot.InUse", action: "DeleteSnapshot" });
  });

  it("knows its region", () => {
    expect(ec2.region).toBe("eu-west-1");
  });
});

describe("what cleanup reads and does", () => {
  it("maps an image's total EBS size and its deprecation time", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image("ami-1", { DeprecationTime: "2027-01-01T00:00:00.000Z" }), image("ami-2", { BlockDeviceMappings: [] })] });
    const [first, second] = await ec2.describeImages({ owners: ["self"] });
    expect(first).toMatchObject({ totalVolumeSizeGb: 108, deprecationTime: "2027-01-01T00:00:00.000Z" });
    expect(second?.totalVolumeSizeGb).toBeUndefined();
    expect(second?.deprecationTime).toBeUndefined();
  });

  it("asks for the instances of many images 200 ids at a time (EC2's most values per filter), each over every page", async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `ami-${String(i).padStart(8, "0")}`);
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { Filters: { Name: string; Values: string[] }[]; NextToken?: string }) => {
      const first = input.Filters.find((f) => f.Name === "image-id")!.Values[0]!;
      if (first === ids[0] && !input.NextToken) return { Reservations: [{ Instances: [instance("i-1", { ImageId: ids[0] })] }], NextToken: "more" };
      if (first === ids[0]) return { Reservations: [{ Instances: [instance("i-2", { ImageId: ids[1] })] }] };
      return first === ids[400] ? { Reservations: [{ Instances: [instance("i-3", { ImageId: ids[449] })] }] } : {};
    });
    const found = await ec2.describeInstances({ imageIds: ids, states: ["running", "stopped"] });
    expect(found.map((i) => i.instanceId)).toEqual(["i-1", "i-2", "i-3"]);
    const sent = inputs(DescribeInstancesCommand) as { Filters: { Name: string; Values: string[] }[]; NextToken?: string }[];
    expect(sent.map((input) => input.Filters.find((f) => f.Name === "image-id")!.Values.length)).toEqual([200, 200, 200, 50]);
    expect(sent.map((input) => input.NextToken)).toEqual([undefined, "more", undefined, undefined]);
    for (const input of sent) expect(input.Filters).toContainEqual({ Name: "instance-state-name", Values: ["running", "stopped"] });
    expect(sent.flatMap((input) => (input.NextToken ? [] : input.Filters.find((f) => f.Name === "image-id")!.Values))).toEqual(ids);
  });

  it("asks nothing about the instances of no images", async () => {
    expect(await ec2.describeInstances({ imageIds: [] })).toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 0);
  });

  it("lists snapshots by owner and tag over every page, with their state, start time and size", async () => {
    ec2Mock
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [{ SnapshotId: "snap-1", State: "completed", StartTime: new Date("2026-01-01T00:00:00Z"), VolumeSize: 30, Tags: TAG_LIST }], NextToken: "p2" })
      .resolvesOnce({ Snapshots: [{ SnapshotId: "snap-2", State: "pending", StartTime: new Date("2026-01-02T00:00:00Z"), VolumeSize: 8 }] });
    const snapshots = await ec2.describeSnapshots({ owners: ["self"], tags: { "cws:managed-by": "cws" } });
    expect(snapshots).toEqual([
      { snapshotId: "snap-1", state: "completed", startTime: "2026-01-01T00:00:00.000Z", volumeSizeGb: 30, tags: TAGS },
      { snapshotId: "snap-2", state: "pending", startTime: "2026-01-02T00:00:00.000Z", volumeSizeGb: 8, tags: {} },
    ]);
    const filters = [{ Name: "tag:cws:managed-by", Values: ["cws"] }];
    expect(inputs(DescribeSnapshotsCommand)).toEqual([
      { OwnerIds: ["self"], Filters: filters, MaxResults: 1000 },
      { OwnerIds: ["self"], Filters: filters, MaxResults: 1000, NextToken: "p2" },
    ]);
  });

  it("reads every version of every launch template, each over every page, with the image as written (resolve:ssm: too)", async () => {
    ec2Mock
      .on(DescribeLaunchTemplatesCommand)
      .resolvesOnce({ LaunchTemplates: [{ LaunchTemplateId: "lt-1", LaunchTemplateName: "web" }], NextToken: "t2" })
      .resolvesOnce({ LaunchTemplates: [{ LaunchTemplateId: "lt-2", LaunchTemplateName: "batch" }] });
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-1" })
      .resolvesOnce({ LaunchTemplateVersions: [{ LaunchTemplateName: "web", VersionNumber: 1, LaunchTemplateData: { ImageId: "ami-old" } }], NextToken: "v2" })
      .resolvesOnce({ LaunchTemplateVersions: [{ LaunchTemplateName: "web", VersionNumber: 2, LaunchTemplateData: { ImageId: "resolve:ssm:/web/ami" } }] });
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-2" }).resolves({ LaunchTemplateVersions: [{ LaunchTemplateName: "batch", VersionNumber: 1, LaunchTemplateData: {} }] });
    expect(await ec2.launchTemplateImages()).toEqual([
      { launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 1, imageId: "ami-old" },
      { launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 2, imageId: "resolve:ssm:/web/ami" },
      { launchTemplateId: "lt-2", launchTemplateName: "batch", versionNumber: 1, imageId: undefined },
    ]);
    expect(inputs(DescribeLaunchTemplatesCommand)).toEqual([{ MaxResults: 200 }, { MaxResults: 200, NextToken: "t2" }]);
    expect(inputs(DescribeLaunchTemplateVersionsCommand)).toEqual([
      { LaunchTemplateId: "lt-1", MaxResults: 200 },
      { LaunchTemplateId: "lt-1", MaxResults: 200, NextToken: "v2" },
      { LaunchTemplateId: "lt-2", MaxResults: 200 },
    ]);
  });

  it("deprecates an image at the time given, and reports EC2's refusal with its code", async () => {
    const at = new Date("2027-01-01T00:01:00Z");
    ec2Mock.on(EnableImageDeprecationCommand).resolvesOnce({ Return: true }).rejectsOnce(ec2Error("InvalidParameterValue", "in the past"));
    await ec2.enableImageDeprecation("ami-1", at);
    expect(ec2Mock).toHaveReceivedCommandWith(EnableImageDeprecationCommand, { ImageId: "ami-1", DeprecateAt: at });
    expect(await rejection(ec2.enableImageDeprecation("ami-1", at))).toMatchObject({ code: "InvalidParameterValue", action: "EnableImageDeprecation" });
  });
});
