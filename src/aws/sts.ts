/** `StsPort` over the SDK's STSClient: who the credentials belong to. */
import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { awsCall, required } from "./call.js";
import type { CallerIdentity, CallOptions, StsPort } from "./ports.js";

export class StsAdapter implements StsPort {
  constructor(private readonly client: STSClient) {}

  async callerIdentity(options: CallOptions = {}): Promise<CallerIdentity> {
    const result = await awsCall("GetCallerIdentity", () => this.client.send(new GetCallerIdentityCommand({}), { abortSignal: options.signal }));
    return {
      account: required(result.Account, "GetCallerIdentity", "Account"),
      arn: required(result.Arn, "GetCallerIdentity", "Arn"),
    };
  }
}
