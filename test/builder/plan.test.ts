import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildSteps, runBuild, type PipelineOptions } from "../../src/builder/build.js";
import type { BuildInput } from "../../src/builder/context.js";
import { AwsCallError, type AwsPorts, type Ec2Port } from "../../src/aws/ports.js";
import { dryRunPlan, type PlannedStep } from "../../src/builder/plan.js";
import { silentReporter } from "../../src/builder/reporter.js";
import { EXPECTED_BUILD_SECONDS, EXPECTED_VERIFY_SECONDS } from "../../src/fleet/cost.js";
import { ACCOUNT, BUILD_STEPS_TEMPLATE, buildInput, FAKE_IMAGE_ID, FAST_POLL, fakeAws, SETUP_SCRIPT_TEMPLATE } from "./fake-build.js";

/**
 * The dry run is the build's own step list describing itself: for every
 * combination of the options that shape a build, the plan names exactly the
 * steps, and the cleanups, that a real run (against a fake AWS) goes through,
 * in the same order.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-plan-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const noDescription = () => undefined;

async function plan(input: BuildInput, pipeline: PipelineOptions) {
  const { aws } = fakeAws();
  const result = await dryRunPlan(input, pipeline, aws, noDescription);
  return { text: result.text, ...(result.json as { steps: PlannedStep[]; cleanup: PlannedStep[] }) };
}

async function run(input: BuildInput, pipeline: PipelineOptions) {
  const fake = fakeAws();
  const ran = { run: [] as string[], cleanup: [] as string[] };
  const result = await runBuild(input, {
    aws: fake.aws,
    reporter: silentReporter,
    poll: FAST_POLL,
    signal: new AbortController().signal,
    ...pipeline,
    onStep: (id, phase) => ran[phase].push(id),
  });
  return { result, ran, ...fake };
}

describe("the dry run lists the steps the build runs", () => {
  const combinations = [true, false].flatMap((registry) =>
    [false, true].flatMap((publishSsm) =>
      (["setup_script", "build_steps"] as const).flatMap((provisioning) =>
        (["cleanup", "abort"] as const).flatMap((onError) => [false, true].map((verify) => ({ registry, publishSsm, provisioning, onError, verify }))),
      ),
    ),
  );

  for (const { registry, publishSsm, provisioning, onError, verify } of combinations) {
    const name = `${registry ? "registry" : "--no-registry-update"}, ${publishSsm ? "--publish-ssm" : "no SSM"}, ${provisioning}, --on-error ${onError}${verify ? ", --verify" : ""}`;
    it(name, async () => {
      const pipeline: PipelineOptions = { registryFile: registry ? join(dir, "registry", "amis.json") : undefined, publishSsm, verify };
      const input = buildInput(dir, { onError }, provisioning === "setup_script" ? SETUP_SCRIPT_TEMPLATE : BUILD_STEPS_TEMPLATE);
      const planned = await plan(input, pipeline);
      const { result, ran, calls } = await run(input, pipeline);
      expect(result.status).toBe("succeeded");

      expect(planned.steps.map((s) => s.id)).toEqual(ran.run);
      expect(planned.cleanup.map((s) => s.id)).toEqual(ran.cleanup);
      // The text shows the same list: numbered steps, then the cleanups.
      const numbered = planned.text.split("\n").filter((line) => /^[ \d]\d\. /.test(line));
      expect(numbered).toEqual(planned.steps.map((s, i) => `${String(i + 1).padStart(2)}. ${s.does.split("\n")[0]}`));
      for (const step of planned.cleanup) expect(planned.text).toContain(`\n    - ${step.does}\n`);

      expect(ran.run.includes("record")).toBe(registry);
      expect(planned.text.includes(`Record the AMI in ${pipeline.registryFile}`)).toBe(registry);
      expect(ran.run.includes("publish")).toBe(publishSsm);
      expect(planned.text.includes("Publish the AMI id to SSM parameter /cloudworkstation/amis/test-env/us-east-1/x86_64")).toBe(publishSsm);
      expect(calls.includes(`put parameter /cloudworkstation/amis/test-env/us-east-1/x86_64 = ${FAKE_IMAGE_ID}`)).toBe(publishSsm);
      expect(planned.text.includes("--on-error abort keeps it running")).toBe(onError === "abort");
      expect(planned.text).toMatch(provisioning === "setup_script" ? /\n {6}setup_script: \d+ lines/ : /\n {6}1\. First .*\n {6}2\. Second \(timeout 60s\)/);
      // --verify: the image is made pending, and the fresh instance's own steps are listed under the one that runs them.
      expect(ran.run.includes("verify")).toBe(verify);
      expect(planned.text.includes("cws:validated=pending")).toBe(verify);
      expect(/\n {6}- Launch a fresh t3\.medium: .*cws:purpose=validate/.test(planned.text)).toBe(verify);
      // The registry takes the image only once it passed on a fresh instance, and the plan says so.
      if (registry) expect(planned.text.includes("(the one built, if it passes on a fresh instance, or the one found up to date)")).toBe(verify);
      // The image name as it will read, its build id a readable placeholder.
      expect(planned.text).toContain("Create image cws-test-env-v1.0.0-x86_64-<build-id> (name ends with the build id");
    });
  }

  it("--verify's estimate counts the fresh instance: a second instance for a typical verification, billed on its own", async () => {
    const { aws } = fakeAws();
    const prices = { taken: "2026-01-01", source: "test prices", regions: { "us-east-1": { instances: { "t3.medium": 0.0416 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 } } };
    const plain = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, noDescription, { prices });
    const verified = await dryRunPlan(buildInput(dir), { registryFile: undefined, verify: true }, aws, noDescription, { prices });
    const estimate = (p: typeof plain) => p.json.estimatedCost as { build: { usd: number; detail: { billedSeconds: number; freshBilledSeconds: number | null } }; assumedVerifySeconds: number | null };
    expect(estimate(plain).build.detail).toMatchObject({ billedSeconds: EXPECTED_BUILD_SECONDS, freshBilledSeconds: null });
    expect(estimate(verified).build.detail).toMatchObject({ billedSeconds: EXPECTED_BUILD_SECONDS + EXPECTED_VERIFY_SECONDS, freshBilledSeconds: EXPECTED_VERIFY_SECONDS });
    expect(estimate(verified).assumedVerifySeconds).toBe(EXPECTED_VERIFY_SECONDS);
    expect(estimate(verified).build.usd).toBeGreaterThan(estimate(plain).build.usd);
    expect(verified.text).toContain("for a 30-minute build and a 10-minute fresh instance to verify it");
  });

  it("describes a cleanup for exactly the steps that have one", () => {
    const input = buildInput(dir);
    const build = { request: { ...input, logDir: join(dir, "logs", "b") }, buildId: "b", startedAt: new Date() };
    const steps = buildSteps({ registryFile: "amis.json", publishSsm: true });
    expect(steps.filter((s) => s.cleanup).map((s) => s.id)).toEqual(["security-group", "launch", "create-image"]);
    for (const step of steps) expect(step.describe(build).cleanup !== undefined, step.id).toBe(step.cleanup !== undefined);
  });

  it("shows the tags the build puts on the instance and the image", async () => {
    const input = buildInput(dir, { sourceCommit: "a".repeat(40) }, `${SETUP_SCRIPT_TEMPLATE}tags:\n  team: research\n`);
    const planned = await plan(input, { registryFile: undefined });
    const { tags } = await run(input, { registryFile: undefined });
    const keys = (text: string | undefined) => text!.split(", ").map((tag) => tag.split("=")[0]);
    const launch = planned.steps.find((s) => s.id === "launch")!.does;
    const image = planned.steps.find((s) => s.id === "create-image")!.does;
    expect(keys(/, tags (.*); another zone/.exec(launch)?.[1])).toEqual(Object.keys(tags.instance!));
    expect(keys(/tags on image and snapshots: (.*); wait/.exec(image)?.[1])).toEqual(Object.keys(tags.image!));
    expect(image).toContain("team=research");
    expect(image).toContain("cws:source-commit=aaaaaaaaaaaa…");
    expect(tags.image).toMatchObject({ team: "research", "cws:source-commit": "a".repeat(40) });
  });

  it("creates nothing, even where it may check permissions", async () => {
    const { aws, calls } = fakeAws();
    const result = await dryRunPlan(buildInput(dir), { registryFile: undefined, publishSsm: true }, aws, noDescription);
    expect(result.json.checks).toEqual(expect.arrayContaining([{ check: "ec2:CreateSecurityGroup (DryRun)", result: "allowed" }]));
    expect(calls).toEqual([]);
  });
});

describe("the dry run's permission checks, under the least-privilege policy", () => {
  /** A fake AWS whose dry runs record their requests and answer as `answer` says. */
  function judged(answer: (action: string, request: { securityGroupIds?: string[]; tags: Record<string, string> }) => string, groups: { groupId: string; vpcId: string }[]) {
    const { aws } = fakeAws();
    const seen: { action: string; securityGroupIds?: string[]; tags: Record<string, string> }[] = [];
    const base = aws.ec2("us-east-1");
    const ec2: Ec2Port = {
      ...base,
      describeSecurityGroups: async (filter) => {
        expect(filter).toEqual({ tags: { "cws:managed-by": "cws" } });
        return groups.map((g) => ({ ...g, name: g.groupId, tags: { "cws:managed-by": "cws" } }));
      },
      runInstance: async (request) => {
        seen.push({ action: "RunInstances", securityGroupIds: request.securityGroupIds, tags: request.tags });
        throw new AwsCallError(answer("RunInstances", request), "RunInstances", "judged");
      },
      createSecurityGroup: async (request) => {
        seen.push({ action: "CreateSecurityGroup", tags: request.tags });
        throw new AwsCallError(answer("CreateSecurityGroup", request), "CreateSecurityGroup", "judged");
      },
    };
    return { aws: { ...aws, ec2: () => ec2 } as AwsPorts, seen };
  }
  // The policy: only into cws groups, only a tagged group.
  const policy = (action: string, request: { securityGroupIds?: string[]; tags: Record<string, string> }) =>
    request.tags["cws:managed-by"] !== "cws" || (action === "RunInstances" && !(request.securityGroupIds ?? []).some((id) => id.startsWith("sg-cws")))
      ? "UnauthorizedOperation"
      : "DryRunOperation";

  it("creates the group tagged cws, and launches into a cws group of the VPC when one exists", async () => {
    const { aws, seen } = judged(policy, [{ groupId: "sg-cws-other-vpc", vpcId: "vpc-9" }, { groupId: "sg-cws-1", vpcId: "vpc-1" }]);
    const result = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, noDescription);
    expect(seen).toEqual([
      { action: "RunInstances", securityGroupIds: ["sg-cws-1"], tags: { "cws:managed-by": "cws", "cws:build-id": "dry-run" } },
      { action: "CreateSecurityGroup", tags: { "cws:managed-by": "cws", "cws:build-id": "dry-run" } },
    ]);
    expect(result.json.checks).toEqual(
      expect.arrayContaining([
        { check: "ec2:RunInstances (DryRun, into sg-cws-1)", result: "allowed" },
        { check: "ec2:CreateSecurityGroup (DryRun)", result: "allowed" },
      ]),
    );
  });

  it("without a cws group, does not ask about the launch (EC2 would judge the VPC's default group, which the policy denies) and says why", async () => {
    const { aws, seen } = judged(policy, [{ groupId: "sg-cws-other-vpc", vpcId: "vpc-9" }]);
    const result = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, noDescription);
    expect(seen).toEqual([{ action: "CreateSecurityGroup", tags: { "cws:managed-by": "cws", "cws:build-id": "dry-run" } }]);
    const check = (result.json.checks as { check: string; result: string }[]).find((c) => c.check === "ec2:RunInstances (DryRun)");
    expect(check?.result).toMatch(/^not checked: no security group tagged cws:managed-by=cws in vpc-1 to try the launch with .*default group/);
  });

  it("a denial with a cws group is a plain denial", async () => {
    const { aws } = judged(() => "UnauthorizedOperation", [{ groupId: "sg-cws-1", vpcId: "vpc-1" }]);
    const result = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, noDescription);
    expect(result.json.checks).toEqual(expect.arrayContaining([{ check: "ec2:RunInstances (DryRun, into sg-cws-1)", result: "DENIED: see docs/iam/cws-cli-policy.json" }]));
  });
});

describe("the dry run's base image check, against the policy's image statements", () => {
  const OWN_AMI = "ami-0a1b2c3d4e5f60718";
  /** The plan of a build from `ami`, one of this account's images tagged `tags`. */
  async function planFrom(tags: Record<string, string>) {
    const own = { imageId: OWN_AMI, name: "golden", architecture: "x86_64", state: "available", creationDate: "2026-01-01T00:00:00Z", ownerId: ACCOUNT, rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 8, snapshotIds: ["snap-own"], tags };
    const { aws } = fakeAws({ images: [own] });
    const input = buildInput(dir, {}, SETUP_SCRIPT_TEMPLATE.replace("source: ubuntu-22.04-lts", `source: ${OWN_AMI}`));
    return dryRunPlan(input, { registryFile: undefined }, aws, noDescription);
  }
  const checkOf = (json: Record<string, unknown>) => (json.checks as { check: string; result: string }[]).find((c) => c.check === "launch from the base image");

  it("a distribution's image is allowed, by its owner", async () => {
    const { aws } = fakeAws();
    const result = await dryRunPlan(buildInput(dir), { registryFile: undefined }, aws, noDescription);
    expect(checkOf(result.json)?.result).toBe("ok: owned by Canonical (099720109477)");
    expect(result.text).toContain("\n  launch from the base image: ok: owned by Canonical (099720109477)\n");
    expect(result.json.baseAmiOwner).toEqual({ id: "099720109477", launchAllowedBy: "LaunchFromDistributionImages" });
  });

  it("an image of the account that cws did not build is a warning saying what to add where", async () => {
    const result = await planFrom({ team: "research" });
    expect(checkOf(result.json)?.result).toBe(
      `warning: ${OWN_AMI} is owned by ${ACCOUNT}, which docs/iam/cws-cli-policy.json does not list (LaunchFromDistributionImages); a holder of that policy will be denied at launch: add the owner there (docs/iam/README.md, "Other distributions")`,
    );
    expect(result.json.baseAmiOwner).toEqual({ id: ACCOUNT, launchAllowedBy: null });
  });

  it("a cws image is allowed, whoever owns it", async () => {
    const result = await planFrom({ "cws:managed-by": "cws" });
    expect(checkOf(result.json)?.result).toBe("ok: a cws image (LaunchFromCwsImages)");
    expect(result.json.baseAmiOwner).toEqual({ id: ACCOUNT, launchAllowedBy: "LaunchFromCwsImages" });
  });

  it("says nothing of an image it could not resolve", async () => {
    const { aws } = fakeAws();
    const result = await dryRunPlan(buildInput(dir, {}, SETUP_SCRIPT_TEMPLATE.replace("source: ubuntu-22.04-lts", `source: ${OWN_AMI}`)), { registryFile: undefined }, aws, noDescription);
    expect(checkOf(result.json)).toBeUndefined();
    expect(result.json.baseAmiOwner).toBeUndefined();
  });
});

