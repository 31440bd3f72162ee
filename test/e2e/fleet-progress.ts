// build-all's progress and result output, driven by six fake targets on the
// terminal this runs on, through the same wiring the command uses
// (src/cli/fleet-output.ts): live lines on a terminal, plain lines elsewhere,
// then the final table. For test/e2e/fleet-terminal.test.ts, and to look at:
//   node --import tsx test/e2e/fleet-progress.ts run
//   node --import tsx test/e2e/fleet-progress.ts interrupt    (press Ctrl-C)
//   node --import tsx test/e2e/fleet-progress.ts resize 40    (resizes its own terminal to 40 columns midway)
import { spawnSync } from "node:child_process";
import { fleetReporterFor, writeFleetResult } from "../../src/cli/fleet-output.js";
import type { CliIO } from "../../src/cli/io.js";
import { buildCost, snapshotMonthlyCost } from "../../src/fleet/cost.js";
import { describePrices, SHIPPED_PRICES } from "../../src/fleet/prices.js";
import type { FleetResult, FleetRow } from "../../src/fleet/reporter.js";
import { resizeMarker } from "../helpers/terminal.js";

const [scenario = "run", resizeTo] = process.argv.slice(2);
const io: CliIO = { stdout: process.stdout, get stderr() { return process.stderr; }, env: process.env, cwd: process.cwd() };
const reporter = fleetReporterFor(io, { color: true });
const started = Date.now();
// Nothing here may hang a test.
setTimeout(() => process.exit(3), 30_000).unref();

interface FakeTarget {
  template: string;
  architecture: "x86_64" | "arm64";
  /** The step it fails at, if it does. */
  failsAt?: string;
  upToDate?: boolean;
  /** The target whose failure skips this one. */
  parent?: string;
}

const TARGETS: FakeTarget[] = [
  { template: "python-research", architecture: "x86_64" },
  { template: "python-research", architecture: "arm64", failsAt: "Executing setup script" },
  { template: "r-research", architecture: "x86_64", upToDate: true },
  { template: "bioinformatics", architecture: "x86_64" },
  { template: "bioinformatics", architecture: "arm64" },
  { template: "ml-gpu-with-a-long-name", architecture: "arm64", parent: "python-research/arm64" },
];
const STEPS = ["Checking credentials, instance profile and network", "Launching build instance", "Executing setup script", "Running validation tests", "Creating AMI", "Copying to us-east-2, us-west-1, us-west-2"];
const COPIES = ["us-east-2", "us-west-1", "us-west-2"];
const label = (t: FakeTarget) => `${t.template}/${t.architecture}`;
const stepMs = scenario === "interrupt" ? 400 : 120;

const rows: FleetRow[] = [];
const outcomes = new Map<string, FleetResult>();
const current = new Map<string, string>();
const controller = new AbortController();
let amiCount = 0;
const ami = () => `ami-0${(++amiCount).toString(16).padStart(16, "0")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runTarget(target: FakeTarget): Promise<void> {
  const id = label(target);
  const begun = Date.now();
  const seconds = () => (Date.now() - begun) / 1000;
  const row = (region: string, result: FleetResult, extra: Partial<FleetRow> = {}): FleetRow => ({ template: target.template, architecture: target.architecture, region, result, ...extra });
  if (target.parent && outcomes.get(target.parent) === "failed") {
    reporter.targetDone(id, { result: "skipped", detail: `parent ${target.parent} failed` });
    rows.push(row("us-east-1", "skipped", { detail: `parent ${target.parent} failed` }));
    return;
  }
  reporter.targetStarted(id, id);
  if (target.upToDate) {
    await sleep(stepMs);
    const found = ami();
    reporter.targetDone(id, { result: "up-to-date", detail: `${found} in us-east-1` });
    rows.push(row("us-east-1", "up-to-date", { amiId: found, detail: "content hash unchanged" }));
    outcomes.set(id, "up-to-date");
    return;
  }
  for (const step of STEPS) {
    if (controller.signal.aborted) return;
    current.set(id, step);
    reporter.targetStep(id, step);
    await sleep(stepMs);
    if (controller.signal.aborted) return;
    if (step === target.failsAt) {
      reporter.log(id, "E: unable to locate package imaginary-package");
      reporter.targetDone(id, { result: "failed", detail: "setup script exited with code 7" });
      const cost = buildCost({ region: "us-east-1", instanceType: "t4g.large", seconds: seconds(), volumeGb: 30 }, SHIPPED_PRICES);
      rows.push(row("us-east-1", "failed", { durationSeconds: seconds(), cost, detail: "setup script exited with code 7", logDir: ".cws/logs/fake" }));
      outcomes.set(id, "failed");
      return;
    }
    if (scenario === "resize" && id === "python-research/x86_64" && step === "Launching build instance") {
      // Resize this very terminal, as a person dragging the window's edge would.
      process.stderr.write(resizeMarker(Number(resizeTo), 30));
      spawnSync("stty", ["cols", String(resizeTo), "rows", "30"], { stdio: ["inherit", "ignore", "ignore"] });
    }
  }
  const built = ami();
  const storage = (region: string) => snapshotMonthlyCost({ region, sizeGb: 30 }, SHIPPED_PRICES);
  rows.push(row("us-east-1", "built", { amiId: built, durationSeconds: seconds(), cost: buildCost({ region: "us-east-1", instanceType: "t3.large", seconds: seconds(), volumeGb: 30 }, SHIPPED_PRICES), storage: storage("us-east-1") }));
  for (const region of COPIES) rows.push(row(region, "copied", { amiId: ami(), copiedFrom: { region: "us-east-1", amiId: built }, durationSeconds: stepMs / 1000, storage: storage(region) }));
  reporter.log(id, `copied to ${COPIES.join(", ")}`);
  reporter.targetDone(id, { result: "built", detail: `${built} in us-east-1, copied to ${COPIES.length} regions` });
  outcomes.set(id, "built");
}

function finish(interrupted: boolean): never {
  const summary = { rows, durationSeconds: (Date.now() - started) / 1000, prices: describePrices(SHIPPED_PRICES), interrupted };
  const exitCode = interrupted ? 130 : rows.some((r) => r.result === "failed") ? 1 : 0;
  reporter.finish(summary);
  writeFleetResult(summary, exitCode, { json: false }, io);
  process.exit(exitCode);
}

process.on("SIGINT", () => {
  reporter.notice("SIGINT: stopping every target and cleaning up");
  controller.abort();
  for (const target of TARGETS) {
    const id = label(target);
    if (outcomes.has(id) || !current.has(id)) continue;
    reporter.targetDone(id, { result: "cancelled", detail: `interrupted during: ${current.get(id)}` });
    rows.push({ template: target.template, architecture: target.architecture, region: "us-east-1", result: "cancelled", detail: "interrupted" });
    outcomes.set(id, "cancelled");
  }
  finish(true);
});

// Four at a time; a child after its parent.
for (const target of TARGETS) reporter.targetQueued(label(target), label(target));
const queue = [...TARGETS];
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (let target = queue.shift(); target !== undefined; target = queue.shift()) await runTarget(target);
  }),
);
finish(false);
