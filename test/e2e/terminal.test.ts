import { afterEach, describe, expect, it } from "vitest";
import { runOnTerminal, SPINNER_FRAMES, type TerminalRun } from "../helpers/terminal.js";
import { leftovers, startHarness, type Harness } from "./harness.js";

/**
 * `cws ami build` as a person runs it from a laptop: the built CLI through
 * bin/cws.js, on a real pseudo-terminal of a given size, against the
 * emulator. The pipe and CI runs elsewhere never load the spinners; these do.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function expectNothingLeft(h: Harness) {
  const left = leftovers(h.emulator);
  expect(left.liveInstances).toEqual([]);
  expect(left.buildSecurityGroups).toEqual([]);
  return left;
}

/** What is left on the screen: no spinner frame, and the cursor shown again after the last time it was hidden. */
function expectCleanScreen(run: TerminalRun) {
  expect(run.screen.filter((line) => SPINNER_FRAMES.test(line))).toEqual([]);
  const hidden = run.raw.lastIndexOf("\x1b[?25l");
  if (hidden >= 0) expect(run.raw.indexOf("\x1b[?25h", hidden)).toBeGreaterThan(hidden);
  expect(run.screen.join("\n")).not.toContain("internal error");
}

const STEP_LINES = [
  "✅ Account 123456789012, instance profile cws-ami-builder",
  "✅ Base AMI: ami-",
  "✅ Security group sg-",
  "✅ Instance launched: i-",
  "✅ Instance ready",
  "✅ Setup complete",
  "✅ All 3 tests passed",
  "✅ Instance generalized",
  "✅ AMI created: ami-",
  "✅ Registry updated: emu-basic.us-east-1.x86_64 = ami-",
];

describe("cws ami build on a terminal (pseudo-terminal, built CLI, emulator)", () => {
  it("draws spinners and leaves one line per step, in order, on a 100-column terminal", async () => {
    harness = await startHarness();
    const run = await runOnTerminal(["ami", "build", "emu-basic", "--architecture", "x86_64"], { cols: 100, rows: 40, cwd: harness.dir, env: harness.env });
    expect(run.status, run.screen.join("\n")).toBe(0);
    expect(run.raw).toMatch(SPINNER_FRAMES);
    expectCleanScreen(run);
    const screen = run.screen.join("\n");
    expect(screen).toContain("🏗️  Building AMI for template: emu-basic");
    let at = -1;
    for (const step of STEP_LINES) {
      const lines = run.screen.map((line, i) => [line, i] as const).filter(([line]) => line.startsWith(step));
      expect({ step, count: lines.length }).toEqual({ step, count: 1 });
      expect(lines[0]![1]).toBeGreaterThan(at);
      at = lines[0]![1];
    }
    expect(screen).toContain("🎉 Build complete!");
    expect(screen).toMatch(/AMI ID: ami-[0-9a-f]{17}/);
    expect(screen).toMatch(/🧹 Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    expectNothingLeft(harness);
  });

  it("shows a failing setup with its last lines and the failure, and cleans up (exit 1)", async () => {
    harness = await startHarness();
    const run = await runOnTerminal(["ami", "build", "emu-fail-setup", "--architecture", "x86_64"], { cols: 100, rows: 40, cwd: harness.dir, env: harness.env });
    expect(run.status, run.screen.join("\n")).toBe(1);
    expectCleanScreen(run);
    const screen = run.screen.join("\n");
    expect(screen).toContain("❌ Executing setup script failed: setup script exited with code 7");
    expect(screen).toContain("❌ Build failed (step: provision)");
    expect(screen).toContain("│ E: unable to locate package imaginary-package");
    expect(screen).toMatch(/🧹 Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    expectNothingLeft(harness);
  });

  it("stops on Ctrl-C during setup: cleans everything up, clears the spinner line, exits 130", async () => {
    harness = await startHarness();
    let pressed = false;
    const run = await runOnTerminal(["ami", "build", "emu-slow"], {
      cols: 100,
      rows: 40,
      cwd: harness.dir,
      env: harness.env,
      onOutput: (raw, type) => {
        if (!pressed && raw.includes("tick 5")) {
          pressed = true;
          type("\x03");
        }
      },
    });
    expect(pressed).toBe(true);
    expect(run.status, run.screen.join("\n")).toBe(130);
    expectCleanScreen(run);
    const screen = run.screen.join("\n");
    expect(screen).toContain("SIGINT: stopping the build and cleaning up");
    expect(screen).toContain("Build interrupted");
    expect(screen).toMatch(/🧹 Cleaned up: instance i-[0-9a-f]+, security group sg-[0-9a-f]+/);
    // The interrupted step's spinner text is not left behind as if it were still running.
    expect(run.screen.filter((line) => line.trim() === "Executing setup script...")).toEqual([]);
    expect(expectNothingLeft(harness).images).toEqual([]);
  });

  it("keeps the screen tidy on a 20-column terminal (long lines wrap, spinners redraw in place)", async () => {
    harness = await startHarness();
    const run = await runOnTerminal(["ami", "build", "emu-basic", "--architecture", "x86_64"], { cols: 20, rows: 40, cwd: harness.dir, env: harness.env });
    expect(run.status, run.screen.join("\n")).toBe(0);
    expect(run.raw).toMatch(SPINNER_FRAMES);
    expectCleanScreen(run);
    for (const step of STEP_LINES) {
      expect({ step, count: run.screen.filter((line) => line.startsWith(step)).length }).toEqual({ step, count: 1 });
    }
    // No half-erased copies of a spinner's text above the line it settled on.
    expect(run.screen.filter((line) => /^(Launching|Creating AMI|Running validation|Executing setup)/.test(line.trim()))).toEqual([]);
    expect(run.screen.join("\n")).toContain("🎉 Build complete!");
    expectNothingLeft(harness);
  });

  it("prints plain timestamped lines on a terminal of unknown width (0 columns), no spinners", async () => {
    harness = await startHarness();
    const run = await runOnTerminal(["ami", "build", "emu-basic", "--architecture", "x86_64"], { cols: 0, rows: 0, cwd: harness.dir, env: harness.env });
    expect(run.status, run.raw).toBe(0);
    expect(run.raw).not.toMatch(SPINNER_FRAMES);
    expect(run.screen.join("\n")).toMatch(/\[\d\d:\d\d:\d\d\] ⏳ Launching/);
    expect(run.screen.join("\n")).toContain("🎉 Build complete!");
    expectNothingLeft(harness);
  });
});
