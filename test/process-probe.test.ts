import { spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { ownerState } from "../src/process-owner.js";
import { processProbe, processStartTime, type ProcessProbe } from "../src/process-probe.js";

/** A probe that knows the processes it is told of: id → start time (undefined: running, start unknown). */
function fakeProbe(processes: Record<number, number | undefined>, options: { unknown?: number[]; noStartTimes?: boolean } = {}): ProcessProbe {
  return {
    pid: 1,
    exists: (pid) => (options.unknown?.includes(pid) ? undefined : pid in processes),
    ...(options.noStartTimes ? {} : { startedAt: (pid: number) => processes[pid] }),
  };
}

describe("ownerState", () => {
  const recorded = Date.parse("2026-11-28T08:00:00Z");

  it("is gone when no process has the id", () => {
    expect(ownerState(fakeProbe({}), 4242, recorded)).toBe("gone");
  });

  it("is running when the process started before it recorded itself (or within the boot time's whole second)", () => {
    expect(ownerState(fakeProbe({ 4242: recorded - 60_000 }), 4242, recorded)).toBe("running");
    expect(ownerState(fakeProbe({ 4242: recorded + 1_500 }), 4242, recorded)).toBe("running");
  });

  it("is reused when the process with that id started after the record was made", () => {
    expect(ownerState(fakeProbe({ 4242: recorded + 60_000 }), 4242, recorded)).toBe("reused");
  });

  it("counts a live id as running when the start time cannot be read", () => {
    expect(ownerState(fakeProbe({ 4242: undefined }), 4242, recorded)).toBe("running");
    expect(ownerState(fakeProbe({ 4242: recorded + 60_000 }, { noStartTimes: true }), 4242, recorded)).toBe("running");
  });

  it("is unknown when the probe cannot tell whether the process exists", () => {
    expect(ownerState(fakeProbe({ 4242: recorded }, { unknown: [4242] }), 4242, recorded)).toBe("unknown");
  });
});

describe("processProbe over the real process table", () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });
  const probe = processProbe(process, "test");

  it("sees this process and a live child as running, and an exited one as gone", () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(child);
    expect(ownerState(probe, process.pid, Date.now())).toBe("running");
    expect(ownerState(probe, child.pid!, Date.now())).toBe("running");
    const exited = spawnSync(process.execPath, ["-e", "0"]).pid!;
    expect(ownerState(probe, exited, Date.now())).toBe("gone");
  });

  it("tells a process started after the record by its start time, where /proc has it", () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(child);
    const started = processStartTime(child.pid!);
    if (started === undefined) return; // No /proc (macOS): nothing to read, and ownerState counts the id as running (above).
    expect(Math.abs(started - Date.now())).toBeLessThan(10_000);
    expect(ownerState(probe, child.pid!, Date.now() - 3_600_000)).toBe("reused");
  });
});
