/**
 * Proves docs/iam/cws-cli-policy.json with an independent IAM evaluator
 * (@cloud-copilot/iam-simulate, AGPL, a devDependency used only here): every
 * call the code makes is allowed with the request context AWS sends, and the
 * abuse cases a penetration tester would try with this policy are denied.
 *
 * A call AWS authorizes against several resources (RunInstances: the instance,
 * its volume, network interface, security group, subnet, image; CreateImage:
 * the instance, the new image, its snapshots) is a list of authorizations; it
 * succeeds only if every one is allowed. The resource types and the context
 * keys per resource follow the Service Authorization Reference for EC2, IAM and
 * SSM (the evaluator ships it, and reports a context key it does not accept for
 * that action and resource as ignored: every table row asserts there is none).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/cws-ci`;
const CANONICAL = "099720109477";
const DEBIAN = "136693071363";

const policy: unknown = JSON.parse(readFileSync(join(ROOT, "docs/iam/cws-cli-policy.json"), "utf8"));

type Context = Record<string, string | string[]>;
interface Authorization {
  action: string;
  resource: string;
  context?: Context;
}

// AWS-owned documents and public parameters have ARNs without an account
// (arn:aws:ssm:REGION::document/AWS-RunShellScript); the evaluator finds no
// resource type for an empty account, so the tables give them this account.
// The policy's `arn:aws:ssm:*:*:` matches both.
const ec2 = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;
// Images and snapshots have no account in their ARNs (Service Authorization Reference).
const image = (id: string) => `arn:aws:ec2:${REGION}::image/${id}`;
const snapshot = (id: string) => `arn:aws:ec2:${REGION}::snapshot/${id}`;
const CWS_TAGS = { "cws:managed-by": "cws", "cws:build-id": "b-1", "cws:template": "basic-ubuntu" };
const requestTags = (tags: Record<string, string>): Context => ({
  ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:RequestTag/${key}`, value])),
  "aws:TagKeys": Object.keys(tags),
});
const resourceTags = (tags: Record<string, string>, prefix = "aws:ResourceTag"): Context =>
  Object.fromEntries(Object.entries(tags).map(([key, value]) => [`${prefix}/${key}`, value]));
const BUILDER_PROFILE = `arn:aws:iam::${ACCOUNT}:instance-profile/cws-ami-builder`;
const BUILDER_ROLE = `arn:aws:iam::${ACCOUNT}:role/cws-ami-builder`;

async function decide(authorization: Authorization): Promise<{ allowed: boolean; ignored: string[] }> {
  const result = await runSimulation(
    {
      request: {
        principal: PRINCIPAL,
        action: authorization.action,
        resource: { resource: authorization.resource, accountId: ACCOUNT },
        contextVariables: authorization.context ?? {},
      },
      identityPolicies: [{ name: "cws-cli", policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: "Strict" },
  );
  if (result.resultType === "error") throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
  const ignored = result.resultType === "single" ? (result.result.ignoredContextKeys ?? []) : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
  return { allowed: result.overallResult === "Allowed", ignored };
}

/** The authorizations of one RunInstances call, as EC2 makes them. */
function runInstances(options: { image: Context; instanceTags?: Record<string, string>; volumeTags?: Record<string, string>; profile?: string; securityGroup?: Record<string, string> }): Authorization[] {
  const action = "ec2:RunInstances";
  return [
    { action, resource: image("ami-0base"), context: options.image },
    {
      action,
      resource: ec2("instance", "*"),
      context: { ...requestTags(options.instanceTags ?? CWS_TAGS), ...(options.profile === undefined ? {} : { "ec2:InstanceProfile": options.profile }) },
    },
    { action, resource: ec2("volume", "*"), context: requestTags(options.volumeTags ?? CWS_TAGS) },
    { action, resource: ec2("network-interface", "*") },
    { action, resource: ec2("security-group", "sg-1"), context: resourceTags(options.securityGroup ?? CWS_TAGS) },
    { action, resource: ec2("subnet", "subnet-1") },
  ];
}

/** CreateImage authorizes the instance imaged, the new image and its snapshots. */
function createImage(instanceTags: Record<string, string>, newTags: Record<string, string> = CWS_TAGS): Authorization[] {
  const action = "ec2:CreateImage";
  return [
    { action, resource: ec2("instance", "i-1"), context: resourceTags(instanceTags) },
    { action, resource: image("*"), context: requestTags(newTags) },
    { action, resource: snapshot("*"), context: requestTags(newTags) },
  ];
}

const tagOnCreate = (createAction: string, type: string, id: string): Authorization => ({
  action: "ec2:CreateTags",
  resource: type === "image" ? image(id) : type === "snapshot" ? snapshot(id) : ec2(type, id),
  context: { "ec2:CreateAction": createAction, ...requestTags(CWS_TAGS) },
});

const distribution = (owner: string): Context => ({ "ec2:Owner": owner });
const cwsImage: Context = { "ec2:Owner": ACCOUNT, ...resourceTags(CWS_TAGS) };
const accountImage: Context = { "ec2:Owner": ACCOUNT, ...resourceTags({ team: "payments" }) };

/** Every call the code makes (test/aws/policy.test.ts checks the list of actions is complete). */
const allowedCalls: [string, Authorization[]][] = [
  ["DescribeImages", [{ action: "ec2:DescribeImages", resource: "*" }]],
  ["DescribeInstances", [{ action: "ec2:DescribeInstances", resource: "*" }]],
  ["DescribeSecurityGroups", [{ action: "ec2:DescribeSecurityGroups", resource: "*" }]],
  ["DescribeSnapshots", [{ action: "ec2:DescribeSnapshots", resource: "*" }]],
  ["GetCallerIdentity", [{ action: "sts:GetCallerIdentity", resource: "*" }]],
  ["CreateSecurityGroup tagged cws", [
    { action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags(CWS_TAGS) },
    { action: "ec2:CreateSecurityGroup", resource: ec2("vpc", "vpc-1") },
    tagOnCreate("CreateSecurityGroup", "security-group", "*"),
  ]],
  ["RunInstances from a Canonical image, tagged, with the builder profile", [
    ...runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }),
    tagOnCreate("RunInstances", "instance", "*"),
    tagOnCreate("RunInstances", "volume", "*"),
    { action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
  ]],
  ["RunInstances from a Debian image", runInstances({ image: distribution(DEBIAN), profile: BUILDER_PROFILE })],
  ["RunInstances from an Amazon image", runInstances({ image: distribution("amazon"), profile: BUILDER_PROFILE })],
  ["RunInstances from a cws image (a child template's parent, a validation launch)", runInstances({ image: cwsImage, profile: BUILDER_PROFILE })],
  ["StopInstances of a cws builder", [{ action: "ec2:StopInstances", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS) }]],
  ["TerminateInstances of a cws builder", [{ action: "ec2:TerminateInstances", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS) }]],
  ["CreateImage of a cws builder, tagged", [...createImage(CWS_TAGS), tagOnCreate("CreateImage", "image", "*"), tagOnCreate("CreateImage", "snapshot", "*")]],
  ["CopyImage, tagged", [
    { action: "ec2:CopyImage", resource: image("*"), context: requestTags(CWS_TAGS) },
    { action: "ec2:CopyImage", resource: snapshot("*"), context: requestTags(CWS_TAGS) },
  ]],
  ["CreateTags on a cws image and its snapshots (validated)", [
    { action: "ec2:CreateTags", resource: image("ami-1"), context: { ...resourceTags(CWS_TAGS), ...requestTags({ "cws:validated": "true" }) } },
    { action: "ec2:CreateTags", resource: snapshot("snap-1"), context: { ...resourceTags(CWS_TAGS), ...requestTags({ "cws:validated": "true" }) } },
  ]],
  ["EnableImageDeprecation of a cws image", [{ action: "ec2:EnableImageDeprecation", resource: image("ami-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeregisterImage of a cws image", [{ action: "ec2:DeregisterImage", resource: image("ami-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeleteSnapshot of a cws snapshot", [{ action: "ec2:DeleteSnapshot", resource: snapshot("snap-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeleteSecurityGroup of a cws group", [{ action: "ec2:DeleteSecurityGroup", resource: ec2("security-group", "sg-1"), context: resourceTags(CWS_TAGS) }]],
  ["SendCommand AWS-RunShellScript to a cws instance", [
    { action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript` },
    { action: "ssm:SendCommand", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS, "ssm:resourceTag") },
  ]],
  ["GetCommandInvocation", [{ action: "ssm:GetCommandInvocation", resource: "*" }]],
  ["GetParameter of a public AMI parameter", [{ action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id` }]],
  ["PutParameter under /cloudworkstation/amis/ (--publish-ssm)", [{ action: "ssm:PutParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/cloudworkstation/amis/basic-ubuntu/x86_64` }]],
  ["bootstrap: CreateRole, AttachRolePolicy of the SSM core policy, the instance profile", [
    { action: "iam:CreateRole", resource: BUILDER_ROLE },
    { action: "iam:TagRole", resource: BUILDER_ROLE },
    { action: "iam:AttachRolePolicy", resource: BUILDER_ROLE, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } },
    { action: "iam:CreateInstanceProfile", resource: BUILDER_PROFILE },
    { action: "iam:AddRoleToInstanceProfile", resource: BUILDER_PROFILE },
    { action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
  ]],
];

/** What a holder of the policy must not be able to do; each denied at some authorization. */
const abuseCases: [string, Authorization[]][] = [
  ["image an instance cws did not create (the first step of reading a production disk)", createImage({ team: "payments" })],
  ["image a cws instance without tagging the image", createImage(CWS_TAGS, { team: "payments" })],
  ["launch from an account AMI that is not a cws image", runInstances({ image: accountImage, profile: BUILDER_PROFILE })],
  ["launch from a stranger's public AMI", runInstances({ image: distribution("444455556666"), profile: BUILDER_PROFILE })],
  ["launch without the cws tags on the instance", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instanceTags: { team: "x" } })],
  ["launch without the cws tags on the volume", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volumeTags: { team: "x" } })],
  ["launch with another instance profile", runInstances({ image: distribution(CANONICAL), profile: `arn:aws:iam::${ACCOUNT}:instance-profile/admin` })],
  ["launch into a security group cws did not create", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, securityGroup: { team: "db" } })],
  ["pass another role", [{ action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { "iam:PassedToService": "ec2.amazonaws.com" } }]],
  ["pass the builder role to Lambda", [{ action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "lambda.amazonaws.com" } }]],
  ["attach AdministratorAccess to the builder role", [{ action: "iam:AttachRolePolicy", resource: BUILDER_ROLE, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" } }]],
  ["add another role to the builder profile", [{ action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin` }]],
  ["stop an instance cws did not create", [{ action: "ec2:StopInstances", resource: ec2("instance", "i-prod"), context: resourceTags({ team: "payments" }) }]],
  ["terminate an instance cws did not create", [{ action: "ec2:TerminateInstances", resource: ec2("instance", "i-prod"), context: resourceTags({ team: "payments" }) }]],
  ["SendCommand to an instance cws did not create", [{ action: "ssm:SendCommand", resource: ec2("instance", "i-prod"), context: resourceTags({ team: "payments" }, "ssm:resourceTag") }]],
  ["SendCommand with another document", [{ action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunPowerShellScript` }]],
  ["tag an instance cws did not create as cws (to unlock SendCommand)", [
    { action: "ec2:CreateTags", resource: ec2("instance", "i-prod"), context: { ...resourceTags({ team: "payments" }), ...requestTags({ "cws:managed-by": "cws" }) } },
  ]],
  ["tag an account AMI as cws (to unlock RunInstances)", [
    { action: "ec2:CreateTags", resource: image("ami-prod"), context: { ...resourceTags({ team: "payments" }), ...requestTags({ "cws:managed-by": "cws" }) } },
  ]],
  ["create an untagged security group", [{ action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags({ team: "x" }) }]],
  ["delete a security group cws did not create", [{ action: "ec2:DeleteSecurityGroup", resource: ec2("security-group", "sg-db"), context: resourceTags({ team: "db" }) }]],
  ["deregister an image cws did not create", [{ action: "ec2:DeregisterImage", resource: image("ami-prod"), context: resourceTags({ team: "payments" }) }]],
  ["delete a snapshot cws did not create", [{ action: "ec2:DeleteSnapshot", resource: snapshot("snap-prod"), context: resourceTags({ team: "payments" }) }]],
  ["deprecate an image cws did not create", [{ action: "ec2:EnableImageDeprecation", resource: image("ami-prod"), context: resourceTags({ team: "payments" }) }]],
  ["copy an image without tagging the copy", [{ action: "ec2:CopyImage", resource: image("*"), context: requestTags({ team: "x" }) }]],
  ["write an SSM parameter outside /cloudworkstation/amis/", [{ action: "ssm:PutParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db-password` }]],
  ["read an SSM parameter outside the public and cws trees", [{ action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db-password` }]],
  ["create another role", [{ action: "iam:CreateRole", resource: `arn:aws:iam::${ACCOUNT}:role/backdoor` }]],
];

describe("docs/iam/cws-cli-policy.json under an IAM policy evaluator", () => {
  it.each(allowedCalls)("allows %s", async (_name, authorizations) => {
    for (const authorization of authorizations) {
      const { allowed, ignored } = await decide(authorization);
      expect(ignored, `${authorization.action} ${authorization.resource}: context keys AWS would not send`).toEqual([]);
      expect(allowed, `${authorization.action} on ${authorization.resource}`).toBe(true);
    }
  });

  it.each(abuseCases)("denies: %s", async (_name, authorizations) => {
    const decisions = await Promise.all(authorizations.map(decide));
    for (const [i, { ignored }] of decisions.entries()) expect(ignored, `${authorizations[i]?.action}: context keys AWS would not send`).toEqual([]);
    expect(decisions.some((d) => !d.allowed)).toBe(true);
  });
});
