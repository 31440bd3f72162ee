import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, runCliAsync, scratchDir } from "../helpers/cli.js";

/** A leftover or busy amis.json.lock, as the built CLI meets it: said at once, for whom; a dead holder's lock taken over. */

const EMPTY = JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: {} });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workspace(lock: Record<string, unknown>): string {
  const { dir, cleanup } = scratchDir({ "input.json": EMPTY, "amis.json.lock": JSON.stringify(lock) });
  cleanups.push(cleanup);
  return dir;
}

const merge = ["--registry", "amis.json", "ami", "registry", "merge", "input.json"];

describe("cws ami registry merge with a lock already there", () => {
  it("takes over at once the lock of a process that is gone, and says whose it was", () => {
    const pid = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const dir = workspace({ pid, host: hostname(), acquired: new Date().toISOString(), command: "cws ami build r-research", token: "left-behind" });
    const started = Date.now();
    const result = runCli(merge, { cwd: dir });
    expect(result.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.stderr).toMatch(new RegExp(`^⏳ amis\\.json\\.lock: took over the registry lock of pid ${pid} \\(cws ami build r-research\\) since \\S+ \\(\\d+ s ago\\), which is no longer running\\n$`));
    expect(result.stdout).toBe("Merged 1 file into amis.json\n");
    expect(existsSync(join(dir, "amis.json.lock"))).toBe(false);
  });

  it("says at once that it waits, and for which process; goes on as soon as that process is gone", async () => {
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    cleanups.push(() => holder.kill("SIGKILL"));
    const dir = workspace({ pid: holder.pid, host: hostname(), acquired: new Date().toISOString(), command: "cws ami update-registry --all", token: "busy" });
    const started = Date.now();
    let saidAfter = Infinity;
    const result = await runCliAsync(merge, {
      cwd: dir,
      onStderr: (text) => {
        if (saidAfter === Infinity && text.includes("\n")) {
          saidAfter = Date.now() - started;
          holder.kill("SIGKILL");
        }
      },
    });
    expect(result.status).toBe(0);
    // Said before anything else, and long before any timeout (the CLI's own start-up is most of it).
    expect(saidAfter).toBeLessThan(5_000);
    const [waiting, tookOver] = result.stderr.split("\n");
    expect(waiting).toMatch(new RegExp(`^⏳ amis\\.json\\.lock: the registry lock is held by pid ${holder.pid} \\(cws ami update-registry --all\\) since \\S+ \\(\\d+ s ago\\); waiting up to 60 s$`));
    expect(tookOver).toContain(`took over the registry lock of pid ${holder.pid}`);
    expect(JSON.parse(readFileSync(join(dir, "amis.json"), "utf8"))).toMatchObject({ version: "1.0" });
  });

  it("cannot judge a lock held on another host: says so, waits, then exits 2 naming the host and how to remove it", () => {
    const dir = workspace({ pid: 4242, host: "ci-runner-7", acquired: new Date().toISOString(), command: "cws ami registry merge a.json", token: "remote" });
    // CWS_TIME_SCALE shortens the 60 s wait, as it does every timeout.
    const result = runCli(merge, { cwd: dir, env: { CWS_TIME_SCALE: "0.05" } });
    expect(result.status).toBe(2);
    expect(result.stderr.split("\n")).toEqual([
      expect.stringMatching(/^⏳ amis\.json\.lock: the registry lock is held by pid 4242 on host ci-runner-7 \(cws ami registry merge a\.json\) since \S+ \(\d+ s ago\); cws cannot tell from here whether that process is still running, so it is waiting up to 3 s$/),
      expect.stringMatching(/^error: amis\.json\.lock: the registry lock is still held after 3 s, by pid 4242 on host ci-runner-7 /),
      "  → if no cws is running on ci-runner-7, remove the lock: rm amis.json.lock",
      "",
    ]);
    expect(existsSync(join(dir, "amis.json"))).toBe(false);
  });

  it("waits for a lock that names no process (an empty one) until it is old, and says what to remove", () => {
    const { dir, cleanup } = scratchDir({ "input.json": EMPTY, "amis.json.lock": "" });
    cleanups.push(cleanup);
    const result = runCli(merge, { cwd: dir, env: { CWS_TIME_SCALE: "0.05" } });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^⏳ amis\.json\.lock: the registry lock is held by a process it does not name since \S+ \(\d+ s ago\); waiting up to 3 s \(a lock that names no process is taken over once it is 120 s old\)\n/);
    expect(result.stderr).toContain("\n  → if no cws is running, remove the lock: rm amis.json.lock\n");
  });
});

describe("a lock file cws did not write, as the built CLI meets it", () => {
  it("registry merge: refused at once (exit 2), quoting it, with the rm that removes it; nothing written", () => {
    const { dir, cleanup } = scratchDir({ "input.json": EMPTY, "amis.json": EMPTY, "amis.json.lock": "garbage\n" });
    cleanups.push(cleanup);
    const started = Date.now();
    const result = runCli(merge, { cwd: dir, timeout: 15_000 });
    expect(result.stderr.split("\n").slice(0, 2)).toEqual([
      'error: amis.json.lock: the registry lock holds no lock record cws writes (it begins "garbage"), so cws cannot tell whether a process holds it or which',
      "  → if no cws is running, remove it: rm amis.json.lock",
    ]);
    expect(result.status).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readFileSync(join(dir, "amis.json.lock"), "utf8")).toBe("garbage\n");
    expect(readFileSync(join(dir, "amis.json"), "utf8")).toBe(EMPTY);
  });
});
