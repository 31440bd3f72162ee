// npm run bench: start-up and lint speed of the built CLI, as ratios against
// `node -e 0` measured in the same run (absolute times vary by machine; the
// ratios are what the goals are stated in).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cws = join(root, "bin", "cws.js");
const runs = Number(process.env.BENCH_RUNS ?? 21);
// A minimal environment, so that variables which slow every Node start-up alike
// (NODE_EXTRA_CA_CERTS costs ~35 ms here) do not shrink the ratios. The
// inherited environment is reported too, for comparison.
const minimalEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" };
let env = minimalEnv;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(args, cwd = root, expectStatus = 0) {
  const samples = [];
  // One warm-up run so the file cache is hot for every case alike.
  spawnSync(process.execPath, args, { cwd, env });
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd, env, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== expectStatus) {
      throw new Error(`${args.join(" ")} exited ${result.status}, expected ${expectStatus}:\n${result.stdout}${result.stderr}`);
    }
    samples.push(ms);
  }
  return median(samples);
}

function generatedTemplates(count) {
  const dir = mkdtempSync(join(tmpdir(), "cws-bench-"));
  mkdirSync(join(dir, "templates"));
  const base = readFileSync(join(root, "templates", "r-research.yml"), "utf8");
  for (let i = 0; i < count; i++) {
    const text = base.replace(/^name: .*$/m, `name: "Generated ${i}"`);
    writeFileSync(join(dir, "templates", `generated-${String(i).padStart(3, "0")}.yml`), text);
  }
  return dir;
}

const rows = [];
const goal = (name, value, limit, unit) => rows.push({ name, value, limit, unit, ok: value <= limit });

env = process.env;
const inherited = { node: time(["-e", "0"]), help: time([cws, "--help"]), lint: time([cws, "ami", "lint"]) };
env = minimalEnv;
const nodeBaseline = time(["-e", "0"]);
const help = time([cws, "--help"]);
// As a developer runs it again and again: unchanged templates come from .cws/cache (the warm-up run fills it).
const lint = time([cws, "ami", "lint"]);
// Every template parsed and validated afresh, as in CI on a clean clone.
const lintCold = time([cws, "ami", "lint", "--no-cache"]);
const dir = generatedTemplates(200);
let lint200;
try {
  lint200 = time([cws, "ami", "lint", "--no-cache"], dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `median of ${runs} runs each (ms), minimal environment: node -e 0 ${nodeBaseline.toFixed(1)}, cws --help ${help.toFixed(1)}, cws ami lint ${lint.toFixed(1)}, cws ami lint --no-cache ${lintCold.toFixed(1)} (${(lintCold / nodeBaseline).toFixed(2)}x), cws ami lint --no-cache (200 templates) ${lint200.toFixed(1)}`,
);
console.log(
  `inherited environment: node -e 0 ${inherited.node.toFixed(1)}, cws --help ${inherited.help.toFixed(1)} (${(inherited.help / inherited.node).toFixed(2)}x), cws ami lint ${inherited.lint.toFixed(1)} (${(inherited.lint / inherited.node).toFixed(2)}x)`,
);
goal("cws --help / node -e 0", help / nodeBaseline, 2.0, "x");
goal("cws ami lint (shipped templates, cache warm) / node -e 0", lint / nodeBaseline, 2.0, "x");
goal("cws ami lint --no-cache (shipped templates) / node -e 0", lintCold / nodeBaseline, 2.0, "x");
goal("cws ami lint --no-cache, 200 generated templates", lint200 / 1000, 1.0, "s");

const width = Math.max(...rows.map((r) => r.name.length));
for (const row of rows) {
  console.log(`${row.ok ? "PASS" : "FAIL"}  ${row.name.padEnd(width)}  ${row.value.toFixed(2)}${row.unit}  (goal <= ${row.limit}${row.unit})`);
}
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
