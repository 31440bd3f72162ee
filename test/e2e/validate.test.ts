import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { leftovers, startHarness, type Harness } from "./harness.js";

/**
 * `cws ami validate` and `build --verify` end to end: the built CLI against
 * the emulator, whose instances start at boot only what their image enables
 * (/etc/cws-emulator-boot.d). emu-boot-service enables its daemon at boot;
 * emu-memory-service only starts it during setup, so its image passes on the
 * build instance and fails on a fresh one.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface Entry {
  ami_id: string;
  validated: boolean;
  validated_at?: string;
  history?: Entry[];
}

function entry(h: Harness, template: string, region = "us-east-1", architecture = "x86_64"): Entry | undefined {
  const registry = h.registry() as { templates: Record<string, { amis: Record<string, Record<string, Entry>> }> } | undefined;
  return registry?.templates[template]?.amis[region]?.[architecture];
}

function registryText(h: Harness): string {
  return readFileSync(join(h.dir, "registry", "amis.json"), "utf8");
}

/** Nothing of a build or a validation is left running: no live instance, no cws security group. */
function expectNothingRunning(h: Harness, region = "us-east-1") {
  const left = leftovers(h.emulator, region);
  expect(left.liveInstances).toEqual([]);
  expect(left.buildSecurityGroups).toEqual([]);
  return left;
}

async function build(h: Harness, template: string, ...extra: string[]): Promise<{ imageId: string }> {
  const result = await h.cws(["ami", "build", template, "--architecture", "x86_64", "--json", ...extra]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { imageId: string };
}

function image(h: Harness, imageId: string, region = "us-east-1") {
  return h.emulator.images(region).find((i) => i.id === imageId)!;
}

function snapshotsOf(h: Harness, imageId: string, region = "us-east-1") {
  const ids = image(h, imageId, region).snapshotIds;
  return h.emulator.snapshots(region).filter((s) => ids.includes(s.id));
}

describe("cws ami validate (end to end, emulator)", () => {
  it("passes on a good AMI: a fresh instance as safe as a build's, tests reported, registry and tags record it, nothing left running", async () => {
    harness = await startHarness();
    const built = await build(harness, "emu-boot-service");
    const before = entry(harness, "emu-boot-service")!;
    expect(before.ami_id).toBe(built.imageId);

    const result = await harness.cws(["ami", "validate", "emu-boot-service", "--architecture", "x86_64", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const validation = JSON.parse(result.stdout);
    expect(validation).toMatchObject({ status: "succeeded", template: "emu-boot-service", imageId: built.imageId, registryRecord: "current", exitCode: 0 });
    expect(validation.tests).toEqual([expect.objectContaining({ name: "heartbeat daemon running", passed: true, stdout: "alive\n" })]);
    expect(result.stderr).toContain("✅ heartbeat daemon running");
    expect(result.stderr).toContain(`Fresh instance launched from ${built.imageId}`);

    // The verdict: validated_at in the registry's current entry, cws:validated-at on the image and each snapshot.
    const after = entry(harness, "emu-boot-service")!;
    expect(after).toMatchObject({ ami_id: built.imageId, validated: true, validated_at: validation.validatedAt });
    expect(Date.parse(after.validated_at!)).toBeGreaterThanOrEqual(Date.parse(before.validated_at!));
    expect(image(harness, built.imageId).tags).toMatchObject({ "cws:validated": "true", "cws:validated-at": validation.validatedAt });
    for (const snapshot of snapshotsOf(harness, built.imageId)) expect(snapshot.tags["cws:validated-at"]).toBe(validation.validatedAt);

    // The fresh instance: launched from the image, with the build's safety, and terminated.
    const fresh = harness.emulator.instances("us-east-1").find((i) => i.id === validation.instanceId)!;
    expect(fresh).toMatchObject({ imageId: built.imageId, state: "terminated", profileName: "cws-ami-builder" });
    expect(fresh.tags).toMatchObject({ "cws:purpose": "validate", "cws:build-id": validation.validationId, "cws:managed-by": "cws", "cws:template": "emu-boot-service" });
    const ec2 = new EC2Client({ endpoint: harness.emulator.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [fresh.id] }))).Reservations![0]!.Instances![0]!;
    expect(described.MetadataOptions?.HttpTokens).toBe("required");
    expect(harness.emulator.stats.calls["ec2:AuthorizeSecurityGroupIngress"] ?? 0).toBe(0);
    expectNothingRunning(harness);
  });

  it("fails on an AMI whose service lived only in the build instance's memory: exit 1, instance terminated, group gone, nothing recorded", async () => {
    harness = await startHarness();
    const built = await build(harness, "emu-memory-service");
    const registry = registryText(harness);
    const tags = image(harness, built.imageId).tags;

    const result = await harness.cws(["ami", "validate", "emu-memory-service", "--architecture", "x86_64"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("✅ heartbeat program installed");
    expect(result.stderr).toMatch(/❌ heartbeat daemon running: .*expected "alive"/);
    expect(result.stderr).toContain(`1 of 2 validation tests failed on a fresh instance of ${built.imageId}`);
    expect(result.stderr).toContain("Nothing was recorded as validated");
    expect(result.stderr).toMatch(/Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    expect(result.stdout).toBe("");

    expect(registryText(harness)).toBe(registry);
    expect(image(harness, built.imageId).tags).toEqual(tags);
    expectNothingRunning(harness);
  });

  it("build --verify keeps an image that fails on a fresh instance out of the registry and tags it cws:validated=false", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-memory-service", "--architecture", "x86_64", "--verify", "--json"]);
    expect(result.status).toBe(1);
    const build = JSON.parse(result.stdout);
    expect(build).toMatchObject({ status: "failed", failedStep: "verify", exitCode: 1, error: { code: "BUILD_FAILED" } });
    expect(build.error.message).toBe(`1 of 2 validation tests failed on a fresh instance of ${build.imageId}`);
    expect(build.verification).toMatchObject({ judged: true, passed: false });
    // Its tests passed on the build instance, and failed on the fresh one.
    expect(build.validation.every((test: { passed: boolean }) => test.passed)).toBe(true);
    expect(build.verification.tests.map((test: { passed: boolean }) => test.passed)).toEqual([true, false]);

    expect(harness.registry()).toBeUndefined();
    const kept = image(harness, build.imageId);
    expect(kept.state).toBe("available");
    expect(kept.tags["cws:validated"]).toBe("false");
    expect(kept.tags["cws:validated-at"]).toBeUndefined();
    for (const snapshot of snapshotsOf(harness, build.imageId)) expect(snapshot.tags["cws:validated"]).toBe("false");
    expect(build.kept).toContain(`image ${build.imageId} (failed on a fresh instance; tagged cws:validated=false, not in the registry)`);
    // Two instances ran (the build's, the fresh one), both terminated.
    const purposes = harness.emulator.instances("us-east-1").map((i) => `${i.tags["cws:purpose"]} ${i.state}`).sort();
    expect(purposes).toEqual(["build terminated", "validate terminated"]);
    expectNothingRunning(harness);

    // The same build again is not "up to date": the cache takes only cws:validated=true.
    const again = await harness.cws(["ami", "build", "emu-memory-service", "--architecture", "x86_64", "--no-registry-update", "--json"]);
    expect(JSON.parse(again.stdout).upToDate).toBe(false);
  });

  it("build --verify records an image that passes, with the time it passed on a fresh instance", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-boot-service", "--architecture", "x86_64", "--verify", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const build = JSON.parse(result.stdout);
    expect(build.verification).toMatchObject({ judged: true, passed: true, tests: [expect.objectContaining({ passed: true })] });
    expect(build.validatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(image(harness, build.imageId).tags).toMatchObject({ "cws:validated": "true", "cws:validated-at": build.validatedAt });
    expect(entry(harness, "emu-boot-service")).toMatchObject({ ami_id: build.imageId, validated: true, validated_at: build.validatedAt });
    expect(result.stderr).toContain("Verified on a fresh instance");
    expectNothingRunning(harness);
  });

  it("build-all verifies by default: an image that fails on a fresh instance is neither recorded nor copied; --no-verify skips it", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build-all", "emu-memory-service", "--architecture", "x86_64", "--json"]);
    expect(result.status).toBe(1);
    const rows = JSON.parse(result.stdout).rows as { region: string; result: string; detail: string }[];
    expect(rows.map((row) => `${row.region} ${row.result}`)).toEqual(["us-east-1 failed", "us-west-2 skipped"]);
    expect(rows[0]!.detail).toMatch(/^verify: 1 of 2 validation tests failed on a fresh instance of ami-[0-9a-f]+; kept: image ami-[0-9a-f]+ \(failed on a fresh instance; tagged cws:validated=false, not in the registry\)$/);
    expect(harness.registry()).toBeUndefined();
    expect(harness.emulator.images("us-east-1").map((i) => i.tags["cws:validated"])).toEqual(["false"]);
    expect(harness.emulator.images("us-west-2")).toEqual([]);
    expectNothingRunning(harness);

    const unverified = await harness.cws(["ami", "build-all", "emu-memory-service", "--architecture", "x86_64", "--region", "us-east-1", "--no-verify", "--json"]);
    expect(unverified.status, unverified.stderr).toBe(0);
    expect(harness.emulator.instances("us-east-1").filter((i) => i.tags["cws:purpose"] === "validate")).toHaveLength(1);
  });

  it("--all validates every current image in parallel, bounded, and names each failure", { timeout: 240_000 }, async () => {
    harness = await startHarness();
    const built = await harness.cws(["ami", "build-all", "emu-basic", "emu-boot-service", "emu-memory-service", "--region", "us-east-1", "--no-verify", "--concurrency", "6"], { timeoutMs: 180_000 });
    expect(built.status, built.stderr).toBe(0);
    const registry = registryText(harness);

    // The instance profile is checked once, as build-all checks it, before any fresh instance: one error, exit 2.
    const launched = harness.emulator.instances("us-east-1").length;
    const noProfile = await harness.cws(["ami", "validate", "--all", "--instance-profile", "nope-profile", "--json"]);
    expect(noProfile.status, noProfile.stderr).toBe(2);
    expect(JSON.parse(noProfile.stdout)).toMatchObject({ error: { code: "PREFLIGHT_FAILED", value: "nope-profile" }, exitCode: 2 });
    expect(harness.emulator.instances("us-east-1")).toHaveLength(launched);

    const result = await harness.cws(["ami", "validate", "--all", "--concurrency", "4"], { env: { CI: "true" }, timeoutMs: 180_000 });
    expect(result.status).toBe(1);
    const rows = result.stdout.split("\n").filter((line) => line.startsWith("emu-"));
    expect(rows.map((row) => row.split(/\s+/).slice(0, 5).filter((_, i) => i !== 3).join(" "))).toEqual([
      "emu-basic arm64 us-east-1 validated",
      "emu-basic x86_64 us-east-1 validated",
      "emu-boot-service arm64 us-east-1 validated",
      "emu-boot-service x86_64 us-east-1 validated",
      "emu-memory-service arm64 us-east-1 failed",
      "emu-memory-service x86_64 us-east-1 failed",
    ]);
    expect(result.stdout).toContain("6 images: 4 validated, 2 failed");
    expect(result.stdout).toMatch(/Failed:\n {2}emu-memory-service arm64 us-east-1 ami-[0-9a-f]+: validate: 1 of 2 validation tests failed on a fresh instance/);

    // At most four at once: four started before the first ended, the other two only after.
    const events = result.stderr.split("\n").filter((line) => / ⏳ started$| (✅ validated|❌ failed)/.test(line));
    const firstEnd = events.findIndex((line) => !line.endsWith("⏳ started"));
    expect(events.slice(0, firstEnd).length).toBe(4);
    expect(events.filter((line) => line.endsWith("⏳ started"))).toHaveLength(6);

    // Each passing image is marked in its own entry; the failing ones are as they were.
    for (const [template, architecture] of [["emu-basic", "x86_64"], ["emu-basic", "arm64"], ["emu-boot-service", "x86_64"], ["emu-boot-service", "arm64"]] as const) {
      const marked = entry(harness, template, "us-east-1", architecture)!;
      expect(image(harness, marked.ami_id).tags["cws:validated-at"]).toBe(marked.validated_at);
    }
    const before = JSON.parse(registry) as { templates: Record<string, unknown> };
    expect((harness.registry() as { templates: Record<string, unknown> }).templates["emu-memory-service"]).toEqual(before.templates["emu-memory-service"]);
    expectNothingRunning(harness);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)("on %s while the fresh instance starts, cleans up everything, records nothing and exits %i (128 + the signal)", async (signal, exitCode) => {
    harness = await startHarness();
    await build(harness, "emu-boot-service");
    const registry = registryText(harness);
    let sent = false;
    const result = await harness.cws(["ami", "validate", "emu-boot-service", "--architecture", "x86_64"], {
      onStderr: (text, child) => {
        if (!sent && text.includes("Fresh instance launched")) {
          sent = true;
          child.kill(signal);
        }
      },
    });
    expect(sent).toBe(true);
    expect(result.status).toBe(exitCode);
    expect(result.stderr).toContain(`${signal}: ${signal === "SIGHUP" ? "the terminal closed; " : ""}stopping the validation and cleaning up`);
    expect(result.stderr).toContain("Validation interrupted");
    expect(result.stderr).toMatch(/Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    expect(registryText(harness)).toBe(registry);
    expectNothingRunning(harness);
  });
});
