/**
 * `IamPort` over the SDK's IAMClient: the builder's role and instance profile,
 * created once per account and checked on every build.
 */
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
  type IAMClient,
  type Role,
} from "@aws-sdk/client-iam";
import { awsCall, collectPages, required, toTagList, type CodeOf } from "./call.js";
import { isAwsError, type CallOptions, type IamPort, type InstanceProfileInfo, type RoleInfo, type Tags } from "./ports.js";

/**
 * IAM documents its error codes as `NoSuchEntity`, `EntityAlreadyExists`,
 * `LimitExceeded`, but the SDK names its modelled exceptions with an
 * `Exception` suffix. The code AWS sent (`Code`, set by the query protocol)
 * wins; without it (an exception built in code) the suffix is dropped, so
 * callers see the documented codes either way.
 */
export const iamErrorCode: CodeOf = (error) => {
  if (!(error instanceof IAMServiceException)) return undefined;
  const sent = (error as { Code?: unknown }).Code;
  if (typeof sent === "string" && sent !== "") return sent;
  return error.name.endsWith("Exception") ? error.name.slice(0, -"Exception".length) : error.name;
};

/**
 * IAM answers policy documents URL-encoded (RFC 3986: `%7B%22Version%22...`),
 * and the JavaScript SDK hands them on as they came. A document that already
 * reads as JSON (an endpoint that sends it plain) is taken as it is; one that
 * does not decode is returned raw, for the caller to find it is not JSON.
 */
export function decodePolicyDocument(document: string): string {
  if (/^\s*\{/.test(document)) return document;
  try {
    return decodeURIComponent(document);
  } catch {
    return document;
  }
}

/** A role as GetRole and GetInstanceProfile both answer it (IAM's Role type), its trust policy decoded. */
function toRoleInfo(role: Role, name: string): RoleInfo {
  return { name: role.RoleName ?? name, arn: role.Arn ?? "", trustPolicy: decodePolicyDocument(role.AssumeRolePolicyDocument ?? "") };
}

export class IamAdapter implements IamPort {
  constructor(private readonly client: IAMClient) {}

  private call<T>(action: string, run: () => Promise<T>): Promise<T> {
    return awsCall(action, run, iamErrorCode);
  }

  async getInstanceProfile(name: string, options: CallOptions = {}): Promise<InstanceProfileInfo | undefined> {
    try {
      const result = await this.call("GetInstanceProfile", () => this.client.send(new GetInstanceProfileCommand({ InstanceProfileName: name }), { abortSignal: options.signal }));
      const profile = required(result.InstanceProfile, "GetInstanceProfile", "InstanceProfile");
      return {
        name: profile.InstanceProfileName ?? name,
        arn: profile.Arn ?? "",
        roles: (profile.Roles ?? []).flatMap((role) => (role.RoleName ? [toRoleInfo(role, role.RoleName)] : [])),
      };
    } catch (error) {
      if (isAwsError(error, "NoSuchEntity")) return undefined;
      throw error;
    }
  }

  async getRole(name: string): Promise<RoleInfo | undefined> {
    try {
      const result = await this.call("GetRole", () => this.client.send(new GetRoleCommand({ RoleName: name })));
      return toRoleInfo(required(result.Role, "GetRole", "Role"), name);
    } catch (error) {
      if (isAwsError(error, "NoSuchEntity")) return undefined;
      throw error;
    }
  }

  async createRole(name: string, assumeRolePolicyDocument: string, description: string, tags: Tags): Promise<void> {
    await this.call("CreateRole", () =>
      this.client.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: assumeRolePolicyDocument,
          Description: description,
          Tags: toTagList(tags),
        }),
      ),
    );
  }

  async attachedPolicyArns(roleName: string): Promise<string[]> {
    const policies = await collectPages("ListAttachedRolePolicies", async (marker) => {
      const page = await this.call("ListAttachedRolePolicies", () =>
        this.client.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) })),
      );
      // IAM pages with IsTruncated + Marker rather than a NextToken.
      return { items: page.AttachedPolicies, next: page.IsTruncated ? page.Marker : undefined };
    });
    return policies.flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []));
  }

  async attachRolePolicy(roleName: string, policyArn: string): Promise<void> {
    await this.call("AttachRolePolicy", () => this.client.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn })));
  }

  async createInstanceProfile(name: string, tags: Tags): Promise<void> {
    await this.call("CreateInstanceProfile", () =>
      this.client.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: toTagList(tags) })),
    );
  }

  /**
   * Idempotent for the same role: an instance profile holds at most one role,
   * and adding it again fails with LimitExceeded (a concurrent build may have
   * added it first). That is success when the role in it is this one.
   */
  async addRoleToInstanceProfile(profileName: string, roleName: string): Promise<void> {
    try {
      await this.call("AddRoleToInstanceProfile", () =>
        this.client.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: profileName, RoleName: roleName })),
      );
    } catch (error) {
      if (isAwsError(error, "LimitExceeded", "EntityAlreadyExists")) {
        const profile = await this.getInstanceProfile(profileName);
        if (profile?.roles.some((role) => role.name === roleName)) return;
      }
      throw error;
    }
  }
}
