import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateImageCommand } from "@aws-sdk/client-ec2";
import { SendCommandCommand } from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { preferredScratchDir } from "../src/sandbox.js";
import { clientsFor, launch, launchOnline, sleep, waitFor } from "./helpers.js";

/**
 * The stand-alone emulator (`npm start -w @cws/aws-emulator`, src/main.ts)
 * removes its scratch folder however it is stopped: a signal before it has
 * started, while idle, while it copies an instance's file tree, while a
 * script runs on an instance, while it makes an image; one signal or several;
 * to it alone or to its whole process group with npm. Each run gets a scratch
 * parent of its own (in /dev/shm when there is one, as by default), which must
 * be empty afterwards, and no process of the run may outlive it.
 */

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
const parents: string[] = [];
afterEach(() => {
  for (const parent of parents.splice(0)) rmSync(parent, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  parent: string;
  /** Resolves with the URL once the emulator listens. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startMain(options: { viaNpm?: boolean } = {}): Started {
  const parent = mkdtempSync(join(preferredScratchDir() ?? tmpdir(), "cws-emu-shutdown-"));
  parents.push(parent);
  const args = ["--port", "0", "--scratch-dir", parent, "--ms-per-sim-second", "20"];
  const child = options.viaNpm
    ? spawn("npm", ["start", "--silent", "--", ...args], { cwd: PACKAGE, stdio: ["ignore", "pipe", "pipe"], detached: true })
    : spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { cwd: PACKAGE, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const url = new Promise<string>((resolve) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const line = /^(http:\/\/\S+)\n/m.exec(stdout);
      if (line) resolve(line[1]!);
    });
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => setTimeout(() => resolve({ code, signal, stderr }), 50)),
  );
  return { child, parent, url, exited };
}

/** What a stopped emulator left: entries in its scratch parent, and processes that carry its scratch path or its marker. */
function leftovers(parent: string, marker?: string): { files: string[]; processes: string[] } {
  const processes: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ");
      if (cmdline.includes(parent) || (marker !== undefined && cmdline.includes(marker))) processes.push(`${entry} ${cmdline}`);
    } catch {
      // gone
    }
  }
  return { files: readdirSync(parent), processes };
}

/** What is left once the dust settles: a killed process takes a moment to vanish, an exiting parent may not wait for its child. */
async function settledLeftovers(parent: string, marker?: string): Promise<{ files: string[]; processes: string[] }> {
  await waitFor(() => {
    const left = leftovers(parent, marker);
    return left.files.length === 0 && left.processes.length === 0 ? true : undefined;
  }, 5_000).catch(() => undefined);
  return leftovers(parent, marker);
}

async function expectCleanExit(started: Started, marker?: string): Promise<void> {
  const { code, signal, stderr } = await started.exited;
  expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
  // Removed before the process ended, not by something that outlived it.
  expect(leftovers(started.parent, marker).files, stderr).toEqual([]);
  expect(stderr).not.toMatch(/Error|at .*\.ts:\d+/);
  // Processes of its own (instance scripts, tree copies) were killed before the folder was removed.
  expect(await settledLeftovers(started.parent, marker)).toEqual({ files: [], processes: [] });
}

/** A client of the emulator, the way cws is one. */
function clients(url: string) {
  return clientsFor({ url } as Emulator);
}

describe("stopping the stand-alone emulator removes its scratch folder", { timeout: 60_000 }, () => {
  it("on SIGTERM or SIGINT while idle, and says what it removes", async () => {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      const started = startMain();
      await started.url;
      expect(readdirSync(started.parent)).toHaveLength(1);
      started.child.kill(signal);
      await expectCleanExit(started);
      expect((await started.exited).stderr).toContain(`${signal}: 0 calls`);
    }
  });

  it("on a signal before it has started, and on several signals at once", async () => {
    // Before Node has run a line of it (the signal's default action ends it, with nothing made yet), while
    // the module loads, and while the folder is being made: whatever the moment, nothing is left behind.
    for (const delay of [0, 100, 250, 400, 600]) {
      const early = startMain();
      await sleep(delay);
      early.child.kill("SIGTERM");
      const { code, signal, stderr } = await early.exited;
      expect(code === 0 || signal === "SIGTERM", `after ${delay} ms: ${code} ${signal} ${stderr}`).toBe(true);
      expect(stderr, `after ${delay} ms`).not.toMatch(/Error|at .*\.ts:\d+/);
      expect(await settledLeftovers(early.parent), `after ${delay} ms`).toEqual({ files: [], processes: [] });
    }

    const twice = startMain();
    await twice.url;
    for (const signal of ["SIGTERM", "SIGINT", "SIGTERM"] as const) twice.child.kill(signal);
    await expectCleanExit(twice);
  });

  it("while it copies a new instance's files, while a script runs on it, and while it makes an image", async () => {
    // Right after RunInstances: the copy of /etc into the instance's tree is under way.
    const copying = startMain();
    await launch(clients(await copying.url));
    copying.child.kill("SIGTERM");
    await expectCleanExit(copying);

    // A script still running on the instance (its process must not outlive the emulator).
    const marker = `sleep ${3000 + Math.floor(Math.random() * 1000)}`;
    const running = startMain();
    const c = clients(await running.url);
    const instanceId = await launchOnline(c);
    await c.ssm.send(new SendCommandCommand({ InstanceIds: [instanceId], DocumentName: "AWS-RunShellScript", Parameters: { commands: [marker] } }));
    await waitFor(() => (leftovers(running.parent, marker).processes.length > 0 ? true : undefined), 10_000);
    running.child.kill("SIGTERM");
    await expectCleanExit(running, marker);

    // CreateImage: the instance's trees are being copied into the image's.
    const imaging = startMain();
    const i = clients(await imaging.url);
    const source = await launchOnline(i);
    await i.ec2.send(new CreateImageCommand({ InstanceId: source, Name: "stopped-mid-copy", NoReboot: true }));
    imaging.child.kill("SIGTERM");
    await expectCleanExit(imaging);
  });

  it("when its whole process group, npm included, gets SIGTERM (npm start)", async () => {
    const started = startMain({ viaNpm: true });
    const c = clients(await started.url);
    await launch(c);
    process.kill(-started.child.pid!, "SIGTERM");
    const { signal, code, stderr } = await started.exited;
    // npm's own status does not matter here; what the emulator leaves does.
    expect(signal === null || signal === "SIGTERM", `${code} ${signal} ${stderr}`).toBe(true);
    expect(await settledLeftovers(started.parent)).toEqual({ files: [], processes: [] });
  });
});
