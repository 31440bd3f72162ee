/**
 * One of several processes racing for the same stale registry locks (run with
 * `node --import tsx`). For each round it waits until every racer is ready
 * (so they really race), takes `reg-<round>.json.lock` and, holding it,
 * writes `start` and `end` lines around a short pause to a shared log: two
 * holders at once would interleave their lines. A takeover is logged too, so
 * the test can see that exactly one racer took each stale lock over.
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processProbe } from "../../src/process-probe.js";
import { withRegistryLock } from "../../src/registry/lock.js";

const dir = process.env.DIR!;
const rounds = Number(process.env.ROUNDS);
const racers = Number(process.env.RACERS);
const me = Number(process.env.RACER);
const log = join(dir, "log");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (let round = 0; round < rounds; round++) {
  writeFileSync(join(dir, `ready-${round}-${me}`), "");
  const deadline = Date.now() + 20_000;
  while (!Array.from({ length: racers }, (_, r) => existsSync(join(dir, `ready-${round}-${r}`))).every(Boolean)) {
    if (Date.now() > deadline) process.exit(3);
    await sleep(1);
  }
  await withRegistryLock(
    join(dir, `reg-${round}.json`),
    async () => {
      appendFileSync(log, `start ${round} ${process.pid}\n`);
      await sleep(Math.random() * 4);
      appendFileSync(log, `end ${round} ${process.pid}\n`);
    },
    {
      processes: processProbe(process, `racer ${me}`),
      timeoutMs: 20_000,
      onWait: (message) => {
        if (message.includes("took over")) appendFileSync(log, `takeover ${round} ${process.pid}\n`);
      },
    },
  );
}
