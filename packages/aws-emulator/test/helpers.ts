import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SSMClient,
  SendCommandCommand,
  type GetCommandInvocationCommandOutput,
} from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import { startEmulator, type Emulator, type EmulatorOptions } from "../src/emulator.js";
import { publicAmiParameterName } from "../src/public-amis.js";
import { preferredScratchDir } from "../src/sandbox.js";

export const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** An emulator for tests: fast simulated time, scratch in tmpfs when possible. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ msPerSimSecond: 1, scratchDir: preferredScratchDir(), ...options });
}

export interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
  iam: IAMClient;
  region: string;
}

/** Real SDK v3 clients pointed at the emulator. */
export function clientsFor(emu: Emulator, region = "us-east-1", maxAttempts = 1): Clients {
  const config = { endpoint: emu.url, region, credentials: CREDENTIALS, maxAttempts };
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
    iam: new IAMClient(config),
    region,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns something other than undefined (or throws after `timeoutMs`). */
export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Catches the error a promise rejects with (fails when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number; attempts?: number } };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export async function baseImageId(c: Clients, family: Parameters<typeof publicAmiParameterName>[0] = "ubuntu-22.04", arch: "x86_64" | "arm64" = "x86_64"): Promise<string> {
  const r = await c.ssm.send(new GetParameterCommand({ Name: publicAmiParameterName(family, arch) }));
  return r.Parameter?.Value as string;
}

/** Launches an instance (with the builder profile unless told otherwise) and returns its id. */
export async function launch(c: Clients, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const r = await c.ec2.send(
    new RunInstancesCommand({
      ImageId: input.ImageId ?? (await baseImageId(c)),
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      IamInstanceProfile: { Name: "cws-ami-builder" },
      ...input,
    }),
  );
  return r.Instances?.[0]?.InstanceId as string;
}

export async function instanceState(c: Clients, id: string): Promise<string | undefined> {
  const r = await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return r.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

export async function waitOnline(c: Clients, id: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => {
    const r = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
    return r.InstanceInformationList?.[0]?.PingStatus === "Online" ? true : undefined;
  }, timeoutMs);
}

export async function launchOnline(c: Clients, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = await launch(c, input);
  await waitOnline(c, id);
  return id;
}

const TERMINAL = ["Success", "Failed", "TimedOut", "Cancelled"];

/** Polls GetCommandInvocation to a final status, riding out InvocationDoesNotExist like a real client must. */
export async function waitInvocation(c: Clients, commandId: string, instanceId: string, timeoutMs = 15_000): Promise<GetCommandInvocationCommandOutput> {
  return waitFor(async () => {
    try {
      const r = await c.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      return TERMINAL.includes(r.Status ?? "") ? r : undefined;
    } catch (err) {
      if ((err as Error).name === "InvocationDoesNotExist") return undefined;
      throw err;
    }
  }, timeoutMs);
}

export async function send(c: Clients, instanceId: string, commands: string[], extra: { executionTimeout?: number } = {}): Promise<string> {
  const r = await c.ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: [instanceId],
      Parameters: { commands, ...(extra.executionTimeout ? { executionTimeout: [String(extra.executionTimeout)] } : {}) },
    }),
  );
  return r.Command?.CommandId as string;
}

export async function run(c: Clients, instanceId: string, commands: string[], extra: { executionTimeout?: number } = {}): Promise<GetCommandInvocationCommandOutput> {
  const commandId = await send(c, instanceId, commands, extra);
  return waitInvocation(c, commandId, instanceId);
}
