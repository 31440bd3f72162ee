// npm run bench: `cws ami changed`, what the pipeline's plan step runs on every push, over 200
// generated templates in a git repository where one template was edited in the last commit.
// It reads and validates every template twice (now, and at the revision through one
// `git cat-file --batch`), so its goal is stated against `cws ami lint --no-cache` over the same
// 200 templates, measured in the same run: at most 2.5x of it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timeInterleaved } from "./timing.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cws = join(root, "bin", "cws.js");
const runs = Number(process.env.BENCH_RUNS ?? 11);
const COUNT = 200;

const dir = mkdtempSync(join(tmpdir(), "cws-bench-changed-"));
const git = (...args) => execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: dir, stdio: "ignore" });
let t;
try {
  mkdirSync(join(dir, "templates"));
  const base = readFileSync(join(root, "templates", "r-research.yml"), "utf8");
  const file = (i) => join(dir, "templates", `generated-${String(i).padStart(3, "0")}.yml`);
  for (let i = 0; i < COUNT; i++) writeFileSync(file(i), base.replace(/^name: .*$/m, `name: "Generated ${i}"`));
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "200 templates");
  writeFileSync(file(7), base.replace(/^name: .*$/m, `name: "Generated 7, edited"`));
  git("commit", "-q", "-am", "one template edited");
  t = timeInterleaved(
    [
      { name: "node", args: ["-e", "0"], cwd: dir },
      { name: "lint200", args: [cws, "ami", "lint", "--no-cache"], cwd: dir },
      { name: "changed200", args: [cws, "ami", "changed", "--json"], cwd: dir },
    ],
    { runs },
  );
  const out = execFileSync(process.execPath, [cws, "ami", "changed"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  if (out.trim() !== "generated-007") throw new Error(`cws ami changed listed ${JSON.stringify(out)}, expected generated-007 alone`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const ratio = t.changed200 / t.lint200;
console.log(
  `median of ${runs} interleaved runs (ms), ${COUNT} templates, one edited: node -e 0 ${t.node.toFixed(1)}, ` +
    `cws ami lint --no-cache ${t.lint200.toFixed(1)}, cws ami changed --json ${t.changed200.toFixed(1)} (${ratio.toFixed(2)}x of lint)`,
);
const ok = ratio <= 2.5;
console.log(`${ok ? "PASS" : "FAIL"}  cws ami changed / lint --no-cache, ${COUNT} templates  ${ratio.toFixed(2)}x  (goal <= 2.5x)`);
process.exitCode = ok ? 0 : 1;
