import { afterEach, describe, expect, it } from "vitest";
import { runCliAsync } from "../helpers/cli.js";
import { FIXTURE_TEMPLATES, startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("cws ami build --dry-run", () => {
  it("prints the whole plan offline, with no credentials, and exits 0", async () => {
    const result = await runCliAsync(["--templates-dir", FIXTURE_TEMPLATES, "ami", "build", "emu-steps", "--dry-run"], {
      env: { HOME: "/nonexistent", AWS_REGION: "us-west-2", AWS_EC2_METADATA_DISABLED: "true" },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Plan for emu-steps v2.1.0 (arm64, us-west-2): dry run, nothing is created");
    expect(result.stdout).toContain("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
    expect(result.stdout).toContain("Launch t4g.medium: IMDSv2 required");
    expect(result.stdout).toContain("1. Install first thing (timeout 3600s)");
    expect(result.stdout).toContain("2. Configure second thing (timeout 60s)");
    expect(result.stdout).toMatch(/credentials: none usable .*the plan above is offline/);
  });

  it("with credentials, resolves the base AMI and checks EC2 permissions without creating anything", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "arm64", "--dry-run", "--json"]);
    expect(result.status).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.baseAmi).toMatch(/^ami-/);
    expect(plan.checks).toEqual(
      expect.arrayContaining([
        // No cws group to launch into yet (a build makes its own): the launch is not asked about.
        { check: "ec2:RunInstances (DryRun)", result: expect.stringMatching(/^not checked: no security group tagged cws:managed-by=cws in vpc-/) },
        { check: "ec2:CreateSecurityGroup (DryRun)", result: "allowed" },
      ]),
    );
    expect(harness.emulator.stats.calls["ec2:RunInstances"] ?? 0).toBe(0);
    expect(harness.emulator.instances("us-east-1")).toEqual([]);
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => !g.isDefault)).toEqual([]);
  });
});

describe("a second Ctrl-C", () => {
  it("prints what is still alive while cleanup finishes", async () => {
    harness = await startHarness();
    let sent = 0;
    const result = await harness.cws(["ami", "build", "emu-slow"], {
      onStderr: (text, child) => {
        if (sent === 0 && text.includes("tick 3")) {
          sent = 1;
          child.kill("SIGINT");
        } else if (sent === 1 && text.includes("SIGINT: stopping the build")) {
          sent = 2;
          child.kill("SIGINT");
        }
      },
    });
    expect(result.status).toBe(130);
    expect(result.stderr).toMatch(/still cleaning up; alive in us-east-1: instance i-[0-9a-f]+, security group sg-[0-9a-f]+ \(all tagged cws:build-id=/);
    expect(harness.emulator.instances("us-east-1").filter((i) => i.state !== "terminated")).toEqual([]);
  });
});
