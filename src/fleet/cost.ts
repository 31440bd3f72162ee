import { formatDuration } from "../duration.js";
import { HOURS_PER_MONTH, instancePrice, type PriceTable } from "./prices.js";

/**
 * What a build and an image cost, from a price table (prices.ts). Pure
 * functions: the builder, the build command and build-all's orchestrator
 * call them with what they measured or planned. A price the table lacks makes
 * the cost `known: false` with a sentence naming it, never a guessed number;
 * `usd` then counts only the parts that have a price.
 */

/** The least EC2 bills for a Linux instance each time it starts, and EBS for a volume: 60 seconds, then per second. */
export const MINIMUM_BILLED_SECONDS = 60;

/** A build's running time when nothing better is known (`--dry-run`): 30 minutes, the top of a typical build's 10 to 30. */
export const EXPECTED_BUILD_SECONDS = 30 * 60;

export interface BuildUsage {
  region: string;
  instanceType: string;
  /** How long the instance ran (launch to stop, or to termination when it was never stopped). */
  seconds: number;
  /** The root volume: gp3, billed while it exists. */
  volumeGb: number;
  /** How long the volume existed (launch to termination); default `seconds`. */
  volumeSeconds?: number;
  /**
   * `--verify`'s fresh instance: the same type with a volume of the same size, up this long (launch to
   * termination). An instance of its own, so EC2 bills it with a minimum of its own, as its volume.
   */
  freshSeconds?: number;
}

/** A typical fresh instance's life under --verify, for the dry run: launched, booted, its SSM agent online, the tests run, terminated. */
export const EXPECTED_VERIFY_SECONDS = 10 * 60;

export interface BuildCost {
  /** USD of the parts that have a price: all of it when `known`. */
  usd: number;
  known: boolean;
  /** One sentence per missing price: "price unknown for t3.nano in us-east-1 (add it with --prices)". */
  unknown: string[];
  detail: {
    region: string;
    instanceType: string;
    /** Every instance's billed seconds, each at least 60: the build's, and the fresh one's with --verify. */
    billedSeconds: number;
    /** The fresh instance's share of `billedSeconds` (and of `volumeBilledSeconds`); null without --verify. */
    freshBilledSeconds: number | null;
    instanceUsdPerHour: number | null;
    instanceUsd: number | null;
    volumeGb: number;
    volumeBilledSeconds: number;
    gp3UsdPerGbMonth: number | null;
    volumeUsd: number | null;
  };
}

export interface StorageCost {
  /** USD per month, an upper bound (see snapshotMonthlyCost). */
  usdPerMonth: number;
  known: boolean;
  unknown: string[];
  detail: { region: string; sizeGb: number; snapshotUsdPerGbMonth: number | null; upperBound: true };
}

/** The sentence for a price the table lacks, the same wherever it is shown. */
export function priceUnknown(what: string, region: string): string {
  return `price unknown for ${what} in ${region} (add it with --prices)`;
}

/** Per second with a 60-second minimum, as EC2 bills Linux instances and EBS bills volumes. */
export function billedSeconds(seconds: number): number {
  return Math.max(MINIMUM_BILLED_SECONDS, Math.ceil(seconds));
}

/**
 * The instance for its running time plus its gp3 root volume for the time the
 * volume existed. (The image's snapshots are storage, priced per month by
 * snapshotMonthlyCost.)
 */
export function buildCost(usage: BuildUsage, prices: PriceTable): BuildCost {
  const { region, instanceType, volumeGb } = usage;
  // Each instance (and each volume) is billed on its own, with its own 60-second minimum.
  const fresh = usage.freshSeconds === undefined ? undefined : billedSeconds(usage.freshSeconds);
  const billed = billedSeconds(usage.seconds) + (fresh ?? 0);
  const volumeBilled = billedSeconds(usage.volumeSeconds ?? usage.seconds) + (fresh ?? 0);
  const perHour = instancePrice(prices, region, instanceType);
  const gp3 = prices.regions[region]?.gp3GbMonth;
  const instanceUsd = perHour === undefined ? null : (perHour * billed) / 3600;
  const volumeUsd = gp3 === undefined ? null : (gp3 * volumeGb * volumeBilled) / (HOURS_PER_MONTH * 3600);
  const unknown = [
    ...(perHour === undefined ? [priceUnknown(instanceType, region)] : []),
    ...(gp3 === undefined ? [priceUnknown("gp3 storage", region)] : []),
  ];
  return {
    usd: (instanceUsd ?? 0) + (volumeUsd ?? 0),
    known: unknown.length === 0,
    unknown,
    detail: {
      region,
      instanceType,
      billedSeconds: billed,
      freshBilledSeconds: fresh ?? null,
      instanceUsdPerHour: perHour ?? null,
      instanceUsd,
      volumeGb,
      volumeBilledSeconds: volumeBilled,
      gp3UsdPerGbMonth: gp3 ?? null,
      volumeUsd,
    },
  };
}

/**
 * What an image's snapshots cost a month in one region, at most. EBS
 * snapshots store only the blocks written, compressed, and a copy or a later
 * image of the same volume stores only what changed; the first full snapshot
 * of a volume is therefore at most its used size. The image's size (its
 * volume's) is used as the upper bound, since the used size is not known.
 */
export function snapshotMonthlyCost(image: { region: string; sizeGb: number }, prices: PriceTable): StorageCost {
  const perGb = prices.regions[image.region]?.snapshotGbMonth;
  const unknown = perGb === undefined ? [priceUnknown("snapshot storage", image.region)] : [];
  return {
    usdPerMonth: perGb === undefined ? 0 : perGb * image.sizeGb,
    known: perGb !== undefined,
    unknown,
    detail: { region: image.region, sizeGb: image.sizeGb, snapshotUsdPerGbMonth: perGb ?? null, upperBound: true },
  };
}

export interface CostTotal {
  usd: number;
  known: boolean;
  /** Each missing price once. */
  unknown: string[];
}

/** Several costs of one kind together (one-off, or per month: never both): known only when every part is. */
export function sumCosts(costs: readonly (BuildCost | StorageCost | CostTotal)[]): CostTotal {
  let usd = 0;
  const unknown = new Set<string>();
  for (const cost of costs) {
    usd += "usdPerMonth" in cost ? cost.usdPerMonth : cost.usd;
    for (const sentence of cost.unknown) unknown.add(sentence);
  }
  return { usd, known: unknown.size === 0, unknown: [...unknown] };
}

/** `$0.03`, `$1.50`, `$0.0014`: cents, or two significant digits below ten cents (a one-minute build costs a fraction of a cent). */
export function formatUsd(usd: number): string {
  if (usd === 0) return "$0.00";
  if (usd < 0.0001) return "<$0.0001";
  if (usd >= 0.1) return `$${usd.toFixed(2)}`;
  return `$${Number(usd.toPrecision(2))}`;
}

/** A total in words: "$0.42", or with prices missing "$0.42 + unpriced items" (the sentences are listed apart). */
export function formatTotal(total: CostTotal, unit = ""): string {
  return `${formatUsd(total.usd)}${unit}${total.known ? "" : " + unpriced items"}`;
}

/**
 * "$0.03 (t3.large for 20m 5s at $0.0832/h; 30 GiB gp3 for 22m 0s at $0.08/GB-month)"; with --verify's
 * fresh instance, "t3.large for 23m 5s (the build's 20m 5s, the fresh instance's 3m 0s) …".
 */
export function describeBuildCost(cost: BuildCost): string {
  const d = cost.detail;
  const split = (total: number) => (d.freshBilledSeconds === null ? "" : ` (the build's ${formatDuration(total - d.freshBilledSeconds)}, the fresh instance's ${formatDuration(d.freshBilledSeconds)})`);
  const instance =
    d.instanceUsdPerHour === null ? priceUnknown(d.instanceType, d.region) : `${d.instanceType} for ${formatDuration(d.billedSeconds)}${split(d.billedSeconds)} at $${d.instanceUsdPerHour}/h`;
  const volume =
    d.gp3UsdPerGbMonth === null
      ? priceUnknown("gp3 storage", d.region)
      : `${d.volumeGb} GiB gp3 for ${formatDuration(d.volumeBilledSeconds)}${split(d.volumeBilledSeconds)} at $${d.gp3UsdPerGbMonth}/GB-month`;
  return cost.known ? `${formatUsd(cost.usd)} (${instance}; ${volume})` : `${formatUsd(cost.usd)} + unpriced: ${instance}; ${volume}`;
}

/** "at most $1.50/month (30 GiB of snapshots at $0.05/GB-month)". */
export function describeStorageCost(cost: StorageCost): string {
  const d = cost.detail;
  if (d.snapshotUsdPerGbMonth === null) return priceUnknown("snapshot storage", d.region);
  return `at most ${formatUsd(cost.usdPerMonth)}/month (${d.sizeGb} GiB of snapshots at $${d.snapshotUsdPerGbMonth}/GB-month)`;
}
