import { runInstancesPlacement, specTags } from "./ec2.js";
import type { ServiceName } from "./faults.js";
import { list, str, structs, sub, tagSpecifications, tags as readTags, type Params, type TagSpecification } from "./query.js";
import type { Image, RegionState, SecurityGroup, Snapshot, Tags, World } from "./state.js";

/**
 * What IAM would be asked for one request: the action, the resource it is
 * asked about, and the context keys AWS sends for that resource. A request is
 * allowed only if every one of its authorizations is. The resource types and
 * the keys per resource follow the Service Authorization Reference (EC2, SSM,
 * IAM); a request log record carries them (`authorizations`), computed from
 * the request and the emulator's state when it arrived.
 */
export interface Authorization {
  /** "ec2:RunInstances", "iam:PassRole" ... */
  action: string;
  /** An ARN, or "*" for an action without resource-level permissions. */
  resource: string;
  /** `aws:RequestTag/…`, `aws:TagKeys`, `aws:ResourceTag/…`, `ec2:Owner` …; empty when the resource gets none. */
  context: AuthorizationContext;
}

export type AuthorizationContext = Record<string, string | string[]>;

/** The request as the emulator read it: form parameters (EC2, STS, IAM) or the JSON body (SSM), and its region's state. */
export interface AuthorizedRequest {
  world: World;
  service: ServiceName;
  action: string;
  /** The region's state (EC2, SSM); undefined for IAM and STS, which are global. */
  region: RegionState | undefined;
  params: Params;
  body: Record<string, unknown>;
}

type Rule = (request: AuthorizedRequest & { region: RegionState }) => Authorization[];
type GlobalRule = (request: AuthorizedRequest) => Authorization[];

/**
 * The authorizations AWS would make for this request, or undefined for an
 * action the emulator answers but does not model (the launch-template calls
 * only its tests make, ACTIONS_CWS_DOES_NOT_CALL). A request too malformed to
 * read (a tag without a key) gets none: AWS would refuse it before asking IAM.
 */
export function authorizationsFor(request: AuthorizedRequest): Authorization[] | undefined {
  try {
    if (request.service === "iam" || request.service === "sts") {
      const rule = (request.service === "iam" ? IAM_RULES : STS_RULES)[request.action];
      return rule?.(request);
    }
    const rule = (request.service === "ec2" ? EC2_RULES : SSM_RULES)[request.action];
    const region = request.region;
    return rule && region ? rule({ ...request, region }) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// ARNs and context keys

/** Instances, volumes, groups, subnets, VPCs: `arn:aws:ec2:REGION:ACCOUNT:TYPE/ID`. */
const ec2Arn = (request: AuthorizedRequest & { region: RegionState }, type: string, id: string) => `arn:aws:ec2:${request.region.name}:${request.world.accountId}:${type}/${id}`;
/** Images and snapshots have no account in their ARNs. */
const imageArn = (region: string, id: string) => `arn:aws:ec2:${region}::image/${id}`;
const snapshotArn = (region: string, id: string) => `arn:aws:ec2:${region}::snapshot/${id}`;
const roleArn = (world: World, name: string) => world.iam.roles.get(name)?.arn ?? `arn:aws:iam::${world.accountId}:role/${name}`;
const profileArn = (world: World, name: string) => world.iam.instanceProfiles.get(name)?.arn ?? `arn:aws:iam::${world.accountId}:instance-profile/${name}`;

/** What the request creates a resource with: `aws:RequestTag/KEY` per tag and `aws:TagKeys`; nothing when it has no tags. */
export function requestTags(tags: ReadonlyMap<string, string>): AuthorizationContext {
  if (tags.size === 0) return {};
  const context: AuthorizationContext = {};
  for (const [key, value] of tags) context[`aws:RequestTag/${key}`] = value;
  context["aws:TagKeys"] = [...tags.keys()];
  return context;
}

/** What an existing resource carries: `aws:ResourceTag/KEY` (SSM's SendCommand names its instances' tags `ssm:resourceTag/KEY`). */
export function resourceTags(tags: ReadonlyMap<string, string>, prefix = "aws:ResourceTag"): AuthorizationContext {
  const context: AuthorizationContext = {};
  for (const [key, value] of tags) context[`${prefix}/${key}`] = value;
  return context;
}

/** EC2 knows an image's owner by its alias when it has one ("amazon"), else by the account id. */
function imageContext(image: Image): AuthorizationContext {
  return { "ec2:Owner": image.ownerAlias ?? image.ownerId, ...resourceTags(image.tags) };
}

function snapshotContext(snapshot: Snapshot): AuthorizationContext {
  return { "ec2:Owner": snapshot.ownerId, ...resourceTags(snapshot.tags) };
}

/** An EC2 resource that exists: its ARN, its tags and (images, snapshots) its owner; an id EC2 does not know gets its ARN alone. */
function existing(request: AuthorizedRequest & { region: RegionState }, id: string): { resource: string; context: AuthorizationContext } {
  const region = request.region;
  if (id.startsWith("ami-")) {
    const image = region.images.get(id);
    return { resource: imageArn(region.name, id), context: image ? imageContext(image) : {} };
  }
  if (id.startsWith("snap-")) {
    const snapshot = region.snapshots.get(id);
    return { resource: snapshotArn(region.name, id), context: snapshot ? snapshotContext(snapshot) : {} };
  }
  if (id.startsWith("sg-")) {
    const group = region.securityGroups.get(id);
    return { resource: ec2Arn(request, "security-group", id), context: group ? groupContext(request, group) : {} };
  }
  const [type, tags] = TAGGED_BY_PREFIX[id.split("-")[0] ?? ""]?.(region, id) ?? ["unknown", undefined];
  return { resource: ec2Arn(request, type, id), context: tags ? resourceTags(tags) : {} };
}

const TAGGED_BY_PREFIX: Record<string, (region: RegionState, id: string) => [string, Tags | undefined]> = {
  i: (region, id) => ["instance", region.instances.get(id)?.tags],
  vol: (region, id) => ["volume", region.volumes.get(id)?.tags],
  vpc: (region, id) => ["vpc", region.vpcs.get(id)?.tags],
  subnet: (region, id) => ["subnet", region.subnets.get(id)?.tags],
};

function groupContext(request: AuthorizedRequest & { region: RegionState }, group: SecurityGroup): AuthorizationContext {
  return { ...resourceTags(group.tags), "ec2:Vpc": ec2Arn(request, "vpc", group.vpcId) };
}

/** The ARN of what a creating call makes, before it has an id: `instance/*`, `image/*` ... */
function created(request: AuthorizedRequest & { region: RegionState }, resourceType: string): string {
  if (resourceType === "image") return imageArn(request.region.name, "*");
  if (resourceType === "snapshot") return snapshotArn(request.region.name, "*");
  return ec2Arn(request, resourceType, "*");
}

/**
 * Tags given at creation (TagSpecifications) are authorized as ec2:CreateTags
 * too, with `ec2:CreateAction` naming the creating call, once per resource
 * type tagged.
 */
function tagOnCreate(request: AuthorizedRequest & { region: RegionState }, createAction: string, specs: readonly TagSpecification[]): Authorization[] {
  const types = [...new Set(specs.filter((spec) => spec.tags.length > 0).map((spec) => spec.resourceType))];
  return types.map((type) => ({
    action: "ec2:CreateTags",
    resource: created(request, type),
    context: { "ec2:CreateAction": createAction, ...requestTags(specTags(specs, type)) },
  }));
}

/** An action on resources that exist, named by `key` (`ImageId`) or numbered (`InstanceId.1`, `InstanceId.2` ...). */
function onExisting(action: string, key: string): Rule {
  return (request) => {
    const single = str(request.params, key);
    const ids = [...list(request.params, key), ...(single === undefined ? [] : [single])];
    return ids.map((id) => ({ action, ...existing(request, id) }));
  };
}

/** Actions without resource-level permissions (every Describe*, GetCommandInvocation ...): authorized against "*". */
const unscoped =
  (action: string) =>
  (): Authorization[] => [{ action, resource: "*", context: {} }];

// ---------------------------------------------------------------------------
// EC2

/**
 * RunInstances is authorized against the image, the instance, its volume, its
 * network interface, each security group it launches into, and its subnet;
 * the tags given are authorized as CreateTags, and the instance profile's role
 * as iam:PassRole to EC2. No subnet named: the default subnet EC2 picks; no
 * group named: the VPC's default group, which is what EC2 launches into.
 */
const runInstances: Rule = (request) => {
  const { world, region, params } = request;
  const action = "ec2:RunInstances";
  const specs = tagSpecifications(params);
  const imageId = str(params, "ImageId") ?? "";
  const image = region.images.get(imageId);
  const subnetId = runInstancesPlacement(region, params).subnetId;
  const subnet = subnetId === undefined ? undefined : region.subnets.get(subnetId);
  const vpc: AuthorizationContext = subnet ? { "ec2:Vpc": ec2Arn(request, "vpc", subnet.vpcId) } : {};
  const profile = launchProfile(world, params);
  return [
    { action, resource: imageArn(region.name, imageId), context: image ? imageContext(image) : {} },
    {
      action,
      resource: created(request, "instance"),
      context: {
        ...requestTags(specTags(specs, "instance")),
        ...(profile.arn ? { "ec2:InstanceProfile": profile.arn } : {}),
        "ec2:InstanceType": str(params, "InstanceType") ?? "m1.small",
        // What the instance gets when the request does not say: the image's IMDS support, EC2's shared tenancy.
        "ec2:MetadataHttpTokens": sub(params, "MetadataOptions").get("HttpTokens") ?? (image?.imdsSupport === "v2.0" ? "required" : "optional"),
        "ec2:Tenancy": sub(params, "Placement").get("Tenancy") ?? "default",
      },
    },
    ...launchVolumes(image, params).map((volume) => ({ action, resource: created(request, "volume"), context: { ...requestTags(specTags(specs, "volume")), ...volume } })),
    {
      action,
      resource: created(request, "network-interface"),
      context: { ...requestTags(specTags(specs, "network-interface")), ...(subnet ? { "ec2:Subnet": ec2Arn(request, "subnet", subnet.id), ...vpc } : {}) },
    },
    ...launchGroups(region, params, subnet?.vpcId).map((group) => ({ action, resource: ec2Arn(request, "security-group", group.id), context: groupContext(request, group) })),
    ...(subnetId ? [{ action, resource: ec2Arn(request, "subnet", subnetId), context: subnet ? { ...resourceTags(subnet.tags), ...vpc } : {} }] : []),
    ...tagOnCreate(request, "RunInstances", specs),
    ...profile.roleNames.map((role) => ({ action: "iam:PassRole", resource: roleArn(world, role), context: { "iam:PassedToService": "ec2.amazonaws.com" } })),
  ];
};

/**
 * The volumes a launch makes, one authorization each: the image's block devices
 * as the request's BlockDeviceMapping overrides them (a device it names anew
 * is added, NoDevice removes one), with their type and encryption.
 */
function launchVolumes(image: Image | undefined, params: Params): AuthorizationContext[] {
  const devices = new Map((image?.devices ?? []).map((d) => [d.deviceName, { type: d.type, encrypted: d.encrypted }]));
  for (const mapping of structs(params, "BlockDeviceMapping")) {
    const name = mapping.get("DeviceName") ?? "";
    if (mapping.has("NoDevice")) {
      devices.delete(name);
      continue;
    }
    const before = devices.get(name);
    const encrypted = mapping.get("Ebs.Encrypted");
    devices.set(name, { type: mapping.get("Ebs.VolumeType") ?? before?.type ?? "gp3", encrypted: encrypted === undefined ? (before?.encrypted ?? false) : encrypted === "true" });
  }
  return [...devices.values()].map((device) => ({ "ec2:VolumeType": device.type, "ec2:Encrypted": String(device.encrypted) }));
}

/** The instance profile a launch names (by name or ARN), with the roles it holds (each passed to EC2). */
function launchProfile(world: World, params: Params): { arn: string | undefined; roleNames: readonly string[] } {
  const given = sub(params, "IamInstanceProfile");
  const name = given.get("Name");
  const arn = given.get("Arn");
  const found = name ? world.iam.instanceProfiles.get(name) : [...world.iam.instanceProfiles.values()].find((p) => p.arn === arn);
  return { arn: found?.arn ?? (name ? profileArn(world, name) : arn), roleNames: found?.roleNames ?? [] };
}

/** The groups an instance launches into: those named by id or (in the subnet's VPC) by name, else the VPC's default group. */
function launchGroups(region: RegionState, params: Params, vpcId: string | undefined): SecurityGroup[] {
  const groups = [...region.securityGroups.values()];
  const named = [
    ...list(params, "SecurityGroupId").map((id) => region.securityGroups.get(id)),
    ...list(params, "SecurityGroup").map((name) => groups.find((g) => g.vpcId === vpcId && g.name === name)),
  ].filter((group): group is SecurityGroup => group !== undefined);
  if (named.length > 0 || list(params, "SecurityGroupId").length > 0) return named;
  const fallback = groups.find((g) => g.vpcId === vpcId && g.isDefault);
  return fallback ? [fallback] : [];
}

/** What a creating call makes, each type with the request's tags for it, and those tags authorized as CreateTags too. */
function creating(request: AuthorizedRequest & { region: RegionState }, action: string, resourceTypes: readonly string[]): Authorization[] {
  const specs = tagSpecifications(request.params);
  return [
    ...resourceTypes.map((type) => ({ action: `ec2:${action}`, resource: created(request, type), context: requestTags(specTags(specs, type)) })),
    ...tagOnCreate(request, action, specs),
  ];
}

/** CreateImage: the instance imaged (its tags), the new image and its snapshots (the request's tags for each). */
const createImage: Rule = (request) => [
  { action: "ec2:CreateImage", ...existing(request, str(request.params, "InstanceId") ?? "") },
  ...creating(request, "CreateImage", ["image", "snapshot"]),
];

/**
 * CopyImage: the new image and its snapshots, in the destination region, with
 * the request's tags; and (since October 2024) the source image, in its own
 * region, with its owner and id only. Whether EC2 also puts the request's
 * tags in the source's context is not documented; this says it does not
 * (docs/decisions.md §48, §50).
 */
const copyImage: Rule = (request) => {
  const sourceRegion = str(request.params, "SourceRegion") ?? request.region.name;
  const sourceId = str(request.params, "SourceImageId") ?? "";
  const source = request.world.regions.get(sourceRegion)?.images.get(sourceId);
  return [
    { action: "ec2:CopyImage", resource: imageArn(sourceRegion, sourceId), context: source ? { "ec2:Owner": source.ownerAlias ?? source.ownerId, "ec2:ImageID": sourceId } : {} },
    ...creating(request, "CopyImage", ["image", "snapshot"]),
  ];
};

/** CreateSecurityGroup: the new group (the request's tags) and the VPC it is made in (the default VPC when none is named). */
const createSecurityGroup: Rule = (request) => {
  const vpcId = str(request.params, "VpcId") ?? [...request.region.vpcs.values()].find((vpc) => vpc.isDefault)?.id;
  return [...creating(request, "CreateSecurityGroup", ["security-group"]), ...(vpcId ? [{ action: "ec2:CreateSecurityGroup", ...existing(request, vpcId) }] : [])];
};

/** CreateTags on resources that exist: each resource with its own tags, and the tags the request adds. */
const createTags: Rule = (request) => {
  const added = requestTags(new Map(readTags(request.params, "Tag").map((tag) => [tag.key, tag.value])));
  return list(request.params, "ResourceId").map((id) => {
    const target = existing(request, id);
    return { action: "ec2:CreateTags", resource: target.resource, context: { ...target.context, ...added } };
  });
};

/** DeleteSecurityGroup names its group by id, or by name in the default VPC. */
const deleteSecurityGroup: Rule = (request) => {
  const name = str(request.params, "GroupName");
  const defaultVpc = [...request.region.vpcs.values()].find((vpc) => vpc.isDefault)?.id;
  const id = str(request.params, "GroupId") ?? [...request.region.securityGroups.values()].find((g) => g.vpcId === defaultVpc && g.name === name)?.id ?? "";
  return [{ action: "ec2:DeleteSecurityGroup", ...existing(request, id) }];
};

const EC2_RULES: Readonly<Record<string, Rule>> = {
  RunInstances: runInstances,
  CreateImage: createImage,
  CopyImage: copyImage,
  CreateSecurityGroup: createSecurityGroup,
  CreateTags: createTags,
  StopInstances: onExisting("ec2:StopInstances", "InstanceId"),
  TerminateInstances: onExisting("ec2:TerminateInstances", "InstanceId"),
  DeregisterImage: onExisting("ec2:DeregisterImage", "ImageId"),
  EnableImageDeprecation: onExisting("ec2:EnableImageDeprecation", "ImageId"),
  DeleteSnapshot: onExisting("ec2:DeleteSnapshot", "SnapshotId"),
  DeleteSecurityGroup: deleteSecurityGroup,
  DescribeImages: unscoped("ec2:DescribeImages"),
  DescribeInstances: unscoped("ec2:DescribeInstances"),
  DescribeSecurityGroups: unscoped("ec2:DescribeSecurityGroups"),
  DescribeSnapshots: unscoped("ec2:DescribeSnapshots"),
  DescribeSubnets: unscoped("ec2:DescribeSubnets"),
  DescribeVpcs: unscoped("ec2:DescribeVpcs"),
  DescribeLaunchTemplates: unscoped("ec2:DescribeLaunchTemplates"),
  DescribeLaunchTemplateVersions: unscoped("ec2:DescribeLaunchTemplateVersions"),
};

// ---------------------------------------------------------------------------
// SSM

/**
 * ARNs of what AWS owns (the AWS-RunShellScript document, the public
 * parameters under /aws/service/) have no account; IAM evaluators need one to
 * tell the resource type, so they get the account's, which a policy's
 * `arn:aws:ssm:*:*:` matches either way.
 */
const ssmArn = (request: AuthorizedRequest & { region: RegionState }, type: string, name: string) =>
  /^arn:/.test(name) ? name : `arn:aws:ssm:${request.region.name}:${request.world.accountId}:${type}${name.startsWith("/") ? "" : "/"}${name}`;

function bodyString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === "string" ? value : "";
}

/** SendCommand: the document, and each instance it runs on with its tags as `ssm:resourceTag/KEY`. */
const sendCommand: Rule = (request) => {
  const action = "ssm:SendCommand";
  const instanceIds = Array.isArray(request.body.InstanceIds) ? request.body.InstanceIds.filter((id): id is string => typeof id === "string") : [];
  return [
    { action, resource: ssmArn(request, "document", bodyString(request.body, "DocumentName")), context: {} },
    ...instanceIds.map((id) => {
      const tags = request.region.instances.get(id)?.tags;
      return { action, resource: ec2Arn(request, "instance", id), context: tags ? resourceTags(tags, "ssm:resourceTag") : {} };
    }),
  ];
};

const onParameter =
  (action: string): Rule =>
  (request) => [{ action, resource: ssmArn(request, "parameter", bodyString(request.body, "Name")), context: {} }];

const SSM_RULES: Readonly<Record<string, Rule>> = {
  SendCommand: sendCommand,
  GetParameter: onParameter("ssm:GetParameter"),
  PutParameter: onParameter("ssm:PutParameter"),
  GetCommandInvocation: unscoped("ssm:GetCommandInvocation"),
  CancelCommand: unscoped("ssm:CancelCommand"),
  DescribeInstanceInformation: unscoped("ssm:DescribeInstanceInformation"),
};

// ---------------------------------------------------------------------------
// IAM and STS

/** Tags given when creating a role or profile: the create action gets them as request tags, and so does the tag action AWS also checks. */
function withCreationTags(action: string, tagAction: string, resource: string, params: Params): Authorization[] {
  const tags = requestTags(new Map(readTags(params, "Tags.member").map((tag) => [tag.key, tag.value])));
  const tagged = Object.keys(tags).length > 0;
  return [{ action, resource, context: tags }, ...(tagged ? [{ action: tagAction, resource, context: tags }] : [])];
}

const named = (params: Params, key: string) => str(params, key) ?? "";
const withPath = (params: Params, name: string) => `${str(params, "Path") ?? "/"}${name}`;

const onRole =
  (action: string, extra: (params: Params) => AuthorizationContext = () => ({})): GlobalRule =>
  ({ world, params }) => [{ action, resource: roleArn(world, named(params, "RoleName")), context: extra(params) }];

const IAM_RULES: Readonly<Record<string, GlobalRule>> = {
  GetRole: onRole("iam:GetRole"),
  ListAttachedRolePolicies: onRole("iam:ListAttachedRolePolicies"),
  AttachRolePolicy: onRole("iam:AttachRolePolicy", (params) => ({ "iam:PolicyARN": named(params, "PolicyArn") })),
  CreateRole: ({ world, params }) =>
    withCreationTags("iam:CreateRole", "iam:TagRole", `arn:aws:iam::${world.accountId}:role${withPath(params, named(params, "RoleName"))}`, params),
  GetInstanceProfile: ({ world, params }) => [{ action: "iam:GetInstanceProfile", resource: profileArn(world, named(params, "InstanceProfileName")), context: {} }],
  CreateInstanceProfile: ({ world, params }) =>
    withCreationTags("iam:CreateInstanceProfile", "iam:TagInstanceProfile", `arn:aws:iam::${world.accountId}:instance-profile${withPath(params, named(params, "InstanceProfileName"))}`, params),
  /** AWS checks iam:PassRole on the role put into the profile, as passed to EC2. */
  AddRoleToInstanceProfile: ({ world, params }): Authorization[] => [
    { action: "iam:AddRoleToInstanceProfile", resource: profileArn(world, named(params, "InstanceProfileName")), context: {} },
    { action: "iam:PassRole", resource: roleArn(world, named(params, "RoleName")), context: { "iam:PassedToService": "ec2.amazonaws.com" } },
  ],
};

const STS_RULES: Readonly<Record<string, GlobalRule>> = {
  GetCallerIdentity: unscoped("sts:GetCallerIdentity"),
};

/** Every action this module models, named as IAM names it ("ec2:RunInstances"): what the package's tests hold against HANDLED_ACTIONS. */
export const AUTHORIZED_ACTIONS: readonly string[] = Object.entries({ ec2: EC2_RULES, ssm: SSM_RULES, iam: IAM_RULES, sts: STS_RULES }).flatMap(([service, rules]) =>
  Object.keys(rules).map((action) => `${service}:${action}`),
);
