import { EXIT } from "../errors.js";
import { buildCost, EXPECTED_BUILD_SECONDS, EXPECTED_VERIFY_SECONDS, formatTotal, snapshotMonthlyCost, sumCosts, type BuildCost, type CostTotal } from "./cost.js";
import { describePrices, type PriceTable } from "./prices.js";

/**
 * `build-all --dry-run`: what would be built, copied and found up to date
 * (and why), with the estimated cost, as text and as one JSON document. The
 * orchestrator decides the targets (targets, cache, dependencies); this only
 * prices and renders them, offline.
 */
export interface PlannedTarget {
  template: string;
  architecture: string;
  /** Where it is built or found: the home region (with --strategy per-region, its one region). */
  region: string;
  /** build: a new image is made; up-to-date: the cache found one, and at most copies are made. */
  action: "build" | "up-to-date";
  /** Why: "no validated image with content hash 9f2c1a…", "--force", "older than --max-age 7d", "its parent python-research/x86_64 is rebuilt"; for up to date, what was found. */
  reason: string;
  /** The image found up to date. */
  amiId?: string;
  /** Regions the image will be copied to. */
  copyTo: readonly string[];
  /** Regions that already have it: no copy. */
  present?: readonly string[];
  instanceType: string;
  /** The root volume, hence the image's size (rootVolumeSizeGb). */
  volumeGb: number;
  /**
   * Where `volumeGb` comes from: the template's volume_size_gb, the size the
   * registry recorded for the region's current image, or assumed (8 GiB, a
   * base image's usual size, which is not known offline), and said so.
   */
  volumeGbFrom: "template" | "registry" | "assumed";
  /** The target built before this one (its parent template's, for the same architecture). */
  after?: string;
}

export interface FleetPlanReport {
  text: string;
  json: Record<string, unknown>;
}

/** "8 GiB", or "8 GiB assumed: …" when the base image's size is not known offline (as `build --dry-run` says it). */
function volumeWords(target: PlannedTarget): string {
  return target.volumeGbFrom === "assumed"
    ? `${target.volumeGb} GiB assumed: the base image's size is not known offline; volume_size_gb in the template sets it`
    : `${target.volumeGb} GiB`;
}

interface PricedTarget {
  target: PlannedTarget;
  build: BuildCost | undefined;
  storage: CostTotal;
  newImages: number;
}

export interface FleetPlanOptions {
  /** Seconds a build is assumed to take (EXPECTED_BUILD_SECONDS). */
  buildSeconds?: number;
  /** Seconds a build's fresh instance is assumed to run when `verify` (EXPECTED_VERIFY_SECONDS). */
  verifySeconds?: number;
  /** Templates asked for that build nothing after --region/--architecture, each with why (fleetTargets' `leftOut`): in the JSON document (the text's are on stderr, as the run's). */
  leftOut?: readonly string[];
  /** Each new image is proven on a fresh instance before it is recorded or copied (build-all's default), said in the plan. */
  verify?: boolean;
}

export function fleetPlanReport(targets: readonly PlannedTarget[], prices: PriceTable, options: FleetPlanOptions = {}): FleetPlanReport {
  const { buildSeconds = EXPECTED_BUILD_SECONDS, verifySeconds = EXPECTED_VERIFY_SECONDS, leftOut = [], verify = false } = options;
  const priced: PricedTarget[] = targets.map((target) => {
    const { region, instanceType, volumeGb } = target;
    // With verify, each build also runs a fresh instance of its type from the new image: billed on its own.
    const build = target.action === "build" ? buildCost({ region, instanceType, seconds: buildSeconds, volumeGb, ...(verify ? { freshSeconds: verifySeconds } : {}) }, prices) : undefined;
    // Storage is what this run adds: the new image at home, and each copy.
    const regions = [...(target.action === "build" ? [region] : []), ...target.copyTo];
    const storage = sumCosts(regions.map((r) => snapshotMonthlyCost({ region: r, sizeGb: volumeGb }, prices)));
    return { target, build, storage, newImages: regions.length };
  });
  const builds = sumCosts(priced.flatMap((p) => (p.build ? [p.build] : [])));
  const storage = sumCosts(priced.map((p) => p.storage));
  const counts = {
    builds: targets.filter((t) => t.action === "build").length,
    copies: targets.reduce((sum, t) => sum + t.copyTo.length, 0),
    // The run's counts spell it so too (FleetResult).
    "up-to-date": targets.filter((t) => t.action === "up-to-date").length,
  };
  const unknown = [...new Set([...builds.unknown, ...storage.unknown])];
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

  const lines = [
    `Plan (dry run, nothing is created): ${plural(counts.builds, "build")}, ${plural(counts.copies, "copy", "copies")}, ${counts["up-to-date"]} up to date`,
    `Prices: ${describePrices(prices)} (on-demand estimates; a build is assumed to take ${Math.round(buildSeconds / 60)} minutes${verify ? `, and its fresh instance ${Math.round(verifySeconds / 60)}` : ""})`,
    ...(verify && counts.builds > 0 ? ["Verify: each new image runs its tests on a fresh instance launched from it before it is recorded or copied (--no-verify skips this)"] : []),
    "",
  ];
  for (const { target, build, storage: stored, newImages } of priced) {
    lines.push(`${target.template}/${target.architecture}${target.after ? ` (after ${target.after})` : ""}`);
    if (target.action === "build") {
      lines.push(`  build in ${target.region} (${target.instanceType}, ${volumeWords(target)}): ${target.reason}  ~${formatTotal(build!)}`);
    } else {
      lines.push(`  up to date in ${target.region}${target.amiId ? `: ${target.amiId}` : ""} (${target.reason})`);
    }
    if (target.copyTo.length > 0) {
      lines.push(`  copy to ${target.copyTo.join(", ")}${target.present?.length ? ` (${target.present.join(", ")} ${target.present.length === 1 ? "has" : "have"} it)` : ""}`);
    } else if (target.present?.length) lines.push(`  already in ${target.present.join(", ")}`);
    if (newImages > 0) lines.push(`  storage: at most ${formatTotal(stored, "/month")} (${plural(newImages, "new image")} of ${target.volumeGb} GiB${target.volumeGbFrom === "assumed" ? ", assumed" : ""})`);
  }
  lines.push(
    "",
    `Estimated: builds ~${formatTotal(builds)}; the new images' snapshot storage at most ${formatTotal(storage, "/month")}${counts.builds + counts.copies === 0 ? " (nothing to build or copy)" : ""}`,
    ...unknown,
    "",
  );

  return {
    text: lines.join("\n"),
    json: {
      dryRun: true,
      targets: priced.map(({ target, build, storage: stored }) => ({
        template: target.template,
        architecture: target.architecture,
        region: target.region,
        action: target.action,
        reason: target.reason,
        amiId: target.amiId ?? null,
        copyTo: target.copyTo,
        present: target.present ?? [],
        instanceType: target.instanceType,
        volumeGb: target.volumeGb,
        volumeGbFrom: target.volumeGbFrom,
        after: target.after ?? null,
        cost: { build: build ?? null, storagePerMonth: stored },
      })),
      counts,
      verify,
      cost: { builds, storagePerMonth: storage, assumedBuildSeconds: buildSeconds, assumedVerifySeconds: verify ? verifySeconds : null, prices: describePrices(prices) },
      leftOut,
      // A dry run that prints its plan has succeeded; the key is there as in every build-all document.
      exitCode: EXIT.ok,
    },
  };
}
