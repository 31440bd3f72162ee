import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { FleetReporter, FleetSummary } from "../../src/fleet/reporter.js";
import { createFleetReporter } from "../../src/output/fleet-reporter.js";
import { charWidth, fitSegments, printable, textWidth } from "../../src/output/text-width.js";
import { expectOnceInOrder } from "../helpers/screen.js";
import { screenOf, SPINNER_FRAMES, type Resize } from "../helpers/terminal.js";

/** A terminal's stream as the reporter sees it: its size, resizable, and everything written to it. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  raw = "";
  readonly resizes: Resize[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  /** As a terminal's driver passes it on (ONLCR): a line feed starts the next line at its first column. */
  write(chunk: string) {
    this.raw += chunk.replace(/\n/g, "\r\n");
    return true;
  }
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.resizes.push({ at: this.raw.length, cols: columns, rows });
    this.emit("resize");
  }
  screen(): Promise<string[]> {
    return screenOf(this.raw, this.resizes[0] ? initialSize.get(this)!.cols : this.columns, this.resizes[0] ? initialSize.get(this)!.rows : this.rows, this.resizes);
  }
}
const initialSize = new WeakMap<FakeTerminal, { cols: number; rows: number }>();
function terminal(columns: number, rows: number): FakeTerminal {
  const t = new FakeTerminal(columns, rows);
  initialSize.set(t, { cols: columns, rows });
  return t;
}

const LABELS = ["python-research/x86_64", "python-research/arm64", "r-research/x86_64", "bioinformatics/x86_64", "bioinformatics/arm64", "ml-gpu-with-a-long-name/arm64"];

/** Six targets, four at a time, as build-all would drive the reporter: one fails, its child is skipped. Returns the summary it finishes with. */
function drive(reporter: FleetReporter, clock: { t: number }, between: (step: number) => void = () => {}): FleetSummary {
  let step = 0;
  const tick = (ms: number) => {
    clock.t += ms;
    between(step++);
  };
  LABELS.forEach((label) => reporter.targetQueued(label, label));
  for (const label of LABELS.slice(0, 4)) reporter.targetStarted(label, label);
  tick(1000);
  for (const label of LABELS.slice(0, 4)) reporter.targetStep(label, "Launching build instance");
  tick(5000);
  reporter.targetStep(LABELS[0]!, "Executing setup script: a step whose name is far longer than any terminal is wide, to be cut");
  reporter.log(LABELS[1]!, "setup script exited with code 7");
  reporter.targetDone(LABELS[1]!, { result: "failed", detail: "setup script exited with code 7" });
  reporter.targetStarted(LABELS[4]!, LABELS[4]!);
  tick(61_000);
  reporter.targetDone(LABELS[2]!, { result: "up-to-date", detail: "ami-0bbbbbbbbbbbbbbb1 in us-east-1" });
  reporter.targetDone(LABELS[5]!, { result: "skipped", detail: "parent python-research/arm64 failed" });
  reporter.targetStep(LABELS[0]!, "Copying to us-east-2, us-west-1, us-west-2");
  tick(2000);
  reporter.log(LABELS[0]!, "copied to us-west-2: ami-0aaaaaaaaaaaaaaa2");
  reporter.targetDone(LABELS[0]!, { result: "built", detail: "ami-0aaaaaaaaaaaaaaa1 in us-east-1, copied to 3 regions" });
  reporter.targetDone(LABELS[3]!, { result: "built", detail: "ami-0ccccccccccccccc1 in us-east-1" });
  tick(500);
  reporter.targetDone(LABELS[4]!, { result: "built", detail: "ami-0ddddddddddddddd1 in us-east-1" });
  return {
    durationSeconds: 69.5,
    prices: "p",
    rows: [
      { template: "python-research", architecture: "x86_64", region: "us-east-1", result: "built" },
      { template: "python-research", architecture: "arm64", region: "us-east-1", result: "failed" },
      { template: "r-research", architecture: "x86_64", region: "us-east-1", result: "up-to-date" },
      { template: "bioinformatics", architecture: "x86_64", region: "us-east-1", result: "built" },
      { template: "bioinformatics", architecture: "arm64", region: "us-east-1", result: "built" },
      { template: "ml-gpu-with-a-long-name", architecture: "arm64", region: "us-east-1", result: "skipped" },
    ],
  };
}

const FINAL_LINES = [
  { start: "✔ python-research/x86_64 ", line: /^✔ python-research\/x86_64 +1m 9s {2}built: ami-0aaaaaaaaaaaaaaa1 in us-east-1, copied to 3 regions$/ },
  { start: "✖ python-research/arm64 ", line: /^✖ python-research\/arm64 +6s {2}failed: setup script exited with code 7$/ },
  { start: "✔ r-research/x86_64 ", line: /^✔ r-research\/x86_64 +1m 7s {2}up to date: ami-0bbbbbbbbbbbbbbb1 in us-east-1$/ },
  { start: "✔ bioinformatics/x86_64 ", line: /^✔ bioinformatics\/x86_64 +1m 9s {2}built: ami-0ccccccccccccccc1 in us-east-1$/ },
  { start: "✔ bioinformatics/arm64 ", line: /^✔ bioinformatics\/arm64 +1m 4s {2}built: ami-0ddddddddddddddd1 in us-east-1$/ },
  { start: "- ml-gpu-with-a-long-name/arm64 ", line: /^- ml-gpu-with-a-long-name\/arm64 {2,}skipped: parent python-research\/arm64 failed$/ },
];

/** The screen at the end: each target's final line exactly once, in order, the kept lines above them, nothing live left over. */
function expectFinalScreen(screen: string[], raw: string) {
  const at = expectOnceInOrder(screen, FINAL_LINES);
  expect(screen.at(-1)).toBe("Finished: 3 built, 1 up to date, 1 failed, 1 skipped (6 images) in 1m 10s");
  expect(screen.filter((line) => SPINNER_FRAMES.test(line))).toEqual([]);
  expect(screen.filter((line) => /waiting|Launching build instance|Copying to/.test(line) && !line.includes("│"))).toEqual([]);
  // The kept lines, once each, above the block.
  expect(screen.filter((line) => line.includes("python-research/arm64 │ setup script exited with code 7"))).toHaveLength(1);
  expect(screen.filter((line) => line.includes("python-research/x86_64 │ copied to us-west-2"))).toHaveLength(1);
  expect(screen.findIndex((line) => line.includes("│ copied to us-west-2"))).toBeLessThan(at);
  // The cursor is shown again after it was last hidden.
  expect(raw.lastIndexOf("\x1b[?25h")).toBeGreaterThan(raw.lastIndexOf("\x1b[?25l"));
}

function live(stream: FakeTerminal, clock: { t: number }) {
  return createFleetReporter({ stream, color: 0, fancy: true, now: () => clock.t, redrawMs: 60_000 });
}

describe("live lines on a terminal (replayed in a terminal emulator)", () => {
  it.each([
    [100, 30],
    [40, 30],
    [20, 30],
  ])("at %i columns: one line per target, redrawn in place, never wrapped while live; each final line once", async (columns, rows) => {
    const stream = terminal(columns, rows);
    const clock = { t: 0 };
    const reporter = live(stream, clock);
    const snapshots: string[] = [];
    const summary = drive(reporter, clock, () => snapshots.push(stream.raw));
    reporter.finish(summary);
    for (const raw of snapshots) {
      const screen = await screenOf(raw, columns, rows);
      // While live every target's line fits: none was wrapped (screenOf joins wrapped rows). Kept lines (│) may wrap: they are never redrawn.
      expect(screen.filter((line) => textWidth(line) > columns && !line.includes("│"))).toEqual([]);
      // And the block is one line per target, each once.
      for (const label of LABELS) expect(screen.filter((line) => line.slice(2).startsWith(label.slice(0, Math.min(label.length, columns - 4)))).length, `${label} at ${columns}`).toBeLessThanOrEqual(columns >= 40 ? 1 : 2);
    }
    // Four running, two waiting.
    const started = await screenOf(snapshots[1]!, columns, rows);
    expect(started.filter((line) => SPINNER_FRAMES.test(line[0] ?? "")).length).toBe(4);
    expect(started.filter((line) => line.startsWith("· ")).length).toBe(2);
    // A long step is cut to the width.
    const long = (await screenOf(snapshots[2]!, columns, rows)).find((line) => line.includes("python-research/x86_64") || (columns === 20 && line.startsWith("⠴ python-research/")));
    if (columns === 100) {
      expect(long).toMatch(/^⠴ python-research\/x86_64 +6s {2}Executing setup script: a step whose name is far longer t…$/);
      expect(textWidth(long!)).toBe(99);
    }
    // Too narrow for the columns: packed, so the step still shows.
    if (columns === 40) expect(long).toBe("⠴ python-research/x86_64 6s  Executing…");
    if (columns === 20) expect(long).toBe("⠴ python-research/…");
    expectFinalScreen(await stream.screen(), stream.raw);
  });

  it("shows what fits on a short terminal, running targets first, and counts the rest; the final lines are all there", async () => {
    const stream = terminal(100, 5);
    const clock = { t: 0 };
    const reporter = live(stream, clock);
    const snapshots: string[] = [];
    const summary = drive(reporter, clock, () => snapshots.push(stream.raw));
    reporter.finish(summary);
    const mid = await screenOf(snapshots[0]!, 100, 5);
    const block = mid.slice(-4);
    expect(block.slice(0, 3).every((line) => SPINNER_FRAMES.test(line[0]!))).toBe(true);
    expect(block[3]).toBe("… and 3 more (1 running, 2 waiting)");
    expectFinalScreen(await stream.screen(), stream.raw);
  });

  it.each([
    [100, 40],
    [100, 20],
    [40, 100],
  ])("redraws cleanly after the terminal is resized from %i to %i columns", async (from, to) => {
    const stream = terminal(from, 30);
    const clock = { t: 0 };
    const reporter = live(stream, clock);
    const summary = drive(reporter, clock, (step) => {
      if (step === 1) stream.resize(to, 30);
    });
    reporter.finish(summary);
    const screen = await stream.screen();
    expectFinalScreen(screen, stream.raw);
  });

  it("close() without finish (an error, Ctrl-C before the summary): the lines stay, nothing is live, the cursor is back", async () => {
    const stream = terminal(60, 20);
    const clock = { t: 0 };
    const reporter = live(stream, clock);
    reporter.targetStarted("a", "r-research/x86_64");
    reporter.targetStep("a", "Creating AMI");
    reporter.targetQueued("b", "r-research/arm64");
    clock.t += 3000;
    reporter.notice("SIGINT: stopping every target and cleaning up");
    reporter.close();
    reporter.close();
    reporter.log("a", "after close: printed plainly");
    const screen = await stream.screen();
    expect(screen).toEqual([
      "⚠️  SIGINT: stopping every target and cleaning up",
      "■ r-research/x86_64      3s  stopped during: Creating AMI",
      "· r-research/arm64           not started",
      "r-research/x86_64 │ after close: printed plainly",
    ]);
    expect(stream.raw.lastIndexOf("\x1b[?25h")).toBeGreaterThan(stream.raw.lastIndexOf("\x1b[?25l"));
    expect(stream.listenerCount("resize")).toBe(0);
  });

  it("neutralises control characters in labels and steps: a step cannot move the cursor or clear the screen", async () => {
    const stream = terminal(80, 10);
    const reporter = live(stream, { t: 0 });
    reporter.targetStarted("a", "evil/x86_64");
    reporter.targetStep("a", "step\x1b[2J\x1b[H\nwith\rbreaks");
    reporter.close();
    expect(stream.raw).not.toContain("\x1b[2J");
    expect(await stream.screen()).toEqual(["■ evil/x86_64      0s  stopped during: step [2J [H with breaks"]);
  });
});

describe("plain lines in CI or a pipe", () => {
  it("prefixes every line with the time and the target; the tally ends it", () => {
    let out = "";
    const clock = { t: 0 };
    const reporter = createFleetReporter({
      stream: { write: (chunk: string) => (out += chunk) },
      color: 0,
      fancy: false,
      now: () => clock.t,
      clock: () => new Date(Date.UTC(2026, 10, 28, 10, 0, 0) + clock.t),
    });
    const summary = drive(reporter, clock);
    reporter.notice("one notice");
    reporter.finish(summary);
    const lines = out.trimEnd().split("\n");
    expect(lines.slice(0, 9)).toEqual([
      "[10:00:00] [python-research/x86_64] ⏳ started",
      "[10:00:00] [python-research/arm64] ⏳ started",
      "[10:00:00] [r-research/x86_64] ⏳ started",
      "[10:00:00] [bioinformatics/x86_64] ⏳ started",
      "[10:00:01] [python-research/x86_64] Launching build instance",
      "[10:00:01] [python-research/arm64] Launching build instance",
      "[10:00:01] [r-research/x86_64] Launching build instance",
      "[10:00:01] [bioinformatics/x86_64] Launching build instance",
      "[10:00:06] [python-research/x86_64] Executing setup script: a step whose name is far longer than any terminal is wide, to be cut",
    ]);
    expect(lines).toContain("[10:00:06] [python-research/arm64] ❌ failed: setup script exited with code 7 (6s)");
    expect(lines).toContain("[10:01:07] [r-research/x86_64] ✅ up to date: ami-0bbbbbbbbbbbbbbb1 in us-east-1 (1m 7s)");
    expect(lines).toContain("[10:01:07] [ml-gpu-with-a-long-name/arm64] ⏭️  skipped: parent python-research/arm64 failed");
    expect(lines).toContain("[10:01:09] [python-research/x86_64] copied to us-west-2: ami-0aaaaaaaaaaaaaaa2");
    expect(lines.at(-2)).toBe("[10:01:09] ⚠️  one notice");
    expect(lines.at(-1)).toBe("[10:01:09] Finished: 3 built, 1 up to date, 1 failed, 1 skipped (6 images) in 1m 10s");
    expect(out).not.toContain("\x1b");
  });
});

describe("text width", () => {
  it("counts wide characters and emoji as two columns, combining marks as none", () => {
    expect(textWidth("abc")).toBe(3);
    expect(textWidth("日本")).toBe(4);
    expect(textWidth("✅")).toBe(2);
    expect(textWidth("e\u0301")).toBe(1);
    expect(charWidth("\uFE0F")).toBe(0);
  });

  it("cuts to a width with an ellipsis, never in the middle of a wide character, styling after the cut", () => {
    const star = (text: string) => `*${text}*`;
    expect(fitSegments([{ text: "hello " }, { text: "world", style: star }], 20)).toBe("hello *world*");
    expect(fitSegments([{ text: "hello " }, { text: "world", style: star }], 8)).toBe("hello *w*…");
    expect(fitSegments([{ text: "日本語" }], 4)).toBe("日…");
    expect(textWidth(fitSegments([{ text: "日本語" }], 4))).toBeLessThanOrEqual(4);
    expect(fitSegments([{ text: "abc" }], 0)).toBe("");
  });

  it("replaces control characters", () => {
    expect(printable("a\x1b[31mb\nc\td\x7f")).toBe("a [31mb c d ");
  });
});
