import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  EntityAlreadyExistsException,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  LimitExceededException,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { decodePolicyDocument, IamAdapter, iamErrorCode } from "../../src/aws/iam.js";
import { iamError, rejection } from "./errors.js";
import "./matchers.js";

const client = new IAMClient({ region: "us-east-1" });
const iamMock = mockClient(client);
const iam = new IamAdapter(client);
const $metadata = { httpStatusCode: 404 };
const created = new Date("2024-07-01T00:00:00Z");

const TAGS = { "cws:managed-by": "cws" };
const TAG_LIST = [{ Key: "cws:managed-by", Value: "cws" }];
const PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/cws-ami-builder";

const EC2_TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });

/** GetInstanceProfile's answer: each role whole, its trust policy URL-encoded as IAM sends it (`trust`, default EC2 alone). */
function profile(roleNames: string[], trust = EC2_TRUST) {
  return {
    InstanceProfile: {
      InstanceProfileName: "cws-ami-builder",
      InstanceProfileId: "AIPA",
      Arn: PROFILE_ARN,
      Path: "/",
      CreateDate: created,
      Roles: roleNames.map((RoleName) => ({
        RoleName,
        RoleId: "AROA",
        Arn: `arn:aws:iam::123456789012:role/${RoleName}`,
        Path: "/",
        CreateDate: created,
        AssumeRolePolicyDocument: encodeURIComponent(trust),
      })),
    },
  };
}

/** An IAM error as the SDK deserialises it from the wire: the documented code in `Code`. */
function wireError<E extends Error>(error: E, code: string): E {
  return Object.assign(error, { Code: code, Type: "Sender" });
}

beforeEach(() => {
  iamMock.reset();
});

describe("error codes", () => {
  it("uses the documented IAM code (NoSuchEntity), not the SDK's exception name", () => {
    expect(iamErrorCode(new NoSuchEntityException({ message: "", $metadata }))).toBe("NoSuchEntity");
    expect(iamErrorCode(wireError(new NoSuchEntityException({ message: "", $metadata }), "NoSuchEntity"))).toBe("NoSuchEntity");
    expect(iamErrorCode(iamError("AccessDenied"))).toBe("AccessDenied");
    expect(iamErrorCode(new Error("not from IAM"))).toBeUndefined();
  });

  it("reports IAM failures as AwsCallError with the documented code", async () => {
    iamMock.on(CreateRoleCommand).rejects(new EntityAlreadyExistsException({ message: "Role with name cws-ami-builder already exists.", $metadata }));
    const error = await rejection(iam.createRole("cws-ami-builder", "{}", "d", {}));
    expect(error).toMatchObject({ code: "EntityAlreadyExists", action: "CreateRole", httpStatus: 404 });
  });
});

describe("instance profiles", () => {
  it("reads a profile and its roles, each with whom it trusts, decoded from the URL-encoded document IAM sends", async () => {
    const foreign = '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::444455556666:root" }, "Action": "sts:AssumeRole" } ] }';
    iamMock.on(GetInstanceProfileCommand).resolves(profile(["cws-ami-builder"], foreign));
    expect(await iam.getInstanceProfile("cws-ami-builder")).toEqual({
      name: "cws-ami-builder",
      arn: PROFILE_ARN,
      roles: [{ name: "cws-ami-builder", arn: "arn:aws:iam::123456789012:role/cws-ami-builder", trustPolicy: foreign }],
    });
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(GetInstanceProfileCommand, { InstanceProfileName: "cws-ami-builder" });
  });

  it("reads a role's trust policy sent plain (as IAM's API reference shows its sample) as it is", async () => {
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { ...profile([]).InstanceProfile, Roles: [{ RoleName: "cws-ami-builder", RoleId: "AROA", Arn: "arn:r", Path: "/", CreateDate: created, AssumeRolePolicyDocument: EC2_TRUST }] },
    });
    expect((await iam.getInstanceProfile("cws-ami-builder"))?.roles.map((role) => role.trustPolicy)).toEqual([EC2_TRUST]);
  });

  it("answers undefined for a profile that does not exist, as the SDK and the wire name it", async () => {
    iamMock
      .on(GetInstanceProfileCommand)
      .rejectsOnce(new NoSuchEntityException({ message: "Instance Profile cws-ami-builder cannot be found.", $metadata }))
      .rejectsOnce(wireError(new NoSuchEntityException({ message: "Instance Profile cws-ami-builder cannot be found.", $metadata }), "NoSuchEntity"));
    expect(await iam.getInstanceProfile("cws-ami-builder")).toBeUndefined();
    expect(await iam.getInstanceProfile("cws-ami-builder")).toBeUndefined();
  });

  it("reports other errors", async () => {
    iamMock.on(GetInstanceProfileCommand).rejects(iamError("AccessDenied", "not authorized", 403));
    expect(await rejection(iam.getInstanceProfile("p"))).toMatchObject({ code: "AccessDenied", action: "GetInstanceProfile", httpStatus: 403 });
  });

  it("creates a tagged profile", async () => {
    iamMock.on(CreateInstanceProfileCommand).resolves(profile([]));
    await iam.createInstanceProfile("cws-ami-builder", TAGS);
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(CreateInstanceProfileCommand, { InstanceProfileName: "cws-ami-builder", Tags: TAG_LIST });
  });

  it("adds the role to the profile", async () => {
    iamMock.on(AddRoleToInstanceProfileCommand).resolves({});
    await iam.addRoleToInstanceProfile("cws-ami-builder", "cws-ami-builder");
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(AddRoleToInstanceProfileCommand, { InstanceProfileName: "cws-ami-builder", RoleName: "cws-ami-builder" });
    expect(iamMock).not.toHaveReceivedCommand(GetInstanceProfileCommand);
  });

  it("is done when the profile already holds this role (LimitExceeded)", async () => {
    iamMock.on(AddRoleToInstanceProfileCommand).rejects(
      wireError(new LimitExceededException({ message: "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", $metadata: { httpStatusCode: 409 } }), "LimitExceeded"),
    );
    iamMock.on(GetInstanceProfileCommand).resolves(profile(["cws-ami-builder"]));
    await iam.addRoleToInstanceProfile("cws-ami-builder", "cws-ami-builder");
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(GetInstanceProfileCommand, { InstanceProfileName: "cws-ami-builder" });
  });

  it("fails when the profile holds a different role", async () => {
    iamMock.on(AddRoleToInstanceProfileCommand).rejects(new LimitExceededException({ message: "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", $metadata }));
    iamMock.on(GetInstanceProfileCommand).resolves(profile(["someone-else"]));
    expect(await rejection(iam.addRoleToInstanceProfile("cws-ami-builder", "cws-ami-builder"))).toMatchObject({
      code: "LimitExceeded",
      action: "AddRoleToInstanceProfile",
    });
  });

  it("reports a missing role or profile", async () => {
    iamMock.on(AddRoleToInstanceProfileCommand).rejects(new NoSuchEntityException({ message: "The role with name x cannot be found.", $metadata }));
    expect(await rejection(iam.addRoleToInstanceProfile("cws-ami-builder", "x"))).toMatchObject({ code: "NoSuchEntity" });
    expect(iamMock).not.toHaveReceivedCommand(GetInstanceProfileCommand);
  });
});

describe("roles", () => {
  const foreignTrust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "Ops team", Effect: "Allow", Principal: { AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole", Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }],
  });

  it("reads a role and whom it trusts, decoding the URL-encoded document IAM sends (the SDK passes it on encoded)", async () => {
    // As IAM answers (RFC 3986), and as the SDK hands it over: %7B%22Version%22...
    const AssumeRolePolicyDocument = encodeURIComponent(foreignTrust);
    expect(AssumeRolePolicyDocument).toMatch(/^%7B%22Version%22%3A/);
    iamMock.on(GetRoleCommand).resolves({ Role: { RoleName: "cws-ami-builder", Arn: "arn:aws:iam::123456789012:role/cws-ami-builder", RoleId: "AROA", Path: "/", CreateDate: created, AssumeRolePolicyDocument } });
    expect(await iam.getRole("cws-ami-builder")).toEqual({ name: "cws-ami-builder", arn: "arn:aws:iam::123456789012:role/cws-ami-builder", trustPolicy: foreignTrust });
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(GetRoleCommand, { RoleName: "cws-ami-builder" });
  });

  it("takes a document that is already JSON as it is, and one that does not decode as it came", () => {
    expect(decodePolicyDocument(foreignTrust)).toBe(foreignTrust);
    expect(decodePolicyDocument("%E0%A4%A")).toBe("%E0%A4%A");
    expect(decodePolicyDocument("%7B%7D")).toBe("{}");
  });

  it("answers undefined for a role that does not exist", async () => {
    iamMock.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: "The role with name x cannot be found.", $metadata }));
    expect(await iam.getRole("x")).toBeUndefined();
  });

  it("reports other errors", async () => {
    iamMock.on(GetRoleCommand).rejects(iamError("ServiceFailure", "oops", 500));
    expect(await rejection(iam.getRole("x"))).toMatchObject({ code: "ServiceFailure", action: "GetRole", httpStatus: 500 });
  });

  it("creates a tagged role with its trust policy", async () => {
    iamMock.on(CreateRoleCommand).resolves({ Role: { RoleName: "r", Arn: "a", RoleId: "i", Path: "/", CreateDate: created } });
    const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
    await iam.createRole("cws-ami-builder", trust, "cws AMI builder instances", TAGS);
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(CreateRoleCommand, {
      RoleName: "cws-ami-builder",
      AssumeRolePolicyDocument: trust,
      Description: "cws AMI builder instances",
      Tags: TAG_LIST,
    });
  });

  it("lists attached policies over every page (IsTruncated and Marker)", async () => {
    iamMock
      .on(ListAttachedRolePoliciesCommand)
      .resolvesOnce({ AttachedPolicies: [{ PolicyName: "a", PolicyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }], IsTruncated: true, Marker: "m2" })
      .resolvesOnce({ AttachedPolicies: [{ PolicyName: "b", PolicyArn: "arn:aws:iam::123456789012:policy/extra" }], IsTruncated: false, Marker: "ignored" });
    expect(await iam.attachedPolicyArns("cws-ami-builder")).toEqual([
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
      "arn:aws:iam::123456789012:policy/extra",
    ]);
    expect(iamMock.commandCalls(ListAttachedRolePoliciesCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: "cws-ami-builder" },
      { RoleName: "cws-ami-builder", Marker: "m2" },
    ]);
  });

  it("attaches a managed policy", async () => {
    iamMock.on(AttachRolePolicyCommand).resolves({});
    await iam.attachRolePolicy("cws-ami-builder", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(AttachRolePolicyCommand, {
      RoleName: "cws-ami-builder",
      PolicyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    });
  });

  it("reports failures to list or attach", async () => {
    iamMock.on(ListAttachedRolePoliciesCommand).rejects(new NoSuchEntityException({ message: "no role", $metadata }));
    iamMock.on(AttachRolePolicyCommand).rejects(iamError("PolicyNotAttachable"));
    expect(await rejection(iam.attachedPolicyArns("x"))).toMatchObject({ code: "NoSuchEntity", action: "ListAttachedRolePolicies" });
    expect(await rejection(iam.attachRolePolicy("x", "arn"))).toMatchObject({ code: "PolicyNotAttachable", action: "AttachRolePolicy" });
  });
});
