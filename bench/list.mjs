// node bench/list.mjs (after npm run build): how fast `cws ami list` reads a
// large registry, as a ratio against `node -e 0` measured in the same run.
// The registry has 50 templates x 8 regions x 2 architectures = 800 AMIs,
// each with every field a build records, written in the order cws writes it.
// The goal is checked on that; the same registry with two earlier AMIs per
// entry in its history (2,400 records, as one kept for a while looks), and
// one as build-all writes it (each image built in us-east-1 and copied to the
// other seven regions, so 700 entries carry copied_from), are timed too, for
// information.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { minimalEnv as env, timeInterleaved } from "./timing.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cws = join(root, "bin", "cws.js");
const runs = Number(process.env.BENCH_RUNS ?? 21);
const GOAL = 2.0;

const TEMPLATES = 50;
// Sorted, as cws writes the registry (serializeRegistry sorts every map).
const REGIONS = ["ap-northeast-1", "ap-southeast-1", "eu-central-1", "eu-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const ARCHITECTURES = ["arm64", "x86_64"];

function hex(n, width) {
  return n.toString(16).padStart(width, "0");
}

function record(t, r, a, age, copies = false) {
  const n = ((t * REGIONS.length + r) * ARCHITECTURES.length + a) * 3 + age;
  const day = String(28 - age * 7).padStart(2, "0");
  const created = `2026-10-${day}T08:30:00Z`;
  const version = `v1.${2 - age}.0`;
  const home = REGIONS.indexOf("us-east-1");
  const copiedFrom = copies && r !== home ? { copied_from: { region: "us-east-1", ami_id: `ami-0${hex(((t * REGIONS.length + home) * ARCHITECTURES.length + a) * 3 + age, 16)}` } } : {};
  return {
    ami_id: `ami-0${hex(n, 16)}`,
    created,
    validated: true,
    size_gb: 30,
    name: `cws-template-${t}-${version}-${ARCHITECTURES[a]}-202610${day}T083000Z`,
    version,
    build_id: `b-${hex(n * 7919, 12)}`,
    base_ami: `ami-0${hex(n * 31, 16)}`,
    content_hash: hex(n, 8).repeat(8),
    source_commit: hex(n * 104729, 10).repeat(4),
    validated_at: created,
    ...copiedFrom,
  };
}

function generatedRegistry(historyDepth, copies = false) {
  const templates = {};
  for (let t = 0; t < TEMPLATES; t++) {
    const amis = {};
    REGIONS.forEach((region, r) => {
      amis[region] = {};
      ARCHITECTURES.forEach((arch, a) => {
        const history = Array.from({ length: historyDepth }, (_, age) => record(t, r, a, age + 1));
        amis[region][arch] = { ...record(t, r, a, 0, copies), ...(history.length ? { history } : {}) };
      });
    });
    templates[`template-${String(t).padStart(2, "0")}`] = {
      version: "1.2.0",
      description: `Generated template ${t}`,
      amis,
      ports: [22, 8787],
      estimated_cost_per_hour: { x86_64: 0.0416, arm64: 0.0336 },
    };
  }
  return { version: "1.0", last_updated: "2026-10-28T08:30:00Z", templates };
}

const dir = mkdtempSync(join(tmpdir(), "cws-bench-list-"));
try {
  mkdirSync(join(dir, "registry"));
  writeFileSync(join(dir, "registry", "amis.json"), `${JSON.stringify(generatedRegistry(0), null, 2)}\n`);
  writeFileSync(join(dir, "with-history.json"), `${JSON.stringify(generatedRegistry(2), null, 2)}\n`);
  writeFileSync(join(dir, "with-copies.json"), `${JSON.stringify(generatedRegistry(0, true), null, 2)}\n`);
  const expected = TEMPLATES * REGIONS.length * ARCHITECTURES.length;

  // It must really list them all, or the timing means nothing.
  for (const args of [[], ["--registry", "with-history.json"], ["--registry", "with-copies.json"]]) {
    const check = spawnSync(process.execPath, [cws, "ami", "list", ...args], { cwd: dir, env, encoding: "utf8" });
    const rows = check.stdout.trimEnd().split("\n").length - 1;
    if (check.status !== 0 || rows !== expected) throw new Error(`cws ami list ${args.join(" ")} printed ${rows} rows (exit ${check.status}), expected ${expected}:\n${check.stderr}`);
  }

  const { node, help, list, withHistory, withCopies } = timeInterleaved(
    [
      { name: "node", args: ["-e", "0"], cwd: dir },
      // What every command pays before its own work (commander and the command tree), for reference.
      { name: "help", args: [cws, "--help"], cwd: dir },
      { name: "list", args: [cws, "ami", "list"], cwd: dir },
      { name: "withHistory", args: [cws, "ami", "list", "--registry", "with-history.json"], cwd: dir },
      { name: "withCopies", args: [cws, "ami", "list", "--registry", "with-copies.json"], cwd: dir },
    ],
    { runs },
  );
  const ratio = list / node;
  const ok = ratio <= GOAL;
  console.log(
    `median of ${runs} interleaved runs each (ms), minimal environment: node -e 0 ${node.toFixed(1)}, cws --help ${help.toFixed(1)} (${(help / node).toFixed(2)}x), ` +
      `cws ami list (${expected} AMIs) ${list.toFixed(1)}, ` +
      `with 2 earlier AMIs each in history ${withHistory.toFixed(1)} (${(withHistory / node).toFixed(2)}x, for information), ` +
      `7 of 8 regions copies ${withCopies.toFixed(1)} (${(withCopies / node).toFixed(2)}x, for information)`,
  );
  console.log(`${ok ? "PASS" : "FAIL"}  cws ami list (${expected} AMIs) / node -e 0  ${ratio.toFixed(2)}x  (goal <= ${GOAL}x)`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
