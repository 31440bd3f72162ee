import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateSecurityGroupCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetInstanceProfileCommand } from "@aws-sdk/client-iam";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterEach, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { publicAmiParameterName } from "../src/public-amis.js";
import type { RequestRecord } from "../src/request-log.js";
import { preferredScratchDir } from "../src/sandbox.js";
import { baseImageId, clientsFor, errorOf, launch, startTestEmulator, waitFor } from "./helpers.js";

/**
 * The request log: every request as AWS would receive it (service, action,
 * region, the parameters decoded), in memory and as JSON lines in a file,
 * malformed requests included, credentials never.
 */
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");

let emu: Emulator | undefined;
const folders: string[] = [];
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "cws-emu-request-log-"));
  folders.push(dir);
  return dir;
}

function readLines(file: string): RequestRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as RequestRecord);
}

/** A request as a hand-written client would send it, signed (in appearance: the emulator reads only the credential scope). */
function rawRequest(url: string, options: { service: string; region?: string; contentType: string; body: string; target?: string }): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": options.contentType,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDRAWREQUEST/20260101/${options.region ?? "us-east-1"}/${options.service}/aws4_request, SignedHeaders=host, Signature=0123456789abcdef`,
      ...(options.target ? { "x-amz-target": options.target } : {}),
    },
    body: options.body,
  });
}

describe("the request log", () => {
  it("is off unless asked for: nothing is recorded", async () => {
    emu = await startTestEmulator();
    await clientsFor(emu).ec2.send(new DescribeVpcsCommand({}));
    expect(emu.requestLog.enabled).toBe(false);
    expect(emu.requestLog.records).toEqual([]);
  });

  it("records each call of each service with its region and its parameters as they arrived", async () => {
    emu = await startTestEmulator({ requestLog: true });
    const c = clientsFor(emu, "eu-west-1");
    const imageId = await baseImageId(c);
    const instanceId = await launch(c, {
      ImageId: imageId,
      TagSpecifications: [
        { ResourceType: "instance", Tags: [{ Key: "cws:managed-by", Value: "cws" }, { Key: "Name", Value: "logged" }] },
        { ResourceType: "volume", Tags: [{ Key: "cws:managed-by", Value: "cws" }] },
      ],
    });
    await c.sts.send(new GetCallerIdentityCommand({}));
    await c.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "cws-ami-builder" }));

    const [run] = emu.requestLog.of("ec2:RunInstances");
    expect(run).toMatchObject({ service: "ec2", action: "RunInstances", region: "eu-west-1", status: 200 });
    expect(run!.error).toBeUndefined();
    // The query parameters exactly as EC2 gets them, flattened and numbered.
    expect(run!.params).toMatchObject({
      Action: "RunInstances",
      ImageId: imageId,
      "IamInstanceProfile.Name": "cws-ami-builder",
      "TagSpecification.1.ResourceType": "instance",
      "TagSpecification.1.Tag.1.Key": "cws:managed-by",
      "TagSpecification.1.Tag.1.Value": "cws",
      "TagSpecification.1.Tag.2.Key": "Name",
      "TagSpecification.1.Tag.2.Value": "logged",
      "TagSpecification.2.ResourceType": "volume",
      "TagSpecification.2.Tag.1.Key": "cws:managed-by",
    });
    expect(emu.instances("eu-west-1").map((i) => i.id)).toEqual([instanceId]);

    // SSM's JSON body, as sent.
    const [getParameter] = emu.requestLog.of("ssm:GetParameter");
    expect(getParameter).toMatchObject({ region: "eu-west-1", status: 200, params: { Name: publicAmiParameterName("ubuntu-22.04", "x86_64") } });
    expect(emu.requestLog.of("sts:GetCallerIdentity")).toHaveLength(1);
    expect(emu.requestLog.of("iam:GetInstanceProfile")[0]).toMatchObject({ params: { InstanceProfileName: "cws-ami-builder" }, status: 200 });

    // In the order answered, numbered, each with its request id and arrival time.
    const records = emu.requestLog.records;
    expect(records.map((r) => `${r.service}:${r.action}`)).toEqual(["ssm:GetParameter", "ec2:RunInstances", "sts:GetCallerIdentity", "iam:GetInstanceProfile"]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    for (const r of records) {
      expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(r.time))).toBe(false);
    }
    emu.requestLog.clear();
    expect(emu.requestLog.records).toEqual([]);
  });

  it("records refused calls with the error answered: DryRun, an injected fault, throttling", async () => {
    emu = await startTestEmulator({ requestLog: true });
    const c = clientsFor(emu);
    const vpcs = await c.ec2.send(new DescribeVpcsCommand({}));
    const vpcId = vpcs.Vpcs![0]!.VpcId!;
    const dryRun = await errorOf(c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "dry", Description: "d", VpcId: vpcId, DryRun: true })));
    expect(dryRun.name).toBe("DryRunOperation");
    emu.faults.add({ service: "ec2", action: "CreateSecurityGroup", code: "UnauthorizedOperation", status: 403, times: 1 });
    await errorOf(c.ec2.send(new CreateSecurityGroupCommand({ GroupName: "denied", Description: "d", VpcId: vpcId })));
    emu.setThrottle({ capacity: 1, refillPerSecond: 0.001 });
    await c.ec2.send(new DescribeVpcsCommand({}));
    await errorOf(c.ec2.send(new DescribeVpcsCommand({})));

    expect(emu.requestLog.records.slice(1).map((r) => ({ action: r.action, status: r.status, error: r.error, name: r.params?.GroupName }))).toEqual([
      { action: "CreateSecurityGroup", status: 412, error: "DryRunOperation", name: "dry" },
      { action: "CreateSecurityGroup", status: 403, error: "UnauthorizedOperation", name: "denied" },
      { action: "DescribeVpcs", status: 200, error: undefined, name: undefined },
      { action: "DescribeVpcs", status: 503, error: "RequestLimitExceeded", name: undefined },
    ]);
  });

  it("records malformed requests too: a body that is not JSON, a request that names no action, a service it does not serve", async () => {
    emu = await startTestEmulator({ requestLog: true });
    const notJson = await rawRequest(emu.url, { service: "ssm", region: "us-west-2", contentType: "application/x-amz-json-1.1", target: "AmazonSSM.GetParameter", body: "{Name: /not/json" });
    expect(notJson.status).toBe(400);
    const noAction = await rawRequest(emu.url, { service: "ec2", contentType: "application/x-www-form-urlencoded", body: "Version=2016-11-15&InstanceId.1=i-0123" });
    expect(noAction.status).toBe(400);
    const s3 = await rawRequest(emu.url, { service: "s3", contentType: "application/x-www-form-urlencoded", body: "Action=ListBuckets" });
    expect(s3.status).toBe(400);

    expect(emu.requestLog.records).toMatchObject([
      { service: "ssm", action: "GetParameter", region: "us-west-2", params: null, body: "{Name: /not/json", status: 400, error: "SerializationException" },
      { service: "ec2", action: null, region: "us-east-1", params: { Version: "2016-11-15", "InstanceId.1": "i-0123" }, status: 400, error: "MissingAction" },
      { service: "s3", action: "ListBuckets", params: { Action: "ListBuckets" }, status: 400, error: "UnknownService" },
    ]);
  });

  it("never records credentials: not the Authorization header, the session token, nor credentials sent as parameters", async () => {
    const file = join(folder(), "requests.jsonl");
    emu = await startTestEmulator({ requestLog: { file } });
    const secrets = { accessKeyId: "AKIDLOGSECRETKEYID01", secretAccessKey: "wJalrXUtnFEMI-secret-access-key", sessionToken: "session-token-that-must-not-leak" };
    const config = { endpoint: emu.url, region: "us-east-1", credentials: secrets, maxAttempts: 1 };
    await new EC2Client(config).send(new DescribeVpcsCommand({}));
    await new SSMClient(config).send(new GetParameterCommand({ Name: publicAmiParameterName("ubuntu-24.04", "arm64") }));
    // Older ways of signing put credentials in the parameters; and a body that cannot be decoded is kept as text.
    await rawRequest(emu.url, {
      service: "ec2",
      contentType: "application/x-www-form-urlencoded",
      body: `Action=DescribeVpcs&Version=2016-11-15&AWSAccessKeyId=${secrets.accessKeyId}&Signature=sig-v2-value&SecurityToken=${secrets.sessionToken}`,
    });
    await rawRequest(emu.url, { service: "ec2", contentType: "text/plain", body: `X-Amz-Credential=${secrets.accessKeyId}&X-Amz-Signature=sig-v4-value` });

    const text = readFileSync(file, "utf8");
    expect(readLines(file)).toHaveLength(4);
    for (const secret of [...Object.values(secrets), "sig-v2-value", "sig-v4-value", "0123456789abcdef", "AKIDRAWREQUEST"]) {
      expect(text, secret).not.toContain(secret);
      expect(JSON.stringify(emu.requestLog.records), secret).not.toContain(secret);
    }
    // No header: not its name (the records' own `authorizations`, what IAM would be asked, aside), nor its value.
    expect(text.toLowerCase().replaceAll('"authorizations":', "")).not.toContain("authorization");
    expect(text).not.toContain("AWS4-HMAC-SHA256");
    const [, , sigV2, unreadable] = readLines(file);
    expect(sigV2!.params).toMatchObject({ Action: "DescribeVpcs", AWSAccessKeyId: "(redacted)", Signature: "(redacted)", SecurityToken: "(redacted)" });
    expect(unreadable).toMatchObject({ params: null, body: "X-Amz-Credential=(redacted)&X-Amz-Signature=(redacted)" });
  });

  it("appends one JSON line per request to its file, written before the answer arrives, after what the file held", async () => {
    const file = join(folder(), "requests.jsonl");
    writeFileSync(file, '{"earlier":"run"}\n');
    emu = await startTestEmulator({ requestLog: { file, inMemory: false } });
    const c = clientsFor(emu);
    await c.ec2.send(new DescribeVpcsCommand({}));
    // Already there: the client has its answer, so the line is written.
    expect(readLines(file).map((r) => r.action ?? "(earlier)")).toEqual(["(earlier)", "DescribeVpcs"]);
    await c.sts.send(new GetCallerIdentityCommand({}));
    expect(readLines(file).slice(1)).toMatchObject([
      { seq: 1, service: "ec2", action: "DescribeVpcs", status: 200 },
      { seq: 2, service: "sts", action: "GetCallerIdentity", status: 200 },
    ]);
    // In the file only.
    expect(emu.requestLog.enabled).toBe(true);
    expect(emu.requestLog.records).toEqual([]);
  });

  it("is main.ts's --request-log FILE, readable while the emulator runs", { timeout: 30_000 }, async () => {
    const dir = folder();
    const file = join(dir, "requests.jsonl");
    const scratch = mkdtempSync(join(preferredScratchDir() ?? tmpdir(), "cws-emu-request-log-"));
    folders.push(scratch);
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--port", "0", "--scratch-dir", scratch, "--request-log", file], {
      cwd: PACKAGE,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let stdout = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk;
          const line = /^(http:\/\/\S+)\n/m.exec(stdout);
          if (line) resolve(line[1]!);
        });
        child.on("exit", () => reject(new Error(`the emulator exited: ${stderr}`)));
      });
      await waitFor(() => (stderr.includes("request log:") ? true : undefined));
      expect(stderr).toContain(`request log: ${file}`);
      await clientsFor({ url } as Emulator, "ap-southeast-2").ec2.send(new DescribeVpcsCommand({}));
      expect(readLines(file)).toMatchObject([{ seq: 1, service: "ec2", action: "DescribeVpcs", region: "ap-southeast-2", status: 200 }]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
  });
});
