import { Chalk } from "chalk";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsCallError, type ImageInfo } from "../../src/aws/ports.js";
import { buildSteps, runBuild, validationSteps, type BuildResult } from "../../src/builder/build.js";
import { aliveResources } from "../../src/builder/context.js";
import { freshInstanceSteps } from "../../src/builder/fresh-instance.js";
import { silentReporter } from "../../src/builder/reporter.js";
import { launchInstance } from "../../src/builder/steps/launch.js";
import { securityGroup } from "../../src/builder/steps/security-group.js";
import { validate } from "../../src/builder/steps/validate.js";
import { waitReady } from "../../src/builder/steps/wait-ready.js";
import { runValidation, type ValidationResult } from "../../src/lifecycle/validate.js";
import { formatValidationResult } from "../../src/output/validation-report.js";
import { record, registryWith } from "../registry/fixtures.js";
import { ACCOUNT, buildInput, FAKE_IMAGE_ID, FAST_POLL, fakeAws, type FakeAwsOptions } from "./fake-build.js";

/**
 * A fresh instance proves an image: `build --verify` runs the fresh-instance
 * steps on the new image before it is recorded, and `cws ami validate` runs
 * them on an existing one. Both are the build's own steps, composed anew.
 */
const PLAIN = new Chalk({ level: 0 });
let dir: string;
let registryFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-verify-"));
  registryFile = join(dir, "registry", "amis.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ids = (steps: readonly { id: string }[]) => steps.map((step) => step.id);
const removals = (calls: string[]) => calls.filter((c) => /^(terminate|delete|deregister)/.test(c));
const taggings = (calls: string[]) => calls.filter((c) => c.startsWith("tag "));

describe("the step lists", () => {
  it("build --verify adds one step after the image, before it is recorded; the fresh instance's steps are the build's own", () => {
    const plain = ids(buildSteps({ registryFile }));
    const verified = ids(buildSteps({ registryFile, verify: true }));
    expect(verified).toEqual([...plain.slice(0, plain.indexOf("record")), "verify", "record"]);
    expect(freshInstanceSteps).toEqual([launchInstance, waitReady, validate]);
  });

  it("validate is preflight, the image, a security group, the fresh instance and the record of the verdict, with the build's very steps", () => {
    const steps = validationSteps({ imageId: "ami-0f0000000000000b2", registryFile });
    expect(ids(steps)).toEqual(["preflight", "image", "security-group", "launch", "wait-ready", "validate", "record-validation"]);
    expect(steps.slice(2, 6)).toEqual([securityGroup, ...freshInstanceSteps]);
  });
});

async function verifiedBuild(
  aws: FakeAwsOptions,
  options: { onError?: "cleanup" | "abort"; interruptAt?: number; warn?: (text: string) => void } = {},
): Promise<{ result: BuildResult } & ReturnType<typeof fakeAws>> {
  const controller = new AbortController();
  const fake = fakeAws({ ...aws, onValidation: (launch) => launch === options.interruptAt && controller.abort("SIGINT") });
  const result = await runBuild(buildInput(dir, { onError: options.onError ?? "cleanup" }), {
    aws: fake.aws,
    reporter: options.warn ? { ...silentReporter, warn: options.warn } : silentReporter,
    poll: FAST_POLL,
    signal: controller.signal,
    registryFile,
    verify: true,
  });
  return { result, ...fake };
}

describe("build --verify", () => {
  it("makes the image cws:validated=pending, proves it on a fresh instance launched from it, then tags it true with cws:validated-at and records it", async () => {
    const { result, calls, tags, launchedFrom } = await verifiedBuild({});
    expect(result.status).toBe("succeeded");
    expect(tags.image?.["cws:validated"]).toBe("pending");
    expect(launchedFrom).toEqual({ "i-1": "ami-0base0000000000000", "i-2": FAKE_IMAGE_ID });
    expect(tags["instance 2"]).toMatchObject({ "cws:purpose": "validate", "cws:build-id": result.buildId, "cws:managed-by": "cws", Name: "cws-validate-test-env-x86_64" });
    expect(tags.instance).toMatchObject({ "cws:purpose": "build", Name: "cws-build-test-env-x86_64" });
    expect(taggings(calls)).toEqual([`tag ${FAKE_IMAGE_ID} snap-1 cws:validated=true cws:validated-at=${result.validatedAt}`]);
    // The fresh instance is gone before the image is recorded; the build's at the end, as always.
    expect(removals(calls)).toEqual(["terminate instance i-2", "terminate instance i-1", "delete security group sg-1"]);
    expect(result.verification).toMatchObject({ judged: true, passed: true, instanceId: "i-2" });
    const registry = JSON.parse(readFileSync(registryFile, "utf8"));
    expect(registry.templates["test-env"].amis["us-east-1"].x86_64).toMatchObject({ ami_id: FAKE_IMAGE_ID, validated: true, validated_at: result.validatedAt });
  });

  it("keeps an image that fails on the fresh instance out of the registry, tagged cws:validated=false, and fails the build", async () => {
    const { result, calls } = await verifiedBuild({ testExitCode: (launch) => (launch === 2 ? 1 : 0) });
    expect(result).toMatchObject({ status: "failed", failedStep: "verify", exitCode: 1, imageId: FAKE_IMAGE_ID, error: { code: "BUILD_FAILED" } });
    expect(result.error?.message).toBe(`1 of 1 validation test failed on a fresh instance of ${FAKE_IMAGE_ID}`);
    expect(result.error?.suggestion).toContain("tagged cws:validated=false and not recorded");
    expect(result.validation.map((test) => test.passed)).toEqual([true]);
    expect(result.verification).toMatchObject({ judged: true, passed: false, tests: [expect.objectContaining({ passed: false })] });
    expect(taggings(calls)).toEqual([`tag ${FAKE_IMAGE_ID} snap-1 cws:validated=false`]);
    expect(removals(calls)).toEqual(["terminate instance i-2", "terminate instance i-1", "delete security group sg-1"]);
    // Named with the command that removes it and its snapshots, wherever it is named (build's summary, a build-all row).
    expect(result.kept).toEqual([
      `image ${FAKE_IMAGE_ID} (failed on a fresh instance; tagged cws:validated=false, not in the registry; remove it with: aws ec2 deregister-image --image-id ${FAKE_IMAGE_ID} --region us-east-1 && aws ec2 delete-snapshot --snapshot-id snap-1 --region us-east-1)`,
    ]);
    expect(existsSync(registryFile)).toBe(false);
  });

  it("a verdict stands: an image judged failed is a failed build (exit 1, kept, tagged false) even when a stop comes as it is tagged", async () => {
    const controller = new AbortController();
    const fake = fakeAws({ testExitCode: (launch) => (launch === 2 ? 1 : 0) });
    const ec2 = fake.aws.ec2("us-east-1");
    // The stop (Ctrl-C, or build-all's --fail-fast for another target) arrives while the verdict is being tagged.
    const aws = { ...fake.aws, ec2: () => ({ ...ec2, createTags: (ids: string[], tags: Record<string, string>) => (controller.abort("SIGINT"), ec2.createTags(ids, tags)) }) };
    const result = await runBuild(buildInput(dir), { aws, reporter: silentReporter, poll: FAST_POLL, signal: controller.signal, registryFile, verify: true });
    expect(controller.signal.aborted).toBe(true);
    expect(result).toMatchObject({ status: "failed", exitCode: 1, failedStep: "verify", error: { code: "BUILD_FAILED" }, verification: { judged: true, passed: false } });
    expect(taggings(fake.calls)).toEqual([`tag ${FAKE_IMAGE_ID} snap-1 cws:validated=false`]);
    expect(removals(fake.calls)).not.toContain(`deregister image ${FAKE_IMAGE_ID}`);
  });

  it("bills the fresh instance as an instance of its own, with its own minimum", async () => {
    const prices = { taken: "2026-01-01", source: "test prices", regions: { "us-east-1": { instances: { "t3.medium": 0.0416 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 } } };
    const fake = fakeAws({});
    const result = await runBuild(buildInput(dir), { aws: fake.aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile, verify: true, prices });
    expect(result.billing?.freshInstanceSeconds).toBeGreaterThan(0);
    // Two instances of a few milliseconds each: two minutes billed, not one.
    expect(result.cost?.build.detail).toMatchObject({ billedSeconds: 120, freshBilledSeconds: 60, volumeBilledSeconds: 120 });
  });

  it("removes an image it never judged: Ctrl-C on the fresh instance, or a launch EC2 refused", async () => {
    const interrupted = await verifiedBuild({}, { interruptAt: 2 });
    expect(interrupted.result).toMatchObject({ status: "interrupted", exitCode: 130, failedStep: "verify" });
    expect(removals(interrupted.calls)).toEqual(["terminate instance i-2", `deregister image ${FAKE_IMAGE_ID}`, "delete snapshot snap-1", "terminate instance i-1", "delete security group sg-1"]);
    const refused = await verifiedBuild({
      onRunInstance: (launch) => {
        if (launch === 2) throw new AwsCallError("UnauthorizedOperation", "RunInstances", "You are not authorized to perform this operation.", 403);
      },
    });
    expect(refused.result).toMatchObject({ status: "failed", failedStep: "verify", verification: { judged: false } });
    expect(removals(refused.calls)).toEqual([`deregister image ${FAKE_IMAGE_ID}`, "delete snapshot snap-1", "terminate instance i-1", "delete security group sg-1"]);
    for (const { calls } of [interrupted, refused]) expect(taggings(calls)).toEqual([]);
    expect(existsSync(registryFile)).toBe(false);
  });

  it("with --on-error abort keeps the failing fresh instance and the group it uses to look at, each instance said as it is, and one way to remove them", async () => {
    const warnings: string[] = [];
    const { result, calls } = await verifiedBuild({ testExitCode: (launch) => (launch === 2 ? 1 : 0) }, { onError: "abort", warn: (text) => warnings.push(text) });
    expect(result.status).toBe("failed");
    expect(removals(calls)).toEqual([]);
    expect(result.kept).toEqual(
      expect.arrayContaining(["instance i-2 (the fresh instance, running)", "instance i-1 (the build instance, stopped)", "security group sg-1 (used by the kept instances)"]),
    );
    expect(result.billing?.keptInstances).toEqual([
      { instanceId: "i-2", role: "fresh", state: "running" },
      { instanceId: "i-1", role: "build", state: "stopped" },
    ]);
    // The fresh instance runs, to connect to; the build instance was stopped for its image: not "still running", no session.
    const [fresh, build, removal, ...rest] = warnings;
    expect(rest).toEqual([]);
    expect(fresh).toMatch(/^--on-error abort: the fresh instance i-2 is kept, running \(and costing money\) so you can look at it:\n {2}connect: {2}aws ssm start-session --target i-2 --region us-east-1\n/);
    expect(build).toContain("--on-error abort: the build instance i-1 is kept, stopped");
    expect(build).toContain("start it: aws ec2 start-instances --instance-ids i-1 --region us-east-1");
    // Commands cws's own policy does not grant (it never starts an instance or opens a session): said so.
    expect(fresh).toMatch(/\n {2}\(beyond docs\/iam\/cws-cli-policy\.json, these need Session Manager: ssm:StartSession on the instance\)$/);
    expect(build).toMatch(/\n {2}\(beyond docs\/iam\/cws-cli-policy\.json, these need ec2:StartInstances and Session Manager: ssm:StartSession on the instance\)$/);
    expect(build).not.toContain("still running");
    // One sequence that works: both terminated and waited for, then the shared group deleted once.
    expect(removal).toContain(
      "aws ec2 terminate-instances --instance-ids i-2 i-1 --region us-east-1 && aws ec2 wait instance-terminated --instance-ids i-2 i-1 --region us-east-1 && aws ec2 delete-security-group --group-id sg-1 --region us-east-1",
    );
    expect(warnings.join("\n").match(/delete-security-group/g)).toHaveLength(1);
  });
});

const UNDER_TEST = "ami-0f0000000000000b2";
const underTest = (tags: Record<string, string> = { "cws:managed-by": "cws", "cws:template": "test-env", "cws:validated": "true" }): ImageInfo => ({
  imageId: UNDER_TEST,
  name: "cws-test-env-v1.0.0-x86_64-20261101T000000Z",
  architecture: "x86_64",
  state: "available",
  creationDate: "2026-11-01T00:00:00.000Z",
  ownerId: ACCOUNT,
  rootDeviceName: "/dev/sda1",
  rootVolumeSizeGb: 8,
  snapshotIds: ["snap-9"],
  tags,
});

async function validation(aws: FakeAwsOptions, registry = true): Promise<{ result: ValidationResult } & ReturnType<typeof fakeAws>> {
  const fake = fakeAws(aws);
  const result = await runValidation(
    { ...buildInput(dir), imageId: UNDER_TEST },
    { aws: fake.aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile: registry ? registryFile : undefined },
  );
  return { result, ...fake };
}

function writeRegistry(): string {
  // The image under test is in the entry's history: a rollback target, say.
  const text = `${JSON.stringify(
    registryWith({ "test-env": { "us-east-1": { x86_64: { ...record("ami-0f0000000000000c3", "2026-11-20T00:00:00Z"), history: [record(UNDER_TEST, "2026-11-01T00:00:00Z", { validated: false })] } } } }),
    null,
    2,
  )}\n`;
  mkdirSync(join(dir, "registry"), { recursive: true });
  writeFileSync(registryFile, text);
  return text;
}

describe("validate (runValidation)", () => {
  it("launches a fresh instance from the image, tags it and its snapshots, and marks its record validated where it is, in history too", async () => {
    writeRegistry();
    const { result, calls, tags, launchedFrom } = await validation({ images: [underTest()] });
    expect(result).toMatchObject({ status: "succeeded", exitCode: 0, imageId: UNDER_TEST, instanceId: "i-1", registryRecord: "history" });
    expect(launchedFrom).toEqual({ "i-1": UNDER_TEST });
    expect(tags.instance).toMatchObject({ "cws:purpose": "validate", "cws:build-id": result.validationId });
    expect(tags["security group"]).toMatchObject({ "cws:purpose": "validate", Name: `cws-validate-${result.validationId}` });
    expect(taggings(calls)).toEqual([`tag ${UNDER_TEST} snap-9 cws:validated=true cws:validated-at=${result.validatedAt}`]);
    expect(removals(calls)).toEqual(["terminate instance i-1", "delete security group sg-1"]);
    const entry = JSON.parse(readFileSync(registryFile, "utf8")).templates["test-env"].amis["us-east-1"].x86_64;
    // The current AMI stays current; the one validated is marked in the history.
    expect(entry.ami_id).toBe("ami-0f0000000000000c3");
    expect(entry.history[0]).toMatchObject({ ami_id: UNDER_TEST, validated: true, validated_at: result.validatedAt });
  });

  it("records nothing when a test fails, and cleans up", async () => {
    const before = writeRegistry();
    const { result, calls } = await validation({ images: [underTest()], testExitCode: () => 1 });
    expect(result).toMatchObject({ status: "failed", exitCode: 1, failedStep: "validate", error: { code: "VALIDATION_FAILED", message: `1 of 1 validation test failed on a fresh instance of ${UNDER_TEST}` } });
    expect(result).toMatchObject({ validatedAt: null, registryRecord: null });
    expect(taggings(calls)).toEqual([]);
    expect(removals(calls)).toEqual(["terminate instance i-1", "delete security group sg-1"]);
    expect(readFileSync(registryFile, "utf8")).toBe(before);
  });

  it("launches nothing for an image that is not cws's for this template (exit 2), naming the template that is", async () => {
    for (const [tags, says, suggests] of [
      [{}, "is not an image cws made for test-env (cws:managed-by=(none), cws:template=(none))", "cws validates only the images it made"],
      [{ "cws:managed-by": "cws", "cws:template": "other" }, "cws:template=other", `cws ami validate other --ami ${UNDER_TEST}`],
    ] as const) {
      const { result, calls } = await validation({ images: [underTest(tags)] });
      expect(result).toMatchObject({ status: "failed", exitCode: 2, failedStep: "image", error: { code: "PREFLIGHT_FAILED" } });
      expect(result.error?.message).toContain(says);
      expect(result.error?.suggestion).toContain(suggests);
      expect(calls.filter((c) => c.startsWith("run instance"))).toEqual([]);
    }
    const { result } = await validation({});
    expect(result.error?.message).toBe(`${UNDER_TEST} does not exist in us-east-1`);
  });

  it("tags the image, and says the registry has no record of it, when the registry does not name it", async () => {
    const { result, calls } = await validation({ images: [underTest()] });
    expect(result).toMatchObject({ status: "succeeded", registryRecord: "none" });
    expect(taggings(calls)).toHaveLength(1);
    expect(existsSync(registryFile)).toBe(false);
  });

  it("with no registry file (--ami before any build, a mistyped --registry), tags the image, creates no registry, and says so", async () => {
    const fake = fakeAws({ images: [underTest()] });
    const result = await runValidation(
      { ...buildInput(dir), imageId: UNDER_TEST },
      { aws: fake.aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile: undefined, missingRegistry: registryFile },
    );
    expect(result).toMatchObject({ status: "succeeded", exitCode: 0, registry: registryFile, registryRecord: "no-registry" });
    expect(taggings(fake.calls)).toHaveLength(1);
    expect(existsSync(registryFile)).toBe(false);
    expect(formatValidationResult(result, PLAIN)).toContain(`   Registry: ${registryFile} does not exist; nothing marked\n`);
  });

  it("a registry that breaks before the verdict is marked: exit 2, and the result says exactly what was recorded (the tags) and how to record the rest", async () => {
    writeRegistry();
    // The registry becomes invalid while the fresh instance runs its tests.
    const { result, calls } = await validation({ images: [underTest()], onValidation: () => writeFileSync(registryFile, "{ broken") });
    expect(result).toMatchObject({ status: "failed", exitCode: 2, failedStep: "record-validation", registryRecord: "failed", error: { code: "REGISTRY_INVALID", preflight: true } });
    // The verdict is on the image: tagged, and said so, never "nothing was recorded".
    expect(taggings(calls)).toEqual([`tag ${UNDER_TEST} snap-9 cws:validated=true cws:validated-at=${result.validatedAt}`]);
    expect(result.validatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(result.error?.message).toContain(`${UNDER_TEST} passed on a fresh instance and is tagged cws:validated=true, cws:validated-at=${result.validatedAt} (image and snapshots), but ${registryFile} was not marked:`);
    expect(result.error?.suggestion).toContain(`then record the verdict in the registry with cws ami update-registry test-env --region us-east-1 --architecture x86_64 --registry ${registryFile}`);
    const text = formatValidationResult(result, PLAIN);
    expect(text).not.toContain("Nothing was recorded");
    expect(text).toContain(`   Tagged: cws:validated=true, cws:validated-at=${result.validatedAt} (the image and its snapshots)\n   Registry: not marked: ${registryFile} could not be written (see above)\n`);
    expect(readFileSync(registryFile, "utf8")).toBe("{ broken");
    expect(removals(calls)).toEqual(["terminate instance i-1", "delete security group sg-1"]);
  });

  it("leaves no empty log directory behind, and names none, when it ends before writing a log; keeps the one it wrote", async () => {
    const early = await validation({});
    expect(early.result).toMatchObject({ status: "failed", failedStep: "image", logDir: null });
    expect(formatValidationResult(early.result, PLAIN)).not.toContain("Logs:");
    expect(existsSync(join(dir, "logs", early.result.validationId))).toBe(false);
    const ran = await validation({ images: [underTest()] });
    expect(ran.result.logDir).toBe(join(dir, "logs", ran.result.validationId));
    expect(existsSync(join(ran.result.logDir!, "validation.log"))).toBe(true);
  });
});

describe("what a second Ctrl-C lists while --verify runs (aliveResources)", () => {
  const build = { instance: { instanceId: "i-build" } as never, securityGroupId: "sg-build", imageId: "ami-new", imageState: "available" };
  const fresh = { instance: { instanceId: "i-fresh" } as never, securityGroupId: "sg-build" };

  it("names the fresh instance, the shared security group once, and the image it is judging (removed if the stop comes first)", () => {
    expect(aliveResources({ ...build, instance: undefined, verifying: fresh as never })).toEqual(["instance i-fresh", "security group sg-build", "image ami-new"]);
  });

  it("an available image no fresh instance is judging is not listed; one left unjudged is", () => {
    expect(aliveResources(build)).toEqual(["instance i-build", "security group sg-build"]);
    expect(aliveResources({ ...build, verification: { judged: true, passed: false, tests: [], instanceSeconds: 1 } })).not.toContain("image ami-new");
    expect(aliveResources({ ...build, verification: { judged: false, passed: false, tests: [], instanceSeconds: 0 } })).toContain("image ami-new");
  });
});
