import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { expectOnceInOrder } from "../helpers/screen.js";
import { runProgramOnTerminal, SPINNER_FRAMES, type TerminalRun } from "../helpers/terminal.js";

/**
 * build-all's live progress on a real pseudo-terminal (util-linux `script`,
 * replayed in @xterm/headless): a driver (fleet-progress.ts) runs six fake
 * targets through the reporter and the result writer the command uses, four
 * at a time, one failing, one skipped for it. What a person sees at the end:
 * each target's final line once, in order, whatever the width; no spinner,
 * no half-drawn line, the cursor back; the final table below.
 */
const DRIVER = [process.execPath, "--import", "tsx", join(ROOT, "test", "e2e", "fleet-progress.ts")];

const FINAL = [
  { symbol: "✔", label: "python-research/x86_64", text: /built: ami-0[0-9a-f]{16} in us-east-1, copied to 3 regions$/ },
  { symbol: "✖", label: "python-research/arm64", text: /failed: setup script exited with code 7$/ },
  { symbol: "✔", label: "r-research/x86_64", text: /up to date: ami-0[0-9a-f]{16} in us-east-1$/ },
  { symbol: "✔", label: "bioinformatics/x86_64", text: /built: ami-0[0-9a-f]{16} in us-east-1, copied to 3 regions$/ },
  { symbol: "✔", label: "bioinformatics/arm64", text: /built: ami-0[0-9a-f]{16} in us-east-1, copied to 3 regions$/ },
  { symbol: "-", label: "ml-gpu-with-a-long-name/arm64", text: /skipped: parent python-research\/arm64 failed$/ },
];

/** Nothing live is left: no spinner frame, no line of a target still running or waiting, the cursor shown after it was last hidden. */
function expectNothingLive(run: TerminalRun) {
  expect(run.screen.filter((line) => SPINNER_FRAMES.test(line))).toEqual([]);
  // A target's line in the state it had while live: waiting, or a step with no outcome.
  expect(run.screen.filter((line) => /^· \S+ .*waiting$/.test(line) || /^\S \S+\/(x86_64|arm64) +\d+s {2}(starting|Launching|Executing|Running validation|Creating AMI|Checking|Copying)/.test(line))).toEqual([]);
  const hidden = run.raw.lastIndexOf("\x1b[?25l");
  expect(hidden).toBeGreaterThanOrEqual(0);
  expect(run.raw.indexOf("\x1b[?25h", hidden)).toBeGreaterThan(hidden);
}

/** Each target's final line exactly once, in the targets' order, before the tally and the table. */
function expectFinalLines(run: TerminalRun): number {
  return expectOnceInOrder(run.screen, FINAL.map(({ symbol, label, text }) => ({ start: `${symbol} ${label} `, line: text })));
}

describe("build-all's progress on a terminal (pseudo-terminal, six targets)", () => {
  it.each([
    [100, 40],
    [40, 40],
    [20, 60],
  ])("at %i columns: live lines redrawn in place, then each final line once, the tally and the table", async (cols, rows) => {
    const run = await runProgramOnTerminal([...DRIVER, "run"], { cols, rows, timeoutMs: 60_000 });
    expect(run.status, run.screen.join("\n")).toBe(1);
    expect(run.raw).toMatch(SPINNER_FRAMES);
    expectNothingLive(run);
    const last = expectFinalLines(run);
    const tally = run.screen.findIndex((line) => line.startsWith("Finished: 12 built, 9 copied") || line.startsWith("Finished: 3 built, 9 copied"));
    expect(tally, run.screen.join("\n")).toBeGreaterThan(last);
    const header = run.screen.findIndex((line) => /^TEMPLATE\s+ARCH\s+REGION\s+AMI\s+RESULT\s+TIME\s+COST$/.test(line));
    expect(header).toBeGreaterThan(tally);
    expect(run.screen.filter((line) => /^python-research\s+x86_64\s+us-west-2\s+ami-0[0-9a-f]{16}\s+copied\s/.test(line))).toHaveLength(1);
    // The kept lines: once each, above the final lines.
    expect(run.screen.filter((line) => line.includes("python-research/arm64 │ E: unable to locate package imaginary-package"))).toHaveLength(1);
  });

  it("after the terminal is resized from 100 to 40 columns midway, redraws cleanly at the new width", async () => {
    const run = await runProgramOnTerminal([...DRIVER, "resize", "40"], { cols: 100, rows: 30, timeoutMs: 60_000 });
    expect(run.status, run.screen.join("\n")).toBe(1);
    expect(run.raw).toContain("\x1b[?25l");
    expectNothingLive(run);
    expectFinalLines(run);
  });

  it("Ctrl-C: the notice, the running targets marked cancelled, nothing live left, the cursor back, exit 130", async () => {
    let pressed = false;
    const run = await runProgramOnTerminal([...DRIVER, "interrupt"], {
      cols: 80,
      rows: 30,
      timeoutMs: 60_000,
      onOutput: (raw, type) => {
        if (!pressed && raw.includes("Executing setup script")) {
          pressed = true;
          type("\x03");
        }
      },
    });
    expect(pressed).toBe(true);
    expect(run.status, run.screen.join("\n")).toBe(130);
    expectNothingLive(run);
    expect(run.screen.filter((line) => line.includes("SIGINT: stopping every target and cleaning up"))).toHaveLength(1);
    const cancelled = run.screen.filter((line) => /^- \S+ +\d+s {2}cancelled: interrupted during: /.test(line));
    expect(cancelled.length).toBeGreaterThanOrEqual(1);
    expect(run.screen.some((line) => line.startsWith("Interrupted: "))).toBe(true);
  });
});
