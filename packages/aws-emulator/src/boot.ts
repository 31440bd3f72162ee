import { closeSync, openSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { refusal } from "./sandbox.js";
import type { Boot, Instance, World } from "./state.js";

/**
 * What an instance starts at boot. A real instance runs the services its image
 * enabled (systemd units, rc scripts); a process that a script started by hand
 * lives only in that instance's memory and is not in an image made from it.
 * The emulator's smallest faithful notion of "enabled at boot": the executable
 * files of `/etc/cws-emulator-boot.d`, run as root in name order (run-parts'
 * rule: names of letters, digits, `_` and `-` only, so `x.dpkg-old` or
 * `README.md` are not run) each time the instance boots, that is when it first
 * becomes running and after a CreateImage reboot. They run confined like a
 * command, each under a 90-second limit (systemd's default start timeout); a
 * service is meant to start a background process and return, as from rc.local.
 * Output goes to `/run/cws-emulator/boot.log`, which, like all of `/run`, an
 * image does not carry. The SSM agent registers (and, after a reboot, comes
 * back Online) only once the boot scripts have ended, so a command never races
 * them.
 */
export const BOOT_DIR = "/etc/cws-emulator-boot.d";
export const BOOT_LOG = "/run/cws-emulator/boot.log";
/** Real seconds a boot script may run: systemd's DefaultTimeoutStartSec. */
export const BOOT_SCRIPT_TIMEOUT_SECONDS = 90;

const RUN_PARTS_NAME = /^[A-Za-z0-9_-]+$/;

/** A boot that may start at `at` (simulated seconds), once `after` (say /run being emptied by a reboot) is done. */
export function newBoot(at: number, after?: Promise<void>): Boot {
  return { at, started: false, ...(after ? { after } : {}) };
}

/** The boot has run its scripts (or had none), so the agent may come online. */
export function bootDone(world: World, inst: Instance): boolean {
  return inst.boot === undefined || (inst.boot.doneAt !== undefined && inst.boot.doneAt <= world.clock.now());
}

/** Starts the instance's boot scripts once their time has come; the boot's `doneAt` is set when they have all ended. */
export function startBootIfDue(world: World, inst: Instance): void {
  const boot = inst.boot;
  if (!boot || boot.started || inst.state !== "running" || boot.at > world.clock.now()) return;
  boot.started = true;
  void runBootScripts(world, inst)
    .catch((err: unknown) => world.log(`instance ${inst.id}: boot scripts: ${(err as Error).message}`))
    .finally(() => {
      boot.doneAt = world.clock.now();
    });
}

/** The boot scripts to run, in order: executable regular files with run-parts names, as host paths. */
async function bootScripts(world: World, inst: Instance): Promise<string[]> {
  const dir = world.sandbox.resolveInstancePath(inst.root, BOOT_DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  const scripts: string[] = [];
  for (const name of names.filter((n) => RUN_PARTS_NAME.test(n)).sort()) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (info?.isFile() && (info.mode & 0o111) !== 0) scripts.push(name);
  }
  return scripts;
}

async function runBootScripts(world: World, inst: Instance): Promise<void> {
  await inst.treePromise;
  await inst.boot?.after;
  if (world.sandbox.stopping) return;
  const scripts = await bootScripts(world, inst);
  // Nothing enabled: nothing to run (and no process to start).
  if (scripts.length === 0) return;
  const log = world.sandbox.resolveInstancePath(inst.root, BOOT_LOG);
  await mkdir(path.dirname(log), { recursive: true });
  const lines: string[] = [];
  const runnable: string[] = [];
  for (const name of scripts) {
    const file = `${BOOT_DIR}/${name}`;
    const refused = refusal(await readFile(world.sandbox.resolveInstancePath(inst.root, file), "utf8").catch(() => ""));
    if (refused) lines.push(`cws-emulator boot: ${file} was not run: ${refused}`);
    else runnable.push(file);
  }
  await writeFile(log, lines.map((line) => `${line}\n`).join(""));
  if (runnable.length === 0) return;
  const confinement = await world.sandbox.probe();
  if (!confinement.ok) {
    await writeFile(log, `cws-emulator boot: cannot confine the boot scripts, so none was run: ${confinement.reason}\n`, { flag: "a" });
    return;
  }
  const driver = "/run/cws-emulator/boot.sh";
  await writeFile(
    world.sandbox.resolveInstancePath(inst.root, driver),
    [
      ...runnable.flatMap((file) => [
        `echo "cws-emulator boot: ${file}"`,
        `timeout --kill-after=5 ${BOOT_SCRIPT_TIMEOUT_SECONDS} ${file} < /dev/null`,
        `rc=$?; [ "$rc" -eq 0 ] || echo "cws-emulator boot: ${file} exited with $rc"`,
      ]),
      "exit 0",
    ].join("\n") + "\n",
    { mode: 0o700 },
  );
  if (world.sandbox.stopping) return;
  const fd = openSync(log, "a");
  let child;
  try {
    child = world.sandbox.spawnCommand(
      { instanceId: inst.id, root: inst.root, hostname: inst.hostname, cwd: "/", script: driver, shell: "bash", stdoutFd: fd, stderrFd: fd },
      confinement.flags,
    );
  } finally {
    closeSync(fd);
  }
  await new Promise<void>((resolve) => {
    child.on("error", () => resolve());
    child.on("exit", () => resolve());
  });
}
