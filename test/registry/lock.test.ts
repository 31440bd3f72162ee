import { spawn, spawnSync, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processProbe, processStartTime } from "../../src/process-probe.js";
import { durationText, RegistryLock, withRegistryLock, type RegistryLockOptions } from "../../src/registry/lock.js";
import { ROOT } from "../helpers/cli.js";

/** The id of a process that has exited (and, for the moment of a test, belongs to nobody). */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

const here = processProbe(process, "cws test");

describe("the registry lock", () => {
  let dir: string;
  let file: string;
  let lockFile: string;
  const children: ReturnType<typeof spawn>[] = [];
  const live = () => {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(child);
    return child.pid!;
  };
  const writeLock = (holder: Record<string, unknown> | string) => writeFileSync(lockFile, typeof holder === "string" ? holder : JSON.stringify(holder));
  const options = (extra: RegistryLockOptions = {}): RegistryLockOptions & { said: string[] } => {
    const said: string[] = [];
    return { processes: here, timeoutMs: 400, onWait: (message) => said.push(message), ...extra, said };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cws-lock-"));
    file = join(dir, "amis.json");
    lockFile = `${file}.lock`;
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("records who holds it while held, and is gone after", async () => {
    let seen: Record<string, unknown> = {};
    await withRegistryLock(file, async () => {
      seen = JSON.parse(readFileSync(lockFile, "utf8")) as Record<string, unknown>;
    }, options());
    expect(seen).toMatchObject({ pid: process.pid, host: hostname(), command: "cws test", token: expect.stringMatching(/^[0-9a-f]{18}$/) });
    expect(Date.now() - Date.parse(seen.acquired as string)).toBeLessThan(10_000);
    expect(existsSync(lockFile)).toBe(false);
  });

  it("lets writers in this process take turns without waiting on the lock file, in the order they came, also after one fails", async () => {
    const order: string[] = [];
    const opts = options({ timeoutMs: 200 });
    const write = (name: string, fail = false) =>
      withRegistryLock(file, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`${name} out`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      }, opts);
    const results = await Promise.allSettled([write("a"), write("b", true), write("c"), write("d")]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(order).toEqual(["a in", "a out", "b in", "b out", "c in", "c out", "d in", "d out"]);
    // Nobody waited on the file: this process's own lock never looked like another's.
    expect(opts.said).toEqual([]);
    expect(existsSync(lockFile)).toBe(false);
  });

  it("waits for a live holder, says so at once and for whom, and on timeout names it and what to do", async () => {
    const pid = live();
    writeLock({ pid, host: hostname(), acquired: new Date().toISOString(), command: "cws ami build r-research", token: "held" });
    const opts = options();
    const started = Date.now();
    let firstSaid = Infinity;
    const wrapped = { ...opts, onWait: (message: string) => ((firstSaid = Math.min(firstSaid, Date.now() - started)), opts.onWait!(message)) };
    const error = await withRegistryLock(file, async () => "ran", wrapped).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "REGISTRY_LOCKED", exitCode: 2, suggestion: expect.stringContaining(`kill ${pid}`) });
    expect((error as Error).message).toMatch(new RegExp(`^${lockFile}: the registry lock is still held after 0 s, by pid ${pid} \\(cws ami build r-research\\) since `));
    expect(opts.said).toHaveLength(1);
    expect(opts.said[0]).toContain(`${lockFile}: the registry lock is held by pid ${pid} (cws ami build r-research) since`);
    expect(firstSaid).toBeLessThan(300);
    // Never taken from a live process.
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ token: "held" });
  });

  it("gets the lock as soon as a live holder is gone", async () => {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    writeLock({ pid: child.pid, host: hostname(), acquired: new Date().toISOString(), token: "held" });
    const opts = options({ timeoutMs: 20_000 });
    setTimeout(() => child.kill("SIGKILL"), 300);
    const started = Date.now();
    expect(await withRegistryLock(file, async () => "ran", opts)).toBe("ran");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(opts.said[0]).toContain(`held by pid ${child.pid}`);
    expect(opts.said.at(-1)).toMatch(new RegExp(`took over the registry lock of pid ${child.pid} since .*, which is no longer running$`));
  });

  it("takes over at once the lock of a process that is gone", async () => {
    const pid = deadPid();
    writeLock({ pid, host: hostname(), acquired: new Date().toISOString(), command: "cws ami registry merge a.json", token: "stale" });
    const opts = options();
    expect(await withRegistryLock(file, async () => JSON.parse(readFileSync(lockFile, "utf8")).pid as number, opts)).toBe(process.pid);
    expect(opts.said).toEqual([expect.stringContaining(`took over the registry lock of pid ${pid} (cws ami registry merge a.json) since`)]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes over the takeover of a process that died in the middle of one, and leaves no file behind", async () => {
    writeLock({ pid: deadPid(), host: hostname(), acquired: new Date().toISOString(), token: "stale" });
    writeFileSync(`${lockFile}.takeover-stale`, JSON.stringify({ pid: deadPid(), host: hostname(), acquired: new Date().toISOString(), token: "died-mid-takeover" }));
    expect(await withRegistryLock(file, async () => "ran", options())).toBe("ran");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("does not take over a stale lock another live process is taking over, and says what to remove if that never ends", async () => {
    writeLock({ pid: deadPid(), host: hostname(), acquired: new Date().toISOString(), token: "stale" });
    writeFileSync(`${lockFile}.takeover-stale`, JSON.stringify({ pid: live(), host: hostname(), acquired: new Date().toISOString(), token: "busy" }));
    await expect(withRegistryLock(file, async () => "ran", options())).rejects.toMatchObject({
      code: "REGISTRY_LOCKED",
      suggestion: `its process is gone, but taking the lock over did not finish; if no cws is running, remove it: rm ${lockFile} ${lockFile}.takeover-*`,
    });
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ token: "stale" });
  });

  it("takes over a lock whose process id now belongs to a process started after the lock was taken", async () => {
    const pid = live();
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeLock({ pid, host: hostname(), acquired: new Date(Date.now() - 3_600_000).toISOString(), token: "reused" });
    const opts = options();
    const outcome = await withRegistryLock(file, async () => "ran", opts).catch((e: unknown) => e);
    if (processStartTime(pid) !== undefined) {
      expect(outcome).toBe("ran");
      expect(opts.said).toEqual([expect.stringContaining("is no longer running (its process id now belongs to a later process)")]);
    } else {
      // Where the start time cannot be read (no /proc), a live process id is a live holder.
      expect(outcome).toMatchObject({ code: "REGISTRY_LOCKED" });
    }
  });

  it("cannot judge another host's lock: says so, waits, and names the host and how to remove it", async () => {
    writeLock({ pid: deadPid(), host: "build-runner-7", acquired: new Date().toISOString(), token: "elsewhere" });
    const opts = options();
    const error = await withRegistryLock(file, async () => "ran", opts).catch((e: unknown) => e);
    expect(opts.said).toEqual([expect.stringMatching(/held by pid \d+ on host build-runner-7 since .*; cws cannot tell from here whether that process is still running/)]);
    expect(error).toMatchObject({ code: "REGISTRY_LOCKED", suggestion: `if no cws is running on build-runner-7, remove the lock: rm ${lockFile}` });
  });

  it("takes over a lock that names no process (an older cws's, an empty file) only once it is older than staleMs", async () => {
    for (const content of [`${hostname()} 0123abcd ${new Date().toISOString()}`, ""]) {
      writeLock(content);
      const fresh = options({ staleMs: 10_000 });
      await expect(withRegistryLock(file, async () => "ran", fresh)).rejects.toMatchObject({ code: "REGISTRY_LOCKED", suggestion: `if no cws is running, remove the lock: rm ${lockFile}` });
      const old = new Date(Date.now() - 60_000);
      utimesSync(lockFile, old, old);
      const stale = options({ staleMs: 10_000 });
      expect(await withRegistryLock(file, async () => "ran", stale)).toBe("ran");
      expect(stale.said).toEqual([expect.stringContaining("which names no process cws can check, and has not changed for over 10 s")]);
    }
  });

  it("without a process probe (a library caller), judges every lock by its age", async () => {
    writeLock({ pid: deadPid(), host: hostname(), acquired: new Date().toISOString(), token: "unknown" });
    await expect(withRegistryLock(file, async () => "ran", { timeoutMs: 300 })).rejects.toMatchObject({ code: "REGISTRY_LOCKED" });
    const old = new Date(Date.now() - 600_000);
    utimesSync(lockFile, old, old);
    expect(await withRegistryLock(file, async () => "ran", { timeoutMs: 300 })).toBe("ran");
  });

  it("names a lock path that is not a lock file at once, without waiting", async () => {
    const cases: [setup: () => void, problem: string][] = [
      [() => mkdirSync(lockFile), "the registry lock is a directory, not a regular file"],
      [() => execFileSync("mkfifo", [lockFile]), "the registry lock is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"],
      [() => symlinkSync("nowhere", lockFile), 'the registry lock is a symbolic link to "nowhere", which does not exist'],
    ];
    for (const [setup, problem] of cases) {
      rmSync(lockFile, { recursive: true, force: true });
      setup();
      const started = Date.now();
      await expect(withRegistryLock(file, async () => "ran", options({ timeoutMs: 60_000 }))).rejects.toMatchObject({ exitCode: 2, message: `${lockFile}: ${problem}` });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  it("names the registry's directory when it cannot be made", async () => {
    writeFileSync(join(dir, "plain"), "");
    await expect(withRegistryLock(join(dir, "plain", "amis.json"), async () => "ran", options())).rejects.toMatchObject({
      exitCode: 2,
      message: `${join(dir, "plain")}: the registry's directory is a regular file, not a directory`,
    });
  });

  it("on release, leaves a lock that is not its own", async () => {
    const lock = new RegistryLock(lockFile, options());
    const token = await lock.acquire();
    writeLock({ pid: process.pid, host: hostname(), token: "someone-else" });
    await lock.release(lockFile, token);
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ token: "someone-else" });
  });

  it("lets exactly one of several racing processes take over each stale lock, and never two hold it at once", async () => {
    const rounds = 25;
    const racers = 3;
    for (let round = 0; round < rounds; round++) {
      writeFileSync(join(dir, `reg-${round}.json.lock`), JSON.stringify({ pid: deadPid(), host: hostname(), acquired: new Date().toISOString(), token: `stale-${round}` }));
    }
    const exits = await Promise.all(
      Array.from(
        { length: racers },
        (_, racer) =>
          new Promise<number>((resolve) => {
            const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test", "helpers", "lock-racer.ts")], {
              cwd: ROOT,
              env: { ...process.env, DIR: dir, ROUNDS: String(rounds), RACERS: String(racers), RACER: String(racer) },
              stdio: ["ignore", "ignore", "inherit"],
            });
            child.on("close", (code) => resolve(code ?? -1));
          }),
      ),
    );
    expect(exits).toEqual(Array(racers).fill(0));
    const lines = readFileSync(join(dir, "log"), "utf8").trim().split("\n");
    for (let round = 0; round < rounds; round++) {
      const mine = lines.map((line) => line.split(" ")).filter(([, r]) => Number(r) === round);
      expect(mine.filter(([what]) => what === "takeover"), `round ${round}`).toHaveLength(1);
      const held = mine.filter(([what]) => what !== "takeover");
      expect(held, `round ${round}`).toHaveLength(2 * racers);
      // Each start is followed by the same process's end: no two holders at once.
      for (let i = 0; i < held.length; i += 2) expect([held[i]![0], held[i + 1]![0], held[i + 1]![2]], `round ${round}`).toEqual(["start", "end", held[i]![2]]);
      expect(existsSync(join(dir, `reg-${round}.json.lock`))).toBe(false);
    }
    // No takeover file is left behind.
    expect(readdirSync(dir).filter((name) => name.includes("takeover"))).toEqual([]);
  }, 120_000);
});

describe("a registry lock file that cws did not write", () => {
  let dir: string;
  let file: string;
  let lockFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cws-lock-"));
    file = join(dir, "amis.json");
    lockFile = `${file}.lock`;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const options = (extra: RegistryLockOptions = {}): RegistryLockOptions & { said: string[] } => {
    const said: string[] = [];
    return { processes: here, timeoutMs: 60_000, staleMs: 10_000, onWait: (message) => said.push(message), ...extra, said };
  };

  it.each([
    ["text", "garbage", '"garbage"'],
    ["a JSON object of other fields", '{"owner": "someone"}', '"{\\"owner\\": \\"someone\\"}"'],
    ["a JSON number", "42\n", '"42"'],
    ["binary bytes", "\u0000\u0001\u0002", '"\\u0000\\u0001\\u0002"'],
    ["a long first line", `${"x".repeat(100)}\nmore`, `"${"x".repeat(40)}…"`],
  ])("holding %s: refused at once, quoting what it holds, never as if a process held it", async (_name, content, quoted) => {
    writeFileSync(lockFile, content);
    const opts = options();
    const started = Date.now();
    await expect(withRegistryLock(file, async () => "ran", opts)).rejects.toMatchObject({
      code: "REGISTRY_LOCK_UNREADABLE",
      exitCode: 2,
      message: `${lockFile}: the registry lock holds no lock record cws writes (it begins ${quoted}), so cws cannot tell whether a process holds it or which`,
      suggestion: `if no cws is running, remove it: rm ${lockFile}`,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(opts.said).toEqual([]);
    expect(readFileSync(lockFile, "utf8")).toBe(content);
  });

  it("once unchanged for staleMs, it is taken over like any lock that names no process, saying what it held", async () => {
    writeFileSync(lockFile, "garbage");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile, old, old);
    const opts = options();
    expect(await withRegistryLock(file, async () => "ran", opts)).toBe("ran");
    expect(opts.said).toEqual([expect.stringMatching(/took over the registry lock of an unknown writer \(the file begins "garbage", no lock record cws writes\) since \S+ \(60 s ago\), which names no process/)]);
  });
});

describe("how long ago, in a lock's messages", () => {
  it.each([
    [0, "0 s"],
    [3.4, "3 s"],
    [119, "119 s"],
    [120, "2 min"],
    [7_199, "120 min"],
    [7_200, "2 h"],
    [172_799, "48 h"],
    [172_800, "2 days"],
    [86_400 * 729, "729 days"],
    [218_028_036, "6.9 years"],
    [-5, "0 s"],
  ])("%s s is %s", (seconds, text) => {
    expect(durationText(seconds)).toBe(text);
  });

  it("names a lock taken long ago in years, not seconds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cws-lock-"));
    try {
      const file = join(dir, "amis.json");
      writeFileSync(`${file}.lock`, JSON.stringify({ host: "elsewhere", pid: 4242, acquired: "2020-01-01T00:00:00Z", token: "t" }));
      const error = (await withRegistryLock(file, async () => "ran", { processes: here, timeoutMs: 100 }).catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/by pid 4242 on host elsewhere since 2020-01-01T00:00:00Z \(\d+\.\d years ago\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
