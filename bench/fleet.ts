// npm run bench (fourth part): `cws ami build-all` against the project's EC2/SSM emulator with scaled latencies.
// A fleet of 3 templates (one built on another) x 2 architectures x 4 regions: 6 builds, 18 copies.
// Reports its wall time against its longest chain (the parent's build, then the child's build and its copies: the
// same command for one child target alone, on a fresh emulator), the AWS API calls per target, and the wall time
// of a second run when nothing changed.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { preferredScratchDir, startEmulator, type Emulator } from "@cws/aws-emulator";
import { emulatorEnv } from "./emulator-env.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const msPerSimSecond = Number(process.env.BENCH_MS_PER_SIM_SECOND ?? 100);
const runs = Number(process.env.BENCH_FLEET_RUNS ?? 1);
const REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];
const TARGETS = 6;

/** The fleet: emu-basic's template in 4 regions, a second template from a base image, and a child of the first. */
function writeTemplates(dir: string): void {
  const basic = readFileSync(join(root, "test", "fixtures", "templates", "emu-basic.yml"), "utf8").replace(/^regions: .*$/m, `regions: [${REGIONS.join(", ")}]`);
  mkdirSync(join(dir, "templates"));
  writeFileSync(join(dir, "templates", "fleet-base.yml"), basic.replace(/^name: .*$/m, 'name: "Fleet base"'));
  writeFileSync(join(dir, "templates", "fleet-other.yml"), basic.replace(/^name: .*$/m, 'name: "Fleet other"').replace(/hello from setup/g, "hello from other setup"));
  writeFileSync(join(dir, "templates", "fleet-child.yml"), basic.replace(/^name: .*$/m, 'name: "Fleet child"').replace("  source: ubuntu-22.04-lts", "  template: fleet-base"));
}

interface Run {
  wallMs: number;
  calls: number;
  perAction: Record<string, number>;
  rows: { result: string }[];
}

function cws(dir: string, emulator: Emulator, args: string[]): Promise<Run> {
  const before = emulator.stats.totalCalls;
  const env = emulatorEnv(emulator.url, msPerSimSecond);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "bin", "cws.js"), "ami", "build-all", ...args, "--json"], { cwd: dir, env });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`build-all ${args.join(" ")} exited ${code}:\n${err.slice(-3000)}`));
      const { rows } = JSON.parse(out) as { rows: { result: string }[] };
      resolve({ wallMs: performance.now() - started, calls: emulator.stats.totalCalls - before, perAction: { ...emulator.stats.calls }, rows });
    });
  });
}

async function withProject<T>(fn: (dir: string, emulator: Emulator) => Promise<T>): Promise<T> {
  const scratch = preferredScratchDir();
  const emulator = await startEmulator({ msPerSimSecond, ...(scratch ? { scratchDir: scratch } : {}) });
  const dir = mkdtempSync(join(tmpdir(), "cws-bench-fleet-"));
  writeTemplates(dir);
  try {
    return await fn(dir, emulator);
  } finally {
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Sample {
  chainMs: number;
  fleetMs: number;
  fleetCalls: number;
  rerunMs: number;
  rerunCalls: number;
  /** Build instances, and the fresh instances each new image is verified on (build-all verifies by default). */
  launched: number;
  verifying: number;
  copies: number;
}

/** The instances of every region launched for `purpose` (cws:purpose: build, validate). */
function instancesFor(emulator: Emulator, purpose: string): number {
  return REGIONS.reduce((sum, region) => sum + emulator.instances(region).filter((instance) => instance.tags["cws:purpose"] === purpose).length, 0);
}

async function once(): Promise<Sample> {
  // The longest chain alone: the child for one architecture (its parent is included, built first in the same home).
  const chain = await withProject((dir, emulator) => cws(dir, emulator, ["fleet-child", "--architecture", "x86_64"]));
  return withProject(async (dir, emulator) => {
    // Wide enough for the fleet's widest moment (4 builds, then 2 builds and 12 copies), as a CI runner would set it.
    const fleet = await cws(dir, emulator, ["--concurrency", "16"]);
    const launched = instancesFor(emulator, "build");
    const verifying = instancesFor(emulator, "validate");
    const copies = emulator.stats.calls["ec2:CopyImage"] ?? 0;
    if (fleet.rows.length !== TARGETS * REGIONS.length) throw new Error(`expected ${TARGETS * REGIONS.length} rows, got ${fleet.rows.length}`);
    const rerun = await cws(dir, emulator, ["--concurrency", "16"]);
    if (!rerun.rows.every((row) => row.result === "up-to-date")) throw new Error(`the rerun was not all up to date: ${rerun.rows.map((r) => r.result).join(", ")}`);
    return { chainMs: chain.wallMs, fleetMs: fleet.wallMs, fleetCalls: fleet.calls, rerunMs: rerun.wallMs, rerunCalls: rerun.calls, launched, verifying, copies };
  });
}

const samples: Sample[] = [];
for (let i = 0; i < runs; i++) samples.push(await once());
samples.sort((a, b) => a.fleetMs / a.chainMs - b.fleetMs / b.chainMs);
const median = samples[Math.floor(samples.length / 2)]!;
console.log(
  `build-all against the emulator (${msPerSimSecond} ms per simulated second, 3 templates x 2 architectures x ${REGIONS.length} regions, median of ${runs}): ` +
    `fleet ${(median.fleetMs / 1000).toFixed(1)}s (${median.launched} build instances, ${median.verifying} verifying, ${median.copies} copies), longest chain alone ${(median.chainMs / 1000).toFixed(1)}s, ` +
    `${median.fleetCalls} API calls, nothing-changed rerun ${(median.rerunMs / 1000).toFixed(2)}s with ${median.rerunCalls} API calls`,
);
const rows = [
  { name: "fleet wall time / its longest chain", value: median.fleetMs / median.chainMs, limit: 1.25, unit: "x" },
  // With build-all's default --verify: the fresh instance adds some 25 calls a target (README's benchmark figures; docs/decisions.md §40).
  { name: "AWS API calls per target (build, verify, 3 copies)", value: Math.round(median.fleetCalls / TARGETS), limit: 100, unit: "" },
  { name: "build instances launched (6 targets)", value: median.launched, limit: TARGETS, unit: "" },
  { name: "fresh instances verifying new images", value: median.verifying, limit: TARGETS, unit: "" },
  { name: "nothing-changed rerun", value: median.rerunMs / 1000, limit: 3, unit: "s" },
];
for (const row of rows) {
  const shown = row.unit === "x" ? `${row.value.toFixed(2)}x` : row.unit === "s" ? `${row.value.toFixed(2)}s` : String(row.value);
  console.log(`${row.value <= row.limit ? "PASS" : "FAIL"}  ${row.name.padEnd(46)}  ${shown}  (goal <= ${row.limit}${row.unit})`);
}
process.exitCode = rows.every((r) => r.value <= r.limit) ? 0 : 1;
