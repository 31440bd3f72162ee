import {
  CopyImageCommand,
  CreateImageCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { AddRoleToInstanceProfileCommand, AttachRolePolicyCommand, CreateInstanceProfileCommand, CreateRoleCommand } from "@aws-sdk/client-iam";
import { GetParameterCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ACTIONS_CWS_DOES_NOT_CALL, HANDLED_ACTIONS } from "../src/actions.js";
import { AUTHORIZED_ACTIONS, type Authorization } from "../src/authorization.js";
import type { Emulator } from "../src/emulator.js";
import { CANONICAL_OWNER_ID, publicAmiParameterName } from "../src/public-amis.js";
import type { RequestRecord } from "../src/request-log.js";
import { baseImageId, clientsFor, errorOf, launch, launchOnline, send, startTestEmulator, type Clients } from "./helpers.js";

/**
 * The request log's `authorizations`: what IAM would be asked for each
 * request, as the Service Authorization Reference describes it, from the
 * request and the emulator's state when it arrived.
 */
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const CWS = [{ Key: "cws:managed-by", Value: "cws" }];
const ec2Arn = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;
const BUILDER_PROFILE = `arn:aws:iam::${ACCOUNT}:instance-profile/cws-ami-builder`;
const BUILDER_ROLE = `arn:aws:iam::${ACCOUNT}:role/cws-ami-builder`;

let emu: Emulator;
let c: Clients;
beforeAll(async () => {
  emu = await startTestEmulator({ requestLog: true });
  c = clientsFor(emu, REGION);
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(() => emu.requestLog.clear());

/** The authorizations of the one request of `call` made since the test began. */
function authorizationsOf(call: `${string}:${string}`): Authorization[] {
  const records: RequestRecord[] = emu.requestLog.of(call);
  expect(records, call).toHaveLength(1);
  const authorizations = records[0]?.authorizations;
  expect(authorizations, `${call} has authorizations`).toBeDefined();
  return authorizations ?? [];
}

const on = (authorizations: Authorization[], action: string, resource: string) => authorizations.find((a) => a.action === action && a.resource === resource);
const defaultVpc = () => emu.securityGroups(REGION).find((g) => g.isDefault)!.vpcId;

describe("the authorizations of each request, in the request log", () => {
  it("model every action the emulator answers for cws", () => {
    expect([...AUTHORIZED_ACTIONS, ...Object.keys(ACTIONS_CWS_DOES_NOT_CALL)].sort()).toEqual([...HANDLED_ACTIONS].sort());
  });

  it("RunInstances without a group or subnet: a Canonical image, the VPC's default group, the default subnet, the tags, the profile's role", async () => {
    const imageId = await baseImageId(c);
    await launch(c, { ImageId: imageId, TagSpecifications: [{ ResourceType: "instance", Tags: [...CWS, { Key: "Name", Value: "x" }] }, { ResourceType: "volume", Tags: CWS }] });
    const authorizations = authorizationsOf("ec2:RunInstances");
    const group = emu.securityGroups(REGION).find((g) => g.isDefault)!;
    const [subnet] = emu.instances(REGION).map((i) => i.subnetId);
    const vpc = ec2Arn("vpc", defaultVpc());
    const tags = { "aws:RequestTag/cws:managed-by": "cws", "aws:TagKeys": ["cws:managed-by"] };
    expect(authorizations).toEqual([
      // Owned by another account (Canonical, which has no alias): its id; no tags.
      { action: "ec2:RunInstances", resource: `arn:aws:ec2:${REGION}::image/${imageId}`, context: { "ec2:Owner": CANONICAL_OWNER_ID } },
      {
        action: "ec2:RunInstances",
        resource: ec2Arn("instance", "*"),
        context: {
          "aws:RequestTag/cws:managed-by": "cws",
          "aws:RequestTag/Name": "x",
          "aws:TagKeys": ["cws:managed-by", "Name"],
          "ec2:InstanceProfile": BUILDER_PROFILE,
          "ec2:InstanceType": "t3.micro",
          // Ubuntu's image does not ask for IMDSv2, and tenancy is EC2's default.
          "ec2:MetadataHttpTokens": "optional",
          "ec2:Tenancy": "default",
        },
      },
      // The image's root volume, as it is (the request overrides nothing).
      { action: "ec2:RunInstances", resource: ec2Arn("volume", "*"), context: { ...tags, "ec2:VolumeType": "gp2", "ec2:Encrypted": "false" } },
      { action: "ec2:RunInstances", resource: ec2Arn("network-interface", "*"), context: { "ec2:Subnet": ec2Arn("subnet", subnet!), "ec2:Vpc": vpc } },
      // None named: EC2 launches into the VPC's default group, and judges that one.
      { action: "ec2:RunInstances", resource: ec2Arn("security-group", group.id), context: { "ec2:Vpc": vpc } },
      { action: "ec2:RunInstances", resource: ec2Arn("subnet", subnet!), context: { "ec2:Vpc": vpc } },
      { action: "ec2:CreateTags", resource: ec2Arn("instance", "*"), context: { "ec2:CreateAction": "RunInstances", "aws:RequestTag/cws:managed-by": "cws", "aws:RequestTag/Name": "x", "aws:TagKeys": ["cws:managed-by", "Name"] } },
      { action: "ec2:CreateTags", resource: ec2Arn("volume", "*"), context: { "ec2:CreateAction": "RunInstances", ...tags } },
      { action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
    ]);
  });

  it("RunInstances (DryRun) into a named group, from an Amazon image and from one of the account's own", async () => {
    const { GroupId: groupId } = await c.ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "cws-x", Description: "x", TagSpecifications: [{ ResourceType: "security-group", Tags: CWS }] }),
    );
    const amazon = await baseImageId(c, "al2023");
    const own = emu.addImage(REGION, { name: "cws-own", tags: { "cws:managed-by": "cws" } }).imageId;
    for (const imageId of [amazon, own]) {
      const error = await errorOf(
        c.ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1, SecurityGroupIds: [groupId!], IamInstanceProfile: { Name: "cws-ami-builder" }, DryRun: true })),
      );
      expect(error.name).toBe("DryRunOperation");
    }
    const [fromAmazon, fromOwn] = emu.requestLog.of("ec2:RunInstances");
    expect(fromAmazon?.error).toBe("DryRunOperation");
    // Amazon's images are known by the alias; an image of the account by the account's id, with its tags.
    expect(on(fromAmazon!.authorizations!, "ec2:RunInstances", `arn:aws:ec2:${REGION}::image/${amazon}`)?.context).toEqual({ "ec2:Owner": "amazon" });
    expect(on(fromOwn!.authorizations!, "ec2:RunInstances", `arn:aws:ec2:${REGION}::image/${own}`)?.context).toEqual({ "ec2:Owner": ACCOUNT, "aws:ResourceTag/cws:managed-by": "cws" });
    const groups = fromAmazon!.authorizations!.filter((a) => a.resource.includes(":security-group/"));
    expect(groups).toEqual([{ action: "ec2:RunInstances", resource: ec2Arn("security-group", groupId!), context: { "aws:ResourceTag/cws:managed-by": "cws", "ec2:Vpc": ec2Arn("vpc", defaultVpc()) } }]);
    // No tags asked for: none to authorize, and no CreateTags. Amazon Linux's image asks for IMDSv2.
    expect(on(fromAmazon!.authorizations!, "ec2:RunInstances", ec2Arn("volume", "*"))?.context).toEqual({ "ec2:VolumeType": "gp3", "ec2:Encrypted": "false" });
    expect(on(fromAmazon!.authorizations!, "ec2:RunInstances", ec2Arn("instance", "*"))?.context).toMatchObject({ "ec2:MetadataHttpTokens": "required" });
    expect(fromAmazon!.authorizations!.some((a) => a.action === "ec2:CreateTags")).toBe(false);
  });

  it("RunInstances: each volume as the request's BlockDeviceMapping makes it of the image's, IMDS and tenancy as asked", async () => {
    const error = await errorOf(
      c.ec2.send(
        new RunInstancesCommand({
          ImageId: await baseImageId(c),
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
          BlockDeviceMappings: [
            { DeviceName: "/dev/sda1", Ebs: { VolumeType: "gp3", Encrypted: true } },
            { DeviceName: "/dev/sdf", Ebs: { VolumeSize: 10 } },
          ],
          MetadataOptions: { HttpTokens: "required" },
          Placement: { Tenancy: "dedicated" },
          DryRun: true,
        }),
      ),
    );
    expect(error.name).toBe("DryRunOperation");
    const authorizations = authorizationsOf("ec2:RunInstances");
    expect(authorizations.filter((a) => a.resource === ec2Arn("volume", "*")).map((a) => a.context)).toEqual([
      { "ec2:VolumeType": "gp3", "ec2:Encrypted": "true" },
      { "ec2:VolumeType": "gp3", "ec2:Encrypted": "false" },
    ]);
    // No profile named: no ec2:InstanceProfile, and no role passed.
    expect(on(authorizations, "ec2:RunInstances", ec2Arn("instance", "*"))?.context).toEqual({ "ec2:InstanceType": "t3.micro", "ec2:MetadataHttpTokens": "required", "ec2:Tenancy": "dedicated" });
    expect(authorizations.some((a) => a.action === "iam:PassRole")).toBe(false);
  });

  it("CopyImage: the source image in its region (its owner and id, no tags), the copy and its snapshots with the request's tags", async () => {
    const source = emu.addImage("us-east-1", { name: "cws-source", tags: { "cws:managed-by": "cws" } }).imageId;
    const tags = [...CWS, { Key: "cws:copied-from", Value: `us-east-1/${source}` }];
    await c.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: source, Name: "cws-copy", TagSpecifications: [{ ResourceType: "image", Tags: tags }, { ResourceType: "snapshot", Tags: tags }] }));
    const requested = { "aws:RequestTag/cws:managed-by": "cws", "aws:RequestTag/cws:copied-from": `us-east-1/${source}`, "aws:TagKeys": ["cws:managed-by", "cws:copied-from"] };
    expect(authorizationsOf("ec2:CopyImage")).toEqual([
      { action: "ec2:CopyImage", resource: `arn:aws:ec2:us-east-1::image/${source}`, context: { "ec2:Owner": ACCOUNT, "ec2:ImageID": source } },
      { action: "ec2:CopyImage", resource: `arn:aws:ec2:${REGION}::image/*`, context: requested },
      { action: "ec2:CopyImage", resource: `arn:aws:ec2:${REGION}::snapshot/*`, context: requested },
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::image/*`, context: { "ec2:CreateAction": "CopyImage", ...requested } },
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::snapshot/*`, context: { "ec2:CreateAction": "CopyImage", ...requested } },
    ]);
  });

  it("CreateImage: the instance with its tags, the new image and snapshots with the request's", async () => {
    const instanceId = await launchOnline(c, { TagSpecifications: [{ ResourceType: "instance", Tags: [...CWS, { Key: "cws:build-id", Value: "b-1" }] }] });
    emu.requestLog.clear();
    await c.ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: "cws-image",
        NoReboot: true,
        TagSpecifications: [{ ResourceType: "image", Tags: CWS }, { ResourceType: "snapshot", Tags: CWS }],
      }),
    );
    const tags = { "aws:RequestTag/cws:managed-by": "cws", "aws:TagKeys": ["cws:managed-by"] };
    expect(authorizationsOf("ec2:CreateImage")).toEqual([
      { action: "ec2:CreateImage", resource: ec2Arn("instance", instanceId), context: { "aws:ResourceTag/cws:managed-by": "cws", "aws:ResourceTag/cws:build-id": "b-1" } },
      { action: "ec2:CreateImage", resource: `arn:aws:ec2:${REGION}::image/*`, context: tags },
      { action: "ec2:CreateImage", resource: `arn:aws:ec2:${REGION}::snapshot/*`, context: tags },
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::image/*`, context: { "ec2:CreateAction": "CreateImage", ...tags } },
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::snapshot/*`, context: { "ec2:CreateAction": "CreateImage", ...tags } },
    ]);
  });

  it("CreateTags on resources that exist: each with its own tags, and the keys added", async () => {
    const { imageId, snapshotIds } = emu.addImage(REGION, { name: "cws-tagged", tags: { "cws:managed-by": "cws" } });
    await c.ec2.send(new CreateTagsCommand({ Resources: [imageId, snapshotIds[0]!], Tags: [{ Key: "cws:validated", Value: "true" }] }));
    const added = { "aws:RequestTag/cws:validated": "true", "aws:TagKeys": ["cws:validated"] };
    expect(authorizationsOf("ec2:CreateTags")).toEqual([
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::image/${imageId}`, context: { "ec2:Owner": ACCOUNT, "aws:ResourceTag/cws:managed-by": "cws", ...added } },
      { action: "ec2:CreateTags", resource: `arn:aws:ec2:${REGION}::snapshot/${snapshotIds[0]}`, context: { "ec2:Owner": ACCOUNT, "aws:ResourceTag/cws:managed-by": "cws", ...added } },
    ]);
  });

  it("is computed from the state when the request arrived: a deleted group keeps its tags, a terminated instance its own", async () => {
    const { GroupId: groupId } = await c.ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "cws-gone", Description: "x", TagSpecifications: [{ ResourceType: "security-group", Tags: CWS }] }),
    );
    expect(authorizationsOf("ec2:CreateSecurityGroup")).toEqual([
      { action: "ec2:CreateSecurityGroup", resource: ec2Arn("security-group", "*"), context: { "aws:RequestTag/cws:managed-by": "cws", "aws:TagKeys": ["cws:managed-by"] } },
      { action: "ec2:CreateTags", resource: ec2Arn("security-group", "*"), context: { "ec2:CreateAction": "CreateSecurityGroup", "aws:RequestTag/cws:managed-by": "cws", "aws:TagKeys": ["cws:managed-by"] } },
      { action: "ec2:CreateSecurityGroup", resource: ec2Arn("vpc", defaultVpc()), context: {} },
    ]);
    await c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    expect(authorizationsOf("ec2:DeleteSecurityGroup")).toEqual([
      { action: "ec2:DeleteSecurityGroup", resource: ec2Arn("security-group", groupId!), context: { "aws:ResourceTag/cws:managed-by": "cws", "ec2:Vpc": ec2Arn("vpc", defaultVpc()) } },
    ]);

    const instanceId = await launch(c, { TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "team", Value: "payments" }] }] });
    await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(authorizationsOf("ec2:TerminateInstances")).toEqual([{ action: "ec2:TerminateInstances", resource: ec2Arn("instance", instanceId), context: { "aws:ResourceTag/team": "payments" } }]);
  });

  it("SSM: the document and each instance (ssm:resourceTag), parameters by ARN; what AWS owns gets the account", async () => {
    const instanceId = await launchOnline(c, { TagSpecifications: [{ ResourceType: "instance", Tags: CWS }] });
    emu.requestLog.clear();
    await send(c, instanceId, ["true"]);
    expect(authorizationsOf("ssm:SendCommand")).toEqual([
      { action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript`, context: {} },
      { action: "ssm:SendCommand", resource: ec2Arn("instance", instanceId), context: { "ssm:resourceTag/cws:managed-by": "cws" } },
    ]);
    const name = publicAmiParameterName("ubuntu-24.04", "x86_64");
    await c.ssm.send(new GetParameterCommand({ Name: name }));
    await c.ssm.send(new PutParameterCommand({ Name: "/cloudworkstation/amis/x/x86_64", Value: "ami-0123456789abcdef0", Type: "String" }));
    expect(authorizationsOf("ssm:GetParameter")).toEqual([{ action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`, context: {} }]);
    expect(authorizationsOf("ssm:PutParameter")).toEqual([
      { action: "ssm:PutParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/cloudworkstation/amis/x/x86_64`, context: {} },
    ]);
  });

  it("IAM: tags at creation are asked for twice (create and tag), a policy by its ARN, a role put in a profile is passed to EC2", async () => {
    await c.iam.send(new CreateRoleCommand({ RoleName: "cws-other", AssumeRolePolicyDocument: "{}", Tags: CWS }));
    await c.iam.send(new AttachRolePolicyCommand({ RoleName: "cws-other", PolicyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }));
    await c.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: "cws-other" }));
    await c.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: "cws-other", RoleName: "cws-other" }));
    const role = `arn:aws:iam::${ACCOUNT}:role/cws-other`;
    const tags = { "aws:RequestTag/cws:managed-by": "cws", "aws:TagKeys": ["cws:managed-by"] };
    expect(authorizationsOf("iam:CreateRole")).toEqual([
      { action: "iam:CreateRole", resource: role, context: tags },
      { action: "iam:TagRole", resource: role, context: tags },
    ]);
    expect(authorizationsOf("iam:AttachRolePolicy")).toEqual([{ action: "iam:AttachRolePolicy", resource: role, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } }]);
    // No tags: nothing to tag, so no TagInstanceProfile.
    expect(authorizationsOf("iam:CreateInstanceProfile")).toEqual([{ action: "iam:CreateInstanceProfile", resource: `arn:aws:iam::${ACCOUNT}:instance-profile/cws-other`, context: {} }]);
    expect(authorizationsOf("iam:AddRoleToInstanceProfile")).toEqual([
      { action: "iam:AddRoleToInstanceProfile", resource: `arn:aws:iam::${ACCOUNT}:instance-profile/cws-other`, context: {} },
      { action: "iam:PassRole", resource: role, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
    ]);
  });

  it("a failed request has them too, with what exists of its resources (nothing here); Describe* is asked about \"*\"", async () => {
    await errorOf(c.ec2.send(new TerminateInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"] })));
    const [record] = emu.requestLog.of("ec2:TerminateInstances");
    expect(record?.error).toBe("InvalidInstanceID.NotFound");
    expect(record?.authorizations).toEqual([{ action: "ec2:TerminateInstances", resource: ec2Arn("instance", "i-0123456789abcdef0"), context: {} }]);
    await c.ec2.send(new DescribeImagesCommand({ Owners: ["self"] }));
    expect(authorizationsOf("ec2:DescribeImages")).toEqual([{ action: "ec2:DescribeImages", resource: "*", context: {} }]);
  });
});
