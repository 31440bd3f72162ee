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
import { record, registryWith } from "../registry/fixtures.js";
import { ACCOUNT, buildInput, FAKE_IMAGE_ID, FAST_POLL, fakeAws, type FakeAwsOptions } from "./fake-build.js";

/**
 * A fresh instance proves an image: `build --verify` runs the fresh-instance
 * steps on the new image before it is recorded, and `cws ami validate` runs
 * them on an existing one. Both are the build's own steps, composed anew.
 */
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

async function verifiedBuild(aws: FakeAwsOptions, options: { onError?: "cleanup" | "abort"; interruptAt?: number } = {}): Promise<{ result: BuildResult } & ReturnType<typeof fakeAws>> {
  const controller = new AbortController();
  const fake = fakeAws({ ...aws, onValidation: (launch) => launch === options.interruptAt && controller.abort("SIGINT") });
  const result = await runBuild(buildInput(dir, { onError: options.onError ?? "cleanup" }), {
    aws: fake.aws,
    reporter: silentReporter,
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
    expect(result.kept).toEqual([`image ${FAKE_IMAGE_ID} (failed on a fresh instance; tagged cws:validated=false, not in the registry)`]);
    expect(existsSync(registryFile)).toBe(false);
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

  it("with --on-error abort keeps the failing fresh instance and the group it uses to look at", async () => {
    const { result, calls } = await verifiedBuild({ testExitCode: (launch) => (launch === 2 ? 1 : 0) }, { onError: "abort" });
    expect(result.status).toBe("failed");
    expect(removals(calls)).toEqual([]);
    expect(result.kept).toEqual(expect.arrayContaining(["instance i-2", "instance i-1", "security group sg-1 (used by the kept instance)"]));
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
    expect(result).toMatchObject({ status: "failed", exitCode: 1, failedStep: "validate", error: { code: "BUILD_FAILED", message: `1 of 1 validation test failed on a fresh instance of ${UNDER_TEST}` } });
    expect(result.validatedAt).toBeUndefined();
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
