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
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { decide as decideFor, readPolicy, type Authorization, type Context } from "../helpers/iam-evaluator.js";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/cws-ci`;
const CANONICAL = "099720109477";
const DEBIAN = "136693071363";

const CLI_POLICY = readPolicy("docs/iam/cws-cli-policy.json");
const CI_POLICY = readPolicy("docs/iam/cws-ci-policy.json");
const NO_LAUNCH_FROM_COPIES = readPolicy("docs/iam/cws-deny-launch-from-copies.json");

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

const decide = (authorization: Authorization, policies: unknown[] = [CLI_POLICY]) => decideFor(authorization, policies, PRINCIPAL);

/** What the CLI sends on every launch (src/aws/ec2.ts runInstance): IMDSv2 only, an encrypted gp3 root volume. */
const LAUNCH_SHAPE = { instance: { "ec2:MetadataHttpTokens": "required", "ec2:Tenancy": "default", "ec2:InstanceType": "t3.medium" }, volume: { "ec2:VolumeType": "gp3", "ec2:Encrypted": "true", "ec2:VolumeSize": "30", "ec2:VolumeIops": "3000", "ec2:VolumeThroughput": "125" } };

/** The authorizations of one RunInstances call, as EC2 makes them. */
function runInstances(options: {
  image: Context;
  instanceTags?: Record<string, string>;
  volumeTags?: Record<string, string>;
  profile?: string;
  securityGroup?: Record<string, string>;
  instance?: Context;
  volume?: Context;
}): Authorization[] {
  const action = "ec2:RunInstances";
  return [
    { action, resource: image("ami-0base"), context: options.image },
    {
      action,
      resource: ec2("instance", "*"),
      context: {
        ...requestTags(options.instanceTags ?? CWS_TAGS),
        ...(options.profile === undefined ? {} : { "ec2:InstanceProfile": options.profile }),
        ...LAUNCH_SHAPE.instance,
        ...options.instance,
      },
    },
    { action, resource: ec2("volume", "*"), context: { ...requestTags(options.volumeTags ?? CWS_TAGS), ...LAUNCH_SHAPE.volume, ...options.volume } },
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

const cwsCopy = (source: string): Context => ({ "ec2:Owner": ACCOUNT, ...resourceTags({ ...CWS_TAGS, "cws:copied-from": source }) });
const COPY_TAGS = { ...CWS_TAGS, "cws:copied-from": "us-east-1/ami-0source" };
/**
 * Since October 2024 EC2 also authorizes CopyImage against the source image,
 * which offers `ec2:Owner` (and `ec2:ImageID`), not tags. Modelled without the
 * request's tags, as EC2 does for the image of RunInstances; were they there,
 * the source would match CopiesTaggedCwsAndMarkedAsCopies instead.
 */
const copyImage = (tags: Record<string, string>, sourceOwner: string = ACCOUNT): Authorization[] => [
  { action: "ec2:CopyImage", resource: "arn:aws:ec2:us-west-2::image/ami-0source", context: { "ec2:Owner": sourceOwner } },
  { action: "ec2:CopyImage", resource: image("*"), context: requestTags(tags) },
  { action: "ec2:CopyImage", resource: snapshot("*"), context: requestTags(tags) },
];
const notGranted = (action: string, resource: string): Authorization[] => [{ action, resource }];

/** Every call the code makes outside bootstrap (test/aws/policy.test.ts checks the list of actions is complete). */
const buildCalls: [string, Authorization[]][] = [
  ["DescribeImages", [{ action: "ec2:DescribeImages", resource: "*" }]],
  ["DescribeInstances", [{ action: "ec2:DescribeInstances", resource: "*" }]],
  ["DescribeSecurityGroups", [{ action: "ec2:DescribeSecurityGroups", resource: "*" }]],
  ["DescribeSnapshots", [{ action: "ec2:DescribeSnapshots", resource: "*" }]],
  ["DescribeLaunchTemplates", [{ action: "ec2:DescribeLaunchTemplates", resource: "*" }]],
  ["DescribeInstanceInformation", [{ action: "ssm:DescribeInstanceInformation", resource: "*" }]],
  ["GetCallerIdentity", [{ action: "sts:GetCallerIdentity", resource: "*" }]],
  ["GetInstanceProfile of the builder's (preflight)", [{ action: "iam:GetInstanceProfile", resource: BUILDER_PROFILE }]],
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
  ["RunInstances from an Amazon Linux image (owner alias amazon)", runInstances({ image: distribution("amazon"), profile: BUILDER_PROFILE })],
  ["RunInstances from an Amazon Linux image (owner 137112412989)", runInstances({ image: distribution("137112412989"), profile: BUILDER_PROFILE })],
  ["RunInstances from a cws image (a child template's parent, a validation launch)", runInstances({ image: cwsImage, profile: BUILDER_PROFILE })],
  ["RunInstances from a cws copy (validate in a copy's region)", runInstances({ image: cwsCopy("us-east-1/ami-1"), profile: BUILDER_PROFILE })],
  ["StopInstances of a cws builder", [{ action: "ec2:StopInstances", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS) }]],
  ["TerminateInstances of a cws builder", [{ action: "ec2:TerminateInstances", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS) }]],
  ["CreateImage of a cws builder, tagged", [...createImage(CWS_TAGS), tagOnCreate("CreateImage", "image", "*"), tagOnCreate("CreateImage", "snapshot", "*")]],
  ["CopyImage, tagged cws and marked cws:copied-from", [...copyImage(COPY_TAGS), tagOnCreate("CopyImage", "image", "*"), tagOnCreate("CopyImage", "snapshot", "*")]],
  ["CreateTags: the validation verdict on a cws image and its snapshots", [
    { action: "ec2:CreateTags", resource: image("ami-1"), context: { ...resourceTags(CWS_TAGS), ...requestTags({ "cws:validated": "true", "cws:validated-at": "2026-11-28T00:00:00Z" }) } },
    { action: "ec2:CreateTags", resource: snapshot("snap-1"), context: { ...resourceTags(CWS_TAGS), ...requestTags({ "cws:validated": "false" }) } },
  ]],
  ["EnableImageDeprecation of a cws image", [{ action: "ec2:EnableImageDeprecation", resource: image("ami-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeregisterImage of a cws image", [{ action: "ec2:DeregisterImage", resource: image("ami-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeleteSnapshot of a cws snapshot", [{ action: "ec2:DeleteSnapshot", resource: snapshot("snap-1"), context: resourceTags(CWS_TAGS) }]],
  ["DeleteSecurityGroup of a cws group", [{ action: "ec2:DeleteSecurityGroup", resource: ec2("security-group", "sg-1"), context: resourceTags(CWS_TAGS) }]],
  ["SendCommand AWS-RunShellScript to a cws instance", [
    { action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript` },
    { action: "ssm:SendCommand", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS, "ssm:resourceTag") },
  ]],
  ["GetCommandInvocation, CancelCommand", [{ action: "ssm:GetCommandInvocation", resource: "*" }, { action: "ssm:CancelCommand", resource: "*" }]],
  ["GetParameter of a public AMI parameter", [{ action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id` }]],
  ["GetParameter, PutParameter under /cloudworkstation/amis/ (--publish-ssm)", [
    { action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/cloudworkstation/amis/basic-ubuntu/x86_64` },
    { action: "ssm:PutParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/cloudworkstation/amis/basic-ubuntu/x86_64` },
  ]],
];

/** `cws ami bootstrap`: the CLI policy only. */
const bootstrapCalls: [string, Authorization[]][] = [
  ["bootstrap: GetRole, CreateRole and TagRole with the cws tag", [
    { action: "iam:GetRole", resource: BUILDER_ROLE },
    { action: "iam:ListAttachedRolePolicies", resource: BUILDER_ROLE },
    { action: "iam:CreateRole", resource: BUILDER_ROLE, context: requestTags({ "cws:managed-by": "cws" }) },
    { action: "iam:TagRole", resource: BUILDER_ROLE, context: requestTags({ "cws:managed-by": "cws" }) },
  ]],
  ["bootstrap: AttachRolePolicy of the SSM core policy", [
    { action: "iam:AttachRolePolicy", resource: BUILDER_ROLE, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } },
  ]],
  ["bootstrap: the instance profile, tagged, holding the builder role", [
    { action: "iam:CreateInstanceProfile", resource: BUILDER_PROFILE, context: requestTags({ "cws:managed-by": "cws" }) },
    { action: "iam:TagInstanceProfile", resource: BUILDER_PROFILE, context: requestTags({ "cws:managed-by": "cws" }) },
    { action: "iam:AddRoleToInstanceProfile", resource: BUILDER_PROFILE },
    { action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
    // Whether AddRoleToInstanceProfile's PassRole check names a service, AWS does not say.
    { action: "iam:PassRole", resource: BUILDER_ROLE },
  ]],
];

const PROD = { team: "payments" };
const param = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

/** What a holder of either policy must not be able to do; each denied at some authorization. */
const abuseCases: [string, Authorization[]][] = [
  // Reading another instance's disk: the chain of the issue, denied at its first step.
  ["image an instance cws did not create (the first step of reading a production disk)", createImage(PROD)],
  ["image a cws instance without tagging the image", createImage(CWS_TAGS, PROD)],
  ["launch from an account AMI that is not a cws image", runInstances({ image: accountImage, profile: BUILDER_PROFILE })],
  ["launch from a stranger's public AMI", runInstances({ image: distribution("444455556666"), profile: BUILDER_PROFILE })],
  ["launch with an extra volume from a snapshot cws did not create", [
    ...runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }),
    { action: "ec2:RunInstances", resource: snapshot("snap-prod"), context: { "ec2:Owner": ACCOUNT, ...resourceTags(PROD) } },
  ]],
  ["create a volume from a cws snapshot", notGranted("ec2:CreateVolume", snapshot("snap-1"))],
  ["share a cws image with another account or the public", notGranted("ec2:ModifyImageAttribute", image("ami-1"))],
  ["share a cws snapshot", notGranted("ec2:ModifySnapshotAttribute", snapshot("snap-1"))],
  ["export a cws image to S3", notGranted("ec2:CreateStoreImageTask", image("ami-1"))],
  ["read a production instance's console output", notGranted("ec2:GetConsoleOutput", ec2("instance", "i-prod"))],
  // Launching outside the builder's shape.
  ["launch without the cws tags on the instance", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instanceTags: { team: "x" } })],
  ["launch without the cws tags on the volume", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volumeTags: { team: "x" } })],
  ["launch with another instance profile", runInstances({ image: distribution(CANONICAL), profile: `arn:aws:iam::${ACCOUNT}:instance-profile/admin` })],
  ["launch with no instance profile", runInstances({ image: distribution(CANONICAL) })],
  ["launch into a security group cws did not create", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, securityGroup: { team: "db" } })],
  ["launch from a launch template", [...runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }), { action: "ec2:RunInstances", resource: ec2("launch-template", "lt-1") }]],
  ["launch with an SSH key pair", [...runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }), { action: "ec2:RunInstances", resource: ec2("key-pair", "admin") }]],
  ["launch with IMDSv1 allowed", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instance: { "ec2:MetadataHttpTokens": "optional" } })],
  ["launch on dedicated tenancy", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instance: { "ec2:Tenancy": "dedicated" } })],
  ["launch with an unencrypted volume", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volume: { "ec2:Encrypted": "false" } })],
  ["launch with a provisioned-IOPS io2 volume", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volume: { "ec2:VolumeType": "io2" } })],
  ["launch with a 64 TiB volume", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volume: { "ec2:VolumeSize": "65536" } })],
  ["launch with a volume of 80,000 IOPS", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volume: { "ec2:VolumeIops": "80000" } })],
  ["launch with a volume of 2,000 MiB/s", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, volume: { "ec2:VolumeThroughput": "2000" } })],
  ["launch tagged both cws:managed-by=x and CWS:MANAGED-BY=cws (case twins: which one IAM reads is not documented)", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instanceTags: { "cws:managed-by": "x", "cws:build-id": "b-1", "CWS:MANAGED-BY": "cws" } })],
  ["create a cws security group with a case twin of a cws key", [{ action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags({ ...CWS_TAGS, "cws:Template": "x" }) }]],
  ["launch tagged CWS:MANAGED-BY=cws (IAM ignores a key's case; reap and cleanup do not)", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instanceTags: { "CWS:MANAGED-BY": "cws", "cws:build-id": "b-1" } })],
  ["launch tagged cws without cws:build-id (a builder reap never sees)", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instanceTags: { "cws:managed-by": "cws" } })],
  ["create a cws security group without cws:build-id", [{ action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags({ "cws:managed-by": "cws" }) }]],
  ["image a cws instance into an image without cws:build-id", createImage(CWS_TAGS, { "cws:managed-by": "cws" })],
  ["give a cws instance another instance profile after launch", notGranted("ec2:ReplaceIamInstanceProfileAssociation", ec2("instance", "i-1"))],
  ["change a cws instance's user data", notGranted("ec2:ModifyInstanceAttribute", ec2("instance", "i-1"))],
  ["open an inbound port on a cws security group", [
    { action: "ec2:AuthorizeSecurityGroupIngress", resource: ec2("security-group", "sg-1"), context: resourceTags(CWS_TAGS) },
  ]],
  // IAM: the builder role and profile.
  ["pass another role", [{ action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { "iam:PassedToService": "ec2.amazonaws.com" } }]],
  ["pass the builder role to Lambda", [{ action: "iam:PassRole", resource: BUILDER_ROLE, context: { "iam:PassedToService": "lambda.amazonaws.com" } }]],
  ["put another role into the builder profile (AWS checks PassRole on it)", [
    { action: "iam:AddRoleToInstanceProfile", resource: BUILDER_PROFILE },
    { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin` },
  ]],
  ["attach AdministratorAccess to the builder role", [{ action: "iam:AttachRolePolicy", resource: BUILDER_ROLE, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" } }]],
  ["attach the SSM core policy to another role", [{ action: "iam:AttachRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } }]],
  ["put an inline policy on the builder role", notGranted("iam:PutRolePolicy", BUILDER_ROLE)],
  ["change whom the builder role trusts", notGranted("iam:UpdateAssumeRolePolicy", BUILDER_ROLE)],
  ["tag the builder role with another key (a tag other policies may trust)", [{ action: "iam:TagRole", resource: BUILDER_ROLE, context: requestTags({ team: "admin" }) }]],
  ["create another role", [{ action: "iam:CreateRole", resource: `arn:aws:iam::${ACCOUNT}:role/backdoor`, context: requestTags({ "cws:managed-by": "cws" }) }]],
  // Instances, images, snapshots and groups cws did not create.
  ["stop an instance cws did not create", [{ action: "ec2:StopInstances", resource: ec2("instance", "i-prod"), context: resourceTags(PROD) }]],
  ["terminate an instance cws did not create", [{ action: "ec2:TerminateInstances", resource: ec2("instance", "i-prod"), context: resourceTags(PROD) }]],
  ["SendCommand to an instance cws did not create", [{ action: "ssm:SendCommand", resource: ec2("instance", "i-prod"), context: resourceTags(PROD, "ssm:resourceTag") }]],
  ["SendCommand to an on-premises managed node tagged cws", [{ action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:managed-instance/mi-1`, context: resourceTags(CWS_TAGS, "ssm:resourceTag") }]],
  ["SendCommand with another document", [{ action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunPowerShellScript` }]],
  ["start a Session Manager session on a cws instance", notGranted("ssm:StartSession", ec2("instance", "i-1"))],
  ["tag an instance cws did not create as cws (to unlock SendCommand)", [
    { action: "ec2:CreateTags", resource: ec2("instance", "i-prod"), context: { ...resourceTags(PROD), ...requestTags({ "cws:managed-by": "cws" }) } },
  ]],
  ["tag an account AMI as cws (to unlock RunInstances)", [
    { action: "ec2:CreateTags", resource: image("ami-prod"), context: { ...resourceTags(PROD), ...requestTags({ "cws:managed-by": "cws" }) } },
  ]],
  ["tag a cws image with a key other than the validation verdict", [
    { action: "ec2:CreateTags", resource: image("ami-1"), context: { ...resourceTags(CWS_TAGS), ...requestTags({ team: "payments" }) } },
  ]],
  ["retag a cws copy so it no longer says it is a copy", [
    { action: "ec2:CreateTags", resource: image("ami-copy"), context: { ...resourceTags(COPY_TAGS), ...requestTags({ "cws:copied-from": "" }) } },
  ]],
  ["create an untagged security group", [{ action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags({ team: "x" }) }]],
  ["delete a security group cws did not create", [{ action: "ec2:DeleteSecurityGroup", resource: ec2("security-group", "sg-db"), context: resourceTags({ team: "db" }) }]],
  ["deregister an image cws did not create", [{ action: "ec2:DeregisterImage", resource: image("ami-prod"), context: resourceTags(PROD) }]],
  ["delete a snapshot cws did not create", [{ action: "ec2:DeleteSnapshot", resource: snapshot("snap-prod"), context: resourceTags(PROD) }]],
  ["deprecate an image cws did not create", [{ action: "ec2:EnableImageDeprecation", resource: image("ami-prod"), context: resourceTags(PROD) }]],
  ["copy a stranger's public AMI (a backdoored image) as a cws copy", copyImage(COPY_TAGS, "444455556666")],
  ["copy a stranger's public AMI even if EC2 sends the request's tags with the source", [
    { action: "ec2:CopyImage", resource: "arn:aws:ec2:us-west-2::image/ami-0stranger", context: { "ec2:Owner": "444455556666", ...requestTags(COPY_TAGS) } },
    ...copyImage(COPY_TAGS).slice(1),
  ]],
  ["copy an image without tagging the copy", copyImage({ team: "x" })],
  ["copy an image tagged cws but not marked as a copy", copyImage(CWS_TAGS)],
  // SSM parameters.
  ["write an SSM parameter outside /cloudworkstation/amis/", [{ action: "ssm:PutParameter", resource: param("/prod/db-password") }]],
  ["write an SSM parameter beside the cws tree (/cloudworkstation/amis-x/)", [{ action: "ssm:PutParameter", resource: param("/cloudworkstation/amis-x/evil") }]],
  ["publish an AMI parameter that SSM deletes later (a parameter policy)", [
    { action: "ssm:PutParameter", resource: param("/cloudworkstation/amis/basic-ubuntu/us-east-1/x86_64"), context: { "ssm:Policies": '[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2026-12-01T00:00:00.000Z"}}]' } },
  ]],
  ["read an SSM parameter outside the public and cws trees", [{ action: "ssm:GetParameter", resource: param("/prod/db-password") }]],
  ["delete the cws parameters", notGranted("ssm:DeleteParameter", param("/cloudworkstation/amis/basic-ubuntu/x86_64"))],
];

/**
 * What the policies still allow that a reviewer should know, each explained in
 * docs/iam/README.md's "What it still allows" (the name is its row there).
 * Asserted allowed, so that a change of policy or evaluator updates the page.
 */
const residualRisks: [string, Authorization[]][] = [
  ["copy any image the account can see, as a cws copy, and launch the copy", [
    ...copyImage({ ...CWS_TAGS, "cws:copied-from": "us-east-1/ami-prod" }),
    ...runInstances({ image: cwsCopy("us-east-1/ami-prod"), profile: BUILDER_PROFILE }),
  ]],
  ["attach an existing network interface at launch", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE })],
  ["launch into any subnet", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE })],
  ["read or cancel any Run Command invocation", [{ action: "ssm:GetCommandInvocation", resource: "*" }, { action: "ssm:CancelCommand", resource: "*" }]],
  ["run any command on a builder it launched, with the builder role's rights", [
    ...runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }),
    { action: "ssm:SendCommand", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript` },
    { action: "ssm:SendCommand", resource: ec2("instance", "i-1"), context: resourceTags(CWS_TAGS, "ssm:resourceTag") },
  ]],
  ["plant an image the pipeline adopts as up to date", [
    ...createImage(CWS_TAGS, { ...CWS_TAGS, "cws:template": "basic-ubuntu", "cws:arch": "x86_64", "cws:content-hash": "forged", "cws:validated": "true" }),
  ]],
  ["repoint a published AMI parameter", [{ action: "ssm:PutParameter", resource: param("/cloudworkstation/amis/basic-ubuntu/us-east-1/x86_64") }]],
  ["command, image or terminate another holder's running build", [
    { action: "ssm:SendCommand", resource: ec2("instance", "i-pipeline"), context: resourceTags(CWS_TAGS, "ssm:resourceTag") },
    ...createImage(CWS_TAGS),
    { action: "ec2:TerminateInstances", resource: ec2("instance", "i-pipeline"), context: resourceTags(CWS_TAGS) },
  ]],
  ["run up cost with many or large builders", runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE, instance: { "ec2:InstanceType": "p5.48xlarge" } })],
  ["read every launch template's user data", [{ action: "ec2:DescribeLaunchTemplateVersions", resource: "*" }]],
  ["before bootstrap, create the builder role with any trust policy (people's policy only)", [
    { action: "iam:CreateRole", resource: BUILDER_ROLE, context: requestTags({ "cws:managed-by": "cws" }) },
  ]],
];

async function allowedEverywhere(authorizations: Authorization[], policies: unknown[]): Promise<void> {
  for (const authorization of authorizations) {
    const { allowed, ignored } = await decide(authorization, policies);
    expect(ignored, `${authorization.action} ${authorization.resource}: context keys AWS would not send`).toEqual([]);
    expect(allowed, `${authorization.action} on ${authorization.resource}`).toBe(true);
  }
}

async function deniedSomewhere(authorizations: Authorization[], policies: unknown[]): Promise<void> {
  const decisions = await Promise.all(authorizations.map((authorization) => decide(authorization, policies)));
  for (const [i, { ignored }] of decisions.entries()) expect(ignored, `${authorizations[i]?.action}: context keys AWS would not send`).toEqual([]);
  expect(decisions.some((d) => !d.allowed)).toBe(true);
}

describe("docs/iam/cws-cli-policy.json under an IAM policy evaluator", () => {
  it.each([...buildCalls, ...bootstrapCalls])("allows %s", (_name, authorizations) => allowedEverywhere(authorizations, [CLI_POLICY]));
  it.each(abuseCases)("denies: %s", (_name, authorizations) => deniedSomewhere(authorizations, [CLI_POLICY]));
  it.each(residualRisks)("still allows (documented): %s", (_name, authorizations) => allowedEverywhere(authorizations, [CLI_POLICY]));
});

describe("docs/iam/cws-ci-policy.json (the pipeline's role) under the evaluator", () => {
  it.each(buildCalls)("allows %s", (_name, authorizations) => allowedEverywhere(authorizations, [CI_POLICY]));
  it.each(abuseCases)("denies: %s", (_name, authorizations) => deniedSomewhere(authorizations, [CI_POLICY]));
  it.each(bootstrapCalls)("denies %s (bootstrap is an administrator's, once)", (_name, authorizations) => deniedSomewhere(authorizations, [CI_POLICY]));
});

describe("docs/iam/cws-deny-launch-from-copies.json added to either policy", () => {
  const hardened = (base: unknown) => [base, NO_LAUNCH_FROM_COPIES];
  it.each([[CLI_POLICY], [CI_POLICY]])("closes the copy path: a copy of any image cannot be launched", async (base) => {
    await deniedSomewhere(residualRisks[0]![1], hardened(base));
  });
  it.each(buildCalls.filter(([name]) => !name.includes("cws copy")))("still allows %s", (_name, authorizations) => allowedEverywhere(authorizations, hardened(CLI_POLICY)));
  it("denies launching a cws copy: validate then works only in the build's own region", async () => {
    await deniedSomewhere(runInstances({ image: cwsCopy("us-east-1/ami-1"), profile: BUILDER_PROFILE }), hardened(CLI_POLICY));
  });
});

describe("docs/iam/README.md", () => {
  const page = readFileSync(join(ROOT, "docs/iam/README.md"), "utf8");
  it.each(residualRisks)("explains the residual risk: %s", (name) => {
    expect(page).toContain(name);
  });
});

describe("docs/iam/examples: the narrowings docs/iam/README.md offers, each added to the CLI policy", () => {
  const withExample = (file: string) => [CLI_POLICY, readPolicy(`docs/iam/examples/${file}`)];
  const launch = (extra: { instance?: Context; subnet?: Context; networkInterface?: Context; everywhere?: Context }): Authorization[] =>
    runInstances({ image: distribution(CANONICAL), profile: BUILDER_PROFILE }).map((a) => {
      const extraFor = a.resource.includes(":instance/")
        ? extra.instance
        : a.resource.includes(":subnet/")
          ? extra.subnet
          : a.resource.includes(":network-interface/")
            ? extra.networkInterface
            : undefined;
      return { ...a, context: { ...a.context, ...extraFor, ...extra.everywhere } };
    });

  it("deny-other-regions.json: a launch in an allowed region passes, in another is denied", async () => {
    await allowedEverywhere(launch({ everywhere: { "aws:RequestedRegion": "us-west-2" } }), withExample("deny-other-regions.json"));
    await deniedSomewhere(launch({ everywhere: { "aws:RequestedRegion": "ap-south-1" } }), withExample("deny-other-regions.json"));
  });

  it("deny-large-instance-types.json: t3.medium passes, p5.48xlarge is denied", async () => {
    await allowedEverywhere(launch({ instance: { "ec2:InstanceType": "t3.medium" } }), withExample("deny-large-instance-types.json"));
    await deniedSomewhere(launch({ instance: { "ec2:InstanceType": "p5.48xlarge" } }), withExample("deny-large-instance-types.json"));
  });

  it("deny-other-vpcs.json: launches and groups in the build VPC pass, elsewhere are denied", async () => {
    const BUILD_VPC = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-0build`;
    const OTHER_VPC = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-0prod`;
    const group = (vpc: string): Authorization[] => [
      { action: "ec2:CreateSecurityGroup", resource: ec2("security-group", "*"), context: requestTags(CWS_TAGS) },
      { action: "ec2:CreateSecurityGroup", resource: vpc },
    ];
    const inVpc = (subnet: string, networkInterface: string) => launch({ subnet: { "ec2:Vpc": subnet }, networkInterface: { "ec2:Vpc": networkInterface } });
    await allowedEverywhere([...inVpc(BUILD_VPC, BUILD_VPC), ...group(BUILD_VPC)], withExample("deny-other-vpcs.json"));
    await deniedSomewhere(inVpc(OTHER_VPC, OTHER_VPC), withExample("deny-other-vpcs.json"));
    // An existing interface of another VPC, whatever the subnet's authorization says.
    await deniedSomewhere(inVpc(BUILD_VPC, OTHER_VPC), withExample("deny-other-vpcs.json"));
    await deniedSomewhere(group(OTHER_VPC), withExample("deny-other-vpcs.json"));
  });
});

describe("docs/iam/cws-builder-boundary.json (a permissions boundary for the builder role)", () => {
  const boundary = readPolicy("docs/iam/cws-builder-boundary.json");
  const asBuilder = async (action: string, resource: string) => (await decide({ action, resource }, [boundary])).allowed;

  it("allows what the SSM agent calls to run commands", async () => {
    for (const action of ["ssm:UpdateInstanceInformation", "ec2messages:GetMessages", "ec2messages:SendReply", "ssmmessages:OpenControlChannel"]) {
      expect(await asBuilder(action, "*"), action).toBe(true);
    }
  });

  it("takes away what AmazonSSMManagedInstanceCore gives beyond that: reading any SSM parameter", async () => {
    expect(await asBuilder("ssm:GetParameter", param("/prod/db-password"))).toBe(false);
    expect(await asBuilder("ssm:GetParameters", param("/prod/db-password"))).toBe(false);
  });
});
