// npm run bench: start-up and lint speed of the built CLI, as ratios against
// `node -e 0` measured in the same run (absolute times vary by machine; the
// ratios are what the goals are stated in).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timeInterleaved } from "./timing.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cws = join(root, "bin", "cws.js");
const runs = Number(process.env.BENCH_RUNS ?? 21);

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

const dir = generatedTemplates(200);
let t;
let inherited;
try {
  t = timeInterleaved(
    [
      { name: "node", args: ["-e", "0"], cwd: root },
      { name: "help", args: [cws, "--help"], cwd: root },
      // As a developer runs it again and again: unchanged templates come from .cws/cache (the warm-up round fills it).
      { name: "lint", args: [cws, "ami", "lint"], cwd: root },
      // Every template parsed and validated afresh, as on the first run in a clean clone.
      { name: "lintCold", args: [cws, "ami", "lint", "--no-cache"], cwd: root },
      { name: "lint200", args: [cws, "ami", "lint", "--no-cache"], cwd: dir },
    ],
    { runs },
  );
  // For comparison: the environment as inherited (fewer runs; no goal is judged on it).
  inherited = timeInterleaved(
    [
      { name: "node", args: ["-e", "0"], cwd: root },
      { name: "help", args: [cws, "--help"], cwd: root },
      { name: "lint", args: [cws, "ami", "lint"], cwd: root },
    ],
    { runs: Math.min(runs, 7), env: process.env },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const x = (ms) => `${(ms / t.node).toFixed(2)}x`;
console.log(
  `median of ${runs} interleaved runs each (ms), minimal environment: node -e 0 ${t.node.toFixed(1)}, cws --help ${t.help.toFixed(1)} (${x(t.help)}), ` +
    `cws ami lint ${t.lint.toFixed(1)} (${x(t.lint)}), cws ami lint --no-cache ${t.lintCold.toFixed(1)} (${x(t.lintCold)}), ` +
    `cws ami lint --no-cache (200 templates) ${t.lint200.toFixed(1)}`,
);
console.log(
  `inherited environment: node -e 0 ${inherited.node.toFixed(1)}, cws --help ${inherited.help.toFixed(1)} (${(inherited.help / inherited.node).toFixed(2)}x), ` +
    `cws ami lint ${inherited.lint.toFixed(1)} (${(inherited.lint / inherited.node).toFixed(2)}x)`,
);
console.log(
  `for information, not a goal: the first lint in a clean clone (--no-cache) is ${x(t.lintCold)}; it compiles zod and the YAML parsers cold (docs/decisions.md §18)`,
);
goal("cws --help / node -e 0", t.help / t.node, 2.0, "x");
goal("cws ami lint (shipped templates) / node -e 0", t.lint / t.node, 2.0, "x");
goal("cws ami lint --no-cache, 200 generated templates", t.lint200 / 1000, 1.0, "s");

const width = Math.max(...rows.map((r) => r.name.length));
for (const row of rows) {
  console.log(`${row.ok ? "PASS" : "FAIL"}  ${row.name.padEnd(width)}  ${row.value.toFixed(2)}${row.unit}  (goal <= ${row.limit}${row.unit})`);
}
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
