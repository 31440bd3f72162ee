// Shared by bench/run.mjs and bench/list.mjs: wall time of child processes.
import { spawnSync } from "node:child_process";

// A minimal environment: variables that slow every Node start-up alike
// (NODE_EXTRA_CA_CERTS costs ~40 ms here) would shrink every ratio.
export const minimalEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" };

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The median wall time (ms) of each case, `node <args>` in `cwd`. The cases
 * take turns, one run of each per round, so that the machine getting busier
 * or quieter while the benchmark runs affects every case alike: a ratio
 * compares runs made at the same moments. Round 0 is a warm-up (file cache,
 * the lint cache) and is not counted. A run that exits other than `status`
 * stops the benchmark: a timing of a failure means nothing.
 */
export function timeInterleaved(cases, { runs, env = minimalEnv }) {
  const samples = cases.map(() => []);
  for (let round = 0; round <= runs; round++) {
    cases.forEach((c, i) => {
      const start = process.hrtime.bigint();
      const result = spawnSync(process.execPath, c.args, { cwd: c.cwd, env, encoding: "utf8" });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const status = c.status ?? 0;
      if (result.status !== status) {
        throw new Error(`node ${c.args.join(" ")} exited ${result.status}, expected ${status}:\n${result.stdout}${result.stderr}`);
      }
      if (round > 0) samples[i].push(ms);
    });
  }
  return Object.fromEntries(cases.map((c, i) => [c.name, median(samples[i])]));
}
