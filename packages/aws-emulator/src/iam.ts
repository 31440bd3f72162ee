import { ApiError } from "./errors.js";
import { iamUniqueId } from "./ids.js";
import { required, str, tags as readTags, type Params } from "./query.js";
import type { IamInstanceProfile, IamRole, IamState, World } from "./state.js";
import type { XmlNode } from "./xml.js";

export interface QueryContext {
  world: World;
  params: Params;
  action: string;
  requestId: string;
}

/** awsQuery handlers return the content of `<ActionResult>` (undefined for operations without output). */
type Handler = (ctx: QueryContext) => XmlNode | undefined;

export const SSM_MANAGED_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

export const EC2_TRUST_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

// ---------------------------------------------------------------------------
// STS

const getCallerIdentity: Handler = (ctx) => ({
  UserId: "AIDACWSEMULATORUSER01",
  Account: ctx.world.accountId,
  Arn: `arn:aws:iam::${ctx.world.accountId}:user/test`,
});

export const STS_HANDLERS: Readonly<Record<string, Handler>> = {
  GetCallerIdentity: getCallerIdentity,
};

// ---------------------------------------------------------------------------
// IAM

const NAME = /^[\w+=,.@-]{1,128}$/;

function checkName(value: string, field: string, max: number): void {
  if (!NAME.test(value) || value.length > max) {
    throw new ApiError("ValidationError", `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
  }
}

function checkPath(path: string): void {
  if (!/^\/([\x21-\x7e]*\/)?$/.test(path)) {
    throw new ApiError("ValidationError", `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`);
  }
}

function getRole(iam: IamState, name: string): IamRole {
  const role = iam.roles.get(name);
  if (!role) throw new ApiError("NoSuchEntity", `The role with name ${name} cannot be found.`);
  return role;
}

function getProfile(iam: IamState, name: string): IamInstanceProfile {
  const profile = iam.instanceProfiles.get(name);
  if (!profile) throw new ApiError("NoSuchEntity", `Instance Profile ${name} cannot be found.`);
  return profile;
}

function roleXml(world: World, role: IamRole): XmlNode {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: role.arn,
    CreateDate: world.clock.date(role.createDate),
    // IAM answers policy documents URL-encoded (RFC 3986).
    AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: role.tags.length ? role.tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined,
    RoleLastUsed: {},
  };
}

function profileXml(world: World, profile: IamInstanceProfile): XmlNode {
  return {
    Path: profile.path,
    InstanceProfileName: profile.name,
    InstanceProfileId: profile.id,
    Arn: profile.arn,
    CreateDate: world.clock.date(profile.createDate),
    Roles: profile.roleNames.map((n) => world.iam.roles.get(n)).filter((r): r is IamRole => !!r).map((r) => roleXml(world, r)),
    Tags: profile.tags.length ? profile.tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined,
  };
}

/** Creates a role trusted by EC2 with the SSM managed policy, and an instance profile holding it: what a builder needs. */
export function seedInstanceProfile(world: World, name: string): void {
  const now = world.clock.now();
  if (!world.iam.roles.has(name)) {
    world.iam.roles.set(name, {
      name,
      id: iamUniqueId("AROA"),
      arn: `arn:aws:iam::${world.accountId}:role/${name}`,
      path: "/",
      createDate: now,
      assumeRolePolicyDocument: EC2_TRUST_POLICY,
      maxSessionDuration: 3600,
      tags: [],
      attachedPolicyArns: [SSM_MANAGED_POLICY_ARN],
    });
  }
  world.iam.instanceProfiles.set(name, {
    name,
    id: iamUniqueId("AIPA"),
    arn: `arn:aws:iam::${world.accountId}:instance-profile/${name}`,
    path: "/",
    createDate: now,
    roleNames: [name],
    tags: [],
    usableAt: Number.NEGATIVE_INFINITY,
  });
}

const getInstanceProfile: Handler = (ctx) => {
  const profile = getProfile(ctx.world.iam, required(ctx.params, "InstanceProfileName"));
  return { InstanceProfile: profileXml(ctx.world, profile) };
};

const createInstanceProfile: Handler = (ctx) => {
  const { world, params: p } = ctx;
  const name = required(p, "InstanceProfileName");
  checkName(name, "instanceProfileName", 128);
  const path = str(p, "Path") ?? "/";
  checkPath(path);
  if (world.iam.instanceProfiles.has(name)) throw new ApiError("EntityAlreadyExists", `Instance Profile ${name} already exists.`);
  const now = world.clock.now();
  const profile: IamInstanceProfile = {
    name,
    id: iamUniqueId("AIPA"),
    arn: `arn:aws:iam::${world.accountId}:instance-profile${path}${name}`,
    path,
    createDate: now,
    roleNames: [],
    tags: readTags(p, "Tags.member"),
    usableAt: now + world.latencies.iamPropagation,
  };
  world.iam.instanceProfiles.set(name, profile);
  world.stats.recordWait(profile.arn, "iam-propagation", world.latencies.iamPropagation, now);
  return { InstanceProfile: profileXml(world, profile) };
};

const addRoleToInstanceProfile: Handler = (ctx) => {
  const { iam } = ctx.world;
  const profile = getProfile(iam, required(ctx.params, "InstanceProfileName"));
  const role = getRole(iam, required(ctx.params, "RoleName"));
  if (profile.roleNames.length >= 1) throw new ApiError("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1");
  profile.roleNames.push(role.name);
  return undefined;
};

const createRole: Handler = (ctx) => {
  const { world, params: p } = ctx;
  const name = required(p, "RoleName");
  checkName(name, "roleName", 64);
  const doc = required(p, "AssumeRolePolicyDocument");
  try {
    JSON.parse(doc);
  } catch {
    throw new ApiError("MalformedPolicyDocument", "This policy contains invalid Json");
  }
  const path = str(p, "Path") ?? "/";
  checkPath(path);
  if (world.iam.roles.has(name)) throw new ApiError("EntityAlreadyExists", `Role with name ${name} already exists.`);
  const maxSession = str(p, "MaxSessionDuration");
  const role: IamRole = {
    name,
    id: iamUniqueId("AROA"),
    arn: `arn:aws:iam::${world.accountId}:role${path}${name}`,
    path,
    createDate: world.clock.now(),
    assumeRolePolicyDocument: doc,
    description: str(p, "Description"),
    maxSessionDuration: maxSession ? Number(maxSession) : 3600,
    tags: readTags(p, "Tags.member"),
    attachedPolicyArns: [],
  };
  world.iam.roles.set(name, role);
  return { Role: roleXml(world, role) };
};

const getRoleAction: Handler = (ctx) => ({ Role: roleXml(ctx.world, getRole(ctx.world.iam, required(ctx.params, "RoleName"))) });

function checkPolicyArn(arn: string): void {
  if (!/^arn:aws:iam::(aws|\d{12}):policy\/.+/.test(arn)) throw new ApiError("InvalidInput", `ARN ${arn} is not valid.`);
  if (!arn.startsWith("arn:aws:iam::aws:policy/")) {
    throw new ApiError("NoSuchEntity", `Policy ${arn} does not exist or is not attachable. (The cws emulator knows AWS managed policies only.)`);
  }
}

const attachRolePolicy: Handler = (ctx) => {
  const role = getRole(ctx.world.iam, required(ctx.params, "RoleName"));
  const arn = required(ctx.params, "PolicyArn");
  checkPolicyArn(arn);
  if (!role.attachedPolicyArns.includes(arn)) role.attachedPolicyArns.push(arn);
  return undefined;
};

const listAttachedRolePolicies: Handler = (ctx) => {
  const role = getRole(ctx.world.iam, required(ctx.params, "RoleName"));
  return {
    AttachedPolicies: role.attachedPolicyArns.map((arn) => ({ PolicyName: arn.split("/").pop() ?? arn, PolicyArn: arn })),
    IsTruncated: false,
  };
};

export const IAM_HANDLERS: Readonly<Record<string, Handler>> = {
  GetInstanceProfile: getInstanceProfile,
  CreateInstanceProfile: createInstanceProfile,
  AddRoleToInstanceProfile: addRoleToInstanceProfile,
  CreateRole: createRole,
  GetRole: getRoleAction,
  AttachRolePolicy: attachRolePolicy,
  ListAttachedRolePolicies: listAttachedRolePolicies,
};
