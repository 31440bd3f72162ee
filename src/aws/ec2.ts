/**
 * `Ec2Port` over the SDK's EC2Client: images, the network to launch into, the
 * builder instance and its security group, and the image made from it.
 */
import {
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
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EnableImageDeprecationCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Image,
  type Instance,
  type Reservation,
  type TagSpecification,
  type _InstanceType,
} from "@aws-sdk/client-ec2";
import { awsCall, collectPages, required, toTagList, toTagRecord } from "./call.js";
import {
  isAwsError,
  type CallOptions,
  type CopyImageRequest,
  type Ec2Port,
  type ImageFilter,
  type ImageInfo,
  type InstanceInfo,
  type LaunchRequest,
  type LaunchTemplateImage,
  type SecurityGroupInfo,
  type SnapshotInfo,
  type SubnetInfo,
  type Tags,
} from "./ports.js";

/** EC2's largest page for the Describe calls used here. */
const PAGE_SIZE = 1000;
/** The launch template Describe calls' largest page. */
const LAUNCH_TEMPLATE_PAGE_SIZE = 200;
/** The most values EC2 takes in one filter. */
const FILTER_VALUES = 200;

function tagFilters(tags: Tags | undefined): Filter[] {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
}

/**
 * The same tags on a new image and on each of its snapshots, so that cleanup
 * (and the IAM policy's tag conditions) can find the snapshots after the
 * image is gone. CreateImage and CopyImage both take them this way.
 */
function imageAndSnapshotTags(tags: Tags): TagSpecification[] {
  const list = toTagList(tags);
  return [
    { ResourceType: "image", Tags: list },
    { ResourceType: "snapshot", Tags: list },
  ];
}

/** `region`: the port's, where EC2 names a source without its region. */
function toImageInfo(image: Image, region: string): ImageInfo {
  const mappings = image.BlockDeviceMappings ?? [];
  const root = mappings.find((m) => m.DeviceName !== undefined && m.DeviceName === image.RootDeviceName);
  const volumes = mappings.flatMap((m) => (m.Ebs ? [m.Ebs] : []));
  return {
    imageId: image.ImageId ?? "",
    name: image.Name ?? "",
    architecture: image.Architecture ?? "",
    state: image.State ?? "",
    creationDate: image.CreationDate ?? "",
    ownerId: image.OwnerId ?? "",
    ...(image.ImageOwnerAlias ? { ownerAlias: image.ImageOwnerAlias } : {}),
    rootDeviceName: image.RootDeviceName,
    rootVolumeSizeGb: root?.Ebs?.VolumeSize,
    snapshotIds: mappings.flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
    ...(volumes.length > 0 ? { encrypted: volumes.every((ebs) => ebs.Encrypted === true) } : {}),
    ...(volumes.length > 0 ? { totalVolumeSizeGb: volumes.reduce((sum, ebs) => sum + (ebs.VolumeSize ?? 0), 0) } : {}),
    ...(image.DeprecationTime ? { deprecationTime: image.DeprecationTime } : {}),
    ...(image.SourceImageId ? { source: { imageId: image.SourceImageId, region: image.SourceImageRegion ?? region } } : {}),
    tags: toTagRecord(image.Tags),
  };
}

function toInstanceInfo(instance: Instance): InstanceInfo {
  return {
    instanceId: instance.InstanceId ?? "",
    ...(instance.ImageId ? { imageId: instance.ImageId } : {}),
    state: instance.State?.Name ?? "unknown",
    stateReason: instance.StateReason?.Message,
    instanceType: instance.InstanceType ?? "",
    subnetId: instance.SubnetId,
    availabilityZone: instance.Placement?.AvailabilityZone,
    ...(instance.LaunchTime ? { launchTime: instance.LaunchTime.toISOString() } : {}),
    tags: toTagRecord(instance.Tags),
  };
}

function instancesOf(reservations: readonly Reservation[] | undefined): Instance[] {
  return (reservations ?? []).flatMap((r) => r.Instances ?? []);
}

export class Ec2Adapter implements Ec2Port {
  constructor(
    private readonly client: EC2Client,
    readonly region: string,
  ) {}

  async describeImages(filter: ImageFilter): Promise<ImageInfo[]> {
    const filters: Filter[] = [];
    if (filter.namePattern !== undefined) filters.push({ Name: "name", Values: [filter.namePattern] });
    if (filter.architecture !== undefined) filters.push({ Name: "architecture", Values: [filter.architecture] });
    if (filter.states?.length) filters.push({ Name: "state", Values: [...filter.states] });
    if (filter.anyOfImageIds?.length) filters.push({ Name: "image-id", Values: [...filter.anyOfImageIds] });
    filters.push(...tagFilters(filter.tags));
    const byId = filter.imageIds !== undefined && filter.imageIds.length > 0;
    const images = await collectPages("DescribeImages", async (token) => {
      const page = await awsCall("DescribeImages", () =>
        this.client.send(
          new DescribeImagesCommand({
            ...(byId ? { ImageIds: [...(filter.imageIds ?? [])] } : {}),
            ...(filter.owners?.length ? { Owners: [...filter.owners] } : {}),
            ...(filters.length ? { Filters: filters } : {}),
            // EC2 refuses MaxResults together with ImageIds; a listing by ids is one page anyway.
            ...(byId ? {} : { MaxResults: PAGE_SIZE }),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      return { items: page.Images, next: page.NextToken };
    });
    return images.map((image) => toImageInfo(image, this.region));
  }

  async defaultVpcId(options: CallOptions = {}): Promise<string | undefined> {
    const result = await awsCall("DescribeVpcs", () =>
      this.client.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }), { abortSignal: options.signal }),
    );
    return result.Vpcs?.[0]?.VpcId;
  }

  async describeSubnets(filter: { subnetIds?: string[]; vpcId?: string; defaultForAz?: boolean }, options: CallOptions = {}): Promise<SubnetInfo[]> {
    const filters: Filter[] = [];
    if (filter.vpcId !== undefined) filters.push({ Name: "vpc-id", Values: [filter.vpcId] });
    if (filter.defaultForAz !== undefined) filters.push({ Name: "default-for-az", Values: [String(filter.defaultForAz)] });
    const byId = filter.subnetIds !== undefined && filter.subnetIds.length > 0;
    const subnets = await collectPages("DescribeSubnets", async (token) => {
      const page = await awsCall("DescribeSubnets", () =>
        this.client.send(
          new DescribeSubnetsCommand({
            ...(byId ? { SubnetIds: [...(filter.subnetIds ?? [])] } : {}),
            ...(filters.length ? { Filters: filters } : {}),
            ...(byId ? {} : { MaxResults: PAGE_SIZE }),
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: options.signal },
        ),
      );
      return { items: page.Subnets, next: page.NextToken };
    });
    return subnets.map((s) => ({
      subnetId: s.SubnetId ?? "",
      vpcId: s.VpcId ?? "",
      availabilityZone: s.AvailabilityZone ?? "",
      availableIpAddressCount: s.AvailableIpAddressCount ?? 0,
      defaultForAz: s.DefaultForAz ?? false,
      mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false,
    }));
  }

  /**
   * A group with no ingress rules: the builder is reached through SSM, which
   * the instance dials out to, so nothing needs to reach in. The default
   * allow-all egress stays, since the instance needs HTTPS to SSM and to
   * package mirrors. With `dryRun`, EC2 answers DryRunOperation (allowed) or
   * UnauthorizedOperation, both thrown as AwsCallError.
   */
  async createSecurityGroup(request: { name: string; description: string; vpcId: string; tags: Tags; dryRun?: boolean }): Promise<string> {
    const result = await awsCall("CreateSecurityGroup", () =>
      this.client.send(
        new CreateSecurityGroupCommand({
          GroupName: request.name,
          Description: request.description,
          VpcId: request.vpcId,
          TagSpecifications: [{ ResourceType: "security-group", Tags: toTagList(request.tags) }],
          DryRun: request.dryRun === true,
        }),
      ),
    );
    return required(result.GroupId, "CreateSecurityGroup", "GroupId");
  }

  async deleteSecurityGroup(groupId: string): Promise<void> {
    try {
      await awsCall("DeleteSecurityGroup", () => this.client.send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
    } catch (error) {
      if (!isAwsError(error, "InvalidGroup.NotFound")) throw error;
    }
  }

  async runInstance(request: LaunchRequest): Promise<InstanceInfo> {
    const tags = toTagList(request.tags);
    // InstanceInitiatedShutdownBehavior is left at its default, "stop": the
    // builder stops the instance before imaging it, and "terminate" would turn
    // that stop into a termination.
    const result = await awsCall("RunInstances", () =>
      this.client.send(
        new RunInstancesCommand({
          MinCount: 1,
          MaxCount: 1,
          ImageId: request.imageId,
          // The SDK union lists only the types known when it was generated; EC2 itself validates.
          InstanceType: request.instanceType as _InstanceType,
          SubnetId: request.subnetId,
          SecurityGroupIds: [...request.securityGroupIds],
          IamInstanceProfile: { Name: request.instanceProfileName },
          // IMDSv2 only. A hop limit of 2 lets a container on the builder (docker
          // build steps) still reach the metadata service through the bridge.
          MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 2 },
          BlockDeviceMappings: [
            {
              DeviceName: request.rootDeviceName,
              Ebs: {
                VolumeType: "gp3",
                Encrypted: true,
                DeleteOnTermination: true,
                // Without a size the image's own snapshot size is used.
                ...(request.volumeSizeGb !== undefined ? { VolumeSize: request.volumeSizeGb } : {}),
              },
            },
          ],
          // The volume is tagged as well, so a volume that outlives its instance is still traceable to cws.
          TagSpecifications: [
            { ResourceType: "instance", Tags: tags },
            { ResourceType: "volume", Tags: tags },
          ],
          ClientToken: request.clientToken,
          DryRun: request.dryRun === true,
        }),
      ),
    );
    const instance = required(result.Instances?.[0], "RunInstances", "Instances[0]");
    return toInstanceInfo(instance);
  }

  async describeInstance(instanceId: string): Promise<InstanceInfo | undefined> {
    try {
      const result = await awsCall("DescribeInstances", () =>
        this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
      );
      const instance = instancesOf(result.Reservations).find((i) => i.InstanceId === instanceId);
      return instance && toInstanceInfo(instance);
    } catch (error) {
      if (isAwsError(error, "InvalidInstanceID.NotFound")) return undefined;
      throw error;
    }
  }

  async describeInstances(filter: { tags?: Tags; states?: string[]; imageIds?: readonly string[] }): Promise<InstanceInfo[]> {
    const filters = tagFilters(filter.tags);
    if (filter.states?.length) filters.push({ Name: "instance-state-name", Values: [...filter.states] });
    if (filter.imageIds?.length === 0) return [];
    // EC2 takes at most 200 values in a filter: many images are asked about 200 at a time.
    const imageChunks = filter.imageIds === undefined ? [undefined] : chunks(filter.imageIds, FILTER_VALUES);
    const found: InstanceInfo[] = [];
    for (const imageIds of imageChunks) {
      const chunkFilters = imageIds ? [...filters, { Name: "image-id", Values: imageIds }] : filters;
      const reservations = await collectPages("DescribeInstances", async (token) => {
        const page = await awsCall("DescribeInstances", () =>
          this.client.send(
            new DescribeInstancesCommand({
              ...(chunkFilters.length ? { Filters: chunkFilters } : {}),
              MaxResults: PAGE_SIZE,
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        );
        return { items: page.Reservations, next: page.NextToken };
      });
      found.push(...instancesOf(reservations).map(toInstanceInfo));
    }
    return found;
  }

  async stopInstance(instanceId: string): Promise<void> {
    await awsCall("StopInstances", () => this.client.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
  }

  async terminateInstance(instanceId: string): Promise<void> {
    try {
      await awsCall("TerminateInstances", () => this.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    } catch (error) {
      if (!isAwsError(error, "InvalidInstanceID.NotFound")) throw error;
    }
  }

  async createImage(request: { instanceId: string; name: string; description: string; tags: Tags; dryRun?: boolean }): Promise<string> {
    const result = await awsCall("CreateImage", () =>
      this.client.send(
        new CreateImageCommand({
          InstanceId: request.instanceId,
          Name: request.name,
          Description: request.description,
          TagSpecifications: imageAndSnapshotTags(request.tags),
          DryRun: request.dryRun === true,
        }),
      ),
    );
    return required(result.ImageId, "CreateImage", "ImageId");
  }

  /**
   * Sent to this (the destination) region's endpoint: CopyImage is always
   * called where the copy is to be. The tags go on the copy and on each of its
   * snapshots (TagSpecifications, as CreateImage's), not through CopyImageTags,
   * which copies only the image's tags and leaves the snapshots bare.
   * `Encrypted` is sent only when asked for: a copy of an encrypted snapshot is
   * always encrypted (in another region with that region's default EBS key),
   * so it is needed only for a source with an unencrypted snapshot.
   */
  async copyImage(request: CopyImageRequest): Promise<string> {
    const result = await awsCall("CopyImage", () =>
      this.client.send(
        new CopyImageCommand({
          SourceRegion: request.sourceRegion,
          SourceImageId: request.sourceImageId,
          Name: request.name,
          Description: request.description,
          TagSpecifications: imageAndSnapshotTags(request.tags),
          ClientToken: request.clientToken,
          ...(request.encrypted === true ? { Encrypted: true } : {}),
        }),
      ),
    );
    return required(result.ImageId, "CopyImage", "ImageId");
  }

  async createTags(resourceIds: string[], tags: Tags): Promise<void> {
    // EC2 rejects an empty resource or tag list (MissingParameter); nothing to do is not an error here.
    if (resourceIds.length === 0 || Object.keys(tags).length === 0) return;
    await awsCall("CreateTags", () => this.client.send(new CreateTagsCommand({ Resources: [...resourceIds], Tags: toTagList(tags) })));
  }

  async deregisterImage(imageId: string): Promise<void> {
    await awsCall("DeregisterImage", () => this.client.send(new DeregisterImageCommand({ ImageId: imageId })));
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    await awsCall("DeleteSnapshot", () => this.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
  }

  // --- cws ami cleanup

  async describeSnapshots(filter: { owners?: string[]; tags?: Tags }): Promise<SnapshotInfo[]> {
    const filters = tagFilters(filter.tags);
    const snapshots = await collectPages("DescribeSnapshots", async (token) => {
      const page = await awsCall("DescribeSnapshots", () =>
        this.client.send(
          new DescribeSnapshotsCommand({
            ...(filter.owners?.length ? { OwnerIds: [...filter.owners] } : {}),
            ...(filters.length ? { Filters: filters } : {}),
            MaxResults: PAGE_SIZE,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      return { items: page.Snapshots, next: page.NextToken };
    });
    return snapshots.map((s) => ({
      snapshotId: s.SnapshotId ?? "",
      state: s.State ?? "",
      startTime: s.StartTime?.toISOString() ?? "",
      volumeSizeGb: s.VolumeSize ?? 0,
      tags: toTagRecord(s.Tags),
    }));
  }

  /**
   * Every version, not only the default or latest: an Auto Scaling group or a
   * person may launch any version by number. The image is reported as written
   * (ResolveAlias off), so a `resolve:ssm:` parameter is seen as one and the
   * caller resolves it with its own SSM permission, or says it could not.
   */
  async launchTemplateImages(): Promise<LaunchTemplateImage[]> {
    const templates = await collectPages("DescribeLaunchTemplates", async (token) => {
      const page = await awsCall("DescribeLaunchTemplates", () =>
        this.client.send(new DescribeLaunchTemplatesCommand({ MaxResults: LAUNCH_TEMPLATE_PAGE_SIZE, ...(token ? { NextToken: token } : {}) })),
      );
      return { items: page.LaunchTemplates, next: page.NextToken };
    });
    const images: LaunchTemplateImage[] = [];
    for (const template of templates) {
      const launchTemplateId = required(template.LaunchTemplateId, "DescribeLaunchTemplates", "LaunchTemplateId");
      const versions = await collectPages("DescribeLaunchTemplateVersions", async (token) => {
        const page = await awsCall("DescribeLaunchTemplateVersions", () =>
          this.client.send(
            new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, MaxResults: LAUNCH_TEMPLATE_PAGE_SIZE, ...(token ? { NextToken: token } : {}) }),
          ),
        );
        return { items: page.LaunchTemplateVersions, next: page.NextToken };
      });
      for (const version of versions) {
        images.push({
          launchTemplateId,
          launchTemplateName: version.LaunchTemplateName ?? template.LaunchTemplateName ?? "",
          versionNumber: version.VersionNumber ?? 0,
          imageId: version.LaunchTemplateData?.ImageId,
        });
      }
    }
    return images;
  }

  async enableImageDeprecation(imageId: string, deprecateAt: Date): Promise<void> {
    await awsCall("EnableImageDeprecation", () => this.client.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: deprecateAt })));
  }

  // cws ami reap

  async describeSecurityGroups(filter: { tags?: Tags }): Promise<SecurityGroupInfo[]> {
    const filters = tagFilters(filter.tags);
    const groups = await collectPages("DescribeSecurityGroups", async (token) => {
      const page = await awsCall("DescribeSecurityGroups", () =>
        this.client.send(
          new DescribeSecurityGroupsCommand({
            ...(filters.length ? { Filters: filters } : {}),
            MaxResults: PAGE_SIZE,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      return { items: page.SecurityGroups, next: page.NextToken };
    });
    return groups.map((g) => ({ groupId: g.GroupId ?? "", name: g.GroupName ?? "", vpcId: g.VpcId, tags: toTagRecord(g.Tags) }));
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
