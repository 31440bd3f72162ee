import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SHIPPED_PRICES_TAKEN } from "../../src/fleet/prices.js";
import { runCliAsync } from "../helpers/cli.js";
import { FIXTURE_TEMPLATES, leftovers, startHarness, type Harness } from "./harness.js";

/**
 * What `cws ami build` says it cost, through the built CLI against the
 * emulator: the shipped prices, a price file from --prices or cws.config.json
 * merged over them, and a bad price file refused before anything is made.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const OFFLINE = { HOME: "/nonexistent", AWS_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" };

describe("cws ami build reports its cost", () => {
  it("--json has the measured billing and its cost at the prices of the file given with --prices", async () => {
    harness = await startHarness();
    writeFileSync(join(harness.dir, "prices.json"), JSON.stringify({ taken: "2026-11-01", regions: { "us-east-1": { instances: { "t3.medium": 1.2 } } } }));
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--prices", "prices.json", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const build = JSON.parse(result.stdout);
    expect(build.billing.instanceSeconds).toBeGreaterThan(0);
    expect(build.billing.volumeSeconds).toBeGreaterThanOrEqual(build.billing.instanceSeconds);
    expect(build.cost.prices).toBe(`prices.json (2026-11-01) over the shipped price table of ${SHIPPED_PRICES_TAKEN}`);
    expect(build.cost.build).toMatchObject({ known: true, unknown: [], detail: { instanceType: "t3.medium", instanceUsdPerHour: 1.2, billedSeconds: 60, gp3UsdPerGbMonth: 0.08 } });
    // A minute at $1.20/hour, and the 8 GiB volume's share of a month.
    expect(build.cost.build.usd).toBeCloseTo(0.02 + (0.08 * 8 * 60) / (730 * 3600), 6);
    expect(build.cost.snapshotsPerMonth).toMatchObject({ known: true, detail: { region: "us-east-1", upperBound: true } });
  });

  it("a price file with a problem stops the build before anything is made: exit 2, file:line:col", async () => {
    harness = await startHarness();
    writeFileSync(join(harness.dir, "prices.json"), '{\n  "regions": {\n    "us-east-1": { "instances": { "t3.medium": "cheap" } }\n  }\n}\n');
    const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--prices", "prices.json"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('prices.json:3:48 error regions.us-east-1.instances["t3.medium"]: expected a number, got a string ("cheap")');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(harness.emulator.instances("us-east-1")).toEqual([]);
    expect(leftovers(harness.emulator).buildSecurityGroups).toEqual([]);

    const missing = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--prices", "nope.json", "--json"]);
    expect(missing.status).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ message: "nope.json: the price file does not exist" });
  });
});

describe("cws ami build --dry-run estimates the cost, offline", () => {
  it("at the shipped prices, or at cws.config.json's price file (a path relative to the config, from a subdirectory too)", async () => {
    const shipped = await runCliAsync(["--templates-dir", FIXTURE_TEMPLATES, "ami", "build", "emu-basic", "--architecture", "arm64", "--dry-run"], { env: OFFLINE });
    expect(shipped.status).toBe(0);
    expect(shipped.stdout).toContain(`Estimated cost (shipped price table of ${SHIPPED_PRICES_TAKEN}; on-demand estimates):`);
    expect(shipped.stdout).toContain("  build: $0.017 (t4g.medium for 30m 0s at $0.0336/h; 8 GiB gp3 for 30m 0s at $0.08/GB-month), for a 30-minute build");
    expect(shipped.stdout).toContain("  image: at most $0.40/month (8 GiB of snapshots at $0.05/GB-month)");

    harness = await startHarness();
    mkdirSync(join(harness.dir, "costs"));
    writeFileSync(join(harness.dir, "costs", "prices.json"), JSON.stringify({ regions: { "us-east-1": { instances: { "t4g.medium": 0.5 } } } }));
    writeFileSync(join(harness.dir, "cws.config.json"), JSON.stringify({ prices: "costs/prices.json" }));
    const configured = await runCliAsync(["ami", "build", "emu-basic", "--architecture", "arm64", "--dry-run", "--json"], { cwd: join(harness.dir, "templates"), env: OFFLINE });
    expect(configured.status, configured.stderr).toBe(0);
    const estimate = JSON.parse(configured.stdout).estimatedCost;
    expect(estimate.prices).toBe(`costs/prices.json over the shipped price table of ${SHIPPED_PRICES_TAKEN}`);
    expect(estimate.build.detail.instanceUsdPerHour).toBe(0.5);

    const config = await runCliAsync(["config", "--json"], { cwd: harness.dir, env: OFFLINE });
    expect(JSON.parse(config.stdout).settings.prices).toMatchObject({ value: "costs/prices.json" });
  });

  it("names a price it does not have rather than guessing", async () => {
    const result = await runCliAsync(["--templates-dir", FIXTURE_TEMPLATES, "ami", "build", "emu-basic", "--architecture", "x86_64", "--instance-type", "t3.nano", "--dry-run"], { env: OFFLINE });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("price unknown for t3.nano in us-east-1 (add it with --prices)");
  });
});
