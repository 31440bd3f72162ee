import { DescribeImagesCommand } from "@aws-sdk/client-ec2";
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { DescribeInstanceInformationCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSServiceException } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { clientsFor, errorOf, launch, startTestEmulator, waitOnline, type Clients } from "./helpers.js";
import { EC2_TRUST_POLICY, SSM_MANAGED_POLICY_ARN } from "../src/iam.js";

let emu: Emulator;
let c: Clients;

function wireCode(err: Error): string | undefined {
  return (err as Error & { Code?: string }).Code;
}

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
});
afterAll(async () => {
  await emu?.stop();
});

describe("STS", () => {
  it("answers GetCallerIdentity", async () => {
    const r = await c.sts.send(new GetCallerIdentityCommand({}));
    expect(r).toMatchObject({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/test" });
    expect(r.UserId).toMatch(/^AIDA/);
  });

  it("rejects every service's requests with InvalidClientTokenId when asked to", async () => {
    emu.setRejectCredentials(true);
    try {
      const errors = await Promise.all([
        errorOf(c.sts.send(new GetCallerIdentityCommand({}))),
        errorOf(c.ec2.send(new DescribeImagesCommand({ Owners: ["self"] }))),
        errorOf(c.ssm.send(new GetParameterCommand({ Name: "/x" }))),
        errorOf(c.iam.send(new GetRoleCommand({ RoleName: "x" }))),
      ]);
      for (const err of errors) {
        expect(err.name).toBe("InvalidClientTokenId");
        expect(err.message).toBe("The security token included in the request is invalid.");
        expect(err.$metadata?.httpStatusCode).toBe(403);
      }
      expect(errors[0]).toBeInstanceOf(STSServiceException);
    } finally {
      emu.setRejectCredentials(false);
    }
    await c.sts.send(new GetCallerIdentityCommand({}));
  });
});

describe("IAM", () => {
  it("has the builder's instance profile, with a role that has the SSM policy", async () => {
    const r = await c.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "cws-ami-builder" }));
    const p = r.InstanceProfile;
    expect(p).toMatchObject({ InstanceProfileName: "cws-ami-builder", Arn: "arn:aws:iam::123456789012:instance-profile/cws-ami-builder", Path: "/" });
    expect(p?.InstanceProfileId).toMatch(/^AIPA/);
    expect(p?.CreateDate).toBeInstanceOf(Date);
    expect(p?.Roles?.[0]?.RoleName).toBe("cws-ami-builder");
    expect(decodeURIComponent(p?.Roles?.[0]?.AssumeRolePolicyDocument ?? "")).toBe(EC2_TRUST_POLICY);
    const pol = await c.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "cws-ami-builder" }));
    expect(pol.AttachedPolicies).toEqual([{ PolicyName: "AmazonSSMManagedInstanceCore", PolicyArn: SSM_MANAGED_POLICY_ARN }]);
  });

  it("answers NoSuchEntity (HTTP 404) for a missing profile or role", async () => {
    const err = await errorOf(c.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "missing" })));
    expect(err).toBeInstanceOf(IAMServiceException);
    // The IAM client names modeled errors after their shapes; the wire code is in Code.
    expect(err.name).toBe("NoSuchEntityException");
    expect(wireCode(err)).toBe("NoSuchEntity");
    expect(err.$metadata?.httpStatusCode).toBe(404);
    expect(wireCode(await errorOf(c.iam.send(new GetRoleCommand({ RoleName: "missing" }))))).toBe("NoSuchEntity");
  });

  it("stores a role's trust policy as given, and answers it URL-encoded as IAM does (GetRole, CreateRole, GetInstanceProfile)", async () => {
    // Written by hand: spaces, a Condition, a Sid; the answer is the same text, byte for byte, once decoded.
    const foreign = '{ "Version": "2012-10-17", "Statement": [ { "Sid": "Ops team", "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::444455556666:root" }, "Action": "sts:AssumeRole", "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } } } ] }';
    const created = await c.iam.send(new CreateRoleCommand({ RoleName: "planted-builder", AssumeRolePolicyDocument: foreign }));
    const got = await c.iam.send(new GetRoleCommand({ RoleName: "planted-builder" }));
    for (const answered of [created.Role?.AssumeRolePolicyDocument, got.Role?.AssumeRolePolicyDocument]) {
      expect(answered).toMatch(/^%7B%20%22Version%22%3A%20%222012-10-17%22/);
      expect(decodeURIComponent(answered ?? "")).toBe(foreign);
    }
    await c.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: "planted-builder" }));
    await c.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: "planted-builder", RoleName: "planted-builder" }));
    const profile = await c.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "planted-builder" }));
    // GetInstanceProfile answers each role whole, its trust policy encoded as GetRole's is (what a build's preflight reads).
    expect(profile.InstanceProfile?.Roles?.[0]?.AssumeRolePolicyDocument).toBe(got.Role?.AssumeRolePolicyDocument);
    expect(decodeURIComponent(profile.InstanceProfile?.Roles?.[0]?.AssumeRolePolicyDocument ?? "")).toBe(foreign);
  });

  it("creates a role and an instance profile that EC2 accepts once IAM has propagated", async () => {
    const created = await c.iam.send(
      new CreateRoleCommand({ RoleName: "custom-builder", AssumeRolePolicyDocument: EC2_TRUST_POLICY, Description: "d", Tags: [{ Key: "a", Value: "b" }] }),
    );
    expect(created.Role?.Arn).toBe("arn:aws:iam::123456789012:role/custom-builder");
    expect(decodeURIComponent(created.Role?.AssumeRolePolicyDocument ?? "")).toBe(EC2_TRUST_POLICY);
    const dup = await errorOf(c.iam.send(new CreateRoleCommand({ RoleName: "custom-builder", AssumeRolePolicyDocument: EC2_TRUST_POLICY })));
    expect(dup.name).toBe("EntityAlreadyExistsException");
    expect(wireCode(dup)).toBe("EntityAlreadyExists");
    expect(dup.$metadata?.httpStatusCode).toBe(409);
    const bad = await errorOf(c.iam.send(new CreateRoleCommand({ RoleName: "bad-doc", AssumeRolePolicyDocument: "{nope" })));
    expect(wireCode(bad)).toBe("MalformedPolicyDocument");

    const got = await c.iam.send(new GetRoleCommand({ RoleName: "custom-builder" }));
    expect(got.Role?.Tags).toEqual([{ Key: "a", Value: "b" }]);
    expect(got.Role?.Description).toBe("d");

    emu.clock.setMsPerSimSecond(1000); // hold the clock so the propagation window is observable
    try {
      const prof = await c.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: "custom-builder" }));
      expect(prof.InstanceProfile?.Roles).toEqual([]);
      await c.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: "custom-builder", RoleName: "custom-builder" }));
      const second = await errorOf(c.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: "custom-builder", RoleName: "cws-ami-builder" })));
      expect(wireCode(second)).toBe("LimitExceeded");

      const tooSoon = await errorOf(launch(c, { IamInstanceProfile: { Name: "custom-builder" } }));
      expect(tooSoon.name).toBe("InvalidParameterValue");
      expect(tooSoon.message).toContain("Invalid IAM Instance Profile name");
      emu.clock.advance(emu.latencies.iamPropagation);
    } finally {
      emu.clock.setMsPerSimSecond(1);
    }
    const id = await launch(c, { IamInstanceProfile: { Name: "custom-builder" } });

    // Without AmazonSSMManagedInstanceCore the agent cannot register.
    await emu.settled("us-east-1");
    emu.clock.advance(emu.latencies.instancePending + emu.latencies.ssmAgentOnline);
    const offline = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
    expect(offline.InstanceInformationList).toEqual([]);
    await c.iam.send(new AttachRolePolicyCommand({ RoleName: "custom-builder", PolicyArn: SSM_MANAGED_POLICY_ARN }));
    await waitOnline(c, id);
    const badArn = await errorOf(c.iam.send(new AttachRolePolicyCommand({ RoleName: "custom-builder", PolicyArn: "not-an-arn" })));
    expect(wireCode(badArn)).toBe("InvalidInput");
  });

  it("can start with no instance profile at all", async () => {
    const bare = await startTestEmulator({ instanceProfiles: [] });
    try {
      const err = await errorOf(clientsFor(bare).iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "cws-ami-builder" })));
      expect(wireCode(err)).toBe("NoSuchEntity");
    } finally {
      await bare.stop();
    }
  });
});
