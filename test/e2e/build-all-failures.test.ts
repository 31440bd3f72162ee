import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_TEMPLATES, type Harness } from "./harness.js";
import { FLEET_REGIONS, HOME, INSTANCES_PER_BUILD, calls, expectEveryRegionClean, makingCalls, registryEntry, startFleetHarness, tableRows, writeTemplate } from "./fleet-harness.js";

/**
 * build-all when something goes wrong, end to end (the built CLI against the
 * emulator): templates that cannot be ordered are refused before any AWS call;
 * a failing target leaves the others built and its dependents skipped;
 * --fail-fast and Ctrl-C stop everything. Whatever happens, no region is left
 * with an instance, a build security group or a half-made image or copy.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A template built on `parent`, for two architectures in the fleet's regions. */
const childOf = (parent: string, description = "built on another") => `name: "Child of ${parent}"
description: "${description}"
base_ami:
  template: ${parent}
  architecture: [x86_64, arm64]
regions: [${FLEET_REGIONS.join(", ")}]
setup_script: |
  #!/bin/bash
  set -euo pipefail
  echo child > /opt/cws-test/child
`;

/** emu-fail-validation (setup succeeds, two of four tests fail) for both architectures and the fleet's regions. */
const failingTemplate = () =>
  readFileSync(join(FIXTURE_TEMPLATES, "emu-fail-validation.yml"), "utf8")
    .replace("architecture: [x86_64]", "architecture: [x86_64, arm64]")
    .replace("regions: [us-east-1]", `regions: [${FLEET_REGIONS.join(", ")}]`);

/** emu-slow (a minute of setup) in two regions: still running when anything else has long ended. */
const slowTemplate = () => readFileSync(join(FIXTURE_TEMPLATES, "emu-slow.yml"), "utf8").replace("regions: [us-east-1]", "regions: [us-east-1, eu-west-1]");

describe("build-all: templates that cannot be ordered (exit 2, before any AWS call)", () => {
  it("a cycle (a -> b -> a) names both templates; --json says TEMPLATE_CYCLE", async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "fleet-cycle-a", childOf("fleet-cycle-b"));
    writeTemplate(h, "fleet-cycle-b", childOf("fleet-cycle-a"));
    const result = await h.cws(["ami", "build-all"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("templates built on each other in a cycle: fleet-cycle-a -> fleet-cycle-b -> fleet-cycle-a");
    expect(result.stderr).toContain("cws ami lint");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe("");
    // Named as a child, its cycle is found through its parent too.
    const json = await h.cws(["ami", "build-all", "fleet-cycle-b", "--json"]);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "TEMPLATE_CYCLE", value: expect.stringMatching(/fleet-cycle-(a|b) -> fleet-cycle-(a|b) -> fleet-cycle-(a|b)/) }, exitCode: 2 });
    expect(h.emulator.stats.totalCalls).toBe(0);
    expect(h.registry()).toBeUndefined();
  });

  it("a missing parent names it and the template built on it", async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "fleet-orphan", childOf("fleet-gone"));
    for (const args of [[], ["fleet-orphan"], ["--templates", "fleet-other,fleet-orphan"]]) {
      const result = await h.cws(["ami", "build-all", ...args]);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain('fleet-orphan: no template "fleet-gone" to build on in the templates directory');
      expect(result.stderr).toContain("create fleet-gone.yml");
    }
    expect(h.emulator.stats.totalCalls).toBe(0);
  });
});

describe("build-all: a setup every target shares (exit 2, before any target starts)", () => {
  it("a missing instance profile is said once, as the build's preflight says it, and nothing is launched or skipped", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const build = await h.cws(["ami", "build", "fleet-other", "--architecture", "x86_64", "--instance-profile", "nope-profile", "--no-registry-update"]);
    expect(build.status, build.stderr).toBe(2);
    const message = /instance profile nope-profile does not exist in account \d+/.exec(build.stderr)?.[0];
    expect(message, build.stderr).toBeDefined();
    const result = await h.cws(["ami", "build-all", "--instance-profile", "nope-profile"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(`error: ${message!}\n  → run \`cws ami bootstrap\` to create it (once per account), or pass --instance-profile NAME\n`);
    expect(result.stderr.split(message!)).toHaveLength(2);
    expect(result.stderr).not.toMatch(/skipped|failed|\n\s+at /);
    expect(result.stdout).toBe("");
    expect(makingCalls(h)).toEqual({ runInstances: 0, createImage: 0, copyImage: 0 });
    expect(calls(h, "ec2:CreateSecurityGroup")).toBe(0);
    expect(h.registry()).toBeUndefined();
    const json = await h.cws(["ami", "build-all", "--instance-profile", "nope-profile", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "PREFLIGHT_FAILED", value: "nope-profile" }, exitCode: 2 });
  });
});

describe("build-all: a failing target", () => {
  it("leaves the others built, skips its dependents, names the failure and its logs, exits 1 and leaves nothing running anywhere", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "fleet-broken", failingTemplate());
    writeTemplate(h, "fleet-broken-child", childOf("fleet-broken", "built on a template that fails"));
    // fleet-broken is included as fleet-broken-child's parent.
    const result = await h.cws(["ami", "build-all", "fleet-other", "fleet-broken-child"]);
    expect(result.status, result.stderr).toBe(1);

    const rows = tableRows(result.stdout);
    // fleet-broken, not asked for, only where its child is built: its home.
    expect(rows).toHaveLength(2 * 2 * FLEET_REGIONS.length + 2);
    for (const row of rows) {
      const where = `${row.template} ${row.architecture} ${row.region}`;
      if (row.template === "fleet-other") expect(row.result, where).toBe(row.region === HOME ? "built" : "copied");
      else if (row.template === "fleet-broken") expect([row.region, row.result], where).toEqual([HOME, "failed"]);
      // Its child has nothing to start from.
      else expect(row.result, where).toBe("skipped");
    }
    // Only fleet-other and fleet-broken were launched; fleet-broken made no image (so nothing to verify).
    expect(makingCalls(h)).toEqual({ runInstances: 2 * INSTANCES_PER_BUILD + 2, createImage: 2, copyImage: 6 });
    for (const region of FLEET_REGIONS) {
      for (const architecture of ["x86_64", "arm64"]) expect(registryEntry(h, "fleet-other", region, architecture)?.validated, `${region} ${architecture}`).toBe(true);
      expect(h.emulator.images(region).filter((i) => i.tags["cws:template"] !== "fleet-other")).toEqual([]);
    }

    // Each failure: what failed and where its logs are, in the table's notes and in the progress.
    const failures = [...result.stdout.matchAll(/^ {2}fleet-broken (x86_64|arm64) us-east-1: (.*)$/gm)];
    expect(failures.map((m) => m[1]).sort()).toEqual(["arm64", "x86_64"]);
    for (const [, , text] of failures) {
      expect(text).toContain("2 of 4 validation tests failed");
      const logDir = /\(logs: (\.cws\/logs\/[^)\s]+)\)/.exec(text!)?.[1];
      expect(logDir, text).toBeDefined();
      expect(readdirSync(join(h.dir, logDir!))).toContain("setup.log");
    }
    expect(result.stdout).toMatch(/^Failed:$/m);
    expect(result.stdout).toMatch(/^ {2}fleet-broken-child x86_64 us-east-1: .*fleet-broken\/x86_64 in us-east-1 failed/m);
    expect(result.stderr).toMatch(/\[fleet-broken\/x86_64\] ❌ failed: /);
    expect(result.stderr).toMatch(/\[fleet-broken-child\/arm64\] ⏭️ +skipped: fleet-broken\/arm64 in us-east-1 failed \(fleet-broken-child builds on it\)\n/);
    // In words: no scheduler's job id (template/arch@region) in what a person reads.
    expect(result.stdout + result.stderr).not.toMatch(/\/(x86_64|arm64)@/);
    expect(result.stdout).toMatch(/18 images: 2 built, 6 copied, 2 failed, 8 skipped/);
    expectEveryRegionClean(h);
  });

  it("a failed setup: its log's last line on the progress, one line for it in the table, the job summary and --json, with its logs", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "emu-fail-setup", readFileSync(join(FIXTURE_TEMPLATES, "emu-fail-setup.yml"), "utf8"));
    const summaryFile = join(h.dir, "step-summary.md");
    const text = await h.cws(["ami", "build-all", "emu-fail-setup"], { env: { GITHUB_STEP_SUMMARY: summaryFile } });
    expect(text.status, text.stderr).toBe(1);
    // The line that says why, kept above the failure, and not the other 39 lines of the script's output.
    expect(text.stderr).toMatch(/\[emu-fail-setup\/x86_64\] E: unable to locate package imaginary-package\n.*\[emu-fail-setup\/x86_64\] ❌ Executing setup script failed: setup script exited with code 7\n/);
    expect(text.stderr).not.toContain("progress 40");
    expect(text.stdout).toMatch(/\nFailed:\n {2}emu-fail-setup x86_64 us-east-1: provision: setup script exited with code 7 \(logs: \.cws\/logs\/[^)\s]+\)\n$/);
    const markdown = readFileSync(summaryFile, "utf8");
    expect(markdown).toMatch(/\n- emu-fail-setup x86\\_64 us-east-1: provision: setup script exited with code 7 \(logs: \.cws\/logs\/[^)\s]+\)\n/);
    expect(markdown).not.toContain("progress");

    const json = await h.cws(["ami", "build-all", "emu-fail-setup", "--json"]);
    expect(json.status).toBe(1);
    const document = JSON.parse(json.stdout) as { rows: { result: string; detail: string; logDir: string }[]; exitCode: number };
    expect(document.exitCode).toBe(1);
    const [row] = document.rows;
    expect(row).toMatchObject({ result: "failed", detail: "provision: setup script exited with code 7", logDir: expect.stringMatching(/^\.cws\/logs\//) });
    expect(readFileSync(join(h.dir, row!.logDir, "setup.log"), "utf8")).toContain("E: unable to locate package imaginary-package");
    expectEveryRegionClean(h, [HOME]);
  });

  it("a copy refused in one region fails that image only: the build and the other copies are there, exit 1, nothing pending", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    h.emulator.faults.add({ service: "ec2", action: "CopyImage", region: "eu-west-1", code: "ResourceLimitExceeded", message: "You have reached the limit for concurrent AMI copies", times: 100 });
    const result = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64"]);
    expect(result.status, result.stderr).toBe(1);
    expect(tableRows(result.stdout).map((row) => `${row.region} ${row.result}`)).toEqual(["us-east-1 built", "us-west-2 copied", "eu-west-1 failed", "ap-southeast-2 copied"]);
    expect(result.stdout).toMatch(/^ {2}fleet-other x86_64 eu-west-1: .*You have reached the limit for concurrent AMI copies/m);
    expect(registryEntry(h, "fleet-other", "eu-west-1", "x86_64")).toBeUndefined();
    for (const region of ["us-east-1", "us-west-2", "ap-southeast-2"]) expect(registryEntry(h, "fleet-other", region, "x86_64")?.validated, region).toBe(true);
    expect(h.emulator.images("eu-west-1")).toEqual([]);
    expectEveryRegionClean(h);

    // The next run copies only what is missing.
    h.emulator.faults.clear();
    const before = makingCalls(h);
    const again = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64"]);
    expect(again.status, again.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ ...before, copyImage: before.copyImage + 1 });
    expect(tableRows(again.stdout).map((row) => `${row.region} ${row.result}`)).toEqual(["us-east-1 up to date", "us-west-2 up to date", "eu-west-1 copied", "ap-southeast-2 up to date"]);
  });

  it("--fail-fast: the first failure cancels the rest, which clean up; exit 1, nothing running", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "fleet-broken", failingTemplate());
    writeTemplate(h, "fleet-slow", slowTemplate());
    const started = performance.now();
    const result = await h.cws(["ami", "build-all", "fleet-broken", "fleet-slow", "--fail-fast"]);
    const seconds = (performance.now() - started) / 1000;
    expect(result.status, result.stderr).toBe(1);
    // The slow setup takes a minute: it was stopped, not waited for.
    expect(seconds).toBeLessThan(40);
    const rows = tableRows(result.stdout);
    expect(rows.filter((r) => r.result === "failed").length).toBeGreaterThanOrEqual(1);
    expect(rows.filter((r) => r.template === "fleet-slow").map((r) => r.result)).toEqual(["cancelled", "cancelled"]);
    expect(rows.filter((r) => r.result === "built" || r.result === "copied")).toEqual([]);
    expect(result.stdout).toContain("cancelled by --fail-fast after a failure");
    // Stopped by --fail-fast, which it says, not by a Ctrl-C nobody pressed.
    expect(result.stderr).toMatch(/\[fleet-slow\/x86_64\] ❌ us-east-1: [^\n]* failed: interrupted by --fail-fast after a failure\n/);
    expect(result.stderr + result.stdout).not.toContain("SIGINT");
    // fleet-slow's build had started (its instance was launched), and it was terminated.
    const slow = h.emulator.instances(HOME).filter((i) => i.tags["cws:template"] === "fleet-slow");
    expect(slow).toHaveLength(1);
    expect(slow[0]!.state).toBe("terminated");
    expect(calls(h, "ec2:CreateImage")).toBe(0);
    expect(calls(h, "ec2:CopyImage")).toBe(0);
    expectEveryRegionClean(h);
  });
});

describe("build-all: Ctrl-C", () => {
  it("SIGINT mid-fleet (a build in its setup, copies pending): every target stops and cleans up, every region is clean, exit 130, says interrupted; a second SIGINT lists what is still alive, target by target", { timeout: 90_000 }, async () => {
    // Copies that take seconds, so some are pending when the signal comes.
    harness = await startFleetHarness({ latencies: { copyImageBase: 1500 } });
    const h = harness;
    writeTemplate(h, "fleet-slow", slowTemplate());
    let sent = false;
    let again = false;
    const result = await h.cws(["ami", "build-all", "--concurrency", "8"], {
      onStderr: (text, child) => {
        // fleet-slow is in its setup, and a copy has been made and is pending.
        if (!sent && text.includes("[fleet-slow/x86_64] us-east-1: Executing setup script") && /copying ami-[0-9a-f]+ from us-east-1 as ami-[0-9a-f]+/.test(text)) {
          sent = true;
          child.kill("SIGINT");
        }
        // Pressed again as soon as it says it is stopping: the instance is being terminated.
        if (sent && !again && text.includes("SIGINT: stopping every target")) {
          again = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(sent && again).toBe(true);
    expect(result.status, result.stderr).toBe(130);
    expect(result.stderr).toContain("SIGINT: stopping every target and cleaning up; each removes what it made (press Ctrl-C again to list what is still alive)");
    // What `cws ami build` names on a second Ctrl-C, for each target still at it.
    expect(result.stderr).toContain("still cleaning up; alive:");
    expect(result.stderr).toMatch(/ {2}fleet-slow\/x86_64 in us-east-1: (instance i-[0-9a-f]+, )?security group sg-[0-9a-f]+ \(all tagged cws:build-id=[^)]+\)/);
    expect(result.stderr).toMatch(/Interrupted: /);
    expect(result.stdout).toMatch(/\(interrupted\)/);
    // A cancelled row names what its cleanup removed.
    expect(result.stdout).toMatch(/interrupted: stopped; removed instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    const rows = tableRows(result.stdout);
    expect(rows.filter((r) => r.result === "cancelled").length).toBeGreaterThanOrEqual(1);
    expect(rows.find((r) => r.template === "fleet-slow" && r.region === HOME)?.result).toBe("cancelled");
    // The pending copies were deregistered with their snapshots, the running build's instance terminated.
    expect(calls(h, "ec2:DeregisterImage")).toBeGreaterThanOrEqual(1);
    expect(h.emulator.instances(HOME).find((i) => i.tags["cws:template"] === "fleet-slow")?.state).toBe("terminated");
    expectEveryRegionClean(h);
    // What finished is recorded, or, made just as the signal came (before it was recorded), named as kept; nothing else is there.
    for (const region of FLEET_REGIONS) {
      for (const image of h.emulator.images(region)) {
        const recorded = registryEntry(h, image.tags["cws:template"]!, region, image.tags["cws:arch"]!)?.ami_id === image.id;
        const kept = result.stdout.includes(`kept: image ${image.id} (validated, not in the registry)`);
        expect({ image: image.id, recordedOrKept: recorded || kept }).toEqual({ image: image.id, recordedOrKept: true });
      }
    }
    expect(existsSync(join(h.dir, "registry", "amis.json.lock"))).toBe(false);
  });

  // SIGTERM is what a cancelled CI job sends.
  it("SIGTERM while a child template builds on its parent's new image: the child stops and cleans up, the parent's images stay recorded, exit 143", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    let sent = false;
    const result = await h.cws(["ami", "build-all", "fleet-child", "--architecture", "x86_64"], {
      onStderr: (text, child) => {
        if (!sent && /\[fleet-child\/x86_64\] ✅ us-east-1: Instance launched: i-/.test(text)) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(sent).toBe(true);
    expect(result.status, result.stderr).toBe(143);
    expect(result.stderr).toContain("SIGTERM: stopping every target and cleaning up; each removes what it made (send SIGTERM again to list what is still alive)");
    expect(result.stderr).not.toContain("Ctrl-C");
    expect(result.stderr + result.stdout).not.toContain("SIGINT");
    expect(tableRows(result.stdout).map((row) => `${row.template} ${row.region} ${row.result}`)).toEqual([
      "fleet-base us-east-1 built",
      ...FLEET_REGIONS.map((region) => `fleet-child ${region} cancelled`),
    ]);
    const child = h.emulator.instances(HOME).filter((i) => i.tags["cws:template"] === "fleet-child");
    expect(child.map((i) => i.state)).toEqual(["terminated"]);
    expect(calls(h, "ec2:CopyImage")).toBe(0);
    expect(h.emulator.images(HOME).map((i) => i.tags["cws:template"])).toEqual(["fleet-base"]);
    expect(registryEntry(h, "fleet-base", HOME, "x86_64")?.ami_id).toBe(h.emulator.images(HOME)[0]!.id);
    expect(registryEntry(h, "fleet-child", HOME, "x86_64")).toBeUndefined();
    expectEveryRegionClean(h);
  });
});
