/** SDK exceptions shaped as the SDK itself throws them, for mocked clients to reject with. */
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import { IAMServiceException } from "@aws-sdk/client-iam";
import { SSMServiceException } from "@aws-sdk/client-ssm";
import { STSServiceException } from "@aws-sdk/client-sts";
import { expect } from "vitest";
import { AwsCallError } from "../../src/aws/ports.js";

type Ctor = typeof EC2ServiceException | typeof SSMServiceException | typeof STSServiceException | typeof IAMServiceException;

function make(Base: Ctor, name: string, message: string, httpStatusCode: number): Error {
  return new Base({ name, message, $fault: httpStatusCode >= 500 ? "server" : "client", $metadata: { httpStatusCode, requestId: "req-1" } });
}

/** EC2 models no errors: every failure is an EC2ServiceException named after the code, as on the wire. */
export const ec2Error = (code: string, message = `${code} (test)`, status = 400) => make(EC2ServiceException, code, message, status);
export const ssmError = (code: string, message = `${code} (test)`, status = 400) => make(SSMServiceException, code, message, status);
export const stsError = (code: string, message = `${code} (test)`, status = 403) => make(STSServiceException, code, message, status);
export const iamError = (code: string, message = `${code} (test)`, status = 400) => make(IAMServiceException, code, message, status);

/** The AwsCallError a call rejects with (failing the test if it resolves or throws anything else). */
export async function rejection(promise: Promise<unknown>): Promise<AwsCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AwsCallError);
  return error as AwsCallError;
}
