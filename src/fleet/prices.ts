/**
 * What AWS charges for what a build uses, per region: a small table shipped
 * with cws, so that cost is reported offline and without the Pricing API
 * (which needs credentials, answers from us-east-1 only and returns pages of
 * SKUs). A team whose prices differ (another region, a type not listed, a
 * discount) names a JSON file of its own (`--prices FILE`, or `prices` in
 * cws.config.json; price-file.ts reads it), which merges over this table per
 * region and per instance type.
 *
 * These are estimates: Linux on-demand list prices in USD, shared tenancy,
 * before tax and before any Savings Plan, Reserved Instance or credit. Not
 * counted: burstable (t3/t3a/t4g) surplus CPU credits, cross-region data
 * transfer of copies, API calls. This module imports nothing and is plain
 * data, so it is bundled into the program that uses it.
 */

export interface RegionPrices {
  /** USD per instance-hour, Linux on demand, by instance type. */
  instances: Readonly<Record<string, number>>;
  /** USD per GB-month of a gp3 volume (its baseline 3,000 IOPS and 125 MB/s are included). */
  gp3GbMonth?: number;
  /** USD per GB-month of EBS snapshot storage (standard tier). */
  snapshotGbMonth?: number;
}

export interface PriceTable {
  /** When the prices were taken (YYYY-MM-DD). */
  taken: string;
  /** Where they come from, for messages and the JSON results: "shipped price table", or "prices.json (2026-11-01) over the shipped price table of 2026-11-28" (dated already). */
  source: string;
  /** `source` names its tables' dates itself (a price file over the shipped table): describePrices adds none. */
  sourceDated?: boolean;
  regions: Readonly<Record<string, RegionPrices>>;
}

/** The date the shipped prices were compiled from AWS's published on-demand rates. */
export const SHIPPED_PRICES_TAKEN = "2026-11-28";

/** Hours in a month, as AWS's own pricing calculator counts them: per-GB-month prices are prorated over 730 hours. */
export const HOURS_PER_MONTH = 730;

type Sizes = readonly [medium: number | undefined, large: number, xlarge: number, xxlarge: number];

/** One family's sizes, medium to 2xlarge, as the table below lists them. */
function family(name: string, [medium, large, xlarge, xxlarge]: Sizes): Record<string, number> {
  return {
    ...(medium === undefined ? {} : { [`${name}.medium`]: medium }),
    [`${name}.large`]: large,
    [`${name}.xlarge`]: xlarge,
    [`${name}.2xlarge`]: xxlarge,
  };
}

/** us-east-1, us-east-2 and us-west-2 charge the same for these types. */
const US_BASE: Record<string, number> = {
  ...family("t3", [0.0416, 0.0832, 0.1664, 0.3328]),
  ...family("t3a", [0.0376, 0.0752, 0.1504, 0.3008]),
  ...family("t4g", [0.0336, 0.0672, 0.1344, 0.2688]),
  ...family("m5", [undefined, 0.096, 0.192, 0.384]),
  ...family("m6i", [undefined, 0.096, 0.192, 0.384]),
  ...family("m7i", [undefined, 0.1008, 0.2016, 0.4032]),
  ...family("m6g", [undefined, 0.077, 0.154, 0.308]),
  ...family("m7g", [undefined, 0.0816, 0.1632, 0.3264]),
  ...family("c5", [undefined, 0.085, 0.17, 0.34]),
  ...family("c6i", [undefined, 0.085, 0.17, 0.34]),
  ...family("c7g", [undefined, 0.0725, 0.145, 0.289]),
  "g4dn.xlarge": 0.526,
};

/**
 * The shipped table: the instance types the shipped templates and the
 * defaults use and the common build types, in the regions the templates use
 * and a few more. A type a region does not offer, or whose price was not
 * certain, is left out: its cost is reported as unknown, never guessed.
 */
export const SHIPPED_PRICES: PriceTable = {
  taken: SHIPPED_PRICES_TAKEN,
  source: "shipped price table",
  regions: {
    "us-east-1": { instances: { ...US_BASE, "g5g.xlarge": 0.42 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
    "us-east-2": { instances: US_BASE, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
    "us-west-2": { instances: { ...US_BASE, "g5g.xlarge": 0.42 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
    "us-west-1": {
      instances: {
        ...family("t3", [0.0496, 0.0992, 0.1984, 0.3968]),
        ...family("t3a", [0.0448, 0.0896, 0.1792, 0.3584]),
        ...family("t4g", [0.04, 0.08, 0.16, 0.32]),
        ...family("m5", [undefined, 0.112, 0.224, 0.448]),
        ...family("m6i", [undefined, 0.112, 0.224, 0.448]),
        ...family("m7i", [undefined, 0.1176, 0.2352, 0.4704]),
        ...family("c5", [undefined, 0.106, 0.212, 0.424]),
        ...family("c6i", [undefined, 0.106, 0.212, 0.424]),
        "g4dn.xlarge": 0.631,
      },
      gp3GbMonth: 0.096,
      snapshotGbMonth: 0.055,
    },
    "eu-west-1": {
      instances: {
        ...family("t3", [0.0456, 0.0912, 0.1824, 0.3648]),
        ...family("t3a", [0.0408, 0.0816, 0.1632, 0.3264]),
        ...family("t4g", [0.0368, 0.0736, 0.1472, 0.2944]),
        ...family("m5", [undefined, 0.107, 0.214, 0.428]),
        ...family("m6i", [undefined, 0.107, 0.214, 0.428]),
        ...family("m6g", [undefined, 0.086, 0.172, 0.344]),
        ...family("c5", [undefined, 0.096, 0.192, 0.384]),
        ...family("c6i", [undefined, 0.096, 0.192, 0.384]),
        "g4dn.xlarge": 0.587,
      },
      gp3GbMonth: 0.088,
      snapshotGbMonth: 0.05,
    },
    "eu-central-1": {
      instances: {
        ...family("t3", [0.048, 0.096, 0.192, 0.384]),
        ...family("t3a", [0.0432, 0.0864, 0.1728, 0.3456]),
        ...family("t4g", [0.0384, 0.0768, 0.1536, 0.3072]),
        ...family("m5", [undefined, 0.115, 0.23, 0.46]),
        ...family("m6i", [undefined, 0.115, 0.23, 0.46]),
        ...family("m6g", [undefined, 0.092, 0.184, 0.368]),
        ...family("c5", [undefined, 0.097, 0.194, 0.388]),
        ...family("c6i", [undefined, 0.097, 0.194, 0.388]),
        "g4dn.xlarge": 0.658,
      },
      gp3GbMonth: 0.0952,
      snapshotGbMonth: 0.054,
    },
    "ap-southeast-2": {
      instances: {
        ...family("t3", [0.0528, 0.1056, 0.2112, 0.4224]),
        ...family("t3a", [0.0475, 0.095, 0.19, 0.38]),
        ...family("t4g", [0.0424, 0.0848, 0.1696, 0.3392]),
        ...family("m5", [undefined, 0.12, 0.24, 0.48]),
        ...family("m6i", [undefined, 0.12, 0.24, 0.48]),
        ...family("m6g", [undefined, 0.096, 0.192, 0.384]),
        ...family("c5", [undefined, 0.111, 0.222, 0.444]),
        ...family("c6i", [undefined, 0.111, 0.222, 0.444]),
        "g4dn.xlarge": 0.684,
      },
      gp3GbMonth: 0.096,
      snapshotGbMonth: 0.055,
    },
  },
};

/** What a price file may say, as read (price-file.ts checks it first). */
export interface PriceOverride {
  taken?: string;
  regions: Readonly<Record<string, Partial<RegionPrices>>>;
}

/**
 * `override` over `base`: per region, per instance type. A region the base
 * lacks is added; a type or a storage price the override names replaces the
 * base's, everything else stays.
 */
export function mergePrices(base: PriceTable, override: PriceOverride, source: string, sourceDated = false): PriceTable {
  const regions: Record<string, RegionPrices> = { ...base.regions };
  for (const [region, prices] of Object.entries(override.regions)) {
    const before = base.regions[region];
    const gp3GbMonth = prices.gp3GbMonth ?? before?.gp3GbMonth;
    const snapshotGbMonth = prices.snapshotGbMonth ?? before?.snapshotGbMonth;
    regions[region] = {
      instances: { ...before?.instances, ...prices.instances },
      ...(gp3GbMonth === undefined ? {} : { gp3GbMonth }),
      ...(snapshotGbMonth === undefined ? {} : { snapshotGbMonth }),
    };
  }
  return { taken: override.taken ?? base.taken, source, ...(sourceDated ? { sourceDated } : {}), regions };
}

/** USD per hour of `instanceType` in `region`, or undefined when the table does not say. */
export function instancePrice(prices: PriceTable, region: string, instanceType: string): number | undefined {
  const regionPrices = prices.regions[region];
  // Own properties only: a type named "constructor" or "__proto__" is not a price.
  return regionPrices !== undefined && Object.hasOwn(regionPrices.instances, instanceType) ? regionPrices.instances[instanceType] : undefined;
}

/**
 * How the table is named in results and messages: "shipped price table of 2026-11-28", or for a price file
 * over it "prices.json (2026-11-01) over the shipped price table of 2026-11-28": each table with its own date.
 */
export function describePrices(prices: Pick<PriceTable, "source" | "taken" | "sourceDated">): string {
  return prices.sourceDated ? prices.source : `${prices.source} of ${prices.taken}`;
}
