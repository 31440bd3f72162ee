import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_INSTANCE_TYPES } from "../../src/config/defaults.js";
import { instancePrice, mergePrices, SHIPPED_PRICES, SHIPPED_PRICES_TAKEN, type PriceTable } from "../../src/fleet/prices.js";
import { INSTANCE_TYPE_PATTERN } from "../../src/template/architectures.js";
import { isAwsRegion } from "../../src/template/regions.js";
import { loadTemplates } from "../../src/template/repository.js";
import { ROOT } from "../helpers/cli.js";

const SIZES = ["medium", "large", "xlarge", "2xlarge"] as const;

describe("the shipped price table", () => {
  it("prices every instance type a shipped template builds with, in the region it is built in (its first), and the defaults everywhere", async () => {
    const templates = await loadTemplates(join(ROOT, "templates"), []);
    expect(templates.length).toBeGreaterThanOrEqual(5);
    const missing: string[] = [];
    for (const { id, template } of templates) {
      const home = template!.regions[0]!;
      for (const architecture of template!.base_ami.architecture) {
        const type = template!.instance_type?.[architecture] ?? DEFAULT_INSTANCE_TYPES[architecture];
        if (instancePrice(SHIPPED_PRICES, home, type) === undefined) missing.push(`${id}: ${type} in ${home}`);
      }
      // Every region a template lists has storage prices: every copy's snapshots are priced.
      for (const region of template!.regions) if (SHIPPED_PRICES.regions[region]?.snapshotGbMonth === undefined) missing.push(`${id}: snapshots in ${region}`);
    }
    for (const [region, prices] of Object.entries(SHIPPED_PRICES.regions)) {
      for (const type of Object.values(DEFAULT_INSTANCE_TYPES)) if (prices.instances[type] === undefined) missing.push(`default ${type} in ${region}`);
      if (prices.gp3GbMonth === undefined || prices.snapshotGbMonth === undefined) missing.push(`storage in ${region}`);
    }
    expect(missing).toEqual([]);
  });

  it("has the regions the templates use and a few more, every key an AWS region and every type an instance type", () => {
    expect(Object.keys(SHIPPED_PRICES.regions)).toEqual(expect.arrayContaining(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]));
    for (const [region, prices] of Object.entries(SHIPPED_PRICES.regions)) {
      expect(isAwsRegion(region)).toBe(true);
      for (const [type, price] of Object.entries(prices.instances)) {
        expect(type).toMatch(INSTANCE_TYPE_PATTERN);
        expect({ type, region, price: price > 0 && price < 5 }).toEqual({ type, region, price: true });
      }
    }
  });

  // Catches a mistyped price: each size up doubles (AWS prices sizes linearly), within a cent's rounding.
  it("doubles each size up within a family, in every region", () => {
    const wrong: string[] = [];
    for (const [region, prices] of Object.entries(SHIPPED_PRICES.regions)) {
      const families = new Set(Object.keys(prices.instances).map((type) => type.split(".")[0]!));
      for (const family of families) {
        const priced = SIZES.map((size) => prices.instances[`${family}.${size}`]);
        for (let i = 1; i < priced.length; i++) {
          const [smaller, larger] = [priced[i - 1], priced[i]];
          if (smaller !== undefined && larger !== undefined && Math.abs(larger / smaller - 2) > 0.01) wrong.push(`${family} ${SIZES[i - 1]}→${SIZES[i]} in ${region}: ${smaller} → ${larger}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("is nowhere cheaper than us-east-1, the cheapest region, for the same type or storage", () => {
    const base = SHIPPED_PRICES.regions["us-east-1"]!;
    const cheaper: string[] = [];
    for (const [region, prices] of Object.entries(SHIPPED_PRICES.regions)) {
      for (const [type, price] of Object.entries(prices.instances)) if (base.instances[type] !== undefined && price < base.instances[type]!) cheaper.push(`${type} in ${region}`);
      if (prices.gp3GbMonth! < base.gp3GbMonth! || prices.snapshotGbMonth! < base.snapshotGbMonth!) cheaper.push(`storage in ${region}`);
    }
    expect(cheaper).toEqual([]);
  });

  it("says when its prices were taken, and the README says it too", () => {
    expect(SHIPPED_PRICES.taken).toBe(SHIPPED_PRICES_TAKEN);
    expect(SHIPPED_PRICES_TAKEN).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(SHIPPED_PRICES_TAKEN);
  });
});

describe("instancePrice", () => {
  it("is undefined for a type or region the table lacks, and for names that are not own properties", () => {
    expect(instancePrice(SHIPPED_PRICES, "us-east-1", "t3.large")).toBe(0.0832);
    expect(instancePrice(SHIPPED_PRICES, "us-east-1", "t3.nano")).toBeUndefined();
    expect(instancePrice(SHIPPED_PRICES, "sa-east-1", "t3.large")).toBeUndefined();
    expect(instancePrice(SHIPPED_PRICES, "us-east-1", "constructor")).toBeUndefined();
    expect(instancePrice(SHIPPED_PRICES, "us-east-1", "__proto__")).toBeUndefined();
  });
});

describe("mergePrices: an override over the shipped table, per region and per type", () => {
  const base: PriceTable = {
    taken: "2026-01-01",
    source: "base",
    regions: { "us-east-1": { instances: { "t3.large": 0.08, "t3.medium": 0.04 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 } },
  };

  it("replaces the types and storage prices it names, keeps the rest, and adds regions", () => {
    const merged = mergePrices(base, { regions: { "us-east-1": { instances: { "t3.large": 0.07, "g6.xlarge": 0.8 }, snapshotGbMonth: 0.04 }, "sa-east-1": { instances: { "t3.large": 0.13 } } } }, "mine.json");
    expect(merged.regions["us-east-1"]).toEqual({ instances: { "t3.large": 0.07, "t3.medium": 0.04, "g6.xlarge": 0.8 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.04 });
    expect(merged.regions["sa-east-1"]).toEqual({ instances: { "t3.large": 0.13 } });
    expect(merged.source).toBe("mine.json");
    expect(merged.taken).toBe("2026-01-01");
  });

  it("takes the override's date when it gives one, and leaves the base table as it was", () => {
    const before = JSON.stringify(base);
    expect(mergePrices(base, { taken: "2026-06-01", regions: { "us-east-1": { instances: { "t3.large": 1 } } } }, "x").taken).toBe("2026-06-01");
    expect(JSON.stringify(base)).toBe(before);
  });
});
