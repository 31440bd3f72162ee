import { buildCost, snapshotMonthlyCost } from "../../src/fleet/cost.js";
import type { PriceTable } from "../../src/fleet/prices.js";
import type { FleetSummary } from "../../src/fleet/reporter.js";

export const TEST_PRICES: PriceTable = {
  taken: "2026-01-01",
  source: "test prices",
  regions: {
    "us-east-1": { instances: { "t3.large": 0.0832, "t4g.large": 0.0672 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
    "us-west-2": { instances: { "t3.large": 0.0832 }, gp3GbMonth: 0.08, snapshotGbMonth: 0.05 },
  },
};

const built = (instanceType: string, seconds: number) => buildCost({ region: "us-east-1", instanceType, seconds, volumeGb: 30 }, TEST_PRICES);
const stored = (region: string) => snapshotMonthlyCost({ region, sizeGb: 30 }, TEST_PRICES);

/**
 * A fleet run of every kind of row: built and copied, up to date, a failure
 * whose message has Markdown's cell border, a line break and HTML in it, a
 * skipped child, a region without a snapshot price.
 */
export const SUMMARY: FleetSummary = {
  durationSeconds: 1330,
  prices: "test prices of 2026-01-01",
  rows: [
    { template: "python-research", architecture: "x86_64", region: "us-east-1", result: "built", amiId: "ami-0aaaaaaaaaaaaaaa1", durationSeconds: 1205, cost: built("t3.large", 1205), storage: stored("us-east-1") },
    {
      template: "python-research",
      architecture: "x86_64",
      region: "us-west-2",
      result: "copied",
      amiId: "ami-0aaaaaaaaaaaaaaa2",
      copiedFrom: { region: "us-east-1", amiId: "ami-0aaaaaaaaaaaaaaa1" },
      durationSeconds: 125,
      storage: stored("us-west-2"),
    },
    { template: "python-research", architecture: "x86_64", region: "eu-west-1", result: "copied", amiId: "ami-0aaaaaaaaaaaaaaa3", copiedFrom: { region: "us-east-1", amiId: "ami-0aaaaaaaaaaaaaaa1" }, durationSeconds: 131, storage: stored("eu-west-1") },
    { template: "r-research", architecture: "x86_64", region: "us-east-1", result: "up-to-date", amiId: "ami-0bbbbbbbbbbbbbbb1", detail: "content hash 9f2c1a2b3c4d unchanged" },
    {
      template: "python-research",
      architecture: "arm64",
      region: "us-east-1",
      result: "failed",
      durationSeconds: 300,
      cost: built("t4g.large", 300),
      detail: "setup script exited with code 7 | see <log>\nE: unable to locate package",
      logDir: ".cws/logs/20261128t100000z-abc123",
    },
    { template: "ml-gpu", architecture: "arm64", region: "us-east-1", result: "skipped", detail: "parent python-research/arm64 failed" },
  ],
};
