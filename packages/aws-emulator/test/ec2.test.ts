import {
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2ServiceException,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeImages,
  paginateDescribeSecurityGroups,
  type Image,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { baseImageId, clientsFor, errorOf, instanceState, launch, startTestEmulator, waitFor, type Clients } from "./helpers.js";
import { AMAZON_OWNER_ID, BASE_IMAGE_FAMILIES, CANONICAL_OWNER_ID, DEBIAN_OWNER_ID } from "../src/public-amis.js";

let emu: Emulator;
let c: Clients;

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
});
afterAll(async () => {
  await emu?.stop();
});

describe("regions, VPCs and subnets", () => {
  it("has a default VPC with three default subnets in zones a, b and c", async () => {
    const vpcs = await c.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
    expect(vpcs.Vpcs).toHaveLength(1);
    const vpc = vpcs.Vpcs?.[0];
    expect(vpc?.IsDefault).toBe(true);
    expect(vpc?.CidrBlock).toBe("172.31.0.0/16");
    const none = await c.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["false"] }] }));
    expect(none.Vpcs).toEqual([]);

    const subnets = await c.ec2.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: "vpc-id", Values: [vpc?.VpcId as string] },
          { Name: "default-for-az", Values: ["true"] },
        ],
      }),
    );
    expect(subnets.Subnets?.map((s) => s.AvailabilityZone).sort()).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(subnets.Subnets?.every((s) => s.DefaultForAz && s.VpcId === vpc?.VpcId && (s.AvailableIpAddressCount ?? 0) > 0)).toBe(true);

    const first = subnets.Subnets?.[0]?.SubnetId as string;
    const byId = await c.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "subnet-id", Values: [first] }] }));
    expect(byId.Subnets?.map((s) => s.SubnetId)).toEqual([first]);
    const err = await errorOf(c.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ["subnet-0123456789abcdef0"] })));
    expect(err.name).toBe("InvalidSubnetID.NotFound");
  });

  it("names an unknown filter in its error", async () => {
    const err = await errorOf(c.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "colour", Values: ["blue"] }] })));
    expect(err.name).toBe("InvalidParameterValue");
    expect(err.message).toContain("colour");
  });
});

describe("DescribeImages", () => {
  it("seeds Ubuntu, Amazon Linux and Debian images for both architectures", async () => {
    for (const [owner, family] of [
      [CANONICAL_OWNER_ID, "ubuntu"],
      [AMAZON_OWNER_ID, "al2023"],
      [DEBIAN_OWNER_ID, "debian-12"],
    ] as const) {
      const r = await c.ec2.send(new DescribeImagesCommand({ Owners: [owner] }));
      const archs = new Set(r.Images?.map((i) => i.Architecture));
      expect(archs, family).toEqual(new Set(["x86_64", "arm64"]));
      expect(r.Images?.every((i) => i.State === "available" && i.Public === true && i.OwnerId === owner)).toBe(true);
      // EC2 gives an owner alias for Amazon's images only (what docs/iam's ec2:Owner lists either way).
      expect(new Set(r.Images?.map((i) => i.ImageOwnerAlias)), family).toEqual(new Set([owner === AMAZON_OWNER_ID ? "amazon" : undefined]));
    }
    const amazon = await c.ec2.send(new DescribeImagesCommand({ Owners: ["amazon"], Filters: [{ Name: "name", Values: ["al2023-ami-2023.*-kernel-6.1-arm64"] }] }));
    expect(amazon.Images?.length).toBeGreaterThanOrEqual(3);
    expect(amazon.Images?.every((i) => i.ImageOwnerAlias === "amazon" && i.Architecture === "arm64")).toBe(true);
  });

  it("filters by name wildcards, architecture, state and image id, and several dates make 'most recent' matter", async () => {
    const r = await c.ec2.send(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER_ID],
        Filters: [
          { Name: "name", Values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*-server-*"] },
          { Name: "architecture", Values: ["arm64"] },
          { Name: "state", Values: ["available"] },
        ],
      }),
    );
    const images = r.Images ?? [];
    expect(images.length).toBe(3);
    expect(images.every((i) => i.Name?.includes("arm64") && i.Architecture === "arm64")).toBe(true);
    const newest = [...images].sort((a, b) => (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""))[0] as Image;
    expect(newest.Name).toBe("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20241109");
    expect(newest.RootDeviceName).toBe("/dev/sda1");
    expect(newest.BlockDeviceMappings?.[0]?.Ebs).toMatchObject({ VolumeType: "gp3", VolumeSize: 8 });

    const byId = await c.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "image-id", Values: [newest.ImageId as string] }] }));
    expect(byId.Images?.map((i) => i.ImageId)).toEqual([newest.ImageId]);
    const byOwner = await c.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "owner-id", Values: [DEBIAN_OWNER_ID] }, { Name: "name", Values: ["debian-12-arm64-*"] }] }));
    expect(byOwner.Images?.length).toBe(3);
  });

  it("answers InvalidAMIID.NotFound and .Malformed", async () => {
    const err = await errorOf(c.ec2.send(new DescribeImagesCommand({ ImageIds: ["ami-0123456789abcdef0"] })));
    expect(err).toBeInstanceOf(EC2ServiceException);
    expect(err.name).toBe("InvalidAMIID.NotFound");
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const bad = await errorOf(c.ec2.send(new DescribeImagesCommand({ ImageIds: ["image-1"] })));
    expect(bad.name).toBe("InvalidAMIID.Malformed");
  });

  it("paginates with MaxResults and NextToken", async () => {
    const all = await c.ec2.send(new DescribeImagesCommand({ Owners: [CANONICAL_OWNER_ID] }));
    const total = all.Images?.length ?? 0;
    expect(total).toBeGreaterThan(7);
    const first = await c.ec2.send(new DescribeImagesCommand({ Owners: [CANONICAL_OWNER_ID], MaxResults: 5 }));
    expect(first.Images).toHaveLength(5);
    expect(first.NextToken).toEqual(expect.any(String));
    const ids: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeImages({ client: c.ec2, pageSize: 5 }, { Owners: [CANONICAL_OWNER_ID] })) {
      pages++;
      ids.push(...(page.Images ?? []).map((i) => i.ImageId as string));
    }
    expect(pages).toBe(Math.ceil(total / 5));
    expect(new Set(ids).size).toBe(total);
    expect(ids.sort()).toEqual((all.Images ?? []).map((i) => i.ImageId as string).sort());
    const err = await errorOf(c.ec2.send(new DescribeImagesCommand({ NextToken: "not-a-token" })));
    expect(err.name).toBe("InvalidParameterValue");
  });
});

describe("RunInstances and DescribeInstances", () => {
  it("launches with profile, subnet, security group, metadata options, gp3 encrypted root and tags", async () => {
    const subnets = await c.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "availability-zone", Values: ["us-east-1b"] }] }));
    const subnetId = subnets.Subnets?.[0]?.SubnetId as string;
    const vpcId = subnets.Subnets?.[0]?.VpcId as string;
    const sg = await c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "builder-launch", Description: "builder", VpcId: vpcId }));
    const imageId = await baseImageId(c, "ubuntu-24.04", "arm64");
    const r = await c.ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: "t4g.small",
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        SecurityGroupIds: [sg.GroupId as string],
        IamInstanceProfile: { Name: "cws-ami-builder" },
        MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
        BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 20, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true } }],
        TagSpecifications: [
          { ResourceType: "instance", Tags: [{ Key: "Name", Value: "cws-build" }, { Key: "cws:build", Value: "b1" }] },
          { ResourceType: "volume", Tags: [{ Key: "cws:build", Value: "b1" }] },
        ],
      }),
    );
    const inst = r.Instances?.[0];
    expect(inst?.State?.Name).toBe("pending");
    expect(inst?.State?.Code).toBe(0);
    expect(r.ReservationId).toMatch(/^r-/);
    expect(r.OwnerId).toBe("123456789012");

    const d = await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst?.InstanceId as string] }));
    const got = d.Reservations?.[0]?.Instances?.[0];
    expect(got).toMatchObject({
      InstanceId: inst?.InstanceId,
      ImageId: imageId,
      InstanceType: "t4g.small",
      SubnetId: subnetId,
      VpcId: vpcId,
      Architecture: "arm64",
      Placement: { AvailabilityZone: "us-east-1b" },
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
    });
    expect(got?.IamInstanceProfile?.Arn).toBe("arn:aws:iam::123456789012:instance-profile/cws-ami-builder");
    expect(got?.IamInstanceProfile?.Id).toMatch(/^AIPA/);
    expect(got?.SecurityGroups?.map((g) => g.GroupId)).toEqual([sg.GroupId]);
    expect(got?.Tags).toEqual(expect.arrayContaining([{ Key: "Name", Value: "cws-build" }]));
    expect(got?.BlockDeviceMappings?.[0]?.DeviceName).toBe("/dev/sda1");
    expect(got?.BlockDeviceMappings?.[0]?.Ebs?.VolumeId).toMatch(/^vol-/);
    expect(got?.LaunchTime).toBeInstanceOf(Date);
    const [view] = emu.instances("us-east-1").filter((i) => i.id === inst?.InstanceId);
    expect(view?.volumeIds).toHaveLength(1);
  });

  it("validates image, instance type architecture, subnet, groups, profile and volume size", async () => {
    const amd = await baseImageId(c, "ubuntu-22.04", "x86_64");
    const cases: Array<[Partial<Parameters<typeof launch>[1]>, string]> = [
      [{ ImageId: "ami-0123456789abcdef0" }, "InvalidAMIID.NotFound"],
      [{ ImageId: amd, InstanceType: "m7g.large" }, "InvalidParameterValue"],
      [{ ImageId: amd, SubnetId: "subnet-0123456789abcdef0" }, "InvalidSubnetID.NotFound"],
      [{ ImageId: amd, SecurityGroupIds: ["sg-0123456789abcdef0"] }, "InvalidGroup.NotFound"],
      [{ ImageId: amd, IamInstanceProfile: { Name: "no-such-profile" } }, "InvalidParameterValue"],
      [{ ImageId: amd, BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 4 } }] }, "InvalidBlockDeviceMapping"],
    ];
    for (const [input, code] of cases) {
      const err = await errorOf(launch(c, input));
      expect(err.name, JSON.stringify(input)).toBe(code);
    }
    const arch = await errorOf(launch(c, { ImageId: amd, InstanceType: "c7g.large" }));
    expect(arch.message).toContain("architecture 'arm64' of the specified instance type does not match the architecture 'x86_64'");
    const byArn = await launch(c, { ImageId: amd, IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/cws-ami-builder" } });
    expect(byArn).toMatch(/^i-[0-9a-f]{17}$/);
  });

  it("honours DryRun without creating anything", async () => {
    const before = emu.instances("us-east-1").length;
    const err = await errorOf(launch(c, { DryRun: true }));
    expect(err.name).toBe("DryRunOperation");
    expect(err.message).toBe("Request would have succeeded, but DryRun flag is set.");
    expect(err.$metadata?.httpStatusCode).toBe(412);
    expect(emu.instances("us-east-1").length).toBe(before);
    // A dry run still validates what it can.
    const bad = await errorOf(launch(c, { DryRun: true, ImageId: "ami-0123456789abcdef0" }));
    expect(bad.name).toBe("InvalidAMIID.NotFound");
    const sgErr = await errorOf(c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "dry", Description: "d", DryRun: true })));
    expect(sgErr.name).toBe("DryRunOperation");
    expect(emu.securityGroups("us-east-1").some((g) => g.name === "dry")).toBe(false);
  });

  it("returns the same instance for a repeated ClientToken, and refuses a changed request with it", async () => {
    const token = "build-42-launch";
    const a = await launch(c, { ClientToken: token });
    const b = await launch(c, { ClientToken: token });
    expect(b).toBe(a);
    expect(emu.instances("us-east-1").filter((i) => i.id === a)).toHaveLength(1);
    const err = await errorOf(launch(c, { ClientToken: token, InstanceType: "t3.large" }));
    expect(err.name).toBe("IdempotentParameterMismatch");
  });

  it("filters by tag and state, paginates, and answers InvalidInstanceID.NotFound", async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await launch(c, { TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "batch", Value: "paging" }] }] }));
    }
    const tagged = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:batch", Values: ["paging"] }] }));
    const found = tagged.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    expect(found?.sort()).toEqual([...ids].sort());

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:batch", Values: ["paging"] }], MaxResults: 5, NextToken: token }));
      seen.push(...(page.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId as string) ?? []));
      token = page.NextToken;
    } while (token);
    expect(seen.sort()).toEqual([...ids].sort());

    const running = await c.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "tag:batch", Values: ["paging"] }, { Name: "instance-state-name", Values: ["terminated"] }] }),
    );
    expect(running.Reservations).toEqual([]);

    const err = await errorOf(c.ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"] })));
    expect(err.name).toBe("InvalidInstanceID.NotFound");
    expect(err.message).toContain("i-0123456789abcdef0");
  });
});

describe("instance lifecycle over simulated time", () => {
  it("goes pending → running → stopping → stopped → shutting-down → terminated", async () => {
    const id = await launch(c);
    expect(await instanceState(c, id)).toBe("pending");
    await waitFor(async () => ((await instanceState(c, id)) === "running" ? true : undefined));

    const stop = await c.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances?.[0]).toMatchObject({ PreviousState: { Name: "running", Code: 16 }, CurrentState: { Name: "stopping", Code: 64 } });
    await waitFor(async () => ((await instanceState(c, id)) === "stopped" ? true : undefined));

    const term = await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances?.[0]?.CurrentState?.Name).toBe("shutting-down");
    await waitFor(async () => ((await instanceState(c, id)) === "terminated" ? true : undefined));
    expect(emu.stats.waits[id]).toBe(
      emu.latencies.instancePending + emu.latencies.ssmAgentOnline + emu.latencies.instanceStopping + emu.latencies.instanceShuttingDown,
    );
  });

  it("takes the configured simulated time, scaled by msPerSimSecond", async () => {
    const slow = await startTestEmulator({ msPerSimSecond: 2, latencies: { instancePending: 100 } });
    try {
      const sc = clientsFor(slow);
      const started = Date.now();
      const id = await launch(sc);
      await waitFor(async () => ((await instanceState(sc, id)) === "running" ? true : undefined));
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      // advance() jumps simulated time
      const id2 = await launch(sc);
      await slow.settled("us-east-1"); // its disk is laid out in real time
      slow.clock.advance(100);
      expect(await instanceState(sc, id2)).toBe("running");
    } finally {
      await slow.stop();
    }
  });

  it("answers DryRun for stop and terminate", async () => {
    const id = await launch(c);
    await waitFor(async () => ((await instanceState(c, id)) === "running" ? true : undefined));
    for (const cmd of [
      new StopInstancesCommand({ InstanceIds: [id], DryRun: true }),
      new TerminateInstancesCommand({ InstanceIds: [id], DryRun: true }),
    ]) {
      const err = await errorOf(c.ec2.send(cmd as never));
      expect(err.name).toBe("DryRunOperation");
    }
    expect(await instanceState(c, id)).toBe("running");
  });
});

describe("security groups", () => {
  it("creates, refuses duplicates and deletes; DependencyViolation while an instance uses it", async () => {
    const vpcId = (await c.ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId as string;
    const created = await c.ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: "cws-builder-sg",
        Description: "cws builder",
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: "security-group", Tags: [{ Key: "owner", Value: "cws" }] }],
      }),
    );
    expect(created.GroupId).toMatch(/^sg-/);
    expect(created.Tags).toEqual([{ Key: "owner", Value: "cws" }]);
    const dup = await errorOf(c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "cws-builder-sg", Description: "again", VpcId: vpcId })));
    expect(dup.name).toBe("InvalidGroup.Duplicate");

    expect(emu.securityGroups("us-east-1").find((g) => g.id === created.GroupId)).toMatchObject({ name: "cws-builder-sg", description: "cws builder", vpcId, tags: { owner: "cws" } });

    const id = await launch(c, { SecurityGroupIds: [created.GroupId as string] });
    const inUse = await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId })));
    expect(inUse.name).toBe("DependencyViolation");
    emu.clock.setMsPerSimSecond(1000); // hold the clock: shutting-down lasts 30 simulated seconds
    try {
      await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      const stillShuttingDown = await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId })));
      expect(stillShuttingDown.name).toBe("DependencyViolation");
      emu.clock.advance(emu.latencies.instanceShuttingDown);
    } finally {
      emu.clock.setMsPerSimSecond(1);
    }
    const dryDelete = await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId, DryRun: true })));
    expect(dryDelete.name).toBe("DryRunOperation");
    const del = await c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId }));
    expect(del.Return).toBe(true);
    expect(emu.securityGroups("us-east-1").some((g) => g.id === created.GroupId)).toBe(false);
    const defaultGroup = emu.securityGroups("us-east-1").find((g) => g.isDefault);
    const cannot = await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultGroup?.id })));
    expect(cannot.name).toBe("CannotDelete");
  });
});

describe("DescribeSecurityGroups", () => {
  it("finds groups by tag, pages them 5 to 1000 at a time, and answers as EC2 does for ids, names and bad filters", async () => {
    const vpcId = (await c.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs?.[0]?.VpcId as string;
    const created: string[] = [];
    for (let n = 0; n < 7; n++) {
      const tags = [{ Key: "cws:managed-by", Value: "cws" }, { Key: "cws:build-id", Value: `b${n}` }];
      const group = await c.ec2.send(
        new CreateSecurityGroupCommand({ GroupName: `paged-${n}`, Description: `group ${n}`, VpcId: vpcId, TagSpecifications: [{ ResourceType: "security-group", Tags: n < 6 ? tags : [] }] }),
      );
      created.push(group.GroupId as string);
    }
    const pages: number[] = [];
    const found: string[] = [];
    for await (const page of paginateDescribeSecurityGroups({ client: c.ec2, pageSize: 5 }, { Filters: [{ Name: "tag:cws:managed-by", Values: ["cws"] }] })) {
      pages.push(page.SecurityGroups?.length ?? 0);
      found.push(...(page.SecurityGroups ?? []).map((g) => g.GroupId as string));
    }
    expect(pages).toEqual([5, 1]);
    expect(found.sort()).toEqual(created.slice(0, 6).sort());

    const one = await c.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "tag:cws:build-id", Values: ["b3"] }, { Name: "vpc-id", Values: [vpcId] }] }));
    expect(one.SecurityGroups).toEqual([
      expect.objectContaining({
        GroupId: created[3],
        GroupName: "paged-3",
        Description: "group 3",
        VpcId: vpcId,
        OwnerId: "123456789012",
        IpPermissions: [],
        IpPermissionsEgress: [expect.objectContaining({ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] })],
        Tags: [{ Key: "cws:managed-by", Value: "cws" }, { Key: "cws:build-id", Value: "b3" }],
      }),
    ]);
    expect((await c.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "tag-key", Values: ["cws:build-id"] }, { Name: "group-name", Values: ["paged-?"] }] }))).SecurityGroups).toHaveLength(6);
    expect((await c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [created[6] as string] }))).SecurityGroups?.map((g) => g.GroupName)).toEqual(["paged-6"]);
    expect((await c.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ["paged-1"] }))).SecurityGroups?.map((g) => g.GroupId)).toEqual([created[1]]);
    // With neither ids nor filters: every group, the VPC's default group too.
    const all = (await c.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    expect(all.some((g) => g.GroupName === "default")).toBe(true);

    expect((await errorOf(c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ["sg-0000000000000dead"] })))).name).toBe("InvalidGroup.NotFound");
    expect((await errorOf(c.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ["no-such-group"] })))).name).toBe("InvalidGroup.NotFound");
    expect((await errorOf(c.ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 4 })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(c.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "colour", Values: ["red"] }] })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(c.ec2.send(new DescribeSecurityGroupsCommand({ DryRun: true })))).name).toBe("DryRunOperation");
    for (const id of created) await c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
  });
});

describe("tags", () => {
  it("tags instances, volumes and groups, and answers NotFound for unknown ids", async () => {
    const id = await launch(c);
    const vol = emu.instances("us-east-1").find((i) => i.id === id)?.volumeIds[0] as string;
    await c.ec2.send(new CreateTagsCommand({ Resources: [id, vol], Tags: [{ Key: "stage", Value: "setup" }] }));
    const d = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:stage", Values: ["setup"] }] }));
    expect(d.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([id]);
    const keyOnly = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag-key", Values: ["stage"] }] }));
    expect(keyOnly.Reservations?.length).toBe(1);
    const err = await errorOf(c.ec2.send(new CreateTagsCommand({ Resources: ["i-0123456789abcdef0"], Tags: [{ Key: "a", Value: "b" }] })));
    expect(err.name).toBe("InvalidInstanceID.NotFound");
    const dry = await errorOf(c.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "a", Value: "b" }], DryRun: true })));
    expect(dry.name).toBe("DryRunOperation");

    const sg = await c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "tag-me", Description: "t" }));
    await c.ec2.send(new CreateTagsCommand({ Resources: [sg.GroupId as string], Tags: [{ Key: "stage", Value: "setup" }] }));
    expect(emu.securityGroups("us-east-1").find((g) => g.id === sg.GroupId)?.tags).toEqual({ stage: "setup" });
    const reserved = await errorOf(c.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "aws:x", Value: "y" }] })));
    expect(reserved.name).toBe("InvalidParameterValue");
  });

  const tags = (count: number, prefix = "k") => Array.from({ length: count }, (_, i) => ({ Key: `${prefix}${i}`, Value: "v" }));

  it("allows 50 tags per resource, as EC2 does: TagLimitExceeded beyond, counting the tags a resource already has", async () => {
    const id = await launch(c, { TagSpecifications: [{ ResourceType: "instance", Tags: tags(50) }] });
    expect(Object.keys(emu.instances("us-east-1").find((i) => i.id === id)?.tags ?? {}).length).toBe(50);
    // Replacing the value of a tag it has adds none.
    await c.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "k0", Value: "w" }] }));
    const oneMore = await errorOf(c.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "k50", Value: "v" }] })));
    expect(oneMore.name).toBe("TagLimitExceeded");

    const fresh = await launch(c);
    const over = await errorOf(c.ec2.send(new CreateTagsCommand({ Resources: [fresh], Tags: tags(51) })));
    expect(over.name).toBe("TagLimitExceeded");
    // Both specifications for one resource type count together.
    const split = await errorOf(
      launch(c, { TagSpecifications: [{ ResourceType: "instance", Tags: tags(30, "a") }, { ResourceType: "instance", Tags: tags(21, "b") }] }),
    );
    expect(split.name).toBe("TagLimitExceeded");
    const sg = await errorOf(c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "too-many-tags", Description: "t", TagSpecifications: [{ ResourceType: "security-group", Tags: tags(51) }] })));
    expect(sg.name).toBe("TagLimitExceeded");
  });
});

describe("regions are isolated", () => {
  it("keeps instances, groups and images per region, with region-specific AMI ids", async () => {
    const west = clientsFor(emu, "eu-west-1");
    const eastImage = await baseImageId(c, "debian-12", "x86_64");
    const westImage = await baseImageId(west, "debian-12", "x86_64");
    expect(westImage).not.toBe(eastImage);
    const err = await errorOf(launch(west, { ImageId: eastImage }));
    expect(err.name).toBe("InvalidAMIID.NotFound");

    const id = await launch(west, { ImageId: westImage });
    const inEast = await errorOf(c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    expect(inEast.name).toBe("InvalidInstanceID.NotFound");
    const inWest = await west.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(inWest.Reservations?.[0]?.Instances?.[0]?.Placement?.AvailabilityZone).toMatch(/^eu-west-1[abc]$/);
    await west.ec2.send(new CreateSecurityGroupCommand({ GroupName: "west-only", Description: "w" }));
    expect(emu.securityGroups("eu-west-1").some((g) => g.name === "west-only")).toBe(true);
    expect(emu.securityGroups("us-east-1").some((g) => g.name === "west-only")).toBe(false);
  });
});

describe("unknown actions", () => {
  it("answers an error that names the action", async () => {
    const res = await fetch(emu.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
      },
      body: "Action=DescribeKeyPairs&Version=2016-11-15",
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain("<Code>InvalidAction</Code>");
    expect(text).toContain("ec2:DescribeKeyPairs");
  });

  it("seeds every base family's parameters", () => {
    expect(BASE_IMAGE_FAMILIES.map((f) => f.key).sort()).toEqual(["al2023", "debian-12", "ubuntu-22.04", "ubuntu-24.04"]);
  });
});
