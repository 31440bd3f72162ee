import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, scratchDir, startCli } from "../helpers/cli.js";
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
    expect(build.kept).toEqual([expect.stringMatching(new RegExp(`^image ${build.imageId} \\(failed on a fresh instance; tagged cws:validated=false, not in the registry; remove it with: aws ec2 deregister-image --image-id ${build.imageId} --region us-east-1 && aws ec2 delete-snapshot --snapshot-id snap-[0-9a-f]+ --region us-east-1\\)$`))]);
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
    // The kept image is named with the command that removes it and its snapshots, as a single build names it.
    expect(rows[0]!.detail).toMatch(
      /^verify: 1 of 2 validation tests failed on a fresh instance of (ami-[0-9a-f]+); kept: image \1 \(failed on a fresh instance; tagged cws:validated=false, not in the registry; remove it with: aws ec2 deregister-image --image-id \1 --region us-east-1 && aws ec2 delete-snapshot --snapshot-id snap-[0-9a-f]+ --region us-east-1\)$/,
    );
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
    const json = await harness.cws(["ami", "validate", "--all", "--concurrency", "6", "--json"], { timeoutMs: 180_000 });
    expect(JSON.parse(json.stdout)).toMatchObject({ counts: { validated: 4, failed: 2 }, interrupted: false, exitCode: 1 });
    expect(json.status).toBe(1);
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

describe("cws ami validate: which image, and what the result says (end to end, emulator)", () => {
  it("takes --ami's architecture, names validate in its advice, says an invalid template launched nothing, and what it recorded without a registry", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const boot = await build(harness, "emu-boot-service", "--no-registry-update");
    const memory = await build(harness, "emu-memory-service", "--no-registry-update");

    // Two architectures and no --architecture: the advice is validate's own command line.
    const choose = await harness.cws(["ami", "validate", "emu-boot-service"]);
    expect(choose.status).toBe(2);
    expect(choose.stderr).toContain("→ e.g. cws ami validate emu-boot-service --architecture x86_64");

    // Another template's image: the suggested command works as given (the image fixes the architecture).
    const other = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", memory.imageId]);
    expect(other.status).toBe(2);
    const suggested = /→ validate it with its own template: cws ami (validate emu-memory-service --ami ami-[0-9a-f]+ --region us-east-1)/.exec(other.stderr)?.[1];
    expect(suggested, other.stderr).toBe(`validate emu-memory-service --ami ${memory.imageId} --region us-east-1`);
    expect(harness.emulator.instances("us-east-1").filter((i) => i.tags["cws:purpose"] === "validate")).toEqual([]);

    // --ami without --architecture takes the image's; no registry file (a mistyped --registry): tagged only, and said so.
    const typo = join("registry", "amis-typo.json");
    const passed = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", boot.imageId, "--registry", typo]);
    expect(passed.status, passed.stderr).toBe(0);
    expect(passed.stdout).toContain(`   Registry: ${typo} does not exist; nothing marked\n`);
    expect(existsSync(join(harness.dir, typo))).toBe(false);
    const json = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", boot.imageId, "--registry", typo, "--json"]);
    const document = JSON.parse(json.stdout);
    expect(document).toMatchObject({ status: "succeeded", architecture: "x86_64", registry: typo, registryRecord: "no-registry", error: null, failedStep: null, exitCode: 0 });
    // Every key is there, null when it has no value.
    expect(Object.keys(document)).toEqual([
      "status", "validationId", "template", "region", "architecture", "imageId", "instanceId", "tests", "validatedAt", "registry", "registryRecord",
      "durationSeconds", "logDir", "failedStep", "error", "exitCode", "cleaned", "kept", "cleanupErrors",
    ]);

    // An --architecture that contradicts the image is refused before anything runs.
    const launched = harness.emulator.instances("us-east-1").length;
    const contradicts = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", boot.imageId, "--architecture", "arm64"]);
    expect(contradicts.status).toBe(2);
    expect(contradicts.stderr).toContain(`error: ${boot.imageId} is x86_64, not arm64`);
    expect(harness.emulator.instances("us-east-1")).toHaveLength(launched);

    // A failure before anything is launched: a test code of its own kind, every key, and no empty log folder named or left.
    const noProfile = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", boot.imageId, "--instance-profile", "nope-profile", "--json"]);
    expect(noProfile.status).toBe(2);
    const failed = JSON.parse(noProfile.stdout);
    expect(failed).toMatchObject({ status: "failed", failedStep: "preflight", validatedAt: null, registryRecord: null, logDir: null, instanceId: null, error: { code: "PREFLIGHT_FAILED" } });
    expect(existsSync(join(harness.dir, ".cws", "logs", failed.validationId))).toBe(false);
    const text = await harness.cws(["ami", "validate", "emu-boot-service", "--ami", boot.imageId, "--instance-profile", "nope-profile"]);
    expect(text.stderr).not.toContain("Logs:");

    // A test that fails: a validation's code, not a build's.
    const memoryFails = await harness.cws(["ami", "validate", "emu-memory-service", "--ami", memory.imageId, "--json"]);
    expect(JSON.parse(memoryFails.stdout)).toMatchObject({ status: "failed", error: { code: "VALIDATION_FAILED" }, validatedAt: null, registryRecord: null, exitCode: 1 });

    // An invalid template: validate says nothing was launched or validated (not "built").
    writeFileSync(join(harness.dir, "templates", "emu-basic.yml"), "name: [unclosed\n");
    const invalid = await harness.cws(["ami", "validate", "emu-basic", "--architecture", "x86_64"]);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain("error: template emu-basic has 1 problem(s); nothing was launched or validated");
    expectNothingRunning(harness);
  });

  it("--all: an image whose template file is invalid is skipped, pointing to lint", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    await build(harness, "emu-boot-service");
    await build(harness, "emu-memory-service");
    writeFileSync(join(harness.dir, "templates", "emu-memory-service.yml"), "name: [unclosed\n");
    const result = await harness.cws(["ami", "validate", "--all", "--json"]);
    const rows = JSON.parse(result.stdout).rows as { template: string; result: string; detail: string | null }[];
    expect(rows.map((row) => `${row.template} ${row.result}`)).toEqual(["emu-boot-service validated", "emu-memory-service skipped"]);
    expect(rows[1]!.detail).toBe("its template templates/emu-memory-service.yml is invalid, so its tests cannot be read (cws ami lint emu-memory-service shows its problems)");
  });

  it("a registry that breaks during the validation: exit 2, the summary says what was recorded, and update-registry then takes validated_at from the tag", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const built = await build(harness, "emu-boot-service");
    const good = registryText(harness);
    const file = join(harness.dir, "registry", "amis.json");
    let broke = false;
    const result = await harness.cws(["ami", "validate", "emu-boot-service", "--architecture", "x86_64"], {
      onStderr: (text) => {
        if (!broke && text.includes("Fresh instance launched")) {
          broke = true;
          writeFileSync(file, "{ broken");
        }
      },
    });
    expect(broke).toBe(true);
    expect(result.status).toBe(2);
    const tagged = image(harness, built.imageId).tags["cws:validated-at"];
    expect(tagged).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(result.stderr).not.toContain("Nothing was recorded");
    expect(result.stderr).toContain(`   Tagged: cws:validated=true, cws:validated-at=${tagged} (the image and its snapshots)\n   Registry: not marked: ./registry/amis.json could not be written (see above)\n`);
    expect(result.stderr).toContain("then record the verdict in the registry with cws ami update-registry emu-boot-service --region us-east-1 --architecture x86_64 --registry ./registry/amis.json");
    expectNothingRunning(harness);

    // Repaired (git checkout), the registry catches up with the tag.
    writeFileSync(file, good);
    const update = await harness.cws(["ami", "update-registry", "emu-boot-service", "--region", "us-east-1", "--architecture", "x86_64"]);
    expect(update.status, update.stderr).toBe(0);
    expect(update.stdout).toContain(`Registry updated: emu-boot-service.us-east-1.x86_64: ${built.imageId} validated at ${tagged} (from its cws:validated-at tag; the current AMI)`);
    expect(entry(harness, "emu-boot-service")).toMatchObject({ ami_id: built.imageId, validated: true, validated_at: tagged });
  });

  it("a subnet that does not exist (cws.config.json's build.subnet): exit 2 for validate and build, naming it and where it was set", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const built = await build(harness, "emu-boot-service");
    writeFileSync(join(harness.dir, "cws.config.json"), `${JSON.stringify({ build: { subnet: "subnet-0123456789abcdef0" } })}\n`);
    for (const args of [
      ["ami", "validate", "emu-boot-service", "--ami", built.imageId, "--json"],
      ["ami", "build", "emu-boot-service", "--architecture", "x86_64", "--force", "--json"],
    ]) {
      const result = await harness.cws(args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(JSON.parse(result.stdout).error).toMatchObject({
        code: "PREFLIGHT_FAILED",
        message: "subnet subnet-0123456789abcdef0 (from build.subnet in cws.config.json) does not exist in us-east-1",
        suggestion: expect.stringContaining("set build.subnet in cws.config.json to a subnet of us-east-1"),
      });
    }
    expectNothingRunning(harness);
  });
});

describe("build --verify --on-error abort (end to end, emulator)", () => {
  it("keeps both instances as they are (the build's stopped, the fresh one running) and says one way to remove them and their group", async () => {
    harness = await startHarness();
    const result = await harness.cws(["ami", "build", "emu-memory-service", "--architecture", "x86_64", "--verify", "--on-error", "abort"]);
    expect(result.status).toBe(1);
    const states = Object.fromEntries(harness.emulator.instances("us-east-1").map((i) => [i.tags["cws:purpose"], `${i.id} ${i.state}`]));
    const [buildId, buildState] = states.build!.split(" ");
    const [freshId, freshState] = states.validate!.split(" ");
    expect([buildState, freshState]).toEqual(["stopped", "running"]);
    expect(result.stderr).toContain(`--on-error abort: the fresh instance ${freshId} is kept, running (and costing money) so you can look at it:`);
    expect(result.stderr).toContain(`--on-error abort: the build instance ${buildId} is kept, stopped (it was generalized for the image`);
    // A stopped instance takes no session until it is started: it is not offered one as if it ran.
    expect(result.stderr).not.toContain(`connect:  aws ssm start-session --target ${buildId}`);
    expect(result.stderr).toContain(`start it: aws ec2 start-instances --instance-ids ${buildId} --region us-east-1, then aws ssm start-session --target ${buildId}`);
    expect(result.stderr).toContain("(beyond docs/iam/cws-cli-policy.json, these need ec2:StartInstances and Session Manager: ssm:StartSession on the instance)");
    const group = harness.emulator.securityGroups("us-east-1").find((g) => g.tags["cws:managed-by"] === "cws")!.id;
    // One sequence, said once: both terminated and waited for, then the group deleted.
    expect(result.stderr.match(/delete-security-group/g)).toHaveLength(1);
    expect(result.stderr).toContain(
      `aws ec2 terminate-instances --instance-ids ${freshId} ${buildId} --region us-east-1 && aws ec2 wait instance-terminated --instance-ids ${freshId} ${buildId} --region us-east-1 && aws ec2 delete-security-group --group-id ${group} --region us-east-1`,
    );
    const kept = /📌 Kept: (.*)/.exec(result.stderr)![1]!;
    for (const what of [`instance ${freshId} (the fresh instance, running)`, `instance ${buildId} (the build instance, stopped)`, `security group ${group} (used by the kept instances)`]) expect(kept).toContain(what);
    expect(result.stderr).toMatch(/; the kept instances are billed until terminated \(i-[0-9a-f]+ running, i-[0-9a-f]+ stopped: its volume\)/);
  });
});

/** A server that accepts connections and never answers: an AWS endpoint that hangs. `connection()` resolves at the next request. */
async function hangingEndpoint(): Promise<{ url: string; connection(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let waiting: (() => void)[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    for (const resolve of waiting) resolve();
    waiting = [];
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connection: () => new Promise<void>((resolve) => waiting.push(resolve)),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("interrupted during the up-front check of credentials and the instance profile", () => {
  it.each([
    ["validate --all", ["ami", "validate", "--all"], "SIGINT", 130],
    ["build-all", ["ami", "build-all", "emu-basic"], "SIGTERM", 143],
  ] as const)("%s ends with its interrupted document (and an interrupted line without --json), exit 128+n, starting nothing", async (_name, args, signal, exitCode) => {
    const endpoint = await hangingEndpoint();
    const { dir, cleanup } = scratchDir({
      "registry/amis.json": `${JSON.stringify({ version: "1.0", last_updated: "2026-11-28T00:00:00Z", templates: { "emu-basic": { version: "v1.0.0", description: "d", amis: { "us-east-1": { x86_64: { ami_id: "ami-0123456789abcdef0", created: "2026-11-28T00:00:00Z", validated: true, size_gb: 8 } } }, ports: [], estimated_cost_per_hour: {} } } })}\n`,
    });
    cpSync(join(ROOT, "test", "fixtures", "templates"), join(dir, "templates"), { recursive: true });
    const env = { AWS_ENDPOINT_URL: endpoint.url, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" };
    try {
      for (const json of [true, false]) {
        const connected = endpoint.connection();
        const child = startCli([...args, ...(json ? ["--json"] : [])], { cwd: dir, env });
        let stdout = "";
        let stderr = "";
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        // The first request of the check has reached the endpoint, which will never answer it.
        await connected;
        await new Promise((resolve) => setTimeout(resolve, 200));
        child.kill(signal);
        const status = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve("still running 20 s after the signal"), 20_000))]);
        expect(status, stderr).toBe(exitCode);
        expect(stderr).toContain(`${signal}: stopping every`);
        if (json) {
          const document = JSON.parse(stdout) as { rows: { result: string; detail: string }[]; interrupted: boolean; exitCode: number };
          expect(document).toMatchObject({ interrupted: true, exitCode });
          expect(document.rows.length).toBeGreaterThan(0);
          expect(document.rows.every((row) => row.result === "cancelled" && row.detail.endsWith("interrupted"))).toBe(true);
        } else {
          expect(stderr).toMatch(/Interrupted: \d+ cancelled/);
          expect(stdout).toContain("(interrupted)");
        }
      }
    } finally {
      await endpoint.close();
      cleanup();
    }
  });
});
