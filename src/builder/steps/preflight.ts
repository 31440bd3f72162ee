import { isAwsError, type CallOptions, type IamPort, type SubnetInfo } from "../../aws/ports.js";
import { checkBuilderRoleTrust } from "../../bootstrap/trust-policy.js";
import { PreflightFailure, type BuildContext, type PipelineStep } from "../context.js";

/**
 * Credentials, the instance profile and a usable subnet, before anything is
 * created. Its calls only read, so a stop signal abandons them at once (an
 * endpoint that does not answer would otherwise hold Ctrl-C for minutes).
 */
export const preflight: PipelineStep = {
  id: "preflight",
  title: "Checking credentials, instance profile and network",
  describe: ({ request }) => ({
    run: `Preflight: credentials (sts:GetCallerIdentity), instance profile ${request.instanceProfile} (its role trusted by EC2 alone), ${request.subnetId ? `subnet ${request.subnetId}` : "a default subnet of the default VPC"}`,
  }),
  async run(ctx, signal) {
    const call = { signal };
    ctx.identity = await ctx.sts.callerIdentity(call);
    const profileName = ctx.request.instanceProfile;
    await checkInstanceProfile(ctx.iam, profileName, ctx.identity.account, call);
    ctx.subnets = await chooseSubnets(ctx, call);
    const first = ctx.subnets[0]!;
    return `Account ${ctx.identity.account}, instance profile ${profileName}, subnet ${first.subnetId} (${first.availabilityZone})`;
  },
};

async function chooseSubnets(ctx: BuildContext, call: CallOptions): Promise<SubnetInfo[]> {
  const { subnetId, subnetFrom, region } = ctx.request;
  if (subnetId !== undefined) {
    // EC2 answers an id it does not know with an error rather than an empty list.
    const [subnet] = await ctx.ec2.describeSubnets({ subnetIds: [subnetId] }, call).catch((error: unknown) => {
      if (isAwsError(error, "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed")) return [];
      throw error;
    });
    const from = subnetFrom ?? "--subnet";
    if (!subnet) {
      throw new PreflightFailure(
        `subnet ${subnetId} (from ${from}) does not exist in ${region}`,
        `set ${from} to a subnet of ${region} (aws ec2 describe-subnets --region ${region} lists them), or leave it out to use a default subnet of the default VPC`,
      );
    }
    if (subnet.availableIpAddressCount === 0) {
      throw new PreflightFailure(`subnet ${subnetId} (from ${from}) has no free IP addresses`, `set ${from} to another subnet, or leave it out to use a default subnet`);
    }
    return [subnet];
  }
  const vpcId = await ctx.ec2.defaultVpcId(call);
  if (!vpcId) {
    throw new PreflightFailure(
      `${region} has no default VPC`,
      "pass --subnet subnet-… (a subnet with a route to the internet or to SSM VPC endpoints)",
    );
  }
  const subnets = (await ctx.ec2.describeSubnets({ vpcId, defaultForAz: true }, call)).filter((s) => s.availableIpAddressCount > 0);
  if (subnets.length === 0) {
    throw new PreflightFailure(`the default VPC ${vpcId} in ${region} has no default subnet with free addresses`, "pass --subnet subnet-…");
  }
  // Most free addresses first; the others are fallbacks when a zone lacks capacity.
  return subnets.sort((a, b) => b.availableIpAddressCount - a.availableIpAddressCount || a.availabilityZone.localeCompare(b.availabilityZone));
}

/**
 * The instance profile the build instance is launched with exists and has a
 * role (without one the SSM agent cannot authenticate) that EC2 alone may
 * assume, or an error saying what to do: a PreflightFailure, or bootstrap's
 * BUILDER_ROLE_TRUST for a role that trusts anyone else (planted before
 * bootstrap, say: every build would hand that someone the builder's rights).
 * GetInstanceProfile answers each role with its trust policy, so this needs
 * no iam:GetRole. build-all checks it once before any target, with this.
 */
export async function checkInstanceProfile(iam: IamPort, profileName: string, account: string, call: CallOptions = {}): Promise<void> {
  const profile = await iam.getInstanceProfile(profileName, call);
  if (!profile) {
    throw new PreflightFailure(
      `instance profile ${profileName} does not exist in account ${account}`,
      "run `cws ami bootstrap` to create it (once per account), or pass --instance-profile NAME",
    );
  }
  if (profile.roles.length === 0) {
    throw new PreflightFailure(
      `instance profile ${profileName} has no role, so the SSM agent could not authenticate`,
      "run `cws ami bootstrap` to attach the cws-ami-builder role",
    );
  }
  for (const role of profile.roles) checkBuilderRoleTrust(role.name, role.trustPolicy);
}
