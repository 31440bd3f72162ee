import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ParameterNotFound,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DELIVERY_TIMEOUT_SECONDS, MAX_COMMENT_LENGTH, SsmAdapter, truncate } from "../../src/aws/ssm.js";
import { ssmError, rejection } from "./errors.js";
import "./matchers.js";

const client = new SSMClient({ region: "us-west-2" });
const ssmMock = mockClient(client);
const ssm = new SsmAdapter(client, "us-west-2");
const $metadata = { httpStatusCode: 400 };

beforeEach(() => {
  ssmMock.reset();
});

describe("parameters", () => {
  it("reads a parameter's value", async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: "/cws/x", Value: "ami-1", Type: "String" } });
    expect(await ssm.getParameter("/cws/x")).toBe("ami-1");
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: "/cws/x" });
  });

  it("answers undefined for a parameter that does not exist", async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "", $metadata }));
    expect(await ssm.getParameter("/cws/missing")).toBeUndefined();
  });

  it("reports other errors with their code", async () => {
    ssmMock.on(GetParameterCommand).rejects(ssmError("ThrottlingException", "Rate exceeded"));
    expect(await rejection(ssm.getParameter("/x"))).toMatchObject({ code: "ThrottlingException", action: "GetParameter", httpStatus: 400 });
  });

  it("writes a String parameter, overwriting when asked", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 2 });
    await ssm.putParameter("/cws/x", "ami-2", { overwrite: true, description: "latest r-research" });
    await ssm.putParameter("/cws/y", "v", { overwrite: false });
    expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: "/cws/x", Value: "ami-2", Type: "String", Overwrite: true, Description: "latest r-research" },
      { Name: "/cws/y", Value: "v", Type: "String", Overwrite: false },
    ]);
  });

  it("reports ParameterAlreadyExists when not overwriting", async () => {
    ssmMock.on(PutParameterCommand).rejects(ssmError("ParameterAlreadyExists"));
    expect(await rejection(ssm.putParameter("/x", "v", { overwrite: false }))).toMatchObject({ code: "ParameterAlreadyExists", action: "PutParameter" });
  });
});

describe("pingStatus", () => {
  it("asks for the one instance with the InstanceIds filter", async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: "i-1", PingStatus: "Online" }] });
    expect(await ssm.pingStatus("i-1")).toBe("Online");
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: "InstanceIds", Values: ["i-1"] }],
    });
  });

  it("passes ConnectionLost and Inactive through", async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: "i-1", PingStatus: "ConnectionLost" }] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: "i-1", PingStatus: "Inactive" }] });
    expect(await ssm.pingStatus("i-1")).toBe("ConnectionLost");
    expect(await ssm.pingStatus("i-1")).toBe("Inactive");
  });

  it("is NotRegistered when SSM does not list the instance or rejects its id", async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [] })
      .resolvesOnce({})
      .rejectsOnce(new InvalidInstanceId({ message: "", $metadata }));
    expect(await ssm.pingStatus("i-1")).toBe("NotRegistered");
    expect(await ssm.pingStatus("i-1")).toBe("NotRegistered");
    expect(await ssm.pingStatus("i-1")).toBe("NotRegistered");
  });

  it("reports other errors", async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(ssmError("InternalServerError", "oops", 500));
    expect(await rejection(ssm.pingStatus("i-1"))).toMatchObject({ code: "InternalServerError", action: "DescribeInstanceInformation", httpStatus: 500 });
  });
});

describe("sendShellCommand", () => {
  it("runs the script with AWS-RunShellScript, its execution timeout, a delivery timeout and the comment", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    const script = "#!/bin/bash\nset -euo pipefail\napt-get update\n";
    const id = await ssm.sendShellCommand({ instanceId: "i-1", script, timeoutSeconds: 3600, comment: "cws r-research: setup" });
    expect(id).toBe("cmd-1");
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(SendCommandCommand, {
      InstanceIds: ["i-1"],
      DocumentName: "AWS-RunShellScript",
      Parameters: { commands: [script], executionTimeout: ["3600"] },
      TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      Comment: "cws r-research: setup",
    });
    expect(DELIVERY_TIMEOUT_SECONDS).toBe(600);
  });

  it("cuts the comment to SSM's 100-character limit", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    await ssm.sendShellCommand({ instanceId: "i-1", script: "true", timeoutSeconds: 60, comment: "c".repeat(250) });
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, { Comment: "c".repeat(100) });
    expect(MAX_COMMENT_LENGTH).toBe(100);
  });

  it("never cuts a character in half", () => {
    const emoji = "\u{1F600}";
    expect(truncate(`${"a".repeat(99)}${emoji}`, 100)).toBe("a".repeat(99));
    expect(truncate(`${"a".repeat(98)}${emoji}x`, 100)).toBe(`${"a".repeat(98)}${emoji}`);
    expect(truncate("short", 100)).toBe("short");
  });

  it("reports an instance SSM cannot reach yet", async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ message: "Instances [[i-1]] not in a valid state", $metadata }));
    expect(await rejection(ssm.sendShellCommand({ instanceId: "i-1", script: "true", timeoutSeconds: 60, comment: "" }))).toMatchObject({
      code: "InvalidInstanceId",
      action: "SendCommand",
    });
  });

  it("fails with IncompleteResponse when SSM returns no command id", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: {} });
    expect((await rejection(ssm.sendShellCommand({ instanceId: "i-1", script: "true", timeoutSeconds: 60, comment: "" }))).code).toBe("IncompleteResponse");
  });
});

describe("command invocations", () => {
  it("maps status, details, exit code and output", async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      CommandId: "cmd-1",
      InstanceId: "i-1",
      Status: "Failed",
      StatusDetails: "Failed",
      ResponseCode: 3,
      StandardOutputContent: "hi\n",
      StandardErrorContent: "boom\n",
    });
    expect(await ssm.getCommandInvocation("cmd-1", "i-1")).toEqual({ status: "Failed", statusDetails: "Failed", responseCode: 3, stdout: "hi\n", stderr: "boom\n" });
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetCommandInvocationCommand, { CommandId: "cmd-1", InstanceId: "i-1" });
  });

  it("has exit code -1 and empty output while the command runs", async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "InProgress", StatusDetails: "InProgress" });
    expect(await ssm.getCommandInvocation("cmd-1", "i-1")).toEqual({ status: "InProgress", statusDetails: "InProgress", responseCode: -1, stdout: "", stderr: "" });
  });

  it("treats a status it does not know as still running", async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Hibernating" as never });
    expect((await ssm.getCommandInvocation("cmd-1", "i-1"))?.status).toBe("InProgress");
  });

  it("answers undefined while SSM does not know the invocation yet", async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: "", $metadata }));
    expect(await ssm.getCommandInvocation("cmd-1", "i-1")).toBeUndefined();
  });

  it("reports other errors", async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(ssmError("InvalidCommandId"));
    expect(await rejection(ssm.getCommandInvocation("cmd-x", "i-1"))).toMatchObject({ code: "InvalidCommandId", action: "GetCommandInvocation" });
  });

  it("cancels a command on the instance", async () => {
    ssmMock.on(CancelCommandCommand).resolves({});
    await ssm.cancelCommand("cmd-1", "i-1");
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(CancelCommandCommand, { CommandId: "cmd-1", InstanceIds: ["i-1"] });
  });

  it("reports a failed cancel", async () => {
    ssmMock.on(CancelCommandCommand).rejects(ssmError("InvalidCommandId"));
    expect(await rejection(ssm.cancelCommand("cmd-1", "i-1"))).toMatchObject({ code: "InvalidCommandId", action: "CancelCommand" });
  });

  it("knows its region", () => {
    expect(ssm.region).toBe("us-west-2");
  });
});
