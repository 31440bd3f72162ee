import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { afterEach, describe, expect, it } from "vitest";
import { cleanEnv, runCliAsync } from "../helpers/cli.js";
import { queryParams, tagSpecifications } from "../helpers/request-log.js";
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

  /** A role named cws-ami-builder made before bootstrap, through the emulator's IAM API, trusting `trust`. */
  async function plantRole(h: Harness, trust: unknown): Promise<void> {
    const iam = new IAMClient({ endpoint: h.emulator.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await iam.send(new CreateRoleCommand({ RoleName: "cws-ami-builder", AssumeRolePolicyDocument: JSON.stringify(trust) }));
    iam.destroy();
  }

  it("refuses a cws-ami-builder role that trusts another account (exit 2), and creates nothing", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    await plantRole(harness, {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com", AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" }],
    });
    const result = await harness.cws(["ami", "bootstrap", "--json"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("error: role cws-ami-builder exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): it also trusts AWS arn:aws:iam::444455556666:root");
    expect(result.stderr).toContain("→ as an administrator, inspect it with aws iam get-role --role-name cws-ami-builder");
    expect(result.stderr).toContain("aws iam update-assume-role-policy --role-name cws-ami-builder");
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "BUILDER_ROLE_TRUST", value: "cws-ami-builder" }, exitCode: 2 });
    const calls = harness.emulator.stats.calls;
    expect([calls["iam:AttachRolePolicy"], calls["iam:CreateInstanceProfile"], calls["ec2:CreateSecurityGroup"], calls["ec2:RunInstances"]]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("accepts a cws-ami-builder role whose trust is EC2 alone, written another way", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    await plantRole(harness, { Statement: [{ Sid: "Builders", Action: ["sts:AssumeRole"], Principal: { Service: ["ec2.amazonaws.com"] }, Effect: "Allow" }], Version: "2012-10-17" });
    const result = await harness.cws(["ami", "bootstrap"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("✅ Role cws-ami-builder exists, trusted by ec2.amazonaws.com only");
    expect(result.stderr).toContain("✅ Attached AmazonSSMManagedInstanceCore to cws-ami-builder");
    expect(harness.emulator.stats.calls["iam:CreateRole"]).toBe(1); // plantRole's
  });

  it("waits with a dry-run launch into a cws security group it makes, tagged as the policy requires, and deletes it", async () => {
    harness = await startHarness({ instanceProfiles: [], requestLog: true });
    const result = await harness.cws(["ami", "bootstrap"]);
    expect(result.status, result.stderr).toBe(0);
    const [create, ...moreCreates] = harness.emulator.requestLog.of("ec2:CreateSecurityGroup");
    expect(moreCreates).toEqual([]);
    const groupTags = tagSpecifications(queryParams(create!)).get("security-group")!;
    const buildId = groupTags["cws:build-id"]!;
    expect(buildId).toMatch(/^bootstrap-\d{8}t\d{6}z-[0-9a-f]{6}$/);
    expect(groupTags).toEqual({ Name: `cws-${buildId}`, "cws:managed-by": "cws", "cws:build-id": buildId, "cws:purpose": "bootstrap" });
    const launches = harness.emulator.requestLog.of("ec2:RunInstances");
    expect(launches.length).toBeGreaterThan(0);
    const groupId = /Created security group (sg-[0-9a-f]+)/.exec(result.stderr)![1]!;
    for (const launch of launches) {
      const params = queryParams(launch);
      expect(params.DryRun).toBe("true");
      expect(params["SecurityGroupId.1"]).toBe(groupId);
      expect(params["SecurityGroupId.2"]).toBeUndefined();
      const tags = tagSpecifications(params);
      expect([tags.get("instance"), tags.get("volume")]).toEqual([{ "cws:managed-by": "cws", "cws:build-id": buildId }, { "cws:managed-by": "cws", "cws:build-id": buildId }]);
    }
    expect(launches.at(-1)!.error).toBe("DryRunOperation");
    expect(queryParams(harness.emulator.requestLog.of("ec2:DeleteSecurityGroup")[0]!).GroupId).toBe(groupId);
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => g.tags["cws:managed-by"] === "cws")).toEqual([]);
  });

  it("a denied dry run is a clear error naming the action and the people's policy (exit 2); its group is deleted", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    harness.emulator.faults.add({ service: "ec2", action: "RunInstances", code: "UnauthorizedOperation", message: "You are not authorized to perform this operation. Encoded authorization failure message: abc", times: 100 });
    const result = await harness.cws(["ami", "bootstrap", "--json"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("error: AWS denied ec2:RunInstances to bootstrap's check that EC2 in us-east-1 accepts instance profile cws-ami-builder");
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "BOOTSTRAP_DENIED", value: "ec2:RunInstances" }, exitCode: 2 });
    expect(JSON.parse(result.stdout).error.suggestion).toContain("docs/iam/cws-cli-policy.json");
    expect(JSON.parse(result.stdout).error.suggestion).toContain("an explicit Deny statement (such as docs/iam/examples/deny-other-vpcs.json), a permissions boundary or an SCP");
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => g.tags["cws:managed-by"] === "cws")).toEqual([]);
  });

  it("Ctrl-C during the wait deletes the group, then exits 130", async () => {
    // IAM takes long to reach EC2 here: bootstrap is still waiting when the signal comes.
    harness = await startHarness({ instanceProfiles: [], latencies: { iamPropagation: 100_000 } });
    let sent = false;
    const result = await harness.cws(["ami", "bootstrap", "--json"], {
      onStderr: (text, child) => {
        if (!sent && text.includes("Created security group")) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(sent, result.stderr).toBe(true);
    expect(result.status, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/Deleted security group sg-/);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "INTERRUPTED" }, exitCode: 130 });
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => g.tags["cws:managed-by"] === "cws")).toEqual([]);
  });

  it("a group it cannot delete is said with the command that removes it, and cws ami reap removes it", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    harness.emulator.faults.add({ service: "ec2", action: "DeleteSecurityGroup", code: "UnauthorizedOperation", message: "You are not authorized to perform this operation.", times: 1 });
    const result = await harness.cws(["ami", "bootstrap"]);
    expect(result.status, result.stderr).toBe(0);
    const [left, ...more] = harness.emulator.securityGroups("us-east-1").filter((g) => g.tags["cws:managed-by"] === "cws");
    expect(more).toEqual([]);
    expect(result.stderr).toContain(`⚠️  Could not delete security group ${left!.id} (bootstrap's, for the check)`);
    expect(result.stderr).toContain(`remove it with: aws ec2 delete-security-group --group-id ${left!.id} --region us-east-1`);
    // Dated by its build id, to the second: older than --older-than 1s a moment later.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const reap = await harness.cws(["ami", "reap", "--yes", "--region", "us-east-1", "--older-than", "1s"]);
    expect(reap.status, reap.stderr).toBe(0);
    expect(reap.stdout).toContain(left!.id);
    expect(harness.emulator.securityGroups("us-east-1").filter((g) => g.tags["cws:managed-by"] === "cws")).toEqual([]);
  });
});
