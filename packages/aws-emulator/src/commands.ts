import type { ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { refreshInstance } from "./lifecycle.js";
import { refusal } from "./sandbox.js";
import type { Command, Invocation, InvocationStatus, RegionState, World } from "./state.js";

/** Real SSM keeps only the first 24,000 characters of stdout and 8,000 of stderr in GetCommandInvocation. */
export const MAX_STDOUT_CHARS = 24_000;
export const MAX_STDERR_CHARS = 8_000;

/** Where the SSM agent keeps a command's script and output on the instance. */
export function orchestrationDir(instanceId: string, commandId: string): string {
  return `/var/lib/amazon/ssm/${instanceId}/document/orchestration/${commandId}/awsrunShellScript/0.awsrunShellScript`;
}

/** Starts the invocation's script once its Pending time is over (the only real timer in the emulator). */
export function scheduleInvocation(world: World, region: RegionState, cmd: Command, inv: Invocation): void {
  const delay = world.clock.realMs(inv.startAt - world.clock.now());
  inv.startTimer = setTimeout(() => void begin(world, region, cmd, inv), delay);
  inv.startTimer.unref();
}

/** Called on reads: starts an invocation whose start time has passed (say after `clock.advance`). */
export function refreshInvocation(world: World, region: RegionState, cmd: Command, inv: Invocation): void {
  if (!inv.started && !inv.finished && world.clock.now() >= inv.startAt) void begin(world, region, cmd, inv);
}

function stopped(inv: Invocation): boolean {
  return inv.finished || inv.cancelled === true || inv.interruptedBy !== undefined;
}

async function begin(world: World, region: RegionState, cmd: Command, inv: Invocation): Promise<void> {
  if (inv.started || inv.finished) return;
  inv.started = true;
  clearTimeout(inv.startTimer);
  inv.status = "InProgress";
  inv.statusDetails = "InProgress";
  inv.startedSim = world.clock.now();
  try {
    const inst = region.instances.get(inv.instanceId);
    if (!inst) return finish(world, inv, { code: 1, stdout: "", stderr: "cws emulator: the instance is gone\n" });
    await inst.treePromise.catch(() => undefined);
    if (stopped(inv)) return settleStopped(world, inv);
    refreshInstance(world, inst);
    if (inst.treeError || inst.state !== "running") {
      return finish(world, inv, { code: 1, stdout: "", stderr: `cws emulator: instance ${inst.id} is ${inst.state}, the command was not delivered\n` }, "Failed", "Undeliverable");
    }
    const refused = refusal(cmd.script);
    if (refused) return finish(world, inv, { code: 127, stdout: "", stderr: refused + "\n" });
    const confinement = await world.sandbox.probe();
    if (!confinement.ok) {
      return finish(world, inv, {
        code: 126,
        stdout: "",
        stderr: `cws emulator: cannot confine this command, so it was NOT run (it would have run on the host itself): ${confinement.reason}\n`,
      });
    }
    if (stopped(inv)) return settleStopped(world, inv);

    const inside = orchestrationDir(inst.id, cmd.id);
    const hostDir = path.join(inst.root, inside);
    await mkdir(hostDir, { recursive: true });
    await writeFile(path.join(hostDir, "_script.sh"), cmd.script, { mode: 0o700 });
    if (stopped(inv)) return settleStopped(world, inv);

    const outFd = openSync(path.join(hostDir, "stdout"), "w");
    const errFd = openSync(path.join(hostDir, "stderr"), "w");
    let child: ChildProcess;
    try {
      child = world.sandbox.spawnCommand(
        {
          instanceId: inst.id,
          root: inst.root,
          hostname: inst.hostname,
          cwd: cmd.workingDirectory ?? inside,
          script: `${inside}/_script.sh`,
          shell: world.options.shell,
          stdoutFd: outFd,
          stderrFd: errFd,
        },
        confinement.flags,
      );
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
    inv.process = child;
    const timeoutMs = world.options.scaleExecutionTimeout ? world.clock.realMs(cmd.executionTimeout) : cmd.executionTimeout * 1000;
    inv.timeoutTimer = setTimeout(() => {
      inv.timedOut = true;
      killGroup(child);
    }, timeoutMs);
    inv.timeoutTimer.unref();
    child.on("error", (err) => {
      if (!inv.finished) finish(world, inv, { code: 127, stdout: "", stderr: `cws emulator: could not start the command: ${err.message}\n` });
    });
    child.on("exit", (code, signal) => {
      const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
      void Promise.all([
        readFile(path.join(hostDir, "stdout"), "utf8").catch(() => ""),
        readFile(path.join(hostDir, "stderr"), "utf8").catch(() => ""),
      ]).then(([stdout, stderr]) => finish(world, inv, { code: exitCode, stdout, stderr }));
    });
  } catch (err) {
    finish(world, inv, { code: 1, stdout: "", stderr: `cws emulator: ${(err as Error).message}\n` });
  }
}

function settleStopped(world: World, inv: Invocation): void {
  if (inv.finished) return;
  finish(world, inv, { code: -1, stdout: "", stderr: "" });
}

function finish(
  world: World,
  inv: Invocation,
  result: { code: number; stdout: string; stderr: string },
  forcedStatus?: InvocationStatus,
  forcedDetails?: string,
): void {
  if (inv.finished) return;
  inv.finished = true;
  clearTimeout(inv.startTimer);
  clearTimeout(inv.timeoutTimer);
  inv.process = undefined;
  inv.endedSim = world.clock.now();
  inv.stdout = result.stdout;
  inv.stderr = result.stderr;
  inv.responseCode = result.code;
  if (forcedStatus) {
    inv.status = forcedStatus;
    inv.statusDetails = forcedDetails ?? forcedStatus;
  } else if (inv.cancelled) {
    inv.status = "Cancelled";
    inv.statusDetails = "Cancelled";
  } else if (inv.timedOut) {
    inv.status = "TimedOut";
    inv.statusDetails = "ExecutionTimedOut";
  } else if (inv.interruptedBy) {
    inv.status = "Failed";
    inv.statusDetails = "Failed";
    inv.stderr += `\ncws emulator: the instance was ${inv.interruptedBy} while the command ran\n`;
  } else if (result.code === 0) {
    inv.status = "Success";
    inv.statusDetails = "Success";
  } else {
    inv.status = "Failed";
    inv.statusDetails = "Failed";
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** CancelCommand: stops a pending or running invocation. Returns false when it had already finished. */
export function cancelInvocation(world: World, inv: Invocation): boolean {
  if (inv.finished) return false;
  inv.cancelled = true;
  if (!inv.started) {
    finish(world, inv, { code: -1, stdout: "", stderr: "" });
  } else if (inv.process) {
    killGroup(inv.process);
  }
  return true;
}

/** The instance is stopping, terminating or rebooting: its unfinished invocations fail and all its processes die. */
export function interruptInstance(world: World, region: RegionState, instanceId: string, reason: string): void {
  for (const cmd of region.commands.values()) {
    const inv = cmd.invocations.get(instanceId);
    if (!inv || inv.finished) continue;
    inv.interruptedBy = reason;
    if (!inv.started) finish(world, inv, { code: -1, stdout: "", stderr: "" }, "Failed", "Undeliverable");
    else if (inv.process) killGroup(inv.process);
  }
  world.sandbox.killInstanceProcesses(instanceId);
}

/** Elapsed time in the ISO-8601 duration form SSM uses, e.g. "PT1.234S". */
export function isoDuration(simSeconds: number): string {
  return `PT${Math.max(0, simSeconds).toFixed(3)}S`;
}
