import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
        // Canonical's image, as EC2 reports its owner: one LaunchFromDistributionImages lists.
        { check: "launch from the base image", result: "ok: owned by Canonical (099720109477)" },
      ]),
    );
    expect(plan.baseAmiOwner).toEqual({ id: "099720109477", launchAllowedBy: "LaunchFromDistributionImages" });
    expect(harness.emulator.stats.calls["ec2:RunInstances"] ?? 0).toBe(0);
    expect(harness.emulator.instances("us-east-1")).toEqual([]);
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => !g.isDefault)).toEqual([]);
  });
});

describe("cws ami build --dry-run: the base image's owner against the policy's image statements", () => {
  it("Amazon's image is allowed by its owner id; an image of the account that cws did not build is a warning; a cws image is allowed", async () => {
    harness = await startHarness();
    const h = harness;
    const amazon = await h.cws(["ami", "build", "emu-steps", "--region", "us-west-2", "--dry-run"]);
    expect(amazon.status, amazon.stderr).toBe(0);
    expect(amazon.stdout).toContain("\n  launch from the base image: ok: owned by Amazon (137112412989)\n");

    // A template whose base image is one of the account's own images, by id: made by hand, or by another tool.
    const template = (id: string, imageId: string) => {
      const source = readFileSync(join(FIXTURE_TEMPLATES, "emu-basic.yml"), "utf8").replace("source: ubuntu-22.04-lts", `source: ${imageId}`);
      writeFileSync(join(h.dir, "templates", `${id}.yml`), source);
    };
    const golden = h.emulator.addImage("us-east-1", { name: "golden-image", architecture: "x86_64", tags: { team: "research" } }).imageId;
    template("emu-golden", golden);
    const warned = await h.cws(["ami", "build", "emu-golden", "--architecture", "x86_64", "--region", "us-east-1", "--dry-run"]);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stdout).toContain(
      `\n  launch from the base image: warning: ${golden} is owned by ${h.emulator.accountId}, which docs/iam/cws-cli-policy.json does not list (LaunchFromDistributionImages); a holder of that policy will be denied at launch: add the owner there (docs/iam/README.md, "Other distributions")\n`,
    );
    const json = JSON.parse((await h.cws(["ami", "build", "emu-golden", "--architecture", "x86_64", "--region", "us-east-1", "--dry-run", "--json"])).stdout);
    expect(json.baseAmiOwner).toEqual({ id: h.emulator.accountId, launchAllowedBy: null });
    expect(json.checks).toEqual(expect.arrayContaining([{ check: "launch from the base image", result: expect.stringMatching(/^warning: /) }]));

    const built = h.emulator.addImage("us-east-1", { name: "cws-built", architecture: "x86_64", tags: { "cws:managed-by": "cws" } }).imageId;
    template("emu-on-cws", built);
    const cws = await h.cws(["ami", "build", "emu-on-cws", "--architecture", "x86_64", "--region", "us-east-1", "--dry-run"]);
    expect(cws.stdout).toContain("\n  launch from the base image: ok: a cws image (LaunchFromCwsImages)\n");
    // A dry run launches nothing, whatever it finds.
    expect(h.emulator.instances("us-east-1")).toEqual([]);
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
