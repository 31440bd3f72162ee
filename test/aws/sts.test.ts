import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/ports.js";
import { StsAdapter } from "../../src/aws/sts.js";
import { stsError } from "./errors.js";
import "./matchers.js";

const client = new STSClient({ region: "eu-central-1" });
const stsMock = mockClient(client);
const sts = new StsAdapter(client);

beforeEach(() => {
  stsMock.reset();
});

describe("callerIdentity", () => {
  it("returns the account and ARN of the credentials", async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/alice", UserId: "AIDA" });
    expect(await sts.callerIdentity()).toEqual({ account: "123456789012", arn: "arn:aws:iam::123456789012:user/alice" });
    expect(stsMock).toHaveReceivedCommandExactlyOnceWith(GetCallerIdentityCommand, {});
  });

  it("converts a rejected token to an AwsCallError with the code", async () => {
    stsMock.on(GetCallerIdentityCommand).rejects(stsError("ExpiredToken", "The security token included in the request is expired"));
    const error = await sts.callerIdentity().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ code: "ExpiredToken", action: "GetCallerIdentity", httpStatus: 403 });
  });

  it("fails with IncompleteResponse when the account is missing", async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:iam::123456789012:user/alice" });
    await expect(sts.callerIdentity()).rejects.toMatchObject({ code: "IncompleteResponse" });
  });
});
