import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { SSMClient } from "@aws-sdk/client-ssm";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AwsCallError } from "../../src/aws/ports.js";
import { clientConfig, createAwsPorts, CREDENTIALS_SUGGESTION, DEFAULT_MAX_ATTEMPTS, describeAwsError, POLICY_DOCUMENT } from "../../src/aws/sdk.js";
import { CwsError } from "../../src/errors.js";
import { ec2Error, iamError, ssmError, stsError } from "./errors.js";

/** The SDK client an adapter was built with (a private field; tests only). */
function clientOf<C>(port: unknown): C {
  return (port as { client: C }).client;
}

describe("createAwsPorts", () => {
  it("creates one port (and client) per service and region, and reuses it", () => {
    const ports = createAwsPorts({});
    expect(ports.ec2("eu-west-1")).toBe(ports.ec2("eu-west-1"));
    expect(ports.ec2("eu-west-1")).not.toBe(ports.ec2("us-east-1"));
    expect(ports.ssm("eu-west-1")).toBe(ports.ssm("eu-west-1"));
    expect(ports.sts("eu-west-1")).toBe(ports.sts("eu-west-1"));
    // IAM: one port per partition, whatever region of it is asked for.
    expect(ports.iam("eu-west-1")).toBe(ports.iam("us-west-2"));
    expect(ports.iam("cn-northwest-1")).not.toBe(ports.iam("eu-west-1"));
    expect(ports.ec2("eu-west-1").region).toBe("eu-west-1");
    expect(ports.ssm("ap-south-1").region).toBe("ap-south-1");
    expect(clientOf(ports.ec2("eu-west-1"))).toBeInstanceOf(EC2Client);
  });

  it("configures adaptive retries, the attempt count, the region and IAM in its partition's region", async () => {
    const ports = createAwsPorts({});
    const ec2 = clientOf<EC2Client>(ports.ec2("eu-north-1"));
    expect(await ec2.config.region()).toBe("eu-north-1");
    expect(await ec2.config.maxAttempts()).toBe(8);
    const strategy = await ec2.config.retryStrategy();
    expect(strategy.constructor.name).toBe("AdaptiveRetryStrategy");
    expect(strategy).toMatchObject({ mode: "adaptive" });
    const iam = async (region: string) => clientOf<IAMClient>(ports.iam(region)).config.region();
    expect(await iam("eu-north-1")).toBe("us-east-1");
    expect(await iam("cn-northwest-1")).toBe("cn-north-1");
    expect(await iam("us-gov-east-1")).toBe("us-gov-west-1");
    // ...which the SDK turns into the partition's IAM endpoint.
    const china = clientOf<IAMClient>(ports.iam("cn-northwest-1")).config;
    expect(china.endpointProvider({ Region: await china.region(), UseFIPS: false, UseDualStack: false }).url.hostname).toBe("iam.cn-north-1.amazonaws.com.cn");
    const fewer = clientOf<SSMClient>(createAwsPorts({ maxAttempts: 3 }).ssm("eu-west-1"));
    expect(await fewer.config.maxAttempts()).toBe(3);
  });

  it("passes profile and endpoint only when given", () => {
    expect(clientConfig("eu-west-1", {})).toEqual({
      region: "eu-west-1",
      logger: expect.anything(),
      retryMode: "adaptive",
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
    });
    expect(clientConfig("eu-west-1", { profile: "research", endpoint: "http://127.0.0.1:4566", maxAttempts: 2 })).toMatchObject({
      profile: "research",
      endpoint: "http://127.0.0.1:4566",
      maxAttempts: 2,
    });
  });
});

/** A stand-in for SSM's JSON API: answers requests from a script of responses and records what arrived. */
interface Recorded {
  headers: IncomingHttpHeaders;
  body: string;
}

describe("clients against an endpoint", () => {
  let server: Server;
  let endpoint: string;
  let dir: string;
  const requests: Recorded[] = [];
  let script: { status: number; body: unknown }[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        requests.push({ headers: req.headers, body });
        const next = script.shift() ?? { status: 500, body: { __type: "InternalServerError", message: "script exhausted" } };
        res.writeHead(next.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" });
        res.end(JSON.stringify(next.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    dir = await mkdtemp(join(tmpdir(), "cws-aws-test-"));
    await writeFile(join(dir, "credentials"), "[research]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = secret\n");
    await writeFile(join(dir, "config"), "[profile research]\nregion = eu-west-1\n");
    // A credential chain of our own: no keys from the environment, no
    // instance metadata probe, and shared files that hold only the test profile.
    for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
    process.env.AWS_CONFIG_FILE = join(dir, "config");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  });

  afterAll(async () => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests.length = 0;
    script = [];
  });

  afterEach(() => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  it("sends to the given endpoint, signed with the named profile's credentials, without the SDK's warning about the keys beside it", async () => {
    // Keys in the environment too: a named profile must still win.
    process.env.AWS_ACCESS_KEY_ID = "AKIAENVIRONMENTKEY";
    process.env.AWS_SECRET_ACCESS_KEY = "secret";
    script = [{ status: 200, body: { Parameter: { Name: "/cws/x", Value: "ami-1", Type: "String" } } }];
    const ports = createAwsPorts({ profile: "research", endpoint });
    // The SDK's credential chain warns once a process (console.warn, or the client's logger), the first time it meets both.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      expect(await ports.ssm("us-west-2").getParameter("/cws/x")).toBe("ami-1");
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers["x-amz-target"]).toBe("AmazonSSM.GetParameter");
    expect(requests[0]?.headers.authorization).toContain("Credential=AKIAPROFILEKEY/");
    expect(requests[0]?.headers.authorization).toContain("/us-west-2/ssm/aws4_request");
  });

  it("retries throttling with backoff, then succeeds", async () => {
    process.env.AWS_ACCESS_KEY_ID = "AKIAENVIRONMENTKEY";
    process.env.AWS_SECRET_ACCESS_KEY = "secret";
    script = [
      { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } },
      { status: 200, body: { Parameter: { Name: "/cws/x", Value: "ami-2", Type: "String" } } },
    ];
    const ports = createAwsPorts({ endpoint });
    expect(await ports.ssm("us-west-2").getParameter("/cws/x")).toBe("ami-2");
    expect(requests).toHaveLength(2);
    expect(requests[0]?.headers.authorization).toContain("Credential=AKIAENVIRONMENTKEY/");
  });

  it("gives up after maxAttempts with the throttling code", async () => {
    process.env.AWS_ACCESS_KEY_ID = "AKIAENVIRONMENTKEY";
    process.env.AWS_SECRET_ACCESS_KEY = "secret";
    script = [
      { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } },
      { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } },
      { status: 200, body: { Parameter: { Value: "too late" } } },
    ];
    const ports = createAwsPorts({ endpoint, maxAttempts: 2 });
    const error = await ports.ssm("us-west-2").getParameter("/cws/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ code: "ThrottlingException", action: "GetParameter", httpStatus: 400 });
    expect(requests).toHaveLength(2);
  });

  it("reports a profile that does not exist as a credentials problem of that profile, before sending anything", async () => {
    const ports = createAwsPorts({ profile: "no-such-profile", endpoint });
    const error = await ports.ssm("us-west-2").getParameter("/cws/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(requests).toHaveLength(0);
    const described = describeAwsError(error);
    expect(described).toBeInstanceOf(CwsError);
    expect(described).toMatchObject({ code: "AWS_CREDENTIALS", exitCode: 2, value: "no-such-profile" });
    expect(described?.message).toMatch(/^AWS credentials of profile no-such-profile are missing, expired or not accepted \(GetParameter\): CredentialsProviderError: /);
    expect(described?.suggestion).toContain("aws configure list --profile no-such-profile");
    // Without a profile, the chain's own failure: no profile to name.
    const unnamed = await createAwsPorts({ endpoint }).ssm("us-west-2").getParameter("/cws/x").catch((e: unknown) => e);
    expect(describeAwsError(unnamed)).toMatchObject({ code: "AWS_CREDENTIALS", suggestion: CREDENTIALS_SUGGESTION });
    expect(describeAwsError(unnamed)?.message).toMatch(/^AWS credentials are missing/);
  });
});

describe("describeAwsError", () => {
  const credentialFailures: [string, Error][] = [
    ["no credentials at all", Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" })],
    ["an expired session", stsError("ExpiredToken", "The security token included in the request is expired")],
    ["an unknown key (IAM, STS)", stsError("InvalidClientTokenId", "The security token included in the request is invalid.")],
    ["an unknown key (SSM)", ssmError("UnrecognizedClientException", "The security token included in the request is invalid.")],
    ["an unknown key (EC2)", ec2Error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)],
    ["a wrong secret", ec2Error("SignatureDoesNotMatch", "The request signature we calculated does not match")],
  ];

  it.each(credentialFailures)("tells the user to configure credentials for %s", (_, sdkError) => {
    for (const error of [sdkError, new AwsCallError(sdkError.name, "RunInstances", sdkError.message)]) {
      const described = describeAwsError(error);
      expect(described).toBeInstanceOf(CwsError);
      expect(described).toMatchObject({ code: "AWS_CREDENTIALS", exitCode: 2, suggestion: "configure credentials: aws configure, AWS_PROFILE=..., or aws sso login" });
      expect(described?.message).toContain(sdkError.message);
      expect(described?.cause).toBe(error);
    }
  });

  it("recognises the credential chain's message even under another name", () => {
    expect(describeAwsError(new Error("Could not load credentials from any providers"))?.code).toBe("AWS_CREDENTIALS");
  });

  it("names the denied EC2 action from the message and drops the encoded blob", () => {
    const sdk = ec2Error(
      "UnauthorizedOperation",
      "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/bob is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:eu-west-1:123456789012:instance/* because no identity-based policy allows the ec2:RunInstances action. Encoded authorization failure message: AbCdEf0123456789",
      403,
    );
    const described = describeAwsError(new AwsCallError(sdk.name, "RunInstances", sdk.message, 403));
    expect(described).toMatchObject({ code: "AWS_ACCESS_DENIED", value: "ec2:RunInstances", exitCode: 2 });
    expect(described?.message).toMatch(/^AWS denied ec2:RunInstances: You are not authorized/);
    expect(described?.message).not.toContain("Encoded authorization failure message");
    expect(described?.suggestion).toContain(POLICY_DOCUMENT);
    expect(POLICY_DOCUMENT).toBe("docs/iam/cws-cli-policy.json");
    // RunInstances is allowed under conditions: the likelier cause is the base image, and the advice says so.
    expect(described?.suggestion).toMatch(/only from cws images or images owned by Amazon, Canonical or Debian.*LaunchFromDistributionImages/);
  });

  it("advises granting an action that is simply missing, and running bootstrap as an administrator", () => {
    const missing = describeAwsError(new AwsCallError("UnauthorizedOperation", "DescribeImages", "User is not authorized to perform: ec2:DescribeImages", 403));
    expect(missing?.suggestion).toBe(`allow ec2:DescribeImages for the identity running cws; ${POLICY_DOCUMENT} lists every permission cws needs`);
    const bootstrap = describeAwsError(new AwsCallError("AccessDenied", "CreateRole", "User is not authorized to perform: iam:CreateRole on resource: role cws-ami-builder", 403));
    expect(bootstrap?.suggestion).toMatch(/^cws ami bootstrap creates the builder role once per account: run it as an administrator/);
  });

  it("names the action from the AwsCallError and the SDK exception's service when the message does not", () => {
    const sdk = iamError("AccessDenied", "Access denied", 403);
    const wrapped = new AwsCallError("AccessDenied", "CreateRole", sdk.message, 403);
    wrapped.cause = sdk;
    expect(describeAwsError(wrapped)).toMatchObject({ code: "AWS_ACCESS_DENIED", value: "iam:CreateRole" });
    expect(describeAwsError(new AwsCallError("AccessDeniedException", "SendCommand", "denied"))).toMatchObject({ value: "SendCommand" });
    expect(describeAwsError(ssmError("AccessDeniedException", "denied"))).toMatchObject({ value: "an ssm action" });
  });

  it.each(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "TimeoutError"])("says AWS could not be reached for %s, naming the call", (code) => {
    const described = describeAwsError(new AwsCallError(code, "GetCallerIdentity", `connect ${code} 127.0.0.1:1`));
    expect(described).toMatchObject({ code: "AWS_UNREACHABLE", value: code, exitCode: 1 });
    expect(described?.message).toMatch(new RegExp(`^cannot reach AWS \\(GetCallerIdentity\\): ${code}: `));
    expect(described?.suggestion).toContain("AWS_ENDPOINT_URL");
  });

  it("leaves every other error to the caller", () => {
    expect(describeAwsError(new AwsCallError("InsufficientInstanceCapacity", "RunInstances", "no capacity"))).toBeUndefined();
    expect(describeAwsError(ec2Error("InvalidAMIID.NotFound"))).toBeUndefined();
    expect(describeAwsError(new Error("something else"))).toBeUndefined();
    expect(describeAwsError("not an error")).toBeUndefined();
  });
});
