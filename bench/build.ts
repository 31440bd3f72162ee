// npm run bench (second part): one `cws ami build` against the project's
// EC2/SSM emulator with scaled latencies. Reports the build's wall time over
// the sum of the simulated waits on its path (instance pending, SSM agent,
// each command's InvocationDoesNotExist window, stopping, image creation,
// termination), and the number of AWS API calls it made.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { preferredScratchDir, startEmulator } from "@cws/aws-emulator";
import { emulatorEnv } from "./emulator-env.js";

const root = fileURLToPath(new URL("..", import.meta.url));
// 100 ms per simulated second (10x real time): the build's real, unsimulated costs (Node start, SDK
// load, running scripts in the sandbox; ~1 s) stay small against the waits, so the ratio measures polling.
const msPerSimSecond = Number(process.env.BENCH_MS_PER_SIM_SECOND ?? 100);
const pollMs = process.env.BENCH_POLL_MS;
const runs = Number(process.env.BENCH_BUILD_RUNS ?? 3);

interface Sample {
  wallMs: number;
  simulatedMs: number;
  calls: number;
  perAction: Record<string, number>;
}

async function once(): Promise<Sample> {
  const scratch = preferredScratchDir();
  const emulator = await startEmulator({ msPerSimSecond, ...(scratch ? { scratchDir: scratch } : {}) });
  const dir = mkdtempSync(join(tmpdir(), "cws-bench-build-"));
  cpSync(join(root, "test", "fixtures", "templates"), join(dir, "templates"), { recursive: true });
  try {
    const env = emulatorEnv(emulator.url, msPerSimSecond, pollMs ? { CWS_POLL_INTERVAL_MS: pollMs } : {});
    const started = performance.now();
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, "bin", "cws.js"), "ami", "build", "emu-basic", "--architecture", "x86_64", "--json", "--quiet"], { cwd: dir, env });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`build exited ${code}:\n${err}`))));
    });
    const wallMs = performance.now() - started;
    const result = JSON.parse(output) as { instanceId: string; imageId: string };
    // Per resource, waits that overlap (a command's not-found window and its pending time) count once: the longest.
    const longest = new Map<string, number>();
    for (const event of emulator.stats.waitEvents) {
      const onPath = event.resource === result.instanceId || event.resource === result.imageId || event.resource.endsWith(`/${result.instanceId}`);
      if (!onPath) continue;
      const key = event.resource.includes("/") ? event.resource : `${event.resource} ${event.kind}`;
      longest.set(key, Math.max(longest.get(key) ?? 0, event.simSeconds));
    }
    const simulatedMs = [...longest.values()].reduce((a, b) => a + b, 0) * msPerSimSecond;
    return { wallMs, simulatedMs, calls: emulator.stats.totalCalls, perAction: { ...emulator.stats.calls } };
  } finally {
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const samples: Sample[] = [];
for (let i = 0; i < runs; i++) samples.push(await once());
samples.sort((a, b) => a.wallMs / a.simulatedMs - b.wallMs / b.simulatedMs);
const median = samples[Math.floor(samples.length / 2)]!;
const ratio = median.wallMs / median.simulatedMs;
console.log(
  `build against the emulator (${msPerSimSecond} ms per simulated second, median of ${runs}): wall ${(median.wallMs / 1000).toFixed(2)}s, simulated waits on its path ${(median.simulatedMs / 1000).toFixed(2)}s, ${median.calls} API calls`,
);
if (process.env.BENCH_VERBOSE) console.log(median.perAction);
const rows = [
  { name: "build wall time / simulated waits on its path", value: ratio, limit: 1.15, unit: "x" },
  { name: "AWS API calls per build", value: median.calls, limit: 60, unit: "" },
];
for (const row of rows) {
  console.log(`${row.value <= row.limit ? "PASS" : "FAIL"}  ${row.name.padEnd(46)}  ${row.unit === "x" ? row.value.toFixed(2) : row.value}${row.unit}  (goal <= ${row.limit}${row.unit})`);
}
process.exitCode = rows.every((r) => r.value <= r.limit) ? 0 : 1;
