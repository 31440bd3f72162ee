/**
 * `SsmPort` over the SDK's SSMClient: parameters, the agent's status on the
 * builder, and Run Command (AWS-RunShellScript) to provision and test it.
 */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import { awsCall, required } from "./call.js";
import { isAwsError, type CommandInvocation, type CommandStatus, type PingStatus, type SsmPort } from "./ports.js";

/** SSM's limit on a command's Comment. */
export const MAX_COMMENT_LENGTH = 100;

/**
 * How long SSM keeps trying to deliver a command to an agent that has not
 * picked it up (SendCommand's TimeoutSeconds); the script's own run time is
 * the separate executionTimeout parameter.
 */
export const DELIVERY_TIMEOUT_SECONDS = 600;

const COMMAND_STATUSES: ReadonlySet<string> = new Set<CommandStatus>([
  "Pending",
  "InProgress",
  "Delayed",
  "Success",
  "Cancelled",
  "TimedOut",
  "Failed",
  "Cancelling",
]);

const PING_STATUSES: ReadonlySet<string> = new Set<PingStatus>(["Online", "ConnectionLost", "Inactive"]);

/** At most `max` UTF-16 units, without cutting a surrogate pair in half. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export class SsmAdapter implements SsmPort {
  constructor(
    private readonly client: SSMClient,
    readonly region: string,
  ) {}

  async getParameter(name: string): Promise<string | undefined> {
    try {
      const result = await awsCall("GetParameter", () => this.client.send(new GetParameterCommand({ Name: name })));
      return result.Parameter?.Value;
    } catch (error) {
      if (isAwsError(error, "ParameterNotFound")) return undefined;
      throw error;
    }
  }

  async putParameter(name: string, value: string, options: { overwrite: boolean; description?: string }): Promise<void> {
    await awsCall("PutParameter", () =>
      this.client.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: "String",
          Overwrite: options.overwrite,
          ...(options.description !== undefined ? { Description: options.description } : {}),
        }),
      ),
    );
  }

  async pingStatus(instanceId: string): Promise<PingStatus> {
    try {
      const result = await awsCall("DescribeInstanceInformation", () =>
        this.client.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] })),
      );
      const entry = result.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
      const status = entry?.PingStatus;
      return status !== undefined && PING_STATUSES.has(status) ? (status as PingStatus) : "NotRegistered";
    } catch (error) {
      // InvalidInstanceId is SSM's documented answer for an instance it cannot
      // manage (agent not running or not registered yet): not registered, for us.
      if (isAwsError(error, "InvalidInstanceId")) return "NotRegistered";
      throw error;
    }
  }

  async sendShellCommand(request: { instanceId: string; script: string; timeoutSeconds: number; comment: string }): Promise<string> {
    const result = await awsCall("SendCommand", () =>
      this.client.send(
        new SendCommandCommand({
          InstanceIds: [request.instanceId],
          DocumentName: "AWS-RunShellScript",
          // The whole script is one command: AWS-RunShellScript writes the
          // commands to one file and runs it, so newlines inside are kept.
          Parameters: { commands: [request.script], executionTimeout: [String(request.timeoutSeconds)] },
          TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
          Comment: truncate(request.comment, MAX_COMMENT_LENGTH),
        }),
      ),
    );
    return required(result.Command?.CommandId, "SendCommand", "Command.CommandId");
  }

  async getCommandInvocation(commandId: string, instanceId: string): Promise<CommandInvocation | undefined> {
    try {
      const result = await awsCall("GetCommandInvocation", () =>
        this.client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
      );
      const status = result.Status;
      return {
        // A status this code does not know yet is reported as still running:
        // callers poll with their own deadline, and calling it a failure
        // could abandon a command that succeeds.
        status: status !== undefined && COMMAND_STATUSES.has(status) ? (status as CommandStatus) : "InProgress",
        statusDetails: result.StatusDetails,
        responseCode: result.ResponseCode ?? -1,
        stdout: result.StandardOutputContent ?? "",
        stderr: result.StandardErrorContent ?? "",
      };
    } catch (error) {
      if (isAwsError(error, "InvocationDoesNotExist")) return undefined;
      throw error;
    }
  }

  async cancelCommand(commandId: string, instanceId: string): Promise<void> {
    await awsCall("CancelCommand", () => this.client.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] })));
  }
}
