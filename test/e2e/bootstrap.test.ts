import { afterEach, describe, expect, it } from "vitest";
import { cleanEnv, runCliAsync } from "../helpers/cli.js";
import { startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("cws ami bootstrap (end to end, emulator)", () => {
  it("creates the role and instance profile once, waits for EC2 to accept it, and is idempotent", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    const first = await harness.cws(["ami", "bootstrap", "--json"]);
    expect(first.stderr).toContain("Created role cws-ami-builder");
    expect(first.stderr).toContain("Attached AmazonSSMManagedInstanceCore");
    expect(first.stderr).toContain("Created instance profile cws-ami-builder");
    expect(first.status).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ role: "cws-ami-builder", instanceProfile: "cws-ami-builder", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
    expect(result.changed).toHaveLength(4);

    const second = await harness.cws(["ami", "bootstrap"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("already bootstrapped; nothing changed");
    expect(harness.emulator.stats.calls["iam:CreateRole"]).toBe(1);

    // A build now gets through preflight and the SSM agent comes online.
    const build = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(build.stderr).toContain("Instance ready");
    expect(build.status).toBe(0);
  });

  // Every command that calls AWS, against an endpoint where nothing listens: AWS's absence is not a bug in cws.
  const awsCommands: string[][] = [
    ["ami", "bootstrap", "--region", "us-east-1"],
    ["ami", "list", "--live", "--region", "us-east-1"],
    ["ami", "update-registry", "--all", "--region", "us-east-1"],
    ["ami", "build", "basic-ubuntu", "--region", "us-east-1", "--architecture", "x86_64"],
    ["ami", "validate", "basic-ubuntu", "--ami", "ami-0123456789abcdef0", "--region", "us-east-1", "--architecture", "x86_64"],
    ["ami", "cleanup", "--keep-latest", "1", "--dry-run"],
    ["ami", "reap", "--dry-run", "--region", "us-east-1"],
  ];
  // Exit 1, as the README's exit codes say of each (AWS_UNREACHABLE): the work failed, not the input.
  it.each(awsCommands)("%s %s: an unreachable endpoint is a clear failure (exit 1, AWS_UNREACHABLE), never an internal error", async (...args) => {
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" });
    const result = await runCliAsync([...args, "--json"], { env });
    expect(result.stderr).not.toContain("internal error");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).toMatch(/cannot reach AWS|ECONNREFUSED/);
    expect(result.status, result.stderr).toBe(1);
    // The error document, or (build, validate) the result with its error.
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "AWS_UNREACHABLE", value: "ECONNREFUSED" }, exitCode: 1 });
  });

  it("an AWS error no command advises on is AWS's answer, exit 1, not an internal error", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    harness.emulator.faults.add({ service: "iam", action: "GetInstanceProfile", code: "ServiceFailure", message: "IAM is having a bad day", status: 400, times: 100 });
    const result = await harness.cws(["ami", "bootstrap", "--json"]);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toContain("internal error");
    expect(result.stderr).toContain("IAM is having a bad day");
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "AWS_ERROR", value: "ServiceFailure" }, exitCode: 1 });
  });
});
