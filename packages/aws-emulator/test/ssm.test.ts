import { StopInstancesCommand } from "@aws-sdk/client-ec2";
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SSMServiceException,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import {
  baseImageId,
  clientsFor,
  errorOf,
  launch,
  launchOnline,
  run,
  send,
  sleep,
  startTestEmulator,
  waitFor,
  waitInvocation,
  waitOnline,
  type Clients,
} from "./helpers.js";
import { PUBLIC_AMI_PARAMETERS, newestSeedImage } from "../src/public-amis.js";

let emu: Emulator;
let c: Clients;
let online: string;

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
  online = await launchOnline(c);
});
afterAll(async () => {
  await emu?.stop();
});

describe("DescribeInstanceInformation", () => {
  it("shows Online only for a running instance with a profile, after the agent's start delay", async () => {
    emu.clock.setMsPerSimSecond(1000); // hold the clock while looking at the instance before its agent is up
    let id: string;
    try {
      id = await launch(c);
      await emu.settled("us-east-1");
      emu.clock.advance(emu.latencies.instancePending);
      expect(emu.instances("us-east-1").find((i) => i.id === id)?.state).toBe("running");
      const early = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
      expect(early.InstanceInformationList).toEqual([]);
      const notYet = await errorOf(send(c, id, ["true"]));
      expect(notYet.name).toBe("InvalidInstanceId");
    } finally {
      emu.clock.setMsPerSimSecond(1);
    }
    await waitOnline(c, id);
    const info = await c.ssm.send(new DescribeInstanceInformationCommand({ InstanceInformationFilterList: [{ key: "InstanceIds", valueSet: [id] }] }));
    expect(info.InstanceInformationList?.[0]).toMatchObject({
      InstanceId: id,
      PingStatus: "Online",
      PlatformType: "Linux",
      PlatformName: "Ubuntu",
      PlatformVersion: "22.04",
      ResourceType: "EC2Instance",
    });
    expect(info.InstanceInformationList?.[0]?.LastPingDateTime).toBeInstanceOf(Date);

    await c.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    const lost = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
    expect(lost.InstanceInformationList?.[0]?.PingStatus).toBe("ConnectionLost");
  });

  it("never lists an instance without an instance profile", async () => {
    const id = await launch(c, { IamInstanceProfile: undefined });
    await emu.settled("us-east-1");
    emu.clock.advance(emu.latencies.instancePending + emu.latencies.ssmAgentOnline + 60);
    const info = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
    expect(info.InstanceInformationList).toEqual([]);
    expect(emu.instances("us-east-1").find((i) => i.id === id)?.state).toBe("running");
    const err = await errorOf(send(c, id, ["true"]));
    expect(err.name).toBe("InvalidInstanceId");
  });

  it("paginates and rejects an unknown filter key", async () => {
    const r = await c.ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5 }));
    expect(r.InstanceInformationList?.length).toBeGreaterThan(0);
    const err = await errorOf(c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "Colour", Values: ["x"] }] })));
    expect(err.name).toBe("InvalidFilterKey");
    const small = await errorOf(c.ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 2 })));
    expect(small.name).toBe("ValidationException");
  });
});

describe("SendCommand and GetCommandInvocation", () => {
  it("answers InvocationDoesNotExist right after SendCommand, then the result", async () => {
    emu.latencies.invocationNotFound = 200; // 200 ms at 1 ms per simulated second
    const sent = await c.ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: [online],
        Comment: "step 1",
        TimeoutSeconds: 600,
        Parameters: { commands: ["echo out-line", "echo err-line >&2", "exit 3"], executionTimeout: ["60"] },
      }),
    );
    expect(sent.Command).toMatchObject({ Status: "Pending", DocumentName: "AWS-RunShellScript", InstanceIds: [online], Comment: "step 1", TimeoutSeconds: 600 });
    const id = sent.Command?.CommandId as string;
    const early = await errorOf(c.ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: online })));
    expect(early).toBeInstanceOf(SSMServiceException);
    expect(early.name).toBe("InvocationDoesNotExist");
    expect(early.$metadata?.httpStatusCode).toBe(400);
    emu.latencies.invocationNotFound = 2;

    const result = await waitInvocation(c, id, online);
    expect(result).toMatchObject({
      CommandId: id,
      InstanceId: online,
      Comment: "step 1",
      DocumentName: "AWS-RunShellScript",
      PluginName: "aws:runShellScript",
      Status: "Failed",
      StatusDetails: "Failed",
      ResponseCode: 3,
      StandardOutputContent: "out-line\n",
      StandardErrorContent: "err-line\n",
    });
    expect(result.ExecutionStartDateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(result.ExecutionElapsedTime).toMatch(/^PT[\d.]+S$/);
  });

  it("reports Pending before the script starts and InProgress while it runs", async () => {
    const slow = await startTestEmulator({ latencies: { commandPending: 150, invocationNotFound: 0 } });
    try {
      const sc = clientsFor(slow);
      const id = await launchOnline(sc);
      const cmd = await send(sc, id, ["sleep 0.25", "echo done"]);
      const pending = await sc.ssm.send(new GetCommandInvocationCommand({ CommandId: cmd, InstanceId: id }));
      expect(pending.Status).toBe("Pending");
      expect(pending.ResponseCode).toBe(-1);
      await waitFor(async () => {
        const r = await sc.ssm.send(new GetCommandInvocationCommand({ CommandId: cmd, InstanceId: id }));
        return r.Status === "InProgress" ? r : undefined;
      });
      const done = await waitInvocation(sc, cmd, id);
      expect(done.Status).toBe("Success");
      expect(done.ResponseCode).toBe(0);
      expect(done.StandardOutputContent).toBe("done\n");
    } finally {
      await slow.stop();
    }
  });

  it("joins the commands with newlines and runs them with bash as root", async () => {
    const r = await run(c, online, ["set -e", "x=41", "echo $((x + 1))", "[[ -n $BASH_VERSION ]] && echo bash", "id -u", "hostname"]);
    expect(r.Status).toBe("Success");
    const lines = (r.StandardOutputContent ?? "").trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["42", "bash", "0"]);
    expect(lines[3]).toMatch(/^ip-172-31-\d+-\d+$/);
  });

  it("truncates stdout to 24,000 and stderr to 8,000 characters like real SSM", async () => {
    const r = await run(c, online, ["head -c 30000 /dev/zero | tr '\\0' a", "head -c 9000 /dev/zero | tr '\\0' b >&2"]);
    expect(r.Status).toBe("Success");
    expect(r.StandardOutputContent).toHaveLength(24_000);
    expect(r.StandardErrorContent).toHaveLength(8_000);
    const full = emu.invocations("us-east-1").find((i) => i.commandId === r.CommandId);
    expect(full?.stdout).toHaveLength(30_000);
  });

  it("enforces executionTimeout: TimedOut / ExecutionTimedOut", async () => {
    const started = Date.now();
    const r = await run(c, online, ["echo before", "sleep 30", "echo after"], { executionTimeout: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.Status).toBe("TimedOut");
    expect(r.StatusDetails).toBe("ExecutionTimedOut");
    expect(r.StandardOutputContent).toBe("before\n");
  });

  it("cancels a running command", async () => {
    const cmd = await send(c, online, ["echo started", "sleep 30"]);
    await waitFor(async () => (emu.invocations("us-east-1").find((i) => i.commandId === cmd)?.status === "InProgress" ? true : undefined));
    await sleep(50);
    await c.ssm.send(new CancelCommandCommand({ CommandId: cmd }));
    const r = await waitInvocation(c, cmd, online);
    expect(r.Status).toBe("Cancelled");
    const err = await errorOf(c.ssm.send(new CancelCommandCommand({ CommandId: "00000000-0000-0000-0000-000000000000" })));
    expect(err.name).toBe("InvalidCommandId");
  });

  it("validates the document, the parameters and the target instance", async () => {
    const doc = await errorOf(c.ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunPowerShellScript", InstanceIds: [online], Parameters: { commands: ["x"] } })));
    expect(doc.name).toBe("InvalidDocument");
    const param = await errorOf(c.ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [online], Parameters: { command: ["x"] } })));
    expect(param.name).toBe("InvalidParameters");
    const unknown = await errorOf(send(c, "i-0123456789abcdef0", ["true"]));
    expect(unknown.name).toBe("InvalidInstanceId");
    expect(unknown.message).toContain("i-0123456789abcdef0");
    const notFound = await errorOf(c.ssm.send(new GetCommandInvocationCommand({ CommandId: "00000000-0000-0000-0000-000000000000", InstanceId: online })));
    expect(notFound.name).toBe("InvocationDoesNotExist");
  });
});

describe("parameters", () => {
  it("resolves every public AMI parameter to the newest matching image of the region", async () => {
    for (const p of PUBLIC_AMI_PARAMETERS) {
      const got = await c.ssm.send(new GetParameterCommand({ Name: p.name }));
      expect(got.Parameter?.Type).toBe("String");
      expect(got.Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1::parameter${p.name}`);
      const image = emu.images("us-east-1", { includePublic: true }).find((i) => i.id === got.Parameter?.Value);
      expect(image?.name, p.name).toBe(newestSeedImage(p).name);
      expect(image?.architecture).toBe(p.architecture);
    }
    expect(await baseImageId(c, "al2023", "arm64")).toMatch(/^ami-/);
  });

  it("puts, overwrites and gets parameters; a missing one is ParameterNotFound", async () => {
    const put = await c.ssm.send(new PutParameterCommand({ Name: "/cws/ami/latest", Value: "ami-0123456789abcdef0", Type: "String" }));
    expect(put.Version).toBe(1);
    const again = await errorOf(c.ssm.send(new PutParameterCommand({ Name: "/cws/ami/latest", Value: "x", Type: "String" })));
    expect(again.name).toBe("ParameterAlreadyExists");
    const over = await c.ssm.send(new PutParameterCommand({ Name: "/cws/ami/latest", Value: "ami-0fedcba9876543210", Type: "String", Overwrite: true }));
    expect(over.Version).toBe(2);
    const got = await c.ssm.send(new GetParameterCommand({ Name: "/cws/ami/latest" }));
    expect(got.Parameter).toMatchObject({ Name: "/cws/ami/latest", Value: "ami-0fedcba9876543210", Version: 2, Type: "String" });
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    expect(emu.parameters("us-east-1").find((p) => p.name === "/cws/ami/latest")?.value).toBe("ami-0fedcba9876543210");
    expect(emu.parameters("eu-west-1").find((p) => p.name === "/cws/ami/latest")).toBeUndefined();
    const missing = await errorOf(c.ssm.send(new GetParameterCommand({ Name: "/cws/missing" })));
    expect(missing.name).toBe("ParameterNotFound");
    const reserved = await errorOf(c.ssm.send(new PutParameterCommand({ Name: "/aws/service/mine", Value: "x", Type: "String" })));
    expect(reserved.name).toBe("ValidationException");
  });
});
