import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { afterEach, describe, expect, it } from "vitest";
import { buildOwnerIds, leftovers, startHarness, type Harness } from "./harness.js";

/**
 * `cws ami build` end to end: the built CLI, run as a child process, against
 * the project's EC2/SSM emulator over HTTP (the real SDK parses every answer).
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function expectNothingLeft(h: Harness, region = "us-east-1") {
  const left = leftovers(h.emulator, region);
  expect(left.liveInstances).toEqual([]);
  expect(left.buildSecurityGroups).toEqual([]);
  // The build released its owner file (for cws ami reap) on every way out: done, failed, or stopped by a signal.
  expect(buildOwnerIds(h)).toEqual([]);
  return left;
}

describe("cws ami build (end to end, emulator)", () => {
  it("builds, tags, records and cleans up; files written by setup are on an instance launched from the AMI", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--region", "us-east-1", "--version", "v1.2.3", "--json"]);
    expect(result.stderr).toContain("✅ All 3 tests passed");
    expect(result.status).toBe(0);
    const build = JSON.parse(result.stdout);
    expect(build).toMatchObject({ status: "succeeded", template: "emu-basic", architecture: "x86_64", region: "us-east-1", version: "v1.2.3", imageState: "available" });
    // The name ends with the build id (its UTC start and a random suffix), so builds started in the same second differ.
    expect(build.buildId).toMatch(/^\d{8}t\d{6}z-[0-9a-f]{6}$/);
    expect(build.imageName).toBe(`cws-emu-basic-v1.2.3-x86_64-${build.buildId}`);

    const left = expectNothingLeft(harness);
    expect(left.images.map((i) => i.id)).toEqual([build.imageId]);
    const image = left.images[0]!;
    const expectedTags = {
      Name: build.imageName,
      "cws:template": "emu-basic",
      "cws:version": "v1.2.3",
      "cws:arch": "x86_64",
      "cws:build-id": build.buildId,
      "cws:base-ami": build.baseAmi,
      "cws:validated": "true",
      "cws:managed-by": "cws",
    };
    expect(image.tags).toMatchObject(expectedTags);
    expect(image.tags["cws:content-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(left.snapshots.length).toBeGreaterThan(0);
    for (const snapshot of left.snapshots) expect(snapshot.tags).toMatchObject(expectedTags);

    // The build instance carried its tags and was launched as specified.
    const buildInstance = harness.emulator.instances("us-east-1").find((i) => i.id === build.instanceId)!;
    expect(buildInstance.tags).toMatchObject({ "cws:build-id": build.buildId, "cws:template": "emu-basic", "cws:managed-by": "cws" });
    expect(buildInstance.profileName).toBe("cws-ami-builder");
    expect(buildInstance.state).toBe("terminated");

    const registry = harness.registry() as { templates: Record<string, { amis: Record<string, Record<string, { ami_id: string; validated: boolean }>> }> };
    expect(registry.templates["emu-basic"]!.amis["us-east-1"]!.x86_64).toMatchObject({ ami_id: build.imageId, validated: true });
    const log = readFileSync(join(harness.dir, build.logDir, "setup.log"), "utf8");
    expect(log).toContain("setup line 20");

    // An instance launched from the new AMI sees what setup wrote.
    const ec2 = new EC2Client({ endpoint: harness.emulator.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    const launched = await ec2.send(new RunInstancesCommand({ ImageId: build.imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }));
    const instanceId = launched.Instances![0]!.InstanceId!;
    await harness.emulator.settled("us-east-1");
    expect((await harness.emulator.instanceFile("us-east-1", instanceId, "/opt/cws-test/marker")).trim()).toBe("hello from setup");
    // ... and was generalized: no SSH host keys from the build instance.
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(described.Reservations![0]!.Instances![0]!.ImageId).toBe(build.imageId);
  });

  it("runs named build steps in order and logs each", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-steps", "--region", "us-west-2"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/📦 Install first thing[\s\S]*first step done[\s\S]*📦 Configure second thing[\s\S]*second step done/);
    expect(result.stdout).toContain("Build complete!");
    expect(result.stdout).toMatch(/emu-steps\.us-west-2\.arm64 = ami-[0-9a-f]+/);
    const logDir = /Logs: (\S+)/.exec(result.stdout)![1]!;
    expect(readFileSync(join(harness.dir, logDir, "01-install-first-thing.log"), "utf8")).toContain("first step done");
    expect(readFileSync(join(harness.dir, logDir, "02-configure-second-thing.log"), "utf8")).toContain("second step done");
    expectNothingLeft(harness, "us-west-2");
  });

  it("fails a setup with its last 30 lines and the log path, makes no image and cleans up", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-fail-setup"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("setup script exited with code 7");
    expect(result.stderr).toContain("E: unable to locate package imaginary-package");
    expect(result.stderr).toContain("progress 40");
    expect(result.stderr).toMatch(/last 30 lines of the log:/);
    expect(result.stderr).toMatch(/full log: \.cws\/logs\/[^/]+\/setup\.log/);
    const left = expectNothingLeft(harness);
    expect(left.images).toEqual([]);
    expect(harness.registry()).toBeUndefined();
  });

  it("runs every validation test, shows expected vs actual, and makes no image", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-fail-validation"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("✅ version file exists");
    expect(result.stderr).not.toContain("no result");
    expect(result.stderr).toContain('❌ right version: output: expected "tool 3.0.0", got "tool 2.0.1"');
    expect(result.stderr).toMatch(/❌ missing file: exit code: expected 0, got 1 \(stderr: cat: \/opt\/cws-test\/absent: No such file or directory\)/);
    expect(result.stderr).toContain("✅ version pattern");
    expect(result.stderr).toContain("2 of 4 validation tests failed; no image was made");
    const left = expectNothingLeft(harness);
    expect(left.images).toEqual([]);
    expect(harness.emulator.invocations("us-east-1").some((i) => i.stdout.includes("generalized"))).toBe(false);
  });

  // The SDK's adaptive retry backs off from about a second per throttled call (~110 s in all here),
  // so this test gets a generous limit.
  it("succeeds when every action is throttled three times", { timeout: 420_000 }, async () => {
    harness = await startHarness();
    harness.emulator.faults.add({ service: "ec2", action: "*", code: "RequestLimitExceeded", times: 3 });
    harness.emulator.faults.add({ service: "ssm", action: "*", code: "ThrottlingException", times: 3 });
    harness.emulator.faults.add({ service: "sts", action: "*", code: "Throttling", times: 3 });
    harness.emulator.faults.add({ service: "iam", action: "*", code: "Throttling", times: 3 });
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"], { timeoutMs: 400_000 });
    expect(result.stderr).not.toContain("❌");
    expect(result.status).toBe(0);
    expect(harness.emulator.stats.faultsInjected).toBeGreaterThanOrEqual(3 * 10);
    expectNothingLeft(harness);
  });

  it("tries another zone after InsufficientInstanceCapacity", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    // The first zone the build picks (us-east-1a: all default subnets have the same free addresses) has no capacity at all.
    harness.emulator.faults.add({
      service: "ec2",
      action: "RunInstances",
      code: "InsufficientInstanceCapacity",
      times: 100,
      match: (request) => request.availabilityZone === "us-east-1a",
    });
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--json"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("No t3.medium capacity in us-east-1a; trying another zone");
    expect(result.stderr).toMatch(/Instance launched: i-[0-9a-f]+ \(t3\.medium, us-east-1b\)/);
    expectNothingLeft(harness);
  });

  it("says exactly what it wrote the new AMI into, and nothing when it wrote nothing", async () => {
    harness = await startHarness();
    const args = ["ami", "build", "emu-basic", "--architecture", "x86_64", "--quiet"];
    const nowhere = await harness.cws([...args, "--no-registry-update"]);
    expect(nowhere.status).toBe(0);
    expect(nowhere.stdout).toContain("Build complete!");
    expect(nowhere.stdout).not.toMatch(/updated/i);
    expect(harness.registry()).toBeUndefined();

    const ssmOnly = await harness.cws([...args, "--no-registry-update", "--publish-ssm", "--json"]);
    const built = JSON.parse(ssmOnly.stdout) as { imageId: string; written: Record<string, string> };
    expect(built.written).toEqual({ ssmParameter: "/cloudworkstation/amis/emu-basic/us-east-1/x86_64" });

    const recorded = await harness.cws(args);
    expect(recorded.status).toBe(0);
    expect(recorded.stdout).toMatch(/\nRegistry updated \(\.\/registry\/amis\.json\):\n {3}emu-basic\.us-east-1\.x86_64 = ami-[0-9a-f]{17}\n/);
    expect(recorded.stdout).not.toContain("Template updated");
    expect(recorded.stdout).not.toContain("SSM Parameter Store");
  });

  // SIGINT is Ctrl-C; SIGTERM is what a cancelled CI job sends; SIGHUP a terminal closed (SSH dropped). Each exits 128 + its number, as shells report it.
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)("on %s during setup, names it, cleans up everything and exits %i", async (signal, exitCode) => {
    harness = await startHarness();
    let sent = false;
    const result = await harness.cws(["ami", "build", "emu-slow"], {
      onStderr: (text, child) => {
        if (!sent && text.includes("tick 5")) {
          sent = true;
          child.kill(signal);
        }
      },
    });
    expect(sent).toBe(true);
    expect(result.status).toBe(exitCode);
    expect(result.stderr).toMatch(new RegExp(`${signal}: (the terminal closed; )?stopping the build and cleaning up`));
    expect(result.stderr).toContain(`interrupted by ${signal}`);
    for (const other of ["SIGINT", "SIGTERM", "SIGHUP"].filter((s) => s !== signal)) expect(result.stderr + result.stdout).not.toContain(other);
    // Ctrl-C is a key to press again; a program sends SIGTERM again.
    if (signal !== "SIGINT") expect(result.stderr).not.toContain("Ctrl-C");
    expect(result.stderr).toMatch(/Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    expect(expectNothingLeft(harness).images).toEqual([]);
  });

  it("saves a 100,000-line setup log in full", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-big-log", "--quiet"], { timeoutMs: 180_000 });
    expect(result.status).toBe(0);
    const logDir = /Logs: (\S+)/.exec(result.stdout)![1]!;
    const log = readFileSync(join(harness.dir, logDir, "setup.log"), "utf8");
    const lines = log.trimEnd().split("\n");
    expect(lines).toHaveLength(100_000);
    expect(lines[0]).toBe("output line 000001 of the big setup log");
    expect(lines[99_999]).toBe("output line 100000 of the big setup log");
  });

  it("stops at preflight when the instance profile is missing (exit 2, says what to do)", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("instance profile cws-ami-builder does not exist");
    expect(result.stderr).toContain("cws ami bootstrap");
    expect(harness.emulator.instances("us-east-1")).toEqual([]);
  });

  it("stops at preflight when the instance profile's role trusts another account (exit 2, BUILDER_ROLE_TRUST), launching nothing", async () => {
    harness = await startHarness({ instanceProfiles: [], requestLog: true });
    // Planted as a holder of the people's policy could, before anyone ran bootstrap: the name is right, the trust is not.
    const iam = new IAMClient({ endpoint: harness.emulator.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com", AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" }] };
    await iam.send(new CreateRoleCommand({ RoleName: "cws-ami-builder", AssumeRolePolicyDocument: JSON.stringify(trust) }));
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: "cws-ami-builder" }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: "cws-ami-builder", RoleName: "cws-ami-builder" }));
    iam.destroy();

    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--json"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("role cws-ami-builder exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): it also trusts AWS arn:aws:iam::444455556666:root");
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { code: "BUILDER_ROLE_TRUST", value: "cws-ami-builder", suggestion: expect.stringContaining("aws iam update-assume-role-policy --role-name cws-ami-builder") },
      exitCode: 2,
    });
    const log = harness.emulator.requestLog;
    expect(log.of("iam:GetInstanceProfile")).toHaveLength(1);
    // Read from GetInstanceProfile's answer alone, and stopped before anything was made or launched.
    expect({ getRole: log.of("iam:GetRole"), createGroup: log.of("ec2:CreateSecurityGroup"), launch: log.of("ec2:RunInstances") }).toEqual({ getRole: [], createGroup: [], launch: [] });
    expect(harness.emulator.instances("us-east-1")).toEqual([]);
    expect(buildOwnerIds(harness)).toEqual([]);
  });

  it("reports rejected credentials as a usage problem (exit 2)", async () => {
    harness = await startHarness({ rejectCredentials: true });
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/credentials/i);
  });

  it("keeps the instance with --on-error abort and says how to reach and remove it", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-fail-setup", "--on-error", "abort"]);
    expect(result.status).toBe(1);
    const live = harness.emulator.instances("us-east-1").filter((i) => i.state === "running");
    expect(live).toHaveLength(1);
    expect(result.stderr).toContain(`aws ssm start-session --target ${live[0]!.id} --region us-east-1`);
    expect(result.stderr).toContain("(beyond docs/iam/cws-cli-policy.json, these need Session Manager: ssm:StartSession on the instance)");
    expect(result.stderr).toContain(`aws ec2 terminate-instances --instance-ids ${live[0]!.id}`);
    // The security group can only go once the instance is gone: the hint waits for that in between.
    expect(result.stderr).toMatch(/terminate-instances .* && aws ec2 wait instance-terminated --instance-ids i-[0-9a-f]+ .* && aws ec2 delete-security-group --group-id sg-/);
  });
});
