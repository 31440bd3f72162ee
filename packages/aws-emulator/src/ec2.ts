import { interruptInstance } from "./commands.js";
import { ApiError, invalidParameterValue } from "./errors.js";
import { randomId } from "./ids.js";
import { newBoot } from "./boot.js";
import { imageState, refreshInstance, snapshotState, wakeAt } from "./lifecycle.js";
import { BASE_IMAGE_FAMILIES } from "./public-amis.js";
import { REGION_NAME, publicParameter } from "./seed.js";
import {
  bool,
  filters as readFilters,
  int,
  list,
  required,
  str,
  structs,
  sub,
  tagSpecifications,
  tags as readTags,
  type Filter,
  type Params,
  type TagSpecification,
} from "./query.js";
import {
  STATE_CODES,
  type Image,
  type ImageDevice,
  type Instance,
  type LaunchTemplate,
  type LaunchTemplateVersion,
  type RegionState,
  type SecurityGroup,
  type Snapshot,
  type Subnet,
  type Tags,
  type Volume,
  type Vpc,
  type World,
} from "./state.js";
import type { XmlNode } from "./xml.js";

export interface Ec2Context {
  world: World;
  region: RegionState;
  params: Params;
  action: string;
  requestId: string;
}

type Handler = (ctx: Ec2Context) => XmlNode | Promise<XmlNode>;

// ---------------------------------------------------------------------------
// helpers

function dryRun(ctx: Ec2Context): void {
  if (bool(ctx.params, "DryRun")) {
    throw new ApiError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
  }
}

function glob(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\" && i + 1 < pattern.length) re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

type FieldValue = ReadonlyArray<string | undefined> | string | number | boolean | undefined;
type Fields<T> = Record<string, (r: T) => FieldValue>;

function fieldValues(v: FieldValue): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return (v as ReadonlyArray<string | undefined>).filter((x): x is string => x !== undefined);
  return [String(v)];
}

/** EC2 filters: every filter must match (AND); within a filter any value may match (OR); `*` and `?` are wildcards. */
function applyFilters<T extends { tags: Tags }>(items: readonly T[], fs: readonly Filter[], fields: Fields<T>): T[] {
  const checks = fs.map((f) => {
    const patterns = f.values.map(glob);
    let get: (r: T) => string[];
    if (f.name.startsWith("tag:")) {
      const key = f.name.slice(4);
      get = (r) => (r.tags.has(key) ? [r.tags.get(key) as string] : []);
    } else if (f.name === "tag-key") {
      get = (r) => [...r.tags.keys()];
    } else if (f.name === "tag-value") {
      get = (r) => [...r.tags.values()];
    } else {
      const field = fields[f.name];
      if (!field) throw invalidParameterValue(`The filter '${f.name}' is invalid`);
      get = (r) => fieldValues(field(r));
    }
    return (r: T) => {
      const values = get(r);
      return patterns.some((p) => values.some((v) => p.test(v)));
    };
  });
  return items.filter((r) => checks.every((c) => c(r)));
}

/** EC2's Describe calls take a list of ids or a page size, not both. */
function refuseIdsWithMaxResults(p: Params, ids: readonly string[], setName: string): void {
  if (ids.length && p.has("MaxResults")) throw new ApiError("InvalidParameterCombination", `The parameter ${setName} cannot be used with the parameter maxResults`);
}

function paginate<T>(ctx: Ec2Context, items: readonly T[], min: number, max: number): { page: T[]; nextToken?: string } {
  const maxResults = int(ctx.params, "MaxResults");
  const token = str(ctx.params, "NextToken");
  let offset = 0;
  if (token) {
    try {
      const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { a?: unknown; o?: unknown };
      if (decoded.a !== ctx.action || typeof decoded.o !== "number" || decoded.o < 0) throw new Error("bad token");
      offset = decoded.o;
    } catch {
      throw new ApiError("InvalidParameterValue", `Invalid value '${token}' for nextToken`);
    }
  }
  if (maxResults === undefined) return { page: items.slice(offset) };
  if (maxResults < min || maxResults > max) {
    throw invalidParameterValue(`Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`);
  }
  const page = items.slice(offset, offset + maxResults);
  const next = offset + maxResults;
  return {
    page,
    nextToken: next < items.length ? Buffer.from(JSON.stringify({ a: ctx.action, o: next })).toString("base64url") : undefined,
  };
}

function tagSet(tags: Tags): XmlNode[] {
  return [...tags].map(([key, value]) => ({ key, value }));
}

function validateTags(tags: ReadonlyArray<{ key: string; value: string }>): void {
  for (const t of tags) {
    if (t.key.length === 0 || t.key.length > 128) throw invalidParameterValue(`Tag key '${t.key}' must be 1 to 128 characters long`);
    if (t.value.length > 256) throw invalidParameterValue(`Tag value for key '${t.key}' exceeds 256 characters`);
    if (t.key.toLowerCase().startsWith("aws:")) throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
  }
}

/** EC2 allows 50 tags per resource, whether given at creation (TagSpecifications) or by CreateTags. */
export const MAX_TAGS_PER_RESOURCE = 50;

function tagLimitExceeded(): ApiError {
  return new ApiError("TagLimitExceeded", `The maximum number of tags for a resource (${MAX_TAGS_PER_RESOURCE}) has been exceeded.`);
}

export function specTags(specs: readonly TagSpecification[], resourceType: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of specs) if (s.resourceType === resourceType) for (const t of s.tags) out.set(t.key, t.value);
  return out;
}

function checkSpecTypes(specs: readonly TagSpecification[], allowed: readonly string[]): void {
  for (const s of specs) {
    if (!allowed.includes(s.resourceType)) {
      throw invalidParameterValue(`'${s.resourceType}' is not a valid taggable resource type for this operation.`);
    }
    validateTags(s.tags);
    // Every resource of this type gets the tags of every specification for it.
    if (specTags(specs, s.resourceType).size > MAX_TAGS_PER_RESOURCE) throw tagLimitExceeded();
  }
}

function checkIds(ids: readonly string[], prefix: string, kind: string): void {
  for (const id of ids) {
    if (!new RegExp(`^${prefix}-[0-9a-f]{8}(?:[0-9a-f]{9})?$`).test(id)) {
      throw new ApiError(`${kind}.Malformed`, `Invalid id: "${id}" (expecting "${prefix}-...")`);
    }
  }
}

/** "2024-01-01 12:00:00 GMT", as in "User initiated (...)". */
function gmt(world: World): string {
  return world.clock.date().toISOString().replace("T", " ").replace(/\.\d+Z$/, " GMT");
}

// ---------------------------------------------------------------------------
// lookups

function getInstance(ctx: Ec2Context, id: string): Instance {
  checkIds([id], "i", "InvalidInstanceID");
  const inst = ctx.region.instances.get(id);
  if (!inst) throw new ApiError("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
  refreshInstance(ctx.world, inst);
  return inst;
}

function getInstances(ctx: Ec2Context, ids: readonly string[]): Instance[] {
  checkIds(ids, "i", "InvalidInstanceID");
  const missing = ids.filter((id) => !ctx.region.instances.has(id));
  if (missing.length === 1) throw new ApiError("InvalidInstanceID.NotFound", `The instance ID '${missing[0]}' does not exist`);
  if (missing.length > 1) throw new ApiError("InvalidInstanceID.NotFound", `The instance IDs '${missing.join(", ")}' do not exist`);
  return ids.map((id) => getInstance(ctx, id));
}

function getImage(region: RegionState, id: string): Image {
  checkIds([id], "ami", "InvalidAMIID");
  const img = region.images.get(id);
  if (!img) throw new ApiError("InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
  return img;
}

function getSubnet(ctx: Ec2Context, id: string): Subnet {
  const subnet = ctx.region.subnets.get(id);
  if (!subnet) throw new ApiError("InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`);
  return subnet;
}

function getGroup(ctx: Ec2Context, id: string): SecurityGroup {
  const sg = ctx.region.securityGroups.get(id);
  if (!sg) throw new ApiError("InvalidGroup.NotFound", `The security group '${id}' does not exist`);
  return sg;
}

function defaultVpc(region: RegionState): Vpc {
  const vpc = [...region.vpcs.values()].find((v) => v.isDefault);
  if (!vpc) throw new ApiError("VPCIdNotSpecified", "No default VPC for this user");
  return vpc;
}

function defaultGroup(region: RegionState, vpcId: string): SecurityGroup {
  const sg = [...region.securityGroups.values()].find((g) => g.vpcId === vpcId && g.isDefault);
  if (!sg) throw new ApiError("InvalidGroup.NotFound", `The default security group of ${vpcId} does not exist`);
  return sg;
}

function taggable(ctx: Ec2Context, id: string): Tags {
  const r = ctx.region;
  const prefix = id.split("-")[0];
  const table: Record<string, [ReadonlyMap<string, { tags: Tags }>, string, string]> = {
    i: [r.instances, "InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`],
    ami: [r.images, "InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`],
    snap: [r.snapshots, "InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`],
    vol: [r.volumes, "InvalidVolume.NotFound", `The volume '${id}' does not exist.`],
    sg: [r.securityGroups, "InvalidGroup.NotFound", `The security group '${id}' does not exist`],
    vpc: [r.vpcs, "InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`],
    subnet: [r.subnets, "InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`],
  };
  const entry = prefix === undefined ? undefined : table[prefix];
  if (!entry) throw new ApiError("InvalidID", `The ID '${id}' is not valid`);
  const resource = entry[0].get(id);
  if (!resource) throw new ApiError(entry[1], entry[2]);
  return resource.tags;
}

// ---------------------------------------------------------------------------
// XML shapes

function stateXml(inst: Instance): XmlNode {
  return { code: STATE_CODES[inst.state], name: inst.state };
}

function instanceXml(world: World, region: RegionState, inst: Instance): XmlNode {
  refreshInstance(world, inst);
  const groups = inst.securityGroupIds.map((id) => ({ groupId: id, groupName: region.securityGroups.get(id)?.name ?? "" }));
  const terminated = inst.state === "terminated";
  return {
    instanceId: inst.id,
    imageId: inst.imageId,
    instanceState: stateXml(inst),
    privateDnsName: terminated ? "" : inst.privateDnsName,
    dnsName: "",
    reason: inst.stateTransitionReason,
    amiLaunchIndex: 0,
    productCodes: [],
    instanceType: inst.instanceType,
    launchTime: world.clock.date(inst.launchTime),
    placement: { availabilityZone: inst.availabilityZone, groupName: "", tenancy: "default" },
    monitoring: { state: "disabled" },
    subnetId: terminated ? undefined : inst.subnetId,
    vpcId: terminated ? undefined : inst.vpcId,
    privateIpAddress: terminated ? undefined : inst.privateIp,
    sourceDestCheck: true,
    groupSet: terminated ? [] : groups,
    stateReason: inst.stateReason ? { code: inst.stateReason.code, message: inst.stateReason.message } : undefined,
    architecture: inst.architecture,
    rootDeviceType: "ebs",
    rootDeviceName: inst.rootDeviceName,
    blockDeviceMapping: terminated
      ? []
      : inst.volumeIds.map((vid) => {
          const v = region.volumes.get(vid);
          return {
            deviceName: v?.deviceName ?? "",
            ebs: {
              volumeId: vid,
              status: "attached",
              attachTime: world.clock.date(inst.launchTime),
              deleteOnTermination: v?.deleteOnTermination ?? true,
            },
          };
        }),
    virtualizationType: "hvm",
    clientToken: inst.clientToken ?? "",
    tagSet: tagSet(inst.tags),
    hypervisor: "xen",
    iamInstanceProfile: inst.profile ? { arn: inst.profile.arn, id: inst.profile.id } : undefined,
    ebsOptimized: false,
    enaSupport: true,
    cpuOptions: { coreCount: 1, threadsPerCore: 2 },
    metadataOptions: {
      state: "applied",
      httpTokens: inst.metadata.httpTokens,
      httpPutResponseHopLimit: inst.metadata.hopLimit,
      httpEndpoint: inst.metadata.httpEndpoint,
      httpProtocolIpv6: "disabled",
      instanceMetadataTags: inst.metadata.instanceMetadataTags,
    },
    platformDetails: "Linux/UNIX",
    usageOperation: "RunInstances",
  };
}

function imageXml(world: World, img: Image): XmlNode {
  const state = imageState(world, img);
  return {
    imageId: img.id,
    imageLocation: `${img.ownerAlias ?? img.ownerId}/${img.name}`,
    imageState: state,
    imageOwnerId: img.ownerId,
    creationDate: img.creationDate,
    isPublic: img.public,
    architecture: img.architecture,
    imageType: "machine",
    imageOwnerAlias: img.ownerAlias,
    name: img.name,
    description: img.description,
    rootDeviceType: "ebs",
    rootDeviceName: img.rootDeviceName,
    blockDeviceMapping: img.devices.map((d) => ({
      deviceName: d.deviceName,
      ebs: {
        deleteOnTermination: d.deleteOnTermination,
        snapshotId: d.snapshotId,
        volumeSize: d.size,
        volumeType: d.type,
        iops: d.iops,
        throughput: d.throughput,
        encrypted: d.encrypted,
      },
    })),
    virtualizationType: "hvm",
    tagSet: tagSet(img.tags),
    hypervisor: "xen",
    enaSupport: true,
    sriovNetSupport: "simple",
    platformDetails: "Linux/UNIX",
    usageOperation: "RunInstances",
    stateReason: state === "failed" ? { code: "Server.InternalError", message: img.treeError ?? "Internal error" } : undefined,
    bootMode: img.bootMode,
    imdsSupport: img.imdsSupport,
    sourceInstanceId: img.sourceInstanceId,
    sourceImageId: img.sourceImageId,
    sourceImageRegion: img.sourceImageRegion,
    deprecationTime: img.deprecationTime,
    deregistrationProtection: "disabled",
  };
}

// ---------------------------------------------------------------------------
// fields for filters

const INSTANCE_FIELDS: Fields<Instance> = {
  "instance-id": (i) => i.id,
  "instance-state-name": (i) => i.state,
  "instance-state-code": (i) => STATE_CODES[i.state],
  "image-id": (i) => i.imageId,
  "instance-type": (i) => i.instanceType,
  "subnet-id": (i) => i.subnetId,
  "vpc-id": (i) => i.vpcId,
  "availability-zone": (i) => i.availabilityZone,
  "placement.availability-zone": (i) => i.availabilityZone,
  "architecture": (i) => i.architecture,
  "private-ip-address": (i) => i.privateIp,
  "private-dns-name": (i) => i.privateDnsName,
  "reservation-id": (i) => i.reservationId,
  "client-token": (i) => i.clientToken,
  "iam-instance-profile.arn": (i) => i.profile?.arn,
  "iam-instance-profile.name": (i) => i.profile?.name,
  "instance.group-id": (i) => i.securityGroupIds,
  "group-id": (i) => i.securityGroupIds,
  "root-device-type": () => "ebs",
  "root-device-name": (i) => i.rootDeviceName,
  "metadata-options.http-tokens": (i) => i.metadata.httpTokens,
};

function imageFields(world: World): Fields<Image> {
  return {
    "image-id": (i) => i.id,
    name: (i) => i.name,
    architecture: (i) => i.architecture,
    state: (i) => imageState(world, i),
    "owner-id": (i) => i.ownerId,
    "owner-alias": (i) => i.ownerAlias,
    "is-public": (i) => i.public,
    description: (i) => i.description,
    "image-type": () => "machine",
    "root-device-type": () => "ebs",
    "root-device-name": (i) => i.rootDeviceName,
    "virtualization-type": () => "hvm",
    hypervisor: () => "xen",
    "platform-details": () => "Linux/UNIX",
    "ena-support": () => true,
    "creation-date": (i) => i.creationDate,
    "block-device-mapping.snapshot-id": (i) => i.devices.map((d) => d.snapshotId),
    "block-device-mapping.volume-type": (i) => i.devices.map((d) => d.type),
    "block-device-mapping.volume-size": (i) => i.devices.map((d) => String(d.size)),
    "block-device-mapping.device-name": (i) => i.devices.map((d) => d.deviceName),
    "block-device-mapping.encrypted": (i) => i.devices.map((d) => String(d.encrypted)),
    "boot-mode": (i) => i.bootMode,
    "imds-support": (i) => i.imdsSupport,
    "source-instance-id": (i) => i.sourceInstanceId,
  };
}

// ---------------------------------------------------------------------------
// regions, VPCs, subnets

const describeVpcs: Handler = (ctx) => {
  dryRun(ctx);
  const ids = list(ctx.params, "VpcId");
  for (const id of ids) if (!ctx.region.vpcs.has(id)) throw new ApiError("InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`);
  let vpcs = ids.length ? ids.map((id) => ctx.region.vpcs.get(id) as Vpc) : [...ctx.region.vpcs.values()];
  vpcs = applyFilters(vpcs, readFilters(ctx.params), {
    "vpc-id": (v) => v.id,
    "is-default": (v) => v.isDefault,
    isDefault: (v) => v.isDefault,
    state: () => "available",
    "cidr-block": (v) => v.cidr,
    cidr: (v) => v.cidr,
    "cidr-block-association.cidr-block": (v) => v.cidr,
    "dhcp-options-id": (v) => v.dhcpOptionsId,
    "owner-id": () => ctx.world.accountId,
  });
  const { page, nextToken } = paginate(ctx, vpcs, 5, 1000);
  return {
    vpcSet: page.map((v) => ({
      vpcId: v.id,
      ownerId: ctx.world.accountId,
      state: "available",
      cidrBlock: v.cidr,
      cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${v.id.slice(4)}`, cidrBlock: v.cidr, cidrBlockState: { state: "associated" } }],
      ipv6CidrBlockAssociationSet: [],
      dhcpOptionsId: v.dhcpOptionsId,
      instanceTenancy: "default",
      isDefault: v.isDefault,
      tagSet: tagSet(v.tags),
    })),
    nextToken,
  };
};

function subnetFree(region: RegionState, s: Subnet): number {
  let used = 0;
  for (const i of region.instances.values()) if (i.subnetId === s.id && i.state !== "terminated") used++;
  return 4091 - used;
}

const describeSubnets: Handler = (ctx) => {
  dryRun(ctx);
  const ids = list(ctx.params, "SubnetId");
  for (const id of ids) getSubnet(ctx, id);
  let subnets = ids.length ? ids.map((id) => getSubnet(ctx, id)) : [...ctx.region.subnets.values()];
  subnets = applyFilters(subnets, readFilters(ctx.params), {
    "subnet-id": (s) => s.id,
    subnetId: (s) => s.id,
    "vpc-id": (s) => s.vpcId,
    vpcId: (s) => s.vpcId,
    "default-for-az": (s) => s.defaultForAz,
    defaultForAz: (s) => s.defaultForAz,
    "availability-zone": (s) => s.availabilityZone,
    availabilityZone: (s) => s.availabilityZone,
    "availability-zone-id": (s) => s.availabilityZoneId,
    availabilityZoneId: (s) => s.availabilityZoneId,
    "cidr-block": (s) => s.cidr,
    cidrBlock: (s) => s.cidr,
    cidr: (s) => s.cidr,
    state: () => "available",
    "owner-id": () => ctx.world.accountId,
    "map-public-ip-on-launch": (s) => s.defaultForAz,
  });
  const { page, nextToken } = paginate(ctx, subnets, 5, 1000);
  return {
    subnetSet: page.map((s) => ({
      subnetId: s.id,
      subnetArn: `arn:aws:ec2:${ctx.region.name}:${ctx.world.accountId}:subnet/${s.id}`,
      state: "available",
      ownerId: ctx.world.accountId,
      vpcId: s.vpcId,
      cidrBlock: s.cidr,
      ipv6CidrBlockAssociationSet: [],
      availableIpAddressCount: subnetFree(ctx.region, s),
      availabilityZone: s.availabilityZone,
      availabilityZoneId: s.availabilityZoneId,
      defaultForAz: s.defaultForAz,
      mapPublicIpOnLaunch: s.defaultForAz,
      assignIpv6AddressOnCreation: false,
      tagSet: tagSet(s.tags),
      privateDnsNameOptionsOnLaunch: { hostnameType: "ip-name", enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    })),
    nextToken,
  };
};

// ---------------------------------------------------------------------------
// security groups

const createSecurityGroup: Handler = (ctx) => {
  const p = ctx.params;
  const name = required(p, "GroupName");
  const description = required(p, "GroupDescription");
  const vpcId = str(p, "VpcId") ?? defaultVpc(ctx.region).id;
  if (!ctx.region.vpcs.has(vpcId)) throw new ApiError("InvalidVpcID.NotFound", `The vpc ID '${vpcId}' does not exist`);
  if (name.length > 255) throw invalidParameterValue("Invalid value for groupName: it is longer than 255 characters");
  if (/^sg-/i.test(name)) throw invalidParameterValue(`Invalid value '${name}' for groupName. Group names may not be in the format sg-*.`);
  if (name === "default") throw new ApiError("InvalidGroup.Reserved", "The security group 'default' is reserved");
  for (const g of ctx.region.securityGroups.values()) {
    if (g.vpcId === vpcId && g.name === name) throw new ApiError("InvalidGroup.Duplicate", `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  const specs = tagSpecifications(p);
  checkSpecTypes(specs, ["security-group"]);
  dryRun(ctx);
  const sg: SecurityGroup = {
    id: randomId("sg"),
    name,
    description,
    vpcId,
    ownerId: ctx.world.accountId,
    isDefault: false,
    tags: specTags(specs, "security-group"),
  };
  ctx.region.securityGroups.set(sg.id, sg);
  return {
    return: true,
    groupId: sg.id,
    tagSet: sg.tags.size ? tagSet(sg.tags) : undefined,
    securityGroupArn: `arn:aws:ec2:${ctx.region.name}:${ctx.world.accountId}:security-group/${sg.id}`,
  };
};

const deleteSecurityGroup: Handler = (ctx) => {
  const id = str(ctx.params, "GroupId");
  const name = str(ctx.params, "GroupName");
  let sg: SecurityGroup | undefined;
  if (id) sg = getGroup(ctx, id);
  else if (name) {
    const vpc = defaultVpc(ctx.region);
    sg = [...ctx.region.securityGroups.values()].find((g) => g.vpcId === vpc.id && g.name === name);
    if (!sg) throw new ApiError("InvalidGroup.NotFound", `The security group '${name}' does not exist in default VPC '${vpc.id}'`);
  } else throw new ApiError("MissingParameter", "The request must contain the parameter groupName or groupId");
  if (sg.isDefault) throw new ApiError("CannotDelete", `the specified group: "${sg.id}" name: "default" cannot be deleted by a user`);
  for (const inst of ctx.region.instances.values()) {
    refreshInstance(ctx.world, inst);
    if (inst.state !== "terminated" && inst.securityGroupIds.includes(sg.id)) {
      throw new ApiError("DependencyViolation", `resource ${sg.id} has a dependent object`);
    }
  }
  dryRun(ctx);
  ctx.region.securityGroups.delete(sg.id);
  return { return: true, groupId: sg.id };
};

// DescribeSecurityGroups (cws ami reap finds a killed build's group by its tags). As EC2: ids that do not exist fail the
// call, names are looked up in the default VPC, MaxResults is 5 to 1000 with NextToken paging, every tag filter applies.
// The emulator keeps no rules: each group has none inbound and EC2's default allow-all outbound rule.
const describeSecurityGroups: Handler = (ctx) => {
  dryRun(ctx);
  const { region } = ctx;
  const ids = list(ctx.params, "GroupId");
  const names = list(ctx.params, "GroupName");
  const missing = ids.filter((id) => !region.securityGroups.has(id));
  if (missing.length) throw new ApiError("InvalidGroup.NotFound", `The security group '${missing.join("', '")}' does not exist`);
  let groups = ids.length ? ids.map((id) => region.securityGroups.get(id) as SecurityGroup) : [...region.securityGroups.values()];
  if (names.length) {
    const vpc = defaultVpc(region);
    const byName = names.map((name) => {
      const group = [...region.securityGroups.values()].find((g) => g.vpcId === vpc.id && g.name === name);
      if (!group) throw new ApiError("InvalidGroup.NotFound", `The security group '${name}' does not exist in default VPC '${vpc.id}'`);
      return group;
    });
    groups = ids.length ? groups.filter((g) => byName.includes(g)) : byName;
  }
  groups = applyFilters(groups, readFilters(ctx.params), {
    "group-id": (g) => g.id,
    "group-name": (g) => g.name,
    description: (g) => g.description,
    "vpc-id": (g) => g.vpcId,
    "owner-id": (g) => g.ownerId,
  });
  const { page, nextToken } = paginate(ctx, groups, 5, 1000);
  return {
    securityGroupInfo: page.map((g) => ({
      ownerId: g.ownerId,
      groupId: g.id,
      groupName: g.name,
      groupDescription: g.description,
      ipPermissions: [],
      ipPermissionsEgress: [{ ipProtocol: "-1", groups: [], ipRanges: [{ cidrIp: "0.0.0.0/0" }], ipv6Ranges: [], prefixListIds: [] }],
      vpcId: g.vpcId,
      securityGroupArn: `arn:aws:ec2:${region.name}:${g.ownerId}:security-group/${g.id}`,
      tagSet: tagSet(g.tags),
    })),
    nextToken,
  };
};

// ---------------------------------------------------------------------------
// instances

const VOLUME_TYPES = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];

/** Arm (Graviton) instance families: a1, and any family with a "g" right after its generation digit (t4g, m7g, c7gn, r8g ...). */
export function instanceTypeArchitecture(instanceType: string): "x86_64" | "arm64" {
  const family = instanceType.split(".")[0] ?? "";
  return family === "a1" || /^[a-z]+\d+g[a-z]*$/.test(family) ? "arm64" : "x86_64";
}

function fingerprint(p: Params, ignore: readonly string[]): string {
  return JSON.stringify([...p].filter(([k]) => !ignore.includes(k)).sort(([a], [b]) => a.localeCompare(b)));
}

function reservationXml(ctx: Ec2Context, reservationId: string, instances: readonly Instance[]): XmlNode {
  return {
    reservationId,
    ownerId: ctx.world.accountId,
    groupSet: [],
    instancesSet: instances.map((i) => instanceXml(ctx.world, ctx.region, i)),
  };
}

function resolveProfile(ctx: Ec2Context): Instance["profile"] {
  const prof = sub(ctx.params, "IamInstanceProfile");
  const name = prof.get("Name");
  const arn = prof.get("Arn");
  if (!name && !arn) return undefined;
  const iam = ctx.world.iam;
  const now = ctx.world.clock.now();
  let found = name ? iam.instanceProfiles.get(name) : [...iam.instanceProfiles.values()].find((p) => p.arn === arn);
  if (found && found.usableAt > now) found = undefined; // created moments ago: EC2 does not see it yet
  if (!found) {
    if (name) throw invalidParameterValue(`Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`);
    throw invalidParameterValue(`Value (${arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`);
  }
  return { name: found.name, arn: found.arn, id: found.id };
}

const runInstances: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const now = world.clock.now();
  const clientToken = str(p, "ClientToken");
  const fp = fingerprint(p, ["ClientToken", "DryRun", "Action", "Version"]);
  if (clientToken && !bool(p, "DryRun")) {
    const prior = region.runTokens.get(clientToken);
    if (prior) {
      if (prior.fingerprint !== fp) {
        throw new ApiError("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).");
      }
      const res = region.reservations.get(prior.reservationId);
      const insts = (res?.instanceIds ?? []).map((id) => region.instances.get(id)).filter((i): i is Instance => !!i);
      return reservationXml(ctx, prior.reservationId, insts);
    }
  }

  const imageId = required(p, "ImageId");
  const image = getImage(region, imageId);
  const imgState = imageState(world, image);
  if (imgState !== "available") throw new ApiError("InvalidAMIID.Unavailable", `AMI '${imageId}' is ${imgState}, and cannot be run`);
  const instanceType = str(p, "InstanceType") ?? "m1.small";
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) throw invalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
  const typeArch = instanceTypeArchitecture(instanceType);
  if (typeArch !== image.architecture) {
    throw invalidParameterValue(
      `The architecture '${typeArch}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  const minCount = int(p, "MinCount");
  const maxCount = int(p, "MaxCount");
  if (minCount === undefined) throw new ApiError("MissingParameter", "The request must contain the parameter MinCount");
  if (maxCount === undefined) throw new ApiError("MissingParameter", "The request must contain the parameter MaxCount");
  if (minCount < 1 || maxCount < minCount) throw invalidParameterValue(`Invalid value '${minCount}' for MinCount/MaxCount`);
  if (maxCount > 20) throw new ApiError("InstanceLimitExceeded", "You have requested more instances than your current instance limit allows (cws emulator: at most 20 at once).");

  const subnetId = str(p, "SubnetId");
  const placementZone = sub(p, "Placement").get("AvailabilityZone");
  let subnet: Subnet;
  if (subnetId) subnet = getSubnet(ctx, subnetId);
  else {
    const vpc = defaultVpc(region);
    const candidates = [...region.subnets.values()].filter((s) => s.vpcId === vpc.id && s.defaultForAz);
    const chosen = placementZone ? candidates.find((s) => s.availabilityZone === placementZone) : candidates[0];
    if (!chosen) throw invalidParameterValue(`Invalid availability zone: [${placementZone}]`);
    subnet = chosen;
  }
  if (placementZone && placementZone !== subnet.availabilityZone) {
    throw invalidParameterValue(`Invalid value '${placementZone}' for Placement.AvailabilityZone: subnet ${subnet.id} is in ${subnet.availabilityZone}`);
  }

  const groupIds = [...list(p, "SecurityGroupId")];
  for (const name of list(p, "SecurityGroup")) {
    const g = [...region.securityGroups.values()].find((x) => x.vpcId === subnet.vpcId && x.name === name);
    if (!g) throw new ApiError("InvalidGroup.NotFound", `The security group '${name}' does not exist in VPC '${subnet.vpcId}'`);
    groupIds.push(g.id);
  }
  for (const id of groupIds) {
    const g = getGroup(ctx, id);
    if (g.vpcId !== subnet.vpcId) throw new ApiError("InvalidParameter", `Security group ${id} and subnet ${subnet.id} belong to different networks.`);
  }
  if (groupIds.length === 0) groupIds.push(defaultGroup(region, subnet.vpcId).id);

  const profile = resolveProfile(ctx);

  const meta = sub(p, "MetadataOptions");
  const httpTokens = meta.get("HttpTokens") ?? (image.imdsSupport === "v2.0" ? "required" : "optional");
  if (!["optional", "required"].includes(httpTokens)) throw invalidParameterValue(`Invalid value '${httpTokens}' for MetadataOptions.HttpTokens`);
  const httpEndpoint = meta.get("HttpEndpoint") ?? "enabled";
  const hopLimit = meta.get("HttpPutResponseHopLimit") ? Number(meta.get("HttpPutResponseHopLimit")) : image.imdsSupport === "v2.0" ? 2 : 1;
  const instanceMetadataTags = meta.get("InstanceMetadataTags") ?? "disabled";

  // Block devices: the image's, overridden by the request's, plus extra volumes.
  type DeviceSpec = Pick<Volume, "size" | "type" | "encrypted" | "kmsKeyId" | "iops" | "throughput" | "snapshotId"> & { deviceName: string; deleteOnTermination: boolean };
  const devices: DeviceSpec[] = image.devices.map((d) => ({
    deviceName: d.deviceName,
    size: d.size,
    type: d.type,
    encrypted: d.encrypted,
    iops: d.iops,
    throughput: d.throughput,
    deleteOnTermination: d.deleteOnTermination,
    snapshotId: d.snapshotId,
  }));
  for (const bdm of structs(p, "BlockDeviceMapping")) {
    const deviceName = bdm.get("DeviceName");
    if (!deviceName) throw new ApiError("MissingParameter", "The request must contain the parameter BlockDeviceMapping.DeviceName");
    if (bdm.has("NoDevice")) {
      const idx = devices.findIndex((d) => d.deviceName === deviceName);
      if (idx >= 0) devices.splice(idx, 1);
      continue;
    }
    const existing = devices.find((d) => d.deviceName === deviceName);
    const spec: DeviceSpec = existing ?? { deviceName, size: 8, type: "gp3", encrypted: false, deleteOnTermination: true };
    const size = bdm.get("Ebs.VolumeSize");
    const type = bdm.get("Ebs.VolumeType");
    const encrypted = bdm.get("Ebs.Encrypted");
    const dot = bdm.get("Ebs.DeleteOnTermination");
    if (type !== undefined) {
      if (!VOLUME_TYPES.includes(type)) throw invalidParameterValue(`Value (${type}) for parameter volumeType is invalid. Valid types are ${VOLUME_TYPES.join(", ")}.`);
      spec.type = type;
    }
    if (size !== undefined) {
      const n = Number(size);
      if (!Number.isInteger(n) || n < 1 || n > 16384) throw invalidParameterValue(`Volume size ${size} is out of range (1-16384 GiB).`);
      if (existing && n < existing.size) {
        throw new ApiError(
          "InvalidBlockDeviceMapping",
          `Volume of size ${n}GB is smaller than snapshot '${existing.snapshotId ?? ""}', expect size >= ${existing.size}GB`,
        );
      }
      spec.size = n;
    }
    if (encrypted !== undefined) spec.encrypted = encrypted === "true";
    if (bdm.get("Ebs.KmsKeyId")) spec.kmsKeyId = bdm.get("Ebs.KmsKeyId");
    if (bdm.get("Ebs.Iops")) spec.iops = Number(bdm.get("Ebs.Iops"));
    if (bdm.get("Ebs.Throughput")) spec.throughput = Number(bdm.get("Ebs.Throughput"));
    if (dot !== undefined) spec.deleteOnTermination = dot === "true";
    if (!existing) devices.push(spec);
  }
  if (!devices.some((d) => d.deviceName === image.rootDeviceName)) {
    throw new ApiError("InvalidBlockDeviceMapping", `The device '${image.rootDeviceName}' is the root device and cannot be removed`);
  }

  const specs = tagSpecifications(p);
  checkSpecTypes(specs, ["instance", "volume", "network-interface", "spot-instances-request"]);
  dryRun(ctx);

  const family = BASE_IMAGE_FAMILIES.find((f) => f.key === image.family);
  if (!family) throw new ApiError("InternalError", `unknown image family ${image.family}`);
  const reservationId = randomId("r");
  const instances: Instance[] = [];
  for (let n = 0; n < maxCount; n++) {
    const id = randomId("i");
    const host = subnet.nextHost++;
    const base = Number((subnet.cidr.split(".")[2] ?? "0"));
    const privateIp = `172.31.${base + Math.floor(host / 256)}.${host % 256}`;
    const hostname = `ip-${privateIp.replace(/\./g, "-")}`;
    const privateDnsName = region.name === "us-east-1" ? `${hostname}.ec2.internal` : `${hostname}.${region.name}.compute.internal`;
    const volumeIds: string[] = [];
    for (const d of devices) {
      const vol: Volume = {
        id: randomId("vol"),
        size: d.size,
        type: d.type,
        encrypted: d.encrypted,
        kmsKeyId: d.encrypted ? (d.kmsKeyId ?? `arn:aws:kms:${region.name}:${world.accountId}:alias/aws/ebs`) : undefined,
        iops: d.iops,
        throughput: d.throughput,
        availabilityZone: subnet.availabilityZone,
        snapshotId: d.snapshotId,
        instanceId: id,
        deviceName: d.deviceName,
        deleteOnTermination: d.deleteOnTermination,
        createTime: now,
        state: "in-use",
        tags: specTags(specs, "volume"),
      };
      region.volumes.set(vol.id, vol);
      volumeIds.push(vol.id);
    }
    const root = world.sandbox.instanceRoot(id);
    const inst: Instance = {
      id,
      region: region.name,
      reservationId,
      imageId: image.id,
      family: image.family,
      architecture: image.architecture,
      instanceType,
      subnetId: subnet.id,
      vpcId: subnet.vpcId,
      availabilityZone: subnet.availabilityZone,
      privateIp,
      privateDnsName,
      hostname,
      securityGroupIds: [...groupIds],
      profile,
      metadata: { httpTokens, httpEndpoint, hopLimit, instanceMetadataTags },
      rootDeviceName: image.rootDeviceName,
      volumeIds,
      tags: specTags(specs, "instance"),
      clientToken,
      launchTime: now,
      state: "pending",
      stateSince: now,
      transition: { to: "running", at: now + world.latencies.instancePending },
      stateTransitionReason: "",
      root,
      treeReady: false,
      treePromise: Promise.resolve(),
    };
    inst.treePromise = (async () => {
      try {
        if (image.tree) await image.treePromise;
        await world.sandbox.materialize(image.tree ? { tree: image.tree } : { family }, root, hostname);
        inst.treeReady = true;
        inst.treeReadyAt = world.clock.now();
        // It boots when it becomes running, whether anyone asks or not.
        wakeAt(world, inst, Math.max(inst.treeReadyAt, now + world.latencies.instancePending));
      } catch (err) {
        inst.treeError = (err as Error).message;
        inst.state = "terminated";
        inst.transition = undefined;
        inst.stateReason = { code: "Server.InternalError", message: `Server.InternalError: ${inst.treeError}` };
        world.log(`instance ${id}: could not lay out its disk: ${inst.treeError}`);
      }
    })();
    world.stats.recordWait(id, "instance-pending", world.latencies.instancePending, now);
    if (profile) world.stats.recordWait(id, "ssm-agent-online", world.latencies.ssmAgentOnline, now);
    region.instances.set(id, inst);
    instances.push(inst);
  }
  region.reservations.set(reservationId, { id: reservationId, instanceIds: instances.map((i) => i.id) });
  if (clientToken) region.runTokens.set(clientToken, { fingerprint: fp, reservationId });
  return reservationXml(ctx, reservationId, instances);
};

const describeInstances: Handler = (ctx) => {
  dryRun(ctx);
  const ids = list(ctx.params, "InstanceId");
  refuseIdsWithMaxResults(ctx.params, ids, "instancesSet");
  let insts = ids.length ? getInstances(ctx, ids) : [...ctx.region.instances.values()];
  insts.forEach((i) => refreshInstance(ctx.world, i));
  insts = applyFilters(insts, readFilters(ctx.params), INSTANCE_FIELDS);
  const { page, nextToken } = paginate(ctx, insts, 5, 1000);
  const byReservation = new Map<string, Instance[]>();
  for (const i of page) {
    const group = byReservation.get(i.reservationId) ?? [];
    group.push(i);
    byReservation.set(i.reservationId, group);
  }
  return {
    reservationSet: [...byReservation].map(([rid, group]) => reservationXml(ctx, rid, group)),
    nextToken,
  };
};

function stateChange(inst: Instance, previous: Instance["state"]): XmlNode {
  return {
    instanceId: inst.id,
    currentState: stateXml(inst),
    previousState: { code: STATE_CODES[previous], name: previous },
  };
}

const stopInstances: Handler = (ctx) => {
  const insts = getInstances(ctx, list(ctx.params, "InstanceId"));
  if (insts.length === 0) throw new ApiError("MissingParameter", "The request must contain the parameter InstanceId");
  for (const i of insts) {
    if (["pending", "shutting-down", "terminated"].includes(i.state)) {
      throw new ApiError("IncorrectInstanceState", `This instance '${i.id}' is not in a state from which it can be stopped.`);
    }
  }
  dryRun(ctx);
  const now = ctx.world.clock.now();
  const changes = insts.map((inst) => {
    const previous = inst.state;
    if (inst.state === "running") {
      interruptInstance(ctx.world, ctx.region, inst.id, "stopped");
      void ctx.world.sandbox.clearRun(inst.root).catch(() => undefined);
      inst.state = "stopping";
      inst.stateSince = now;
      inst.transition = { to: "stopped", at: now + ctx.world.latencies.instanceStopping };
      inst.stateReason = { code: "Client.UserInitiatedShutdown", message: "Client.UserInitiatedShutdown: User initiated shutdown" };
      inst.stateTransitionReason = `User initiated (${gmt(ctx.world)})`;
      ctx.world.stats.recordWait(inst.id, "instance-stopping", ctx.world.latencies.instanceStopping, now);
    }
    return stateChange(inst, previous);
  });
  return { instancesSet: changes };
};

const terminateInstances: Handler = (ctx) => {
  const insts = getInstances(ctx, list(ctx.params, "InstanceId"));
  if (insts.length === 0) throw new ApiError("MissingParameter", "The request must contain the parameter InstanceId");
  dryRun(ctx);
  const now = ctx.world.clock.now();
  const changes = insts.map((inst) => {
    const previous = inst.state;
    if (inst.state !== "terminated" && inst.state !== "shutting-down") {
      interruptInstance(ctx.world, ctx.region, inst.id, "terminated");
      inst.state = "shutting-down";
      inst.stateSince = now;
      inst.transition = { to: "terminated", at: now + ctx.world.latencies.instanceShuttingDown };
      inst.stateReason = { code: "Client.UserInitiatedShutdown", message: "Client.UserInitiatedShutdown: User initiated shutdown" };
      inst.stateTransitionReason = `User initiated (${gmt(ctx.world)})`;
      for (const vid of inst.volumeIds) {
        const v = ctx.region.volumes.get(vid);
        if (!v) continue;
        v.instanceId = undefined;
        v.state = v.deleteOnTermination ? "deleted" : "available";
      }
      ctx.world.stats.recordWait(inst.id, "instance-shutting-down", ctx.world.latencies.instanceShuttingDown, now);
    }
    return stateChange(inst, previous);
  });
  return { instancesSet: changes };
};

// ---------------------------------------------------------------------------
// images and snapshots

const AMI_NAME = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;

function checkImageName(region: RegionState, world: World, name: string): void {
  if (!AMI_NAME.test(name)) {
    throw new ApiError(
      "InvalidAMIName.Malformed",
      "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'",
    );
  }
  for (const img of region.images.values()) {
    if (img.ownerId === world.accountId && img.name === name) {
      throw new ApiError("InvalidAMIName.Duplicate", `AMI name ${name} is already in use by AMI ${img.id}`);
    }
  }
}

const createImage: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const inst = getInstance(ctx, required(p, "InstanceId"));
  const name = required(p, "Name");
  if (inst.state !== "running" && inst.state !== "stopped") {
    throw new ApiError("IncorrectInstanceState", `The instance '${inst.id}' is not in a state from which it can be imaged (it is ${inst.state}).`);
  }
  checkImageName(region, world, name);
  const specs = tagSpecifications(p);
  checkSpecTypes(specs, ["image", "snapshot"]);
  const noReboot = bool(p, "NoReboot") ?? false;
  dryRun(ctx);

  const now = world.clock.now();
  if (!noReboot && inst.state === "running") {
    // The instance reboots for a consistent snapshot: its processes die, /run empties, the agent reconnects later.
    interruptInstance(world, region, inst.id, "rebooted for CreateImage");
    const cleared = world.sandbox.clearRun(inst.root).catch(() => undefined);
    // It boots again: its boot scripts run once the reboot is over (boot.ts).
    inst.boot = newBoot(now + world.latencies.instanceReboot, cleared);
    wakeAt(world, inst, now + world.latencies.instanceReboot);
    if (inst.profile) {
      inst.agentOnlineAt = now + world.latencies.instanceReboot;
      world.stats.recordWait(inst.id, "reboot-for-create-image", world.latencies.instanceReboot, now);
    }
  }
  const imageId = randomId("ami");
  const volumes = inst.volumeIds.map((id) => region.volumes.get(id)).filter((v): v is Volume => !!v);
  const totalGiB = volumes.reduce((s, v) => s + v.size, 0);
  const wait = world.latencies.imageBase + world.latencies.imagePerGiB * totalGiB;
  const devices: ImageDevice[] = volumes.map((v) => {
    const snap: Snapshot = {
      id: randomId("snap"),
      region: region.name,
      volumeSize: v.size,
      ownerId: world.accountId,
      startedAt: now,
      completeAt: now + wait,
      encrypted: v.encrypted,
      imageId,
      tags: specTags(specs, "snapshot"),
    };
    region.snapshots.set(snap.id, snap);
    return {
      deviceName: v.deviceName ?? inst.rootDeviceName,
      snapshotId: snap.id,
      size: v.size,
      type: v.type,
      encrypted: v.encrypted,
      deleteOnTermination: true,
      iops: v.iops,
      throughput: v.throughput,
    };
  });
  const source = region.images.get(inst.imageId);
  const tree = world.sandbox.imageRoot(region.name, imageId);
  const image: Image = {
    id: imageId,
    region: region.name,
    name,
    description: str(p, "Description"),
    ownerId: world.accountId,
    public: false,
    architecture: inst.architecture,
    family: inst.family,
    availableAt: now + wait,
    creationDate: world.clock.date(now).toISOString(),
    rootDeviceName: inst.rootDeviceName,
    devices,
    tags: specTags(specs, "image"),
    sourceInstanceId: inst.id,
    // EC2 records the image the instance was launched from as the new image's source, as it does a copy's.
    sourceImageId: inst.imageId,
    sourceImageRegion: region.name,
    imdsSupport: source?.imdsSupport,
    bootMode: source?.bootMode,
    tree,
    treeReady: false,
    treePromise: Promise.resolve(),
  };
  image.treePromise = (async () => {
    try {
      await inst.treePromise;
      await world.sandbox.snapshot(inst.root, tree);
      image.treeReady = true;
    } catch (err) {
      image.treeError = (err as Error).message;
    }
  })();
  region.images.set(imageId, image);
  world.stats.recordWait(imageId, "image-available", wait, now);
  return { imageId };
};

const copyImage: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const sourceRegionName = required(p, "SourceRegion");
  const sourceImageId = required(p, "SourceImageId");
  const name = required(p, "Name");
  const clientToken = str(p, "ClientToken");
  const fp = fingerprint(p, ["ClientToken", "DryRun", "Action", "Version"]);
  if (clientToken && !bool(p, "DryRun")) {
    const prior = region.copyTokens.get(clientToken);
    if (prior) {
      if (prior.fingerprint !== fp) {
        throw new ApiError("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).");
      }
      return { imageId: prior.imageId };
    }
  }
  if (!REGION_NAME.test(sourceRegionName)) throw invalidParameterValue(`Value (${sourceRegionName}) for parameter sourceRegion is invalid.`);
  const sourceRegion = world.region(sourceRegionName);
  const source = getImage(sourceRegion, sourceImageId);
  const sourceState = imageState(world, source);
  if (sourceState !== "available") throw new ApiError("IncorrectState", `Image ${sourceImageId} is not in a valid state (${sourceState}) for copying`);
  checkImageName(region, world, name);
  const specs = tagSpecifications(p);
  checkSpecTypes(specs, ["image", "snapshot"]);
  dryRun(ctx);

  const now = world.clock.now();
  const encrypted = bool(p, "Encrypted");
  const imageId = randomId("ami");
  const totalGiB = source.devices.reduce((s, d) => s + d.size, 0);
  const wait = world.latencies.copyImageBase + world.latencies.copyImagePerGiB * totalGiB;
  const devices: ImageDevice[] = source.devices.map((d) => {
    const isEncrypted = encrypted === true || d.encrypted;
    const snap: Snapshot = {
      id: randomId("snap"),
      region: region.name,
      volumeSize: d.size,
      ownerId: world.accountId,
      startedAt: now,
      completeAt: now + wait,
      encrypted: isEncrypted,
      imageId,
      tags: specTags(specs, "snapshot"),
    };
    region.snapshots.set(snap.id, snap);
    return { ...d, snapshotId: snap.id, encrypted: isEncrypted };
  });
  const tags = specTags(specs, "image");
  if (bool(p, "CopyImageTags") && source.ownerId === world.accountId) for (const [k, v] of source.tags) if (!tags.has(k)) tags.set(k, v);
  const image: Image = {
    id: imageId,
    region: region.name,
    name,
    description: str(p, "Description") ?? `[Copied ${source.id} from ${sourceRegionName}] ${source.name}`,
    ownerId: world.accountId,
    public: false,
    architecture: source.architecture,
    family: source.family,
    availableAt: now + wait,
    creationDate: world.clock.date(now).toISOString(),
    rootDeviceName: source.rootDeviceName,
    devices,
    tags,
    sourceImageId: source.id,
    sourceImageRegion: sourceRegionName,
    imdsSupport: source.imdsSupport,
    bootMode: source.bootMode,
    tree: source.tree ? world.sandbox.imageRoot(region.name, imageId) : undefined,
    treeReady: !source.tree,
    treePromise: Promise.resolve(),
  };
  if (source.tree) {
    const from = source.tree;
    const to = image.tree as string;
    image.treePromise = (async () => {
      try {
        await source.treePromise;
        await world.sandbox.copyImageTree(from, to);
        image.treeReady = true;
      } catch (err) {
        image.treeError = (err as Error).message;
      }
    })();
  }
  region.images.set(imageId, image);
  if (clientToken) region.copyTokens.set(clientToken, { fingerprint: fp, imageId });
  world.stats.recordWait(imageId, "copy-image-available", wait, now);
  return { imageId };
};

const describeImages: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  dryRun(ctx);
  const ids = list(p, "ImageId");
  refuseIdsWithMaxResults(p, ids, "ImagesSet");
  checkIds(ids, "ami", "InvalidAMIID");
  const missing = ids.filter((id) => !region.images.has(id));
  if (missing.length) throw new ApiError("InvalidAMIID.NotFound", `The image id '[${missing.join(", ")}]' does not exist`);
  let images = ids.length ? ids.map((id) => region.images.get(id) as Image) : [...region.images.values()];
  const owners = list(p, "Owner");
  if (owners.length) {
    images = images.filter((img) =>
      owners.some((o) => (o === "self" ? img.ownerId === world.accountId : o === img.ownerId || (img.ownerAlias !== undefined && o === img.ownerAlias))),
    );
  }
  // Deprecated images show to their owner whatever IncludeDeprecated says; the emulator's public images are never deprecated.
  images = images.filter((img) => img.public || img.ownerId === world.accountId);
  images = applyFilters(images, readFilters(p), imageFields(world));
  const { page, nextToken } = paginate(ctx, images, 1, 1000);
  return { imagesSet: page.map((img) => imageXml(world, img)), nextToken };
};

const deregisterImage: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const img = getImage(region, required(p, "ImageId"));
  if (img.ownerId !== world.accountId) throw new ApiError("AuthFailure", `Not authorized for image:${img.id}`);
  const deleteSnapshots = bool(p, "DeleteAssociatedSnapshots") ?? false;
  dryRun(ctx);
  region.images.delete(img.id);
  const results: XmlNode[] = [];
  if (deleteSnapshots) {
    for (const d of img.devices) {
      if (region.snapshots.delete(d.snapshotId)) results.push({ snapshotId: d.snapshotId, returnCode: "success" });
    }
  }
  if (img.tree) {
    const tree = img.tree;
    void img.treePromise.then(() => world.sandbox.removeTree(tree)).catch(() => undefined);
  }
  return { return: true, deleteSnapshotResultSet: deleteSnapshots ? results : undefined };
};

const deleteSnapshot: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const id = required(p, "SnapshotId");
  const snap = region.snapshots.get(id);
  if (!snap) throw new ApiError("InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`);
  if (snap.ownerId !== world.accountId) throw new ApiError("AuthFailure", `Not authorized for snapshot ${id}`);
  for (const img of region.images.values()) {
    if (img.devices.some((d) => d.snapshotId === id)) {
      throw new ApiError("InvalidSnapshot.InUse", `The snapshot ${id} is currently in use by ${img.id}`);
    }
  }
  dryRun(ctx);
  region.snapshots.delete(id);
  return { return: true };
};

// ---------------------------------------------------------------------------
// what cleanup reads and does beside the build's calls: snapshots listed,
// launch templates (what they launch), image deprecation

function snapshotXml(world: World, region: RegionState, snap: Snapshot): XmlNode {
  const status = snapshotState(world, snap, region);
  return {
    snapshotId: snap.id,
    volumeId: "vol-ffffffff",
    status,
    startTime: world.clock.date(snap.startedAt),
    progress: status === "completed" ? "100%" : "0%",
    ownerId: snap.ownerId,
    volumeSize: snap.volumeSize,
    description: snap.imageId ? `Created by CreateImage for ${snap.imageId}` : "",
    encrypted: snap.encrypted ?? false,
    tagSet: tagSet(snap.tags),
    storageTier: "standard",
  };
}

const describeSnapshots: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  dryRun(ctx);
  const ids = list(p, "SnapshotId");
  refuseIdsWithMaxResults(p, ids, "snapshotSet");
  checkIds(ids, "snap", "InvalidSnapshotID");
  const missing = ids.find((id) => !region.snapshots.has(id));
  if (missing) throw new ApiError("InvalidSnapshot.NotFound", `The snapshot '${missing}' does not exist.`);
  let snaps = ids.length ? ids.map((id) => region.snapshots.get(id) as Snapshot) : [...region.snapshots.values()];
  const owners = list(p, "Owner");
  if (owners.length) snaps = snaps.filter((s) => owners.some((o) => (o === "self" ? s.ownerId === world.accountId : o === s.ownerId)));
  // What the account may create volumes from: its own snapshots (the emulator shares none).
  snaps = snaps.filter((s) => s.ownerId === world.accountId);
  snaps = applyFilters(snaps, readFilters(p), {
    "snapshot-id": (s) => s.id,
    status: (s) => snapshotState(world, s, region),
    "owner-id": (s) => s.ownerId,
    "volume-size": (s) => String(s.volumeSize),
    "start-time": (s) => world.clock.date(s.startedAt).toISOString(),
    encrypted: (s) => String(s.encrypted ?? false),
    "storage-tier": () => "standard",
  });
  const { page, nextToken } = paginate(ctx, snaps, 5, 1000);
  return { snapshotSet: page.map((s) => snapshotXml(world, region, s)), nextToken };
};

const LAUNCH_TEMPLATE_NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;

/** What a launch template version launches, from `LaunchTemplateData.*`: an AMI id or `resolve:ssm:<parameter>`. */
function launchTemplateData(p: Params, base?: LaunchTemplateVersion): Pick<LaunchTemplateVersion, "imageId" | "instanceType"> {
  const data = sub(p, "LaunchTemplateData");
  const imageId = data.get("ImageId") ?? base?.imageId;
  if (imageId !== undefined && !imageId.startsWith("resolve:ssm:")) checkIds([imageId], "ami", "InvalidAMIID");
  return { imageId, instanceType: data.get("InstanceType") ?? base?.instanceType };
}

function launchTemplateXml(world: World, lt: LaunchTemplate): XmlNode {
  return {
    launchTemplateId: lt.id,
    launchTemplateName: lt.name,
    createTime: world.clock.date(lt.createTime),
    createdBy: `arn:aws:iam::${world.accountId}:root`,
    defaultVersionNumber: lt.defaultVersion,
    latestVersionNumber: Math.max(...lt.versions.map((v) => v.versionNumber)),
    tagSet: tagSet(lt.tags),
  };
}

function launchTemplateVersionXml(world: World, region: RegionState, lt: LaunchTemplate, v: LaunchTemplateVersion, resolveAlias: boolean): XmlNode {
  return {
    launchTemplateId: lt.id,
    launchTemplateName: lt.name,
    versionNumber: v.versionNumber,
    versionDescription: v.description,
    createTime: world.clock.date(v.createTime),
    createdBy: `arn:aws:iam::${world.accountId}:root`,
    defaultVersion: v.versionNumber === lt.defaultVersion,
    launchTemplateData: { imageId: resolveAlias ? resolvedImageId(world, region, v.imageId) : v.imageId, instanceType: v.instanceType },
  };
}

/** ResolveAlias: `resolve:ssm:<name>` as the parameter's current value (left as written when there is no such parameter). */
function resolvedImageId(world: World, region: RegionState, imageId: string | undefined): string | undefined {
  if (!imageId?.startsWith("resolve:ssm:")) return imageId;
  const name = imageId.slice("resolve:ssm:".length);
  return region.parameters.get(name)?.value ?? publicParameter(region, name, world.clock)?.value ?? imageId;
}

/** The launch template a request names by `LaunchTemplateId` or `LaunchTemplateName` (exactly one of them). */
function namedLaunchTemplate(ctx: Ec2Context): LaunchTemplate {
  const id = str(ctx.params, "LaunchTemplateId");
  const name = str(ctx.params, "LaunchTemplateName");
  if (id && name) throw new ApiError("InvalidParameterCombination", "Both the launch template ID and the launch template name were specified. Specify one of them.");
  if (id) {
    const lt = ctx.region.launchTemplates.get(id);
    if (!lt) throw new ApiError("InvalidLaunchTemplateId.NotFound", `The specified launch template, with template ID ${id}, does not exist.`);
    return lt;
  }
  if (name) {
    const lt = [...ctx.region.launchTemplates.values()].find((t) => t.name === name);
    if (!lt) throw new ApiError("InvalidLaunchTemplateName.NotFoundException", `The specified launch template, with template name ${name}, does not exist.`);
    return lt;
  }
  throw new ApiError("MissingParameter", "The request must contain the parameter LaunchTemplateId or LaunchTemplateName");
}

const createLaunchTemplate: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const name = required(p, "LaunchTemplateName");
  if (!LAUNCH_TEMPLATE_NAME.test(name)) {
    throw new ApiError("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'");
  }
  if ([...region.launchTemplates.values()].some((t) => t.name === name)) {
    throw new ApiError("InvalidLaunchTemplateName.AlreadyExistsException", `Launch template name already in use.`);
  }
  if (sub(p, "LaunchTemplateData").size === 0) throw new ApiError("MissingParameter", "The request must contain the parameter LaunchTemplateData");
  const data = launchTemplateData(p);
  const specs = tagSpecifications(p);
  checkSpecTypes(specs, ["launch-template"]);
  dryRun(ctx);
  const now = world.clock.now();
  const lt: LaunchTemplate = {
    id: randomId("lt"),
    name,
    createTime: now,
    defaultVersion: 1,
    versions: [{ versionNumber: 1, description: str(p, "VersionDescription"), createTime: now, ...data }],
    tags: specTags(specs, "launch-template"),
  };
  region.launchTemplates.set(lt.id, lt);
  return { launchTemplate: launchTemplateXml(world, lt) };
};

const createLaunchTemplateVersion: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const lt = namedLaunchTemplate(ctx);
  const sourceVersion = str(p, "SourceVersion");
  const source = sourceVersion === undefined ? undefined : lt.versions.find((v) => String(v.versionNumber) === sourceVersion);
  if (sourceVersion !== undefined && !source) {
    throw new ApiError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${sourceVersion} for launch template ID ${lt.id}.`);
  }
  if (sub(p, "LaunchTemplateData").size === 0) throw new ApiError("MissingParameter", "The request must contain the parameter LaunchTemplateData");
  const data = launchTemplateData(p, source);
  dryRun(ctx);
  const version: LaunchTemplateVersion = {
    versionNumber: Math.max(...lt.versions.map((v) => v.versionNumber)) + 1,
    description: str(p, "VersionDescription"),
    createTime: world.clock.now(),
    ...data,
  };
  lt.versions.push(version);
  return { launchTemplateVersion: launchTemplateVersionXml(world, region, lt, version, false) };
};

const describeLaunchTemplates: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  dryRun(ctx);
  const ids = list(p, "LaunchTemplateId");
  const names = list(p, "LaunchTemplateName");
  const all = [...region.launchTemplates.values()];
  if (ids.some((id) => !region.launchTemplates.has(id))) {
    throw new ApiError("InvalidLaunchTemplateId.NotFound", "At least one of the launch templates specified in the request does not exist.");
  }
  if (names.some((name) => !all.some((t) => t.name === name))) {
    throw new ApiError("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.");
  }
  let found = ids.length || names.length ? all.filter((t) => ids.includes(t.id) || names.includes(t.name)) : all;
  found = applyFilters(found, readFilters(p), {
    "launch-template-name": (t) => t.name,
    "create-time": (t) => world.clock.date(t.createTime).toISOString(),
  });
  const { page, nextToken } = paginate(ctx, found, 1, 200);
  return { launchTemplates: page.map((t) => launchTemplateXml(world, t)), nextToken };
};

const describeLaunchTemplateVersions: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  dryRun(ctx);
  const asked = list(p, "LaunchTemplateVersion");
  const named = p.has("LaunchTemplateId") || p.has("LaunchTemplateName");
  let versions: [LaunchTemplate, LaunchTemplateVersion][];
  if (named) {
    const lt = namedLaunchTemplate(ctx);
    const latest = Math.max(...lt.versions.map((v) => v.versionNumber));
    const wanted = asked.map((v) => (v === "$Latest" ? latest : v === "$Default" ? lt.defaultVersion : /^\d+$/.test(v) ? Number(v) : Number.NaN));
    const unknown = asked.find((v, i) => !lt.versions.some((version) => version.versionNumber === wanted[i]));
    if (unknown !== undefined) throw new ApiError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${unknown} for launch template ID ${lt.id}.`);
    const min = int(p, "MinVersion");
    const max = int(p, "MaxVersion");
    versions = lt.versions
      .filter((v) => (wanted.length === 0 || wanted.includes(v.versionNumber)) && (min === undefined || v.versionNumber >= min) && (max === undefined || v.versionNumber <= max))
      .map((v) => [lt, v]);
  } else {
    // Across every launch template of the account: only their latest and default versions can be asked for.
    if (asked.some((v) => v !== "$Latest" && v !== "$Default")) {
      throw invalidParameterValue("To describe the versions of all launch templates, specify $Latest or $Default; version numbers need a launch template ID or name.");
    }
    versions = [...region.launchTemplates.values()].flatMap((lt) => {
      const latest = Math.max(...lt.versions.map((v) => v.versionNumber));
      return lt.versions
        .filter((v) => (asked.includes("$Latest") && v.versionNumber === latest) || (asked.includes("$Default") && v.versionNumber === lt.defaultVersion) || asked.length === 0)
        .map((v): [LaunchTemplate, LaunchTemplateVersion] => [lt, v]);
    });
  }
  const filtered = applyFilters(
    versions.map(([lt, v]) => ({ lt, v, tags: lt.tags })),
    readFilters(p),
    {
      "image-id": ({ v }) => v.imageId,
      "instance-type": ({ v }) => v.instanceType,
      "is-default-version": ({ lt, v }) => v.versionNumber === lt.defaultVersion,
      "create-time": ({ v }) => world.clock.date(v.createTime).toISOString(),
    },
  );
  const resolveAlias = bool(p, "ResolveAlias") ?? false;
  const { page, nextToken } = paginate(ctx, filtered, 1, 200);
  return { launchTemplateVersionSet: page.map(({ lt, v }) => launchTemplateVersionXml(world, region, lt, v, resolveAlias)), nextToken };
};

/** EC2 takes a deprecation time up to 10 years ahead (2 for public images, which the emulator's account has none of). */
const MAX_DEPRECATION_MS = 10 * 365.25 * 86_400_000;

const enableImageDeprecation: Handler = (ctx) => {
  const { world, region, params: p } = ctx;
  const img = getImage(region, required(p, "ImageId"));
  if (img.ownerId !== world.accountId) throw new ApiError("AuthFailure", `Not authorized for image:${img.id}`);
  const text = required(p, "DeprecateAt");
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw invalidParameterValue(`Value (${text}) for parameter deprecateAt is invalid. Expected a date and time in UTC, YYYY-MM-DDTHH:MM:SSZ.`);
  // EC2 rounds the seconds to the nearest minute.
  const rounded = Math.round(at / 60_000) * 60_000;
  const now = world.clock.date().getTime();
  if (rounded < now) throw invalidParameterValue(`The deprecation time ${new Date(rounded).toISOString()} is in the past. Specify a time in the future.`);
  if (rounded > now + MAX_DEPRECATION_MS) throw invalidParameterValue("The deprecation time can be at most 10 years from now.");
  dryRun(ctx);
  img.deprecationTime = new Date(rounded).toISOString();
  return { return: true };
};

// ---------------------------------------------------------------------------
// tags

const createTags: Handler = (ctx) => {
  const ids = list(ctx.params, "ResourceId");
  if (ids.length === 0) throw new ApiError("MissingParameter", "The request must contain the parameter resourceIdSet");
  const tags = readTags(ctx.params, "Tag");
  validateTags(tags);
  const targets = ids.map((id) => taggable(ctx, id));
  // The limit counts the tags a resource would end up with: its own, plus the new keys.
  if (targets.some((t) => new Set([...t.keys(), ...tags.map((tag) => tag.key)]).size > MAX_TAGS_PER_RESOURCE)) throw tagLimitExceeded();
  dryRun(ctx);
  for (const t of targets) for (const { key, value } of tags) t.set(key, value);
  return { return: true };
};

export const EC2_HANDLERS: Readonly<Record<string, Handler>> = {
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
  CreateSecurityGroup: createSecurityGroup,
  DeleteSecurityGroup: deleteSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  StopInstances: stopInstances,
  TerminateInstances: terminateInstances,
  CreateImage: createImage,
  CopyImage: copyImage,
  DescribeImages: describeImages,
  DeregisterImage: deregisterImage,
  DeleteSnapshot: deleteSnapshot,
  CreateTags: createTags,
  // cws ami cleanup
  DescribeSnapshots: describeSnapshots,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  EnableImageDeprecation: enableImageDeprecation,
  // what its tests set up (ACTIONS_CWS_DOES_NOT_CALL)
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
};

/** For fault predicates: where RunInstances would place the instance. */
export function runInstancesPlacement(region: RegionState, p: Params): { subnetId?: string; availabilityZone?: string } {
  const subnetId = p.get("SubnetId");
  if (subnetId) return { subnetId, availabilityZone: region.subnets.get(subnetId)?.availabilityZone };
  const zone = p.get("Placement.AvailabilityZone");
  const defaults = [...region.subnets.values()].filter((s) => s.defaultForAz);
  const chosen = zone ? defaults.find((s) => s.availabilityZone === zone) : defaults[0];
  return { subnetId: chosen?.id, availabilityZone: chosen?.availabilityZone ?? zone };
}

/** EC2's message for InsufficientInstanceCapacity, naming the other zones. */
export function capacityMessage(region: RegionState, p: Params): string {
  const type = p.get("InstanceType") ?? "m1.small";
  const { availabilityZone } = runInstancesPlacement(region, p);
  const zones = [...new Set([...region.subnets.values()].map((s) => s.availabilityZone))].filter((z) => z !== availabilityZone).sort();
  return `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${availabilityZone ?? region.name + "a"}). Our system will be working on provisioning additional capacity. You can currently get ${type} capacity by not specifying an Availability Zone in your request or choosing ${zones.join(", ")}.`;
}
