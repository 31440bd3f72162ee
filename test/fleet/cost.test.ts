import { describe, expect, it } from "vitest";
import { formatDuration } from "../../src/duration.js";
import {
  billedSeconds,
  buildCost,
  describeBuildCost,
  describeStorageCost,
  formatTotal,
  formatUsd,
  snapshotMonthlyCost,
  sumCosts,
} from "../../src/fleet/cost.js";
import { HOURS_PER_MONTH, SHIPPED_PRICES, type PriceTable } from "../../src/fleet/prices.js";

const PRICES: PriceTable = {
  taken: "2026-01-01",
  source: "test prices",
  regions: {
    "us-east-1": { instances: { "t3.large": 0.0832 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
    "eu-west-1": { instances: { "t3.large": 0.0912 } },
  },
};

describe("billedSeconds: per second, at least 60, as EC2 bills Linux instances", () => {
  it.each([
    [0, 60],
    [0.2, 60],
    [59.9, 60],
    [60, 60],
    [60.1, 61],
    [1234.5, 1235],
  ])("%s s → %s s", (seconds, billed) => {
    expect(billedSeconds(seconds)).toBe(billed);
  });
});

describe("buildCost", () => {
  it("is the instance for its billed seconds plus the gp3 volume, prorated over a 730-hour month", () => {
    const cost = buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 1800, volumeGb: 30 }, PRICES);
    const instance = (0.0832 * 1800) / 3600;
    const volume = (0.08 * 30 * 1800) / (HOURS_PER_MONTH * 3600);
    expect(cost.known).toBe(true);
    expect(cost.unknown).toEqual([]);
    expect(cost.usd).toBeCloseTo(instance + volume, 12);
    expect(cost.detail).toEqual({
      region: "us-east-1",
      instanceType: "t3.large",
      billedSeconds: 1800,
      freshBilledSeconds: null,
      instanceUsdPerHour: 0.0832,
      instanceUsd: instance,
      volumeGb: 30,
      volumeBilledSeconds: 1800,
      gp3UsdPerGbMonth: 0.08,
      volumeUsd: volume,
    });
  });

  it("bills a short build for a minute, and the volume for as long as it existed", () => {
    const cost = buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 5, volumeGb: 8, volumeSeconds: 600 }, PRICES);
    expect(cost.detail.billedSeconds).toBe(60);
    expect(cost.detail.instanceUsd).toBeCloseTo((0.0832 * 60) / 3600, 12);
    expect(cost.detail.volumeBilledSeconds).toBe(600);
  });

  it("bills --verify's fresh instance as an instance of its own: a minute at least for each, never one minimum for both", () => {
    const cost = buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 40, volumeGb: 8, volumeSeconds: 50, freshSeconds: 20 }, PRICES);
    // 40 s and 20 s are two minutes billed, not one (60 s for 40 + 20).
    expect(cost.detail).toMatchObject({ billedSeconds: 120, freshBilledSeconds: 60, volumeBilledSeconds: 120 });
    expect(cost.detail.instanceUsd).toBeCloseTo((0.0832 * 120) / 3600, 12);
    expect(describeBuildCost(cost)).toContain("t3.large for 2m 0s (the build's 1m 0s, the fresh instance's 1m 0s) at $0.0832/h");
    const long = buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 1800, volumeGb: 8, freshSeconds: 300 }, PRICES);
    expect(long.detail).toMatchObject({ billedSeconds: 2100, freshBilledSeconds: 300, volumeBilledSeconds: 2100 });
  });

  it("says which price it lacks instead of giving a wrong number: an unknown type, an unknown storage price, an unknown region", () => {
    const type = buildCost({ region: "us-east-1", instanceType: "t3.nano", seconds: 3600, volumeGb: 10 }, PRICES);
    expect(type.known).toBe(false);
    expect(type.unknown).toEqual(["price unknown for t3.nano in us-east-1 (add it with --prices)"]);
    expect(type.detail.instanceUsd).toBeNull();
    expect(type.usd).toBeCloseTo(type.detail.volumeUsd!, 12);

    const storage = buildCost({ region: "eu-west-1", instanceType: "t3.large", seconds: 3600, volumeGb: 10 }, PRICES);
    expect(storage.unknown).toEqual(["price unknown for gp3 storage in eu-west-1 (add it with --prices)"]);
    expect(storage.usd).toBeCloseTo(0.0912, 12);

    const region = buildCost({ region: "sa-east-1", instanceType: "t3.large", seconds: 3600, volumeGb: 10 }, PRICES);
    expect(region.unknown).toEqual(["price unknown for t3.large in sa-east-1 (add it with --prices)", "price unknown for gp3 storage in sa-east-1 (add it with --prices)"]);
    expect(region.usd).toBe(0);
    expect(describeBuildCost(region)).toContain("price unknown for t3.large in sa-east-1 (add it with --prices)");
    expect(describeBuildCost(region)).not.toMatch(/^\$0\.00 \(/);
  });

  it("describes itself in words", () => {
    expect(describeBuildCost(buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 1205, volumeGb: 30, volumeSeconds: 1320 }, PRICES))).toBe(
      "$0.029 (t3.large for 20m 5s at $0.0832/h; 30 GiB gp3 for 22m 0s at $0.08/GB-month)",
    );
  });

  it("prices a shipped template's typical build in cents", () => {
    const cost = buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: 20 * 60, volumeGb: 30 }, SHIPPED_PRICES);
    expect(cost.known).toBe(true);
    expect(cost.usd).toBeGreaterThan(0.02);
    expect(cost.usd).toBeLessThan(0.05);
  });
});

describe("snapshotMonthlyCost: the image's size as an upper bound", () => {
  it("is the size times the region's snapshot price, and says it is an upper bound", () => {
    const cost = snapshotMonthlyCost({ region: "us-east-1", sizeGb: 30 }, PRICES);
    expect(cost).toEqual({ usdPerMonth: 1.5, known: true, unknown: [], detail: { region: "us-east-1", sizeGb: 30, snapshotUsdPerGbMonth: 0.05, upperBound: true } });
    expect(describeStorageCost(cost)).toBe("at most $1.50/month (30 GiB of snapshots at $0.05/GB-month)");
  });

  it("is unknown in a region without a snapshot price", () => {
    const cost = snapshotMonthlyCost({ region: "eu-west-1", sizeGb: 30 }, PRICES);
    expect(cost.known).toBe(false);
    expect(describeStorageCost(cost)).toBe("price unknown for snapshot storage in eu-west-1 (add it with --prices)");
  });
});

describe("sumCosts", () => {
  it("adds what has a price, is known only when every part is, and names each missing price once", () => {
    const a = snapshotMonthlyCost({ region: "us-east-1", sizeGb: 10 }, PRICES);
    const b = snapshotMonthlyCost({ region: "eu-west-1", sizeGb: 10 }, PRICES);
    expect(sumCosts([a, a])).toEqual({ usd: 1, known: true, unknown: [] });
    const total = sumCosts([a, b, b]);
    expect(total).toEqual({ usd: 0.5, known: false, unknown: ["price unknown for snapshot storage in eu-west-1 (add it with --prices)"] });
    expect(formatTotal(total, "/month")).toBe("$0.50/month + unpriced items");
    expect(sumCosts([])).toEqual({ usd: 0, known: true, unknown: [] });
  });
});

describe("formatUsd", () => {
  it.each([
    [0, "$0.00"],
    [0.00004, "<$0.0001"],
    [0.0014, "$0.0014"],
    [0.02777, "$0.028"],
    [0.1, "$0.10"],
    [1.5, "$1.50"],
    [1234.567, "$1234.57"],
  ])("%s → %s", (usd, text) => {
    expect(formatUsd(usd)).toBe(text);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [59.4, "59s"],
    [59.6, "1m 0s"],
    [125, "2m 5s"],
    [3599.4, "59m 59s"],
    [3600, "1h 0m"],
    [5025, "1h 24m"],
  ])("%s s → %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
