import { isAwsError, type AwsPorts, type Ec2Port } from "../aws/ports.js";
import { baseImageParameter } from "../builder/base-images.js";
import { newBuildId } from "../builder/context.js";
import { waitFor, type PollSettings } from "../builder/poll.js";
import { CwsError } from "../errors.js";

export const BUILDER_ROLE = "cws-ami-builder";
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

const TRUST_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export interface BootstrapResult {
  account: string;
  role: string;
  instanceProfile: string;
  policyArn: string;
  /** What this run created or changed; empty when everything was already in place. */
  changed: string[];
  /** Seconds waited for IAM to propagate to EC2. */
  waitedSeconds: number;
}

/**
 * Create (idempotently) the role and instance profile a build instance needs
 * for SSM, then wait until EC2 accepts the profile: IAM is eventually
 * consistent, and a build started right after creating a profile would
 * otherwise fail with "Invalid IAM Instance Profile name".
 */
export async function bootstrap(
  aws: AwsPorts,
  options: { region: string; instanceProfile: string; poll: PollSettings; signal?: AbortSignal; report: (line: string) => void },
): Promise<BootstrapResult> {
  const identity = await aws.sts(options.region).callerIdentity();
  const partition = identity.arn.split(":")[1] ?? "aws";
  const policyArn = `arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}`;
  const iam = aws.iam(options.region);
  const changed: string[] = [];
  const tags = { "cws:managed-by": "cws" };
  const roleName = BUILDER_ROLE;

  if (await iam.getRole(roleName)) {
    options.report(`✅ Role ${roleName} exists`);
  } else {
    await iam.createRole(roleName, TRUST_POLICY, "Lets cws AMI build instances register with AWS Systems Manager", tags);
    changed.push(`created role ${roleName}`);
    options.report(`✅ Created role ${roleName} (trusted by ec2.amazonaws.com)`);
  }
  if ((await iam.attachedPolicyArns(roleName)).includes(policyArn)) {
    options.report(`✅ ${SSM_CORE_POLICY} is attached`);
  } else {
    await iam.attachRolePolicy(roleName, policyArn);
    changed.push(`attached ${SSM_CORE_POLICY}`);
    options.report(`✅ Attached ${SSM_CORE_POLICY} to ${roleName}`);
  }
  const profileName = options.instanceProfile;
  let profile = await iam.getInstanceProfile(profileName);
  if (!profile) {
    await iam.createInstanceProfile(profileName, tags);
    changed.push(`created instance profile ${profileName}`);
    options.report(`✅ Created instance profile ${profileName}`);
    profile = { name: profileName, arn: "", roleNames: [] };
  } else {
    options.report(`✅ Instance profile ${profileName} exists`);
  }
  const otherRole = profile.roleNames.find((r) => r !== roleName);
  if (otherRole) {
    throw new CwsError("PROFILE_HAS_OTHER_ROLE", `instance profile ${profileName} already holds role ${otherRole} (a profile holds one role)`, {
      value: profileName,
      suggestion: `attach ${SSM_CORE_POLICY} to ${otherRole} yourself, or bootstrap another profile with --instance-profile NAME`,
    });
  }
  if (!profile.roleNames.includes(roleName)) {
    await iam.addRoleToInstanceProfile(profileName, roleName);
    changed.push(`added ${roleName} to ${profileName}`);
    options.report(`✅ Added ${roleName} to ${profileName}`);
  }

  // Ask EC2 itself (DryRun) whether it can launch with the profile yet.
  const started = Date.now();
  const imageId = await aws.ssm(options.region).getParameter(baseImageParameter("ubuntu-22.04-lts", "x86_64"));
  const ec2 = aws.ec2(options.region);
  const vpcId = imageId ? await ec2.defaultVpcId() : undefined;
  if (!imageId || vpcId === undefined) {
    const why = imageId ? "it has no default VPC" : "the public Ubuntu 22.04 image parameter is not there";
    options.report(`⚠️  Not waiting for EC2 in ${options.region} to accept ${profileName} (${why}): a build started at once may be told "Invalid IAM Instance Profile"; run it again then`);
  } else {
    await withProbeGroup(ec2, vpcId, (groupId) =>
      waitFor(
        `EC2 in ${options.region} to accept instance profile ${profileName}`,
        async () => {
          try {
            await ec2.runInstance({
              imageId,
              instanceType: "t3.micro",
              subnetId: "",
              securityGroupIds: [groupId],
              instanceProfileName: profileName,
              rootDeviceName: "/dev/sda1",
              volumeSizeGb: undefined,
              tags,
              clientToken: `cws-bootstrap-${Date.now()}`,
              dryRun: true,
            });
            return { done: true, value: undefined };
          } catch (error) {
            if (isAwsError(error, "DryRunOperation")) return { done: true, value: undefined };
            if (isAwsError(error, "InvalidParameterValue")) return { done: false, seen: "not propagated yet" };
            throw error;
          }
        },
        { plan: { firstMs: 0, intervalMs: 2_000, factor: 1.5, maxMs: 10_000 }, settings: options.poll, timeoutMs: 3 * 60_000, lookFirst: true, ...(options.signal ? { signal: options.signal } : {}) },
      ),
    );
    options.report(`✅ EC2 in ${options.region} accepts ${profileName}: builds can start`);
  }
  const waitedSeconds = Math.round((Date.now() - started) / 100) / 10;
  return { account: identity.account, role: roleName, instanceProfile: profileName, policyArn, changed, waitedSeconds };
}

/**
 * The launch EC2 is asked about goes into a security group made for the
 * question and deleted after it, tagged as a build's group is. The policies
 * (docs/iam) let a launch use only groups tagged cws:managed-by=cws, and a
 * launch naming none is judged with the VPC's default group: a policy holder
 * would be answered UnauthorizedOperation, never DryRunOperation (docs/decisions.md §50).
 * Its cws:build-id dates it, so `cws ami reap` removes it if bootstrap is killed meanwhile.
 */
async function withProbeGroup<T>(ec2: Ec2Port, vpcId: string, probe: (groupId: string) => Promise<T>): Promise<T> {
  const buildId = newBuildId(new Date());
  const name = `cws-bootstrap-${buildId}`;
  const groupId = await ec2.createSecurityGroup({
    name,
    description: `cws ami bootstrap ${buildId}: asks EC2 whether it accepts the instance profile (no inbound rules; removed at once)`,
    vpcId,
    tags: { Name: name, "cws:managed-by": "cws", "cws:build-id": buildId, "cws:purpose": "bootstrap" },
  });
  try {
    return await probe(groupId);
  } finally {
    // A DryRun launches nothing, so nothing uses the group.
    await ec2.deleteSecurityGroup(groupId);
  }
}
