import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { expectOnceInOrder } from "../helpers/screen.js";
import { runOnTerminal, SPINNER_FRAMES } from "../helpers/terminal.js";
import type { Harness } from "./harness.js";
import { FLEET_REGIONS, HOME, INSTANCES_PER_BUILD, calls, expectEveryRegionClean, makingCalls, registryEntry, startFleetHarness, tableRows, writeTemplate } from "./fleet-harness.js";

/**
 * build-all's options and outputs, end to end (the built CLI against the
 * emulator, on the fleet of test/fixtures/fleet-templates): a throttled API,
 * --json and the GitHub job summary, --strategy per-region, --region,
 * --architecture and --templates, the offline --dry-run, and a real
 * pseudo-terminal.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface JsonRow {
  template: string;
  architecture: string;
  region: string;
  result: string;
  amiId: string | null;
  copiedFrom: { region: string; amiId: string } | null;
  durationSeconds: number | null;
  cost: { usd: number; known: boolean } | null;
  storagePerMonth: { usdPerMonth: number; known: boolean } | null;
  ssmParameter: string | null;
  detail: string | null;
  logDir: string | null;
}
interface JsonSummary {
  rows: JsonRow[];
  counts: Record<string, number>;
  cost: { builds: { usd: number; known: boolean }; storagePerMonth: { usd: number; known: boolean }; prices: string };
  durationSeconds: number;
  interrupted: boolean;
  exitCode: number;
}

/** Every image of cws's in a region, as `template/arch`. */
const imagesIn = (h: Harness, region: string) => h.emulator.images(region).map((i) => `${i.tags["cws:template"]}/${i.tags["cws:arch"]}`).sort();

describe("build-all against a throttling API", () => {
  // Each region and action has a bucket of 5 calls refilled at 2 a second: the builds' and copies' polling meets it.
  it("still finishes the fleet: a parent, its child, 4 builds and 12 copies", { timeout: 150_000 }, async () => {
    harness = await startFleetHarness({ throttle: { capacity: 5, refillPerSecond: 2 } });
    const h = harness;
    const result = await h.cws(["ami", "build-all", "--templates", "fleet-base,fleet-child", "--json"], { timeoutMs: 140_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(h.emulator.stats.throttled).toBeGreaterThan(0);
    const summary = JSON.parse(result.stdout) as JsonSummary;
    expect(summary.counts).toMatchObject({ built: 4, copied: 12, failed: 0, skipped: 0, cancelled: 0 });
    expect(makingCalls(h)).toEqual({ runInstances: 4 * INSTANCES_PER_BUILD, createImage: 4, copyImage: 12 });
    for (const region of FLEET_REGIONS) expect(imagesIn(h, region)).toEqual(["fleet-base/arm64", "fleet-base/x86_64", "fleet-child/arm64", "fleet-child/x86_64"]);
    expectEveryRegionClean(h);
  });
});

describe("build-all's options", () => {
  it("--json: one document (rows, counts, costs); $GITHUB_STEP_SUMMARY gets the Markdown table appended", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const summaryFile = join(h.dir, "step-summary.md");
    writeFileSync(summaryFile, "## An earlier step\n\n");
    const result = await h.cws(["ami", "build-all", "fleet-other", "--json"], { env: { GITHUB_STEP_SUMMARY: summaryFile } });
    expect(result.status, result.stderr).toBe(0);
    // One document and nothing else on stdout; the progress on stderr.
    const summary = JSON.parse(result.stdout) as JsonSummary;
    expect(result.stderr).toMatch(/\[fleet-other\/x86_64\] /);
    expect(summary).toMatchObject({ interrupted: false, exitCode: 0 });
    expect(summary.counts).toEqual({ built: 2, copied: 6, "up-to-date": 0, failed: 0, skipped: 0, cancelled: 0 });
    expect(summary.rows).toHaveLength(8);
    const keys = ["template", "architecture", "region", "result", "amiId", "copiedFrom", "durationSeconds", "cost", "storagePerMonth", "ssmParameter", "detail", "logDir"];
    for (const row of summary.rows) {
      expect(Object.keys(row).sort()).toEqual([...keys].sort());
      expect(registryEntry(h, "fleet-other", row.region, row.architecture)?.ami_id).toBe(row.amiId);
      expect(row.storagePerMonth).toMatchObject({ known: true, usdPerMonth: expect.any(Number) });
      expect(row.storagePerMonth!.usdPerMonth).toBeGreaterThan(0);
      if (row.region === HOME) {
        expect(row).toMatchObject({ result: "built", copiedFrom: null, cost: { known: true } });
        expect(row.cost!.usd).toBeGreaterThan(0);
      } else {
        const home = summary.rows.find((r) => r.region === HOME && r.architecture === row.architecture)!;
        expect(row).toMatchObject({ result: "copied", copiedFrom: { region: HOME, amiId: home.amiId }, cost: null });
      }
    }
    const builds = summary.rows.reduce((sum, row) => sum + (row.cost?.usd ?? 0), 0);
    expect(summary.cost.builds).toMatchObject({ known: true });
    expect(summary.cost.builds.usd).toBeCloseTo(builds, 6);
    expect(summary.cost.storagePerMonth.usd).toBeCloseTo(summary.rows.reduce((sum, row) => sum + row.storagePerMonth!.usdPerMonth, 0), 6);
    expect(summary.cost.prices).toMatch(/shipped price table of \d{4}-\d\d-\d\d/);

    const markdown = readFileSync(summaryFile, "utf8");
    expect(markdown.startsWith("## An earlier step\n\n### cws ami build-all\n")).toBe(true);
    expect(markdown).toContain("| Template | Architecture | Region | AMI | Result | Duration | Cost |");
    // Markdown's emphasis character is escaped: x86\_64 shows as x86_64.
    for (const row of summary.rows) expect(markdown).toContain(`| fleet-other | ${row.architecture.replace("_", "\\_")} | ${row.region} | ${row.amiId} | ${row.result} |`);
    expect(markdown).toContain("8 images: 2 built, 6 copied");
  });

  it("--publish-ssm: every region's parameter is written and said, the home's and each copy's, and named in its --json row", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const result = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64", "--publish-ssm", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as JsonSummary;
    expect(summary.rows.map((row) => row.region).sort()).toEqual([...FLEET_REGIONS].sort());
    for (const row of summary.rows) {
      const parameter = `/cloudworkstation/amis/fleet-other/${row.region}/x86_64`;
      expect(row.ssmParameter, row.region).toBe(parameter);
      expect(h.emulator.parameters(row.region).find((p) => p.name === parameter)?.value, row.region).toBe(row.amiId);
      expect(result.stderr, row.region).toMatch(new RegExp(`\\[fleet-other/x86_64\\] ✅ ${row.region}: Published ${parameter} = ${row.amiId}\n`));
    }
  });

  it("--strategy per-region builds in every region (one instance per region and architecture, no copy), a child on its parent's image there", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const result = await h.cws(["ami", "build-all", "fleet-child", "--strategy", "per-region", "--architecture", "arm64"]);
    expect(result.status, result.stderr).toBe(0);
    // fleet-base, the parent, in every region too: 2 templates x 4 regions x 1 architecture.
    expect(makingCalls(h)).toEqual({ runInstances: 8 * INSTANCES_PER_BUILD, createImage: 8, copyImage: 0 });
    const rows = tableRows(result.stdout);
    expect(rows).toHaveLength(8);
    expect(rows.filter((row) => row.result !== "built" || row.architecture !== "arm64")).toEqual([]);
    for (const region of FLEET_REGIONS) {
      const launched = h.emulator.instances(region).filter((i) => i.tags["cws:purpose"] === "build");
      expect(launched.map((i) => `${i.tags["cws:template"]}/${i.architecture}`).sort(), region).toEqual(["fleet-base/arm64", "fleet-child/arm64"]);
      expect(imagesIn(h, region)).toEqual(["fleet-base/arm64", "fleet-child/arm64"]);
      const parent = registryEntry(h, "fleet-base", region, "arm64")!;
      const child = registryEntry(h, "fleet-child", region, "arm64")!;
      expect(parent.copied_from).toBeUndefined();
      expect(child.copied_from).toBeUndefined();
      expect(child.base_ami, region).toBe(parent.ami_id);
      expect(launched.find((i) => i.tags["cws:template"] === "fleet-child")!.imageId).toBe(parent.ami_id);
    }
    expectEveryRegionClean(h);
  });

  it("--templates with spaces, --region and --architecture narrow the fleet: built at home, copied only to the region asked", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const result = await h.cws(["ami", "build-all", "--templates", " fleet-other , fleet-base ", "--region", "eu-west-1", "--architecture", "x86_64"]);
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: 2 * INSTANCES_PER_BUILD, createImage: 2, copyImage: 2 });
    expect(tableRows(result.stdout).map((row) => `${row.template} ${row.architecture} ${row.region} ${row.result}`)).toEqual([
      "fleet-other x86_64 us-east-1 built",
      "fleet-other x86_64 eu-west-1 copied",
      "fleet-base x86_64 us-east-1 built",
      "fleet-base x86_64 eu-west-1 copied",
    ]);
    expect(imagesIn(h, HOME)).toEqual(["fleet-base/x86_64", "fleet-other/x86_64"]);
    expect(imagesIn(h, "eu-west-1")).toEqual(["fleet-base/x86_64", "fleet-other/x86_64"]);
    expect(imagesIn(h, "us-west-2")).toEqual([]);
    expect(imagesIn(h, "ap-southeast-2")).toEqual([]);
    // Not asked for, not built on by what was: fleet-child is left alone.
    expect(h.emulator.instances(HOME).filter((i) => i.tags["cws:template"] === "fleet-child")).toEqual([]);
    expectEveryRegionClean(h);
  });

  it("a template --architecture leaves out is named in --json's leftOut, of the run and of the dry run, and on stderr", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    writeTemplate(h, "fleet-x86", readFileSync(join(h.dir, "templates", "fleet-other.yml"), "utf8").replace("architecture: [x86_64, arm64]", "architecture: [x86_64]"));
    const leftOut = ["fleet-x86 (does not build architecture arm64)"];
    const plan = await h.cws(["ami", "build-all", "--architecture", "arm64", "--region", "us-west-2", "--dry-run", "--json"]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ leftOut, exitCode: 0 });
    expect(plan.stderr).toContain(`Left out: ${leftOut[0]}`);
    const run = await h.cws(["ami", "build-all", "--architecture", "arm64", "--region", "us-west-2", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ leftOut, exitCode: 0, counts: { built: 3, copied: 3 } });
    expect(run.stderr).toContain(`Left out: ${leftOut[0]}`);
  });

  it("after a copy run, --dry-run with --strategy per-region or --build-region plans the builds the real run makes: a copy is not up to date for a build in its region", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const first = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64"]);
    expect(first.status, first.stderr).toBe(0);
    type Plan = { targets: { region: string; action: string; reason: string; copyTo: string[] }[]; counts: { builds: number } };
    const plan = async (...args: string[]) => {
      const result = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64", "--dry-run", "--json", ...args]);
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Plan;
    };

    const elsewhere = await plan("--build-region", "eu-west-1");
    expect(elsewhere.targets).toEqual([
      expect.objectContaining({
        region: "eu-west-1",
        action: "build",
        reason: expect.stringMatching(/^ami-[0-9a-f]{17} in eu-west-1 is a copy from us-east-1; a build in eu-west-1 starts from eu-west-1's own base image$/),
        copyTo: ["us-east-1", "us-west-2", "ap-southeast-2"],
      }),
    ]);

    const perRegion = await plan("--strategy", "per-region");
    expect(perRegion.targets.map((t) => `${t.region} ${t.action}`)).toEqual(["us-east-1 up-to-date", "us-west-2 build", "eu-west-1 build", "ap-southeast-2 build"]);
    for (const target of perRegion.targets.filter((t) => t.action === "build")) expect(target.reason).toContain(`is a copy from us-east-1; a build in ${target.region} starts from`);
    // The run does what the plan said: a build in each region that had a copy, none at home.
    const before = calls(h, "ec2:RunInstances");
    const run = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64", "--strategy", "per-region"]);
    expect(run.status, run.stderr).toBe(0);
    expect(calls(h, "ec2:RunInstances") - before).toBe(perRegion.counts.builds * INSTANCES_PER_BUILD);
    expect(tableRows(run.stdout).map((row) => `${row.region} ${row.result}`)).toEqual(["us-east-1 up to date", "us-west-2 built", "eu-west-1 built", "ap-southeast-2 built"]);
    expectEveryRegionClean(h);
  });

  it("per-region builds started at once have names of their own, so a later copy run copies into every region (a copy keeps its source's name)", { timeout: 90_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const perRegion = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64", "--strategy", "per-region"]);
    expect(perRegion.status, perRegion.stderr).toBe(0);
    const names = FLEET_REGIONS.map((region) => h.emulator.images(region).find((i) => i.tags["cws:template"] === "fleet-other")!.name);
    expect(new Set(names).size).toBe(FLEET_REGIONS.length);
    for (const [index, region] of FLEET_REGIONS.entries()) expect(names[index]).toBe(`cws-fleet-other-v1.0.0-x86_64-${h.emulator.images(region)[0]!.tags["cws:build-id"]}`);
    // The home's image is up to date; each other region's is of another content (its own base image), so it gets a copy.
    const copyRun = await h.cws(["ami", "build-all", "fleet-other", "--architecture", "x86_64"]);
    expect(copyRun.status, copyRun.stderr).toBe(0);
    expect(copyRun.stderr).not.toContain("InvalidAMIName.Duplicate");
    expect(tableRows(copyRun.stdout).map((row) => `${row.region} ${row.result}`)).toEqual(["us-east-1 up to date", "us-west-2 copied", "eu-west-1 copied", "ap-southeast-2 copied"]);
    expectEveryRegionClean(h);
  });

  it("--dry-run makes no AWS call at all: what would be built, copied and up to date, with the estimated cost", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const built = await h.cws(["ami", "build-all", "fleet-other"]);
    expect(built.status, built.stderr).toBe(0);
    const callsBefore = h.emulator.stats.totalCalls;

    // Pointed at the emulator: it hears nothing.
    const plan = await h.cws(["ami", "build-all", "--dry-run"]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(h.emulator.stats.totalCalls).toBe(callsBefore);
    expect(plan.stdout).toMatch(/^Plan \(dry run, nothing is created\): 4 builds, 12 copies, 2 up to date$/m);
    // Nothing recorded the base image's size: 8 GiB is assumed, and said, as build --dry-run says it.
    expect(plan.stdout).toMatch(
      /^fleet-base\/x86_64\n {2}build in us-east-1 \(t3\.medium, 8 GiB assumed: the base image's size is not known offline; volume_size_gb in the template sets it\): no image in the registry for fleet-base x86_64 in us-east-1 +~\$\d/m,
    );
    expect(plan.stdout).toMatch(/^ {2}storage: at most \$\d+\.\d+\/month \(4 new images of 8 GiB, assumed\)$/m);
    expect(plan.stdout).toMatch(/^fleet-child\/arm64 \(after fleet-base\/arm64\)\n {2}build in us-east-1 \(t4g\.medium, 8 GiB assumed: /m);
    expect(plan.stdout).toMatch(/^ {2}copy to us-west-2, eu-west-1, ap-southeast-2$/m);
    expect(plan.stdout).toMatch(/^fleet-other\/x86_64\n {2}up to date in us-east-1: ami-[0-9a-f]{17} /m);
    expect(plan.stdout).toMatch(/^Estimated: builds ~\$\d+\.\d+; the new images' snapshot storage at most \$\d+\.\d+\/month$/m);

    // Offline: no credentials, and an endpoint nothing listens on.
    const offline = { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };
    const json = await h.cws(["ami", "build-all", "--dry-run", "--json", "--force"], { env: offline });
    expect(json.status, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout) as {
      targets: { template: string; action: string; reason: string; copyTo: string[]; volumeGbFrom: string }[];
      counts: Record<string, number>;
      cost: unknown;
      leftOut: string[];
      exitCode: number;
    };
    expect(document.targets).toHaveLength(6);
    for (const target of document.targets) expect(target).toMatchObject({ action: "build", reason: "--force", copyTo: ["us-west-2", "eu-west-1", "ap-southeast-2"] });
    // fleet-other's image recorded its size; the others' base is not known offline.
    expect(document.targets.map((t) => `${t.template} ${t.volumeGbFrom}`).sort()).toEqual(["fleet-base assumed", "fleet-base assumed", "fleet-child assumed", "fleet-child assumed", "fleet-other registry", "fleet-other registry"]);
    // As the run's document: its counts spelled as the results are, its exit code, and what was left out (nothing).
    expect(document.counts).toEqual({ builds: 6, copies: 18, "up-to-date": 0 });
    expect(document.exitCode).toBe(0);
    expect(document.leftOut).toEqual([]);
    expect(document.cost).toBeDefined();
    expect(h.emulator.stats.totalCalls).toBe(callsBefore);
    // Nothing was written either.
    expect(calls(h, "ec2:RunInstances")).toBe(2 * INSTANCES_PER_BUILD);
  });
});

describe("build-all on a terminal (pseudo-terminal, built CLI, emulator)", () => {
  it("draws a live line per target, then each target's final line once and the table; nothing live left", { timeout: 60_000 }, async () => {
    harness = await startFleetHarness();
    const h = harness;
    const run = await runOnTerminal(["ami", "build-all", "fleet-child", "fleet-other", "--architecture", "arm64"], { cols: 100, rows: 40, cwd: h.dir, env: h.env, timeoutMs: 50_000 });
    expect(run.status, run.screen.join("\n")).toBe(0);
    expect(run.raw).toMatch(SPINNER_FRAMES);
    expect(run.screen.filter((line) => SPINNER_FRAMES.test(line))).toEqual([]);
    expect(run.screen.join("\n")).not.toMatch(/internal error|\n\s+at /);
    // In the targets' order: parents first, those asked for in the order asked; fleet-base, not asked for, is built for its child only, at home.
    const last = expectOnceInOrder(run.screen, [
      { start: "✔ fleet-other/arm64 ", line: /built: ami-[0-9a-f]{17} in us-east-1, copied to 3 regions$/ },
      { start: "✔ fleet-base/arm64 ", line: /built: ami-[0-9a-f]{17} in us-east-1$/ },
      { start: "✔ fleet-child/arm64 ", line: /built: ami-[0-9a-f]{17} in us-east-1, copied to 3 regions$/ },
    ]);
    const finished = run.screen.findIndex((line) => line.startsWith("Finished: 3 built, 6 copied (9 images)"));
    expect(finished).toBeGreaterThan(last);
    const header = run.screen.findIndex((line) => /^TEMPLATE\s+ARCH\s+REGION\s+AMI\s+RESULT\s+TIME\s+COST$/.test(line));
    expect(header).toBeGreaterThan(finished);
    expect(tableRows(run.screen.slice(header).join("\n"))).toHaveLength(9);
    // Above the live lines only what is worth keeping: each copy that finished, not each step of each build.
    const kept = run.screen.slice(0, run.screen.findIndex((line) => line.startsWith("✔ ")));
    expect(kept.filter((line) => / │ ✅ (us-west-2|eu-west-1|ap-southeast-2): ami-[0-9a-f]{17} copied from us-east-1 \(\d+s\)$/.test(line))).toHaveLength(6);
    expect(kept.filter((line) => /Instance launched|Security group sg-|test: |Terminated i-|AMI created/.test(line))).toEqual([]);
    // The cursor is shown again after the live lines hid it.
    const hidden = run.raw.lastIndexOf("\x1b[?25l");
    expect(hidden).toBeGreaterThanOrEqual(0);
    expect(run.raw.indexOf("\x1b[?25h", hidden)).toBeGreaterThan(hidden);
    expectEveryRegionClean(h);
  });

  it("Ctrl-C typed on the terminal mid-fleet: exit 130, each target's line final, every region clean", { timeout: 60_000 }, async () => {
    // Copies that take seconds: pending when the key is pressed.
    harness = await startFleetHarness({ latencies: { copyImageBase: 1500 } });
    const h = harness;
    let pressed = false;
    const run = await runOnTerminal(["ami", "build-all", "fleet-other", "--architecture", "x86_64"], {
      cols: 100,
      rows: 30,
      cwd: h.dir,
      env: h.env,
      timeoutMs: 50_000,
      onOutput: (raw, type) => {
        if (!pressed && raw.includes(" from us-east-1 as ami-")) {
          pressed = true;
          type("\x03");
        }
      },
    });
    expect(pressed).toBe(true);
    expect(run.status, run.screen.join("\n")).toBe(130);
    expect(run.screen.filter((line) => SPINNER_FRAMES.test(line))).toEqual([]);
    expect(run.screen.filter((line) => line.includes("SIGINT: stopping every target and cleaning up"))).toHaveLength(1);
    expect(run.screen.some((line) => line.startsWith("Interrupted: "))).toBe(true);
    expect(run.screen.filter((line) => /^- fleet-other\/x86_64 +\d+s {2}cancelled: interrupted/.test(line))).toHaveLength(1);
    // Its build had finished: the line says what was made and what the stop cut off (rows wrapped at 100 columns joined again).
    expect(run.screen.join("")).toMatch(/cancelled: interrupted after ami-[0-9a-f]{17} was built in us-east-1(, copied to \d regions?)?; [1-3] of 3 copies cancelled/);
    expect(calls(h, "ec2:DeregisterImage")).toBeGreaterThanOrEqual(1);
    expectEveryRegionClean(h);
  });
});
