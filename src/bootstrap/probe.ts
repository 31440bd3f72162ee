/**
 * Bootstrap's last step: wait until EC2 accepts the new instance profile (IAM
 * is eventually consistent, and a build started right after creating one
 * would fail with "Invalid IAM Instance Profile name"), by asking EC2 itself
 * with a dry-run launch, as a build would launch.
 *
 * The IAM policy (docs/iam/cws-cli-policy.json) lets `RunInstances` use only
 * security groups tagged cws:managed-by=cws; without one EC2 judges the VPC's
 * default group and denies the dry run. So the check launches into a cws group
 * of the default VPC: one that exists, else a short-lived one of bootstrap's
 * own, deleted when the wait ends however it ends (as a build step's cleanup).
 */
import { isAwsError, type AwsPorts, type Ec2Port, type SecurityGroupInfo, type SubnetInfo } from "../aws/ports.js";
import { baseImageParameter } from "../builder/base-images.js";
import { bootstrapBuildId } from "../builder/context.js";
import { waitFor, WaitTimeoutError, type PollSettings } from "../builder/poll.js";
import { InterruptedError } from "../builder/runner.js";
import { deleteSecurityGroupWhenFree } from "../builder/steps/security-group.js";
import { CwsError, EXIT } from "../errors.js";
import { ownValue } from "../own-keys.js";

const MANAGED = { "cws:managed-by": "cws" } as const;

export interface ProbeOptions {
  region: string;
  instanceProfile: string;
  poll: PollSettings;
  signal?: AbortSignal | undefined;
  report: (line: string) => void;
}

/** How the wait ended: EC2 accepts the profile, or it could not be asked (and why). */
export type ProbeOutcome = { accepted: true; waitedSeconds: number } | { accepted: false; why: string };

/** A security group of the default VPC that the dry run launches into; `created` when bootstrap made it (and must delete it). */
interface ProbeGroup {
  groupId: string;
  created: boolean;
}

/** The dry run's network: a default subnet of the default VPC. */
async function probeSubnet(ec2: Ec2Port, signal: AbortSignal | undefined): Promise<SubnetInfo | undefined> {
  const vpcId = await ec2.defaultVpcId({ signal });
  if (vpcId === undefined) return undefined;
  const subnets = await ec2.describeSubnets({ vpcId, defaultForAz: true }, { signal });
  return subnets.sort((a, b) => b.availableIpAddressCount - a.availableIpAddressCount)[0];
}

/** A cws group of this VPC, any (a dry run changes nothing in it); undefined when there is none. */
async function existingCwsGroup(ec2: Ec2Port, vpcId: string): Promise<SecurityGroupInfo | undefined> {
  const groups = await ec2.describeSecurityGroups({ tags: MANAGED });
  // The filter asked for the tag; checked again, so that only a cws group is ever used.
  return groups.find((group) => group.vpcId === vpcId && ownValue(group.tags, "cws:managed-by") === "cws");
}

/**
 * Waits (up to 3 minutes) until a dry-run launch with the profile is accepted.
 * Throws a CwsError when the caller's permissions deny it or the wait times
 * out, and InterruptedError (builder/runner.ts) on the stop signal; the group
 * it created is deleted first in every case.
 */
export async function waitUntilEc2AcceptsProfile(aws: AwsPorts, options: ProbeOptions): Promise<ProbeOutcome> {
  const { region, instanceProfile, report, signal } = options;
  const imageId = await aws.ssm(region).getParameter(baseImageParameter("ubuntu-22.04-lts", "x86_64"));
  if (imageId === undefined) return { accepted: false, why: `the Ubuntu 22.04 image parameter it launches from is not readable in ${region}` };
  const ec2 = aws.ec2(region);
  const subnet = await probeSubnet(ec2, signal).catch((error: unknown) => denied(error, options));
  if (subnet === undefined) return { accepted: false, why: `${region} has no default VPC with a default subnet to try a launch in` };

  const started = Date.now();
  const buildId = bootstrapBuildId(new Date(started));
  // What a build's launch carries (the policy requires both at creation), though a dry run creates nothing.
  const tags = { ...MANAGED, "cws:build-id": buildId };
  let group: ProbeGroup | undefined;
  let created: string | undefined;
  let attempt = 0;

  const useGroup = async (): Promise<ProbeGroup> => {
    // Stopped before the first look: nothing to make.
    if (signal?.aborted) throw new InterruptedError(signal);
    const existing = await existingCwsGroup(ec2, subnet.vpcId);
    if (existing) {
      report(`   Trying a launch into cws security group ${existing.groupId} of ${subnet.vpcId} (DryRun: nothing is launched)`);
      return { groupId: existing.groupId, created: false };
    }
    const name = `cws-${buildId}`;
    created = await ec2.createSecurityGroup({
      name,
      description: `cws ami bootstrap ${buildId}: a dry-run launch into it checks that EC2 accepts the instance profile (no inbound rules; deleted when bootstrap ends)`,
      vpcId: subnet.vpcId,
      tags: { Name: name, ...tags, "cws:purpose": "bootstrap" },
    });
    report(`   Created security group ${created} in ${subnet.vpcId} to try a launch into (DryRun: nothing is launched; no inbound rules; deleted when done)`);
    return { groupId: created, created: true };
  };

  try {
    await waitFor(
      `EC2 in ${region} to accept instance profile ${instanceProfile}`,
      async () => {
        group ??= await useGroup();
        try {
          await ec2.runInstance({
            imageId,
            instanceType: "t3.micro",
            subnetId: subnet.subnetId,
            securityGroupIds: [group.groupId],
            instanceProfileName: instanceProfile,
            rootDeviceName: "/dev/sda1",
            volumeSizeGb: undefined,
            tags,
            clientToken: `${buildId}-${++attempt}`,
            dryRun: true,
          });
          return { done: true, value: undefined };
        } catch (error) {
          if (isAwsError(error, "DryRunOperation")) return { done: true, value: undefined };
          if (isAwsError(error, "InvalidParameterValue")) return { done: false, seen: "not propagated yet" };
          // A build's group, deleted by its cleanup meanwhile: take another (or make one) next time.
          if (isAwsError(error, "InvalidGroup.NotFound") && !group.created) {
            group = undefined;
            return { done: false, seen: "the security group went away" };
          }
          throw error;
        }
      },
      { plan: { firstMs: 0, intervalMs: 2_000, factor: 1.5, maxMs: 10_000 }, settings: options.poll, timeoutMs: 3 * 60_000, lookFirst: true, ...(signal ? { signal } : {}) },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new CwsError("PROFILE_NOT_ACCEPTED", `EC2 in ${region} did not accept instance profile ${instanceProfile} within ${Math.round(error.waitedSeconds)} seconds (${error.lastSeen ?? "no answer"})`, {
        value: instanceProfile,
        suggestion: "IAM now and then takes longer to reach EC2: run cws ami bootstrap again in a few minutes (it changes nothing that is in place, and waits again)",
        exitCode: EXIT.failed,
        cause: error,
      });
    }
    denied(error, options);
  } finally {
    if (created !== undefined) await removeProbeGroup(ec2, created, buildId, options);
  }
  return { accepted: true, waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
}

/**
 * The probe's calls denied by the caller's policy, as advice (EC2 says
 * UnauthorizedOperation, with the action in the message when it names it);
 * anything else as it came.
 */
function denied(error: unknown, options: ProbeOptions): never {
  if (!isAwsError(error, "UnauthorizedOperation", "AccessDenied")) throw error;
  const action = /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(error.message)?.[1] ?? `ec2:${error.action}`;
  throw new CwsError("BOOTSTRAP_DENIED", `AWS denied ${action} to bootstrap's check that EC2 in ${options.region} accepts instance profile ${options.instanceProfile} (a dry-run launch into a cws security group)`, {
    value: action,
    suggestion:
      "run bootstrap with the people's policy, docs/iam/cws-cli-policy.json (current version), or as an administrator; the pipeline's docs/iam/cws-ci-policy.json is not meant for bootstrap. " +
      "If the identity has that policy, something else denies it, whatever the policy allows: an explicit Deny statement (such as docs/iam/examples/deny-other-vpcs.json), a permissions boundary or an SCP. " +
      "The check is a dry-run launch into a default subnet of the default VPC, so one that keeps launches in another VPC refuses it: run bootstrap as an identity it does not cover, or let it allow the default VPC",
    exitCode: EXIT.usage,
    cause: error,
  });
}

/** Deletes bootstrap's own group; a failure is said (with the command that removes it), not thrown: bootstrap's work is done. */
async function removeProbeGroup(ec2: Ec2Port, groupId: string, buildId: string, options: ProbeOptions): Promise<void> {
  try {
    await deleteSecurityGroupWhenFree(ec2, groupId, options.poll);
    options.report(`   Deleted security group ${groupId}`);
  } catch (error) {
    options.report(
      [
        `⚠️  Could not delete security group ${groupId} (bootstrap's, for the check): ${error instanceof Error ? error.message : String(error)}`,
        `   remove it with: aws ec2 delete-security-group --group-id ${groupId} --region ${options.region}`,
        `   (cws ami reap finds it too: tagged cws:build-id=${buildId})`,
      ].join("\n"),
    );
  }
}
