import type { AwsPorts, IamPort } from "../aws/ports.js";
import type { PollSettings } from "../builder/poll.js";
import { CwsError } from "../errors.js";
import { waitUntilEc2AcceptsProfile } from "./probe.js";
import { BUILDER_TRUST_POLICY_JSON, checkBuilderRoleTrust } from "./trust-policy.js";

export const BUILDER_ROLE = "cws-ami-builder";
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

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
 * for SSM, then wait until EC2 accepts the profile (probe.ts). A role of that
 * name that exists already is used only if it trusts EC2 alone.
 */
export async function bootstrap(
  aws: AwsPorts,
  options: { region: string; instanceProfile: string; poll: PollSettings; signal?: AbortSignal | undefined; report: (line: string) => void },
): Promise<BootstrapResult> {
  const identity = await aws.sts(options.region).callerIdentity();
  const partition = identity.arn.split(":")[1] ?? "aws";
  const policyArn = `arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}`;
  const iam = aws.iam(options.region);
  const changed: string[] = [];
  const tags = { "cws:managed-by": "cws" };
  const roleName = BUILDER_ROLE;

  const role = await iam.getRole(roleName);
  if (role) {
    checkBuilderRoleTrust(roleName, role.trustPolicy);
    options.report(`✅ Role ${roleName} exists, trusted by ec2.amazonaws.com only`);
  } else {
    await iam.createRole(roleName, BUILDER_TRUST_POLICY_JSON, "Lets cws AMI build instances register with AWS Systems Manager", tags);
    changed.push(`created role ${roleName}`);
    options.report(`✅ Created role ${roleName} (trusted by ec2.amazonaws.com)`);
  }
  const attached = await iam.attachedPolicyArns(roleName);
  const others = attached.filter((arn) => arn !== policyArn);
  if (others.length > 0) {
    // Not refused: an administrator may have added them on purpose. But build instances get their rights.
    options.report(`⚠️  Role ${roleName} also has ${others.join(", ")} attached: every build instance (and every template's scripts) gets those rights too; cws needs only ${SSM_CORE_POLICY}`);
  }
  if (attached.includes(policyArn)) {
    options.report(`✅ ${SSM_CORE_POLICY} is attached`);
  } else {
    await iam.attachRolePolicy(roleName, policyArn);
    changed.push(`attached ${SSM_CORE_POLICY}`);
    options.report(`✅ Attached ${SSM_CORE_POLICY} to ${roleName}`);
  }
  const profileName = options.instanceProfile;
  await ensureInstanceProfile(iam, profileName, roleName, tags, changed, options.report);

  const outcome = await waitUntilEc2AcceptsProfile(aws, { region: options.region, instanceProfile: profileName, poll: options.poll, signal: options.signal, report: options.report });
  if (outcome.accepted) options.report(`✅ EC2 in ${options.region} accepts ${profileName}: builds can start`);
  else options.report(`⚠️  Not checked whether EC2 in ${options.region} accepts ${profileName} yet: ${outcome.why}. IAM takes a minute or so to reach EC2; a build started sooner may fail with "Invalid IAM Instance Profile name"`);
  const waitedSeconds = outcome.accepted ? outcome.waitedSeconds : 0;
  return { account: identity.account, role: roleName, instanceProfile: profileName, policyArn, changed, waitedSeconds };
}

/** The instance profile exists and holds the role: created and filled as needed; one holding another role is refused. */
async function ensureInstanceProfile(iam: IamPort, profileName: string, roleName: string, tags: Record<string, string>, changed: string[], report: (line: string) => void): Promise<void> {
  let profile = await iam.getInstanceProfile(profileName);
  if (!profile) {
    await iam.createInstanceProfile(profileName, tags);
    changed.push(`created instance profile ${profileName}`);
    report(`✅ Created instance profile ${profileName}`);
    profile = { name: profileName, arn: "", roles: [] };
  } else {
    report(`✅ Instance profile ${profileName} exists`);
  }
  const otherRole = profile.roles.find((role) => role.name !== roleName)?.name;
  if (otherRole) {
    throw new CwsError("PROFILE_HAS_OTHER_ROLE", `instance profile ${profileName} already holds role ${otherRole} (a profile holds one role)`, {
      value: profileName,
      suggestion: `attach ${SSM_CORE_POLICY} to ${otherRole} yourself, or bootstrap another profile with --instance-profile NAME`,
    });
  }
  if (!profile.roles.some((role) => role.name === roleName)) {
    await iam.addRoleToInstanceProfile(profileName, roleName);
    changed.push(`added ${roleName} to ${profileName}`);
    report(`✅ Added ${roleName} to ${profileName}`);
  }
}
