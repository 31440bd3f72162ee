/**
 * `cws ami bootstrap`'s core with fake ports: the builder role (and whom an
 * existing one trusts), the instance profile, and the wait for EC2, whose
 * dry-run launch goes into a cws security group as the IAM policy requires.
 */
import { describe, expect, it } from "vitest";
import { AwsCallError, type AwsPorts, type IamPort, type LaunchRequest, type SecurityGroupInfo, type SsmPort, type Tags } from "../../src/aws/ports.js";
import { bootstrap, BUILDER_ROLE } from "../../src/bootstrap/bootstrap.js";
import { InterruptedError } from "../../src/builder/runner.js";
import { CwsError } from "../../src/errors.js";
import { ACCOUNT, ec2PortWith, FAST_POLL } from "../builder/fake-build.js";

const SSM_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
const EC2_TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
const BUILD_ID = /^bootstrap-\d{8}t\d{6}z-[0-9a-f]{6}$/;

interface FakeOptions {
  role?: { trustPolicy: string; attached: string[] };
  /** Security groups DescribeSecurityGroups answers (it filters by tags itself). */
  groups?: SecurityGroupInfo[];
  defaultVpc?: string | undefined;
  /** What each dry-run launch answers, by its number (1 is the first); DryRunOperation when left out. */
  launch?: (attempt: number, request: LaunchRequest) => Error | undefined;
  deleteFails?: boolean;
}

function fakeAccount(options: FakeOptions = {}) {
  const calls: string[] = [];
  const launches: LaunchRequest[] = [];
  const created: { name: string; vpcId: string; tags: Tags }[] = [];
  let role = options.role;
  let profileRoles: string[] | undefined;
  const iam: IamPort = {
    getInstanceProfile: async (name) =>
      profileRoles === undefined
        ? undefined
        : { name, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}`, roles: profileRoles.map((r) => ({ name: r, arn: `arn:aws:iam::${ACCOUNT}:role/${r}`, trustPolicy: role?.trustPolicy ?? EC2_TRUST })) },
    getRole: async (name) => (role === undefined ? undefined : { name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, trustPolicy: role.trustPolicy }),
    async createRole(name, trustPolicy) {
      calls.push(`create role ${name}`);
      role = { trustPolicy, attached: [] };
    },
    attachedPolicyArns: async () => role?.attached ?? [],
    async attachRolePolicy(_name, arn) {
      calls.push(`attach ${arn}`);
      role?.attached.push(arn);
    },
    async createInstanceProfile(name) {
      calls.push(`create instance profile ${name}`);
      profileRoles = [];
    },
    async addRoleToInstanceProfile(_profile, roleName) {
      calls.push(`add ${roleName} to the profile`);
      profileRoles?.push(roleName);
    },
  };
  const defaultVpc = "defaultVpc" in options ? options.defaultVpc : "vpc-default";
  const ec2 = ec2PortWith("us-east-1", {
    defaultVpcId: async () => defaultVpc,
    describeSubnets: async (filter) => [
      { subnetId: "subnet-small", vpcId: filter.vpcId ?? "", availabilityZone: "us-east-1a", availableIpAddressCount: 3, defaultForAz: true, mapPublicIpOnLaunch: true },
      { subnetId: "subnet-big", vpcId: filter.vpcId ?? "", availabilityZone: "us-east-1b", availableIpAddressCount: 4000, defaultForAz: true, mapPublicIpOnLaunch: true },
    ],
    describeSecurityGroups: async (filter) => (options.groups ?? []).filter((g) => Object.entries(filter.tags ?? {}).every(([k, v]) => g.tags[k] === v)),
    async createSecurityGroup(request) {
      created.push({ name: request.name, vpcId: request.vpcId, tags: request.tags });
      calls.push(`create security group sg-probe in ${request.vpcId}`);
      return "sg-probe";
    },
    async deleteSecurityGroup(groupId) {
      calls.push(`delete security group ${groupId}`);
      if (options.deleteFails) throw new AwsCallError("UnauthorizedOperation", "DeleteSecurityGroup", "You are not authorized to perform this operation.", 403);
    },
    async runInstance(request) {
      launches.push(request);
      throw options.launch?.(launches.length, request) ?? new AwsCallError("DryRunOperation", "RunInstances", "Request would have succeeded, but DryRun flag is set.", 412);
    },
  });
  const ssm = { region: "us-east-1", getParameter: async () => "ami-0ubuntu" } as unknown as SsmPort;
  const aws: AwsPorts = {
    ec2: () => ec2,
    ssm: () => ssm,
    sts: () => ({ callerIdentity: async () => ({ account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/admin` }) }),
    iam: () => iam,
  };
  return { aws, calls, launches, created };
}

const notPropagated = () => new AwsCallError("InvalidParameterValue", "RunInstances", "Value (cws-ami-builder) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", 400);
const unauthorized = () =>
  new AwsCallError("UnauthorizedOperation", "RunInstances", "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/dev is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:111122223333:security-group/sg-probe. Encoded authorization failure message: xyz", 403);

async function run(aws: AwsPorts, signal?: AbortSignal) {
  const lines: string[] = [];
  const result = bootstrap(aws, { region: "us-east-1", instanceProfile: BUILDER_ROLE, poll: FAST_POLL, signal, report: (line) => lines.push(line) });
  return { result, lines };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("it should have failed"),
    (error: unknown) => error,
  );
}

describe("bootstrap in a fresh account", () => {
  it("creates the role trusted by EC2 alone, the profile holding it, and checks the launch with a group of its own, deleted after", async () => {
    const account = fakeAccount();
    const { result, lines } = await run(account.aws);
    expect((await result).changed).toEqual(["created role cws-ami-builder", `attached AmazonSSMManagedInstanceCore`, "created instance profile cws-ami-builder", "added cws-ami-builder to cws-ami-builder"]);
    expect(account.calls).toEqual([
      "create role cws-ami-builder",
      `attach ${SSM_ARN}`,
      "create instance profile cws-ami-builder",
      "add cws-ami-builder to the profile",
      "create security group sg-probe in vpc-default",
      "delete security group sg-probe",
    ]);
    // The group: tagged as the policy requires at creation, named and marked as bootstrap's, in the default VPC.
    const [group] = account.created;
    const buildId = group!.tags["cws:build-id"]!;
    expect(buildId).toMatch(BUILD_ID);
    expect(group).toEqual({ name: `cws-${buildId}`, vpcId: "vpc-default", tags: { Name: `cws-${buildId}`, "cws:managed-by": "cws", "cws:build-id": buildId, "cws:purpose": "bootstrap" } });
    // The launch: a dry run into that group, in the default subnet with the most room, tagged like a build's.
    const [launch, ...more] = account.launches;
    expect(more).toEqual([]);
    expect(launch).toMatchObject({ dryRun: true, securityGroupIds: ["sg-probe"], subnetId: "subnet-big", instanceProfileName: "cws-ami-builder", tags: { "cws:managed-by": "cws", "cws:build-id": buildId } });
    expect(Object.keys(launch!.tags)).toEqual(["cws:managed-by", "cws:build-id"]);
    expect(lines.join("\n")).toContain("Created security group sg-probe in vpc-default");
    expect(lines.join("\n")).toContain("Deleted security group sg-probe");
    expect(lines.at(-1)).toBe("✅ EC2 in us-east-1 accepts cws-ami-builder: builds can start");
  });

  it("launches into an existing cws group of the default VPC, and creates and deletes none", async () => {
    const account = fakeAccount({
      groups: [
        { groupId: "sg-other-vpc", name: "cws-build-x", vpcId: "vpc-other", tags: { "cws:managed-by": "cws" } },
        { groupId: "sg-build", name: "cws-build-y", vpcId: "vpc-default", tags: { "cws:managed-by": "cws", "cws:build-id": "b" } },
      ],
    });
    const { result } = await run(account.aws);
    await result;
    expect(account.launches.map((l) => l.securityGroupIds)).toEqual([["sg-build"]]);
    expect(account.calls.filter((c) => c.includes("security group"))).toEqual([]);
  });

  it("keeps waiting while EC2 does not know the profile yet, and makes its own group when the build's it used goes away", async () => {
    const groups: SecurityGroupInfo[] = [{ groupId: "sg-build", name: "cws-build-y", vpcId: "vpc-default", tags: { "cws:managed-by": "cws" } }];
    const account = fakeAccount({
      groups,
      launch: (attempt) => {
        if (attempt === 1) return notPropagated();
        if (attempt !== 2) return undefined;
        groups.pop(); // the build's cleanup deleted it
        return new AwsCallError("InvalidGroup.NotFound", "RunInstances", "The security group 'sg-build' does not exist", 400);
      },
    });
    const { result } = await run(account.aws);
    await result;
    expect(account.launches.map((l) => l.securityGroupIds)).toEqual([["sg-build"], ["sg-build"], ["sg-probe"]]);
    expect(account.calls.slice(-2)).toEqual(["create security group sg-probe in vpc-default", "delete security group sg-probe"]);
    // Every try has its own client token (EC2 would answer a repeated one with the first answer).
    expect(new Set(account.launches.map((l) => l.clientToken)).size).toBe(3);
  });
});

describe("the wait's group is deleted however the wait ends", () => {
  it("a denied launch is a clear error naming the action and the people's policy, not AWS's raw answer", async () => {
    const account = fakeAccount({ launch: unauthorized });
    const error = await failure((await run(account.aws)).result);
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({ code: "BOOTSTRAP_DENIED", value: "ec2:RunInstances", exitCode: 2 });
    const { message, suggestion } = error as CwsError;
    expect(message).toContain("AWS denied ec2:RunInstances to bootstrap's check that EC2 in us-east-1 accepts instance profile cws-ami-builder");
    expect(suggestion).toContain("docs/iam/cws-cli-policy.json");
    expect(suggestion).toContain("docs/iam/cws-ci-policy.json is not meant for bootstrap");
    // A holder of the right policy is denied too when something else denies: a Deny beside it, a boundary, an SCP.
    expect(suggestion).toContain("an explicit Deny statement (such as docs/iam/examples/deny-other-vpcs.json), a permissions boundary or an SCP");
    expect(suggestion).toContain("a dry-run launch into a default subnet of the default VPC");
    expect(account.calls.at(-1)).toBe("delete security group sg-probe");
  });

  it("a wait that times out is PROFILE_NOT_ACCEPTED (exit 1), saying what EC2 last answered", async () => {
    const account = fakeAccount({ launch: notPropagated });
    const error = await failure((await run(account.aws)).result);
    expect(error).toMatchObject({ code: "PROFILE_NOT_ACCEPTED", exitCode: 1 });
    expect((error as Error).message).toContain("(not propagated yet)");
    expect(account.calls.at(-1)).toBe("delete security group sg-probe");
  });

  it("a stop signal during the wait stops it (InterruptedError) after deleting the group", async () => {
    const controller = new AbortController();
    const account = fakeAccount({
      launch: () => {
        controller.abort("SIGINT");
        return notPropagated();
      },
    });
    const error = await failure((await run(account.aws, controller.signal)).result);
    expect(error).toBeInstanceOf(InterruptedError);
    expect(account.calls.at(-1)).toBe("delete security group sg-probe");
  });

  it("a group that cannot be deleted is said with its id and the command that removes it; bootstrap still succeeds", async () => {
    const account = fakeAccount({ deleteFails: true });
    const { result, lines } = await run(account.aws);
    await result;
    const buildId = account.created[0]!.tags["cws:build-id"];
    const text = lines.join("\n");
    expect(text).toContain("⚠️  Could not delete security group sg-probe (bootstrap's, for the check): DeleteSecurityGroup: UnauthorizedOperation");
    expect(text).toContain("remove it with: aws ec2 delete-security-group --group-id sg-probe --region us-east-1");
    expect(text).toContain(`(cws ami reap finds it too: tagged cws:build-id=${buildId})`);
  });

  it("without a default VPC nothing is made, and the output says the profile was not checked (no ✅ for it)", async () => {
    const account = fakeAccount({ defaultVpc: undefined });
    const { result, lines } = await run(account.aws);
    expect((await result).waitedSeconds).toBe(0);
    expect(account.launches).toEqual([]);
    expect(account.created).toEqual([]);
    expect(lines.at(-1)).toMatch(/^⚠️ {2}Not checked whether EC2 in us-east-1 accepts cws-ami-builder yet: us-east-1 has no default VPC/);
  });
});

describe("a builder role that exists already", () => {
  const foreign = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" },
    ],
  });

  it("is refused (exit 2) when it trusts another account, before anything is attached, created or launched", async () => {
    const account = fakeAccount({ role: { trustPolicy: foreign, attached: [SSM_ARN] } });
    const error = await failure((await run(account.aws)).result);
    expect(error).toMatchObject({ code: "BUILDER_ROLE_TRUST", value: "cws-ami-builder", exitCode: 2 });
    const { message, suggestion } = error as CwsError;
    expect(message).toBe("role cws-ami-builder exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): it also trusts AWS arn:aws:iam::444455556666:root");
    expect(suggestion).toContain("aws iam get-role --role-name cws-ami-builder");
    expect(suggestion).toContain("aws iam update-assume-role-policy --role-name cws-ami-builder --policy-document '{\"Version\":\"2012-10-17\"");
    expect(suggestion).toContain("as an administrator");
    expect(account.calls).toEqual([]);
    expect(account.launches).toEqual([]);
  });

  it("is used when its trust means the same as bootstrap's, however it is written", async () => {
    const sameMeaning = JSON.stringify({ Statement: [{ Action: ["sts:AssumeRole"], Sid: "Builders", Principal: { Service: ["ec2.amazonaws.com"] }, Effect: "Allow" }], Version: "2012-10-17" });
    const account = fakeAccount({ role: { trustPolicy: sameMeaning, attached: [SSM_ARN] } });
    const { result, lines } = await run(account.aws);
    expect((await result).changed).toEqual(["created instance profile cws-ami-builder", "added cws-ami-builder to cws-ami-builder"]);
    expect(lines[0]).toBe("✅ Role cws-ami-builder exists, trusted by ec2.amazonaws.com only");
    expect(lines.some((line) => line.startsWith("⚠️"))).toBe(false);
  });

  it("with other managed policies attached: a warning naming them, not a failure", async () => {
    const admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    const account = fakeAccount({ role: { trustPolicy: EC2_TRUST, attached: [admin, SSM_ARN] } });
    const { result, lines } = await run(account.aws);
    await result;
    expect(lines).toContain(
      `⚠️  Role cws-ami-builder also has ${admin} attached: every build instance (and every template's scripts) gets those rights too; cws needs only AmazonSSMManagedInstanceCore`,
    );
    expect(account.calls).not.toContain(`attach ${SSM_ARN}`);
  });
});
