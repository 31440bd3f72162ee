import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runOnTerminal, waitForExit } from "../helpers/terminal.js";
import { FLEET_REGIONS, expectEveryRegionClean, startFleetHarness } from "./fleet-harness.js";
import { startHarness, type Harness } from "./harness.js";

/**
 * The terminal closes mid-build (the window shut, SSH dropped): the kernel
 * sends SIGHUP and every later write to the terminal fails (EIO). build and
 * build-all stop as on Ctrl-C and clean up all the same, with nobody left to
 * read what they say. Run on a real pseudo-terminal that is then closed;
 * what counts is what the emulator has left once cws has exited.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Run `args` on a terminal, close it when `when` shows on it, and wait for cws to end. */
async function hangUpWhen(h: Harness, args: string[], when: (raw: string) => boolean): Promise<void> {
  let pids: number[] | undefined;
  await runOnTerminal(args, {
    cols: 100,
    rows: 30,
    cwd: h.dir,
    env: h.env,
    timeoutMs: 60_000,
    onOutput: (raw, _type, hangUp) => {
      if (pids === undefined && when(raw)) pids = hangUp();
    },
  });
  expect(pids, "the terminal was closed while cws ran").toBeDefined();
  expect(pids!.length).toBe(1);
  expect(await waitForExit(pids!, 45_000), "cws ended after its terminal closed").toBe(true);
}

/** The registry as it is on disk: absent, or whole (never half written), and its lock gone. */
function expectRegistryWhole(h: Harness): void {
  const file = join(h.dir, "registry", "amis.json");
  if (existsSync(file)) expect(() => JSON.parse(readFileSync(file, "utf8")) as unknown).not.toThrow();
  expect(existsSync(`${file}.lock`)).toBe(false);
}

describe("the terminal closes mid-build (SIGHUP, then EIO on every write)", () => {
  it("cws ami build: the instance terminated, the security group deleted, no image left", { timeout: 90_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    await hangUpWhen(h, ["ami", "build", "emu-slow"], (raw) => raw.includes("tick 5"));
    expectEveryRegionClean(h, ["us-east-1"]);
    expect(h.emulator.instances("us-east-1").map((i) => i.state)).toEqual(["terminated"]);
    expectRegistryWhole(h);
  });

  it("cws ami build-all: every build stopped and cleaned up, every unfinished copy removed, in every region", { timeout: 90_000 }, async () => {
    // Copies that take seconds: pending when the terminal closes.
    harness = await startFleetHarness({ latencies: { copyImageBase: 1500 } });
    const h = harness;
    // On a terminal the steps show on each target's live line: a copy has started, and the arm64 build is still at work.
    await hangUpWhen(h, ["ami", "build-all", "fleet-other", "fleet-base", "--concurrency", "8"], (raw) => /copying ami-[0-9a-f]+ from us-east-1 as ami-/.test(raw));
    expect(h.emulator.stats.calls["ec2:CopyImage"] ?? 0).toBeGreaterThanOrEqual(1);
    expectEveryRegionClean(h, FLEET_REGIONS);
    // A copy left half made was deregistered, not left pending.
    expect(h.emulator.stats.calls["ec2:DeregisterImage"] ?? 0).toBeGreaterThanOrEqual(1);
    expectRegistryWhole(h);
  });
});
