import { isAwsError, type AwsPorts } from "../aws/ports.js";
import { baseImageParameter } from "../builder/base-images.js";
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
  if (imageId) {
    const ec2 = aws.ec2(options.region);
    await waitFor(
      `EC2 in ${options.region} to accept instance profile ${profileName}`,
      async () => {
        try {
          await ec2.runInstance({
            imageId,
            instanceType: "t3.micro",
            subnetId: "",
            securityGroupIds: [],
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
    );
  }
  const waitedSeconds = Math.round((Date.now() - started) / 100) / 10;
  options.report(`✅ EC2 in ${options.region} accepts ${profileName}: builds can start`);
  return { account: identity.account, role: roleName, instanceProfile: profileName, policyArn, changed, waitedSeconds };
}
