import type { AwsPorts, IamPort } from "../aws/ports.js";
import type { PollSettings } from "../builder/poll.js";
import { CwsError } from "../errors.js";
import { waitUntilEc2AcceptsProfile } from "./probe.js";
import { BUILDER_TRUST_POLICY, reviewTrustPolicy, trustMatches } from "./trust-policy.js";

export const BUILDER_ROLE = "cws-ami-builder";
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

const TRUST_POLICY = JSON.stringify(BUILDER_TRUST_POLICY);
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
    checkTrust(roleName, role.trustPolicy);
    options.report(`✅ Role ${roleName} exists, trusted by ec2.amazonaws.com only`);
  } else {
    await iam.createRole(roleName, TRUST_POLICY, "Lets cws AMI build instances register with AWS Systems Manager", tags);
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
    profile = { name: profileName, arn: "", roleNames: [] };
  } else {
    report(`✅ Instance profile ${profileName} exists`);
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
    report(`✅ Added ${roleName} to ${profileName}`);
  }
}

/**
 * A builder role that exists already was perhaps made by someone else, trusting
 * another account: whoever can assume it gets what build instances have. It is
 * used only if its trust policy means what bootstrap's own does (trust-policy.ts).
 */
function checkTrust(roleName: string, trustPolicy: string): void {
  const review = reviewTrustPolicy(trustPolicy);
  if (trustMatches(review)) return;
  const beyond = review.otherPrincipals.length > 0 ? `it also trusts ${review.otherPrincipals.join(", ")}` : undefined;
  const what = [beyond, ...review.differences].filter((part) => part !== undefined).join("; ");
  throw new CwsError("BUILDER_ROLE_TRUST", `role ${roleName} exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): ${what}`, {
    value: roleName,
    suggestion:
      `as an administrator, inspect it with aws iam get-role --role-name ${roleName}; then delete the role (aws iam delete-role, after detaching its policies and removing it from its instance profile) ` +
      `or reset its trust with aws iam update-assume-role-policy --role-name ${roleName} --policy-document '${TRUST_POLICY}', and run cws ami bootstrap again`,
  });
}
