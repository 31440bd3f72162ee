/**
 * Where the adapters get their clients, and what the CLI tells a user whose
 * credentials or permissions are the problem.
 *
 * This module (with the adapters) is the only code that loads the AWS SDK; the
 * CLI imports it dynamically, only for commands that call AWS.
 */
import { EC2Client, EC2ServiceException } from "@aws-sdk/client-ec2";
import { IAMClient, IAMServiceException } from "@aws-sdk/client-iam";
import { SSMClient, SSMServiceException } from "@aws-sdk/client-ssm";
import { STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { NoOpLogger } from "@smithy/core/client";
import { CwsError, EXIT } from "../errors.js";
import { Ec2Adapter } from "./ec2.js";
import { IamAdapter } from "./iam.js";
import { distributionsInWords } from "./iam-policy-facts.js";
import { AwsCallError, type AwsClientOptions, type AwsPorts, type Ec2Port, type IamPort, type SsmPort, type StsPort } from "./ports.js";
import { SsmAdapter } from "./ssm.js";
import { StsAdapter } from "./sts.js";

export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * IAM is global within a partition, and each partition's IAM lives in one
 * region: us-east-1 for the aws partition, cn-north-1 for China (Beijing and
 * Ningxia), us-gov-west-1 for GovCloud. A role created through it is seen in
 * every region of the partition.
 */
export function iamRegion(region: string): string {
  if (region.startsWith("cn-")) return "cn-north-1";
  if (region.startsWith("us-gov-")) return "us-gov-west-1";
  return "us-east-1";
}

/** The IAM policy a user of cws needs, in this repository. */
export const POLICY_DOCUMENT = "docs/iam/cws-cli-policy.json";

export const CREDENTIALS_SUGGESTION = "configure credentials: aws configure, AWS_PROFILE=..., or aws sso login";

/**
 * What the SDK itself would print on stderr, minus the one warning that is not the user's concern
 * here. Its credential chain warns (9 lines, `console.warn` unless the client has a logger of its own)
 * whenever a profile is named while AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set, that it uses
 * the profile and that a future release may not: cws names the profile to every client explicitly
 * (config/aws-context.ts decides which), so the keys in the environment are not used whatever the SDK's
 * default becomes. Every other warning goes where the SDK would send it. A NoOpLogger still, so that
 * the SDK's per-request logging (which copies every input and output to log them) stays off.
 */
class SdkWarnings extends NoOpLogger {
  override warn(...content: unknown[]): void {
    if (content.some((part) => typeof part === "string" && part.includes("Multiple credential sources detected"))) return;
    console.warn(...content);
  }
}

const SDK_WARNINGS = new SdkWarnings();

/** The configuration shared by every client; exported for tests. */
export function clientConfig(region: string, options: AwsClientOptions) {
  return {
    region,
    logger: SDK_WARNINGS,
    // Credentials come from the SDK's default provider chain (environment,
    // shared config and credentials files, SSO, process, container and
    // instance metadata); a profile given here is used by that chain just as
    // AWS_PROFILE would be, but for these clients only.
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    // AWS_ENDPOINT_URL(_EC2, ...) is read by the SDK itself; an explicit endpoint overrides it.
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    // A build polls and launches across regions at once; "adaptive" adds
    // client-side rate limiting to the standard exponential backoff, so
    // throttling (RequestLimitExceeded, ThrottlingException) slows us down
    // instead of failing the build.
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    // The SDK's defaults are no timeouts at all: a connection that hangs would
    // hang the build. A timed-out request is retried like any transient error.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
  };
}

/**
 * The ports for one CLI run. Clients (and their credential resolution and
 * connection pools) are created on first use and then reused: one per service
 * and region.
 */
export function createAwsPorts(options: AwsClientOptions): AwsPorts {
  const ec2 = new Map<string, Ec2Port>();
  const ssm = new Map<string, SsmPort>();
  const sts = new Map<string, StsPort>();
  const iam = new Map<string, IamPort>();

  function cached<P>(cache: Map<string, P>, region: string, create: () => P): P {
    let port = cache.get(region);
    if (port === undefined) {
      port = create();
      cache.set(region, port);
    }
    return port;
  }

  // Each client's failures remember the profile they were made with, for describeAwsError to name.
  const named = <C extends ProfileClient>(client: C): C => rememberProfile(client, options.profile);
  return {
    ec2: (region) => cached(ec2, region, () => new Ec2Adapter(named(new EC2Client(clientConfig(region, options))), region)),
    ssm: (region) => cached(ssm, region, () => new SsmAdapter(named(new SSMClient(clientConfig(region, options))), region)),
    sts: (region) => cached(sts, region, () => new StsAdapter(named(new STSClient(clientConfig(region, options))))),
    iam: (region) => {
      const home = iamRegion(region);
      return cached(iam, home, () => new IamAdapter(named(new IAMClient(clientConfig(home, options)))));
    },
  };
}

/** The profile a failed call's client was made with, by the SDK's error: the credential chain's errors do not name it. */
const PROFILE_OF_ERROR = new WeakMap<object, string>();

/** Any of the SDK's clients (each types its middleware by its own commands' inputs and outputs). */
interface ProfileClient {
  middlewareStack: { add(middleware: never, options: { step: "initialize"; name: string }): void };
}

function rememberProfile<C extends ProfileClient>(client: C, profile: string | undefined): C {
  if (profile === undefined) return client;
  const middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (error) {
      if (typeof error === "object" && error !== null) PROFILE_OF_ERROR.set(error, profile);
      throw error;
    }
  };
  // The first step: it sees what every later one throws, credential resolution included.
  client.middlewareStack.add(middleware as never, { step: "initialize", name: "cwsProfileOfErrors" });
  return client;
}

/** Error codes meaning the credentials are missing, expired, or not accepted. */
const CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  "CredentialsProviderError",
  "TokenProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "AuthFailure",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
]);

/** Error codes meaning the request never reached AWS (or its answer never came back). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "TimeoutError",
  "RequestTimeout",
]);

/**
 * Actions the policy allows only under conditions (docs/iam/README.md): when
 * one is denied, the likelier cause is a resource outside them, not a
 * missing action.
 */
const CONDITIONAL_DENIALS: Readonly<Record<string, string>> = {
  "ec2:RunInstances": `${POLICY_DOCUMENT} lets cws launch only from cws images or images owned by ${distributionsInWords()}, with the cws-ami-builder instance profile; for a base image of another owner add its account id to LaunchFromDistributionImages (docs/iam/README.md), otherwise update the identity's policy to the current ${POLICY_DOCUMENT}`,
  "ec2:CreateImage": `${POLICY_DOCUMENT} lets cws image only instances tagged cws:managed-by=cws; update the identity's policy to the current ${POLICY_DOCUMENT}`,
  "ec2:CopyImage": `${POLICY_DOCUMENT} lets cws copy only into images tagged cws:managed-by=cws and cws:copied-from; update the identity's policy to the current ${POLICY_DOCUMENT}`,
  "iam:CreateRole": `cws ami bootstrap creates the builder role once per account: run it as an administrator, or with ${POLICY_DOCUMENT} (the pipeline's docs/iam/cws-ci-policy.json has no IAM writes)`,
};

/** Error codes meaning the identity is known but not allowed to do this. */
const ACCESS_DENIED_CODES: ReadonlySet<string> = new Set(["UnauthorizedOperation", "AccessDenied", "AccessDeniedException"]);

function serviceOf(error: unknown): string | undefined {
  if (error instanceof EC2ServiceException) return "ec2";
  if (error instanceof SSMServiceException) return "ssm";
  if (error instanceof STSServiceException) return "sts";
  if (error instanceof IAMServiceException) return "iam";
  return undefined;
}

/**
 * The IAM action that was denied: AWS names it in the message ("... is not
 * authorized to perform: ec2:RunInstances on resource ..."); otherwise it is
 * the API action, prefixed with the service when the exception tells which.
 */
function deniedAction(message: string, action: string | undefined, sdkError: unknown): string {
  const named = /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
  if (named !== undefined) return named;
  const service = serviceOf(sdkError);
  if (action === undefined) return service !== undefined ? `an ${service} action` : "an AWS action";
  return service !== undefined ? `${service}:${action}` : action;
}

/**
 * A user-facing error for AWS failures the user must fix in their own setup
 * (credentials, permissions); undefined for anything else, which the caller
 * reports as it is.
 */
export function describeAwsError(error: unknown): CwsError | undefined {
  if (!(error instanceof Error)) return undefined;
  const callError = error instanceof AwsCallError ? error : undefined;
  const code = callError?.code ?? error.name;
  const sdkError = callError?.cause ?? error;
  // The service's own words: the SDK exception's message, or the AwsCallError's without its "Action: Code: " prefix.
  const message =
    sdkError instanceof Error && sdkError !== error
      ? sdkError.message
      : callError !== undefined
        ? error.message.replace(`${callError.action}: ${callError.code}: `, "")
        : error.message;
  const where = callError !== undefined ? ` (${callError.action})` : "";

  if (CREDENTIAL_CODES.has(code) || /Could not load credentials/i.test(message)) {
    const profile = PROFILE_OF_ERROR.get(sdkError as object) ?? PROFILE_OF_ERROR.get(error);
    return new CwsError("AWS_CREDENTIALS", `AWS credentials ${profile === undefined ? "" : `of profile ${profile} `}are missing, expired or not accepted${where}: ${code}: ${message}`, {
      ...(profile === undefined ? {} : { value: profile }),
      suggestion:
        profile === undefined
          ? CREDENTIALS_SUGGESTION
          : `aws configure list --profile ${profile} shows where its credentials come from; aws sso login --profile ${profile} if it signs in with SSO, aws configure --profile ${profile} to give it keys`,
      exitCode: EXIT.usage,
      cause: error,
    });
  }
  if (UNREACHABLE_CODES.has(code)) {
    return new CwsError("AWS_UNREACHABLE", `cannot reach AWS${where}: ${code}: ${message}`, {
      value: code,
      suggestion: "check the network connection and any proxy (HTTPS_PROXY), and any endpoint override (AWS_ENDPOINT_URL, or endpoint_url in the AWS profile); then run the command again",
      exitCode: EXIT.failed,
      cause: error,
    });
  }
  if (ACCESS_DENIED_CODES.has(code)) {
    const denied = deniedAction(message, callError?.action, sdkError);
    // EC2 appends a long encoded authorization message that only `aws sts
    // decode-authorization-message` can read; it drowns the useful part.
    const short = message.replace(/\s*Encoded authorization failure message:[\s\S]*$/, "");
    return new CwsError("AWS_ACCESS_DENIED", `AWS denied ${denied}: ${short}`, {
      value: denied,
      suggestion: CONDITIONAL_DENIALS[denied] ?? `allow ${denied} for the identity running cws; ${POLICY_DOCUMENT} lists every permission cws needs`,
      exitCode: EXIT.usage,
      cause: error,
    });
  }
  return undefined;
}
