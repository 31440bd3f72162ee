import { Chalk, type ChalkInstance } from "chalk";
import type { OutputStream } from "../cli/io.js";
import { formatDuration } from "../duration.js";
import { countResults, describeCounts, resultWords, type FleetReporter, type FleetTally, type TargetOutcome, type TargetResult } from "../fleet/reporter.js";
import { fitSegments, printable, textWidth, type Segment } from "./text-width.js";

/**
 * build-all's progress on stderr. On an interactive terminal outside CI, one
 * live line per target (its state, elapsed time and current step), redrawn in
 * place; everywhere else (CI, a pipe, a file) plain lines prefixed with the
 * target, timestamped as the build's are, so a log of many builds at once
 * still reads target by target. Chosen as the build's reporter is
 * (src/cli/io.ts: fancyProgress).
 */
export interface FleetReporterOptions {
  stream: OutputStream;
  color: 0 | 1 | 2 | 3;
  /** Live lines: only on an interactive terminal of known width outside CI. */
  fancy: boolean;
  /** Milliseconds, for elapsed times. */
  now?: () => number;
  /** For the plain lines' timestamps. */
  clock?: () => Date;
  /** Milliseconds between redraws of the live lines (spinner frames, elapsed times). */
  redrawMs?: number;
}

export function createFleetReporter(options: FleetReporterOptions): FleetReporter {
  const chalk = new Chalk({ level: options.color });
  const now = options.now ?? (() => Date.now());
  return options.fancy
    ? new LiveFleetReporter(chalk, options.stream, now, options.redrawMs ?? 100)
    : new PlainFleetReporter(chalk, options.stream, now, options.clock ?? (() => new Date()));
}

type State = "queued" | "running" | "done";

interface Target {
  id: string;
  label: string;
  state: State;
  step?: string;
  startedAt?: number;
  endedAt?: number;
  outcome?: TargetOutcome;
}

/** The targets as both reporters track them: in the order they were first named. */
class Targets {
  private readonly byId = new Map<string, Target>();
  constructor(private readonly now: () => number) {}
  get all(): Target[] {
    return [...this.byId.values()];
  }
  /** The target, made known under `label` if it is new (a call for an unknown id is shown under its id). */
  at(id: string, label?: string): Target {
    let target = this.byId.get(id);
    if (target === undefined) {
      target = { id, label: label ?? id, state: "queued" };
      this.byId.set(id, target);
    } else if (label !== undefined) target.label = label;
    return target;
  }
  start(id: string, label: string): Target {
    const target = this.at(id, label);
    target.state = "running";
    target.startedAt = this.now();
    return target;
  }
  done(id: string, outcome: TargetOutcome): Target {
    const target = this.at(id);
    target.state = "done";
    target.outcome = outcome;
    target.endedAt = this.now();
    return target;
  }
  /** Elapsed time so far or in all, as shown; empty for a target that never started. */
  elapsed(target: Target): string {
    return target.startedAt === undefined ? "" : formatDuration(((target.endedAt ?? this.now()) - target.startedAt) / 1000);
  }
  get running(): boolean {
    return this.all.some((target) => target.state === "running");
  }
}

function outcomeText(outcome: TargetOutcome): string {
  return `${resultWords(outcome.result)}${outcome.detail ? `: ${outcome.detail}` : ""}`;
}

const SUCCEEDED: ReadonlySet<TargetResult> = new Set(["built", "copied", "up-to-date", "validated"]);

function tally(summary: FleetTally): string {
  return `${summary.interrupted ? "Interrupted" : "Finished"}: ${describeCounts(countResults(summary.rows))} (${summary.rows.length} image${summary.rows.length === 1 ? "" : "s"}) in ${formatDuration(summary.durationSeconds)}`;
}

class PlainFleetReporter implements FleetReporter {
  private readonly targets: Targets;
  constructor(
    private readonly chalk: ChalkInstance,
    private readonly out: OutputStream,
    now: () => number,
    private readonly clock: () => Date,
  ) {
    this.targets = new Targets(now);
  }
  private line(label: string | undefined, text: string) {
    const stamp = this.chalk.dim(`[${this.clock().toISOString().slice(11, 19)}]`);
    const prefix = label === undefined ? "" : `${this.chalk.bold(`[${label}]`)} `;
    for (const part of text.split("\n")) this.out.write(`${stamp} ${prefix}${part}\n`);
  }
  targetQueued(id: string, label: string) {
    this.targets.at(id, label);
  }
  targetStarted(id: string, label: string) {
    this.targets.start(id, label);
    this.line(label, "⏳ started");
  }
  targetStep(id: string, step: string) {
    this.line(this.targets.at(id).label, step);
  }
  log(id: string, line: string) {
    this.line(this.targets.at(id).label, line);
  }
  notice(line: string) {
    this.line(undefined, `⚠️  ${this.chalk.yellow(line)}`);
  }
  targetDone(id: string, outcome: TargetOutcome) {
    const target = this.targets.done(id, outcome);
    const symbol = SUCCEEDED.has(outcome.result) ? "✅" : outcome.result === "failed" ? "❌" : "⏭️ ";
    const text = outcome.result === "failed" ? this.chalk.red(outcomeText(outcome)) : outcomeText(outcome);
    const elapsed = this.targets.elapsed(target);
    this.line(target.label, `${symbol} ${text}${elapsed ? ` ${this.chalk.dim(`(${elapsed})`)}` : ""}`);
  }
  finish(summary: FleetTally) {
    this.line(undefined, tally(summary));
  }
  close() {}
}

/** ora's "dots", the build's spinner. */
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
/** Back to the first column, then erase to the end of the screen. */
const ERASE_DOWN = "\r\x1b[J";
/** A label column wider than this is cut, so the steps stay in view. */
const MAX_LABEL_COLUMNS = 40;
/** Below this many columns left for the step, the columns are given up (see targetLine). */
const MIN_STEP_COLUMNS = 12;
/** A width to use when the stream reports none. */
const FALLBACK = { columns: 80, rows: 24 };

/**
 * One line per target at the bottom of the terminal, redrawn in place: the
 * cursor goes up over the block, erases it and draws it again, in one write.
 * Every line is cut to one column less than the terminal is wide, so no line
 * ever wraps and the block is exactly as many rows as it has lines. After the
 * terminal is resized, the lines drawn at the old width take
 * ceil(width / columns) rows each (terminals reflow them), and the cursor goes
 * up that many. A block taller than the terminal would scroll out of reach of
 * the cursor, so it shows what fits, running targets first, and says how many
 * more there are. Lines to keep (log, notice) are written above the block. At
 * the end (finish, or close after an error or Ctrl-C) the block is drawn a
 * last time in full, without spinners, and the cursor is shown again.
 */
class LiveFleetReporter implements FleetReporter {
  private readonly targets: Targets;
  /** The widths of the block's lines as last drawn; empty when nothing is drawn below the output. */
  private drawn: number[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private cursorHidden = false;
  /** Asking the terminal its size (size) emits 'resize': that redraw is the one under way. */
  private refreshing = false;
  private readonly onResize = () => {
    if (!this.refreshing) this.render();
  };

  constructor(
    private readonly chalk: ChalkInstance,
    private readonly out: OutputStream,
    private readonly now: () => number,
    private readonly redrawMs: number,
  ) {
    this.targets = new Targets(now);
    (out as Partial<NodeJS.EventEmitter>).on?.("resize", this.onResize);
  }

  /**
   * The terminal's size now. Node updates a terminal stream's `columns` only
   * once it has handled SIGWINCH, and the terminal has reflowed its lines
   * before that: a redraw in between would measure the block at the old width
   * and leave half of it behind. So a terminal stream is asked first
   * (`_refreshSize`, Node's own ioctl behind `columns`, which emits 'resize'
   * when the size changed; see docs/decisions.md §37).
   */
  private get size(): { columns: number; rows: number } {
    const stream = this.out as OutputStream & { _refreshSize?: () => void };
    if (typeof stream._refreshSize === "function") {
      this.refreshing = true;
      try {
        stream._refreshSize();
      } catch {
        // Not a terminal after all: its own figures, or the fallback.
      } finally {
        this.refreshing = false;
      }
    }
    const { columns, rows } = stream;
    return { columns: columns && columns > 0 ? columns : FALLBACK.columns, rows: rows && rows > 0 ? rows : FALLBACK.rows };
  }

  targetQueued(id: string, label: string) {
    this.targets.at(id, label);
    this.render();
  }
  targetStarted(id: string, label: string) {
    this.targets.start(id, label);
    this.timer ??= setInterval(() => this.render(), this.redrawMs);
    // A redraw timer alone must not keep the process alive.
    this.timer.unref?.();
    this.render();
  }
  targetStep(id: string, step: string) {
    this.targets.at(id).step = step;
    this.render();
  }
  log(id: string, line: string) {
    const label = this.targets.at(id).label;
    this.render(line.split("\n").map((part) => `${this.chalk.dim(`${label} │`)} ${part}`));
  }
  notice(line: string) {
    this.render([`⚠️  ${this.chalk.yellow(line)}`]);
  }
  targetDone(id: string, outcome: TargetOutcome) {
    this.targets.done(id, outcome);
    if (!this.targets.running) this.stopTimer();
    this.render();
  }
  finish(summary: FleetTally) {
    this.end([tally(summary)]);
  }
  close() {
    this.end([]);
  }

  private stopTimer() {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last drawing: every line in full, nothing live; then the cursor back. */
  private end(after: string[]) {
    if (this.closed) return;
    this.stopTimer();
    (this.out as Partial<NodeJS.EventEmitter>).off?.("resize", this.onResize);
    // In full: these lines are never redrawn, so a line that wraps does no harm.
    const lines = this.targets.all.map((target) => this.targetLine(target, Infinity, false));
    this.out.write(`${this.erasePrevious()}${[...lines, ...after].map((line) => `${line}\n`).join("")}${this.cursorHidden ? SHOW_CURSOR : ""}`);
    this.drawn = [];
    this.closed = true;
  }

  /** Moves the cursor to where the block began and erases from there; nothing when no block is drawn. */
  private erasePrevious(): string {
    if (this.drawn.length === 0) return "";
    const { columns } = this.size;
    const rows = this.drawn.reduce((sum, width) => sum + Math.max(1, Math.ceil(width / columns)), 0);
    return `\x1b[${rows}A${ERASE_DOWN}`;
  }

  /** Redraw the block, with `above` written first and kept. */
  private render(above: readonly string[] = []) {
    if (this.closed) {
      for (const line of above) this.out.write(`${line}\n`);
      return;
    }
    const { columns, rows } = this.size;
    // One column to spare: a line that fills the last column leaves the cursor there, and some terminals then wrap.
    const width = columns - 1;
    const lines = this.visibleLines(rows - 1).map((line) => (typeof line === "string" ? fitSegments([{ text: line, style: this.chalk.dim }], width) : this.targetLine(line, width, true)));
    const hide = this.cursorHidden ? "" : HIDE_CURSOR;
    this.cursorHidden = true;
    this.out.write(`${hide}${this.erasePrevious()}${above.map((line) => `${line}\n`).join("")}${lines.map((line) => `${line}\n`).join("")}`);
    this.drawn = lines.map((line) => textWidth(stripStyles(line)));
  }

  /** The targets that fit in `room` lines: all, or the running ones first and a line counting the rest. */
  private visibleLines(room: number): (Target | string)[] {
    const all = this.targets.all;
    if (all.length <= room) return all;
    const shown = new Set<Target>();
    const order = [...all.filter((t) => t.state === "running"), ...all.filter((t) => t.state === "done" && t.outcome?.result === "failed"), ...all];
    for (const target of order) {
      if (shown.size >= Math.max(0, room - 1)) break;
      shown.add(target);
    }
    const hidden = all.filter((target) => !shown.has(target));
    const count = (state: State) => hidden.filter((target) => target.state === state).length;
    const more = [`${count("running")} running`, `${count("queued")} waiting`, `${count("done")} done`].filter((part) => !part.startsWith("0 "));
    return [...all.filter((target) => shown.has(target)), `… and ${hidden.length} more (${more.join(", ")})`];
  }

  private targetLine(target: Target, width: number, live: boolean): string {
    const labelWidth = Math.min(MAX_LABEL_COLUMNS, Math.max(...this.targets.all.map((t) => textWidth(printable(t.label)))));
    // In columns when they leave room for the step; on a narrow terminal, packed, so the step still shows.
    const aligned = 2 + labelWidth + 1 + 7 + 2 + MIN_STEP_COLUMNS <= width;
    const label = printable(target.label);
    const padded = aligned ? label + " ".repeat(Math.max(0, labelWidth - textWidth(label))) : label;
    const elapsed = aligned ? this.targets.elapsed(target).padStart(7) : this.targets.elapsed(target);
    const symbol = this.symbol(target, live);
    const text =
      target.state === "done" ? outcomeText(target.outcome!) : target.state === "running" ? (live ? (target.step ?? "starting") : `stopped${target.step ? ` during: ${target.step}` : ""}`) : live ? "waiting" : "not started";
    const segments: Segment[] = [symbol, { text: " " }, { text: padded, style: this.chalk.bold }, { text: ` ${elapsed}  `, style: this.chalk.dim }, { text: printable(text), ...(target.outcome?.result === "failed" ? { style: this.chalk.red } : {}) }];
    return fitSegments(segments, width).trimEnd();
  }

  private symbol(target: Target, live: boolean): Segment {
    if (target.state === "queued") return { text: "·", style: this.chalk.dim };
    if (target.state === "running") return live ? { text: FRAMES[Math.floor(this.now() / 80) % FRAMES.length]!, style: this.chalk.cyan } : { text: "■", style: this.chalk.yellow };
    const result = target.outcome!.result;
    if (SUCCEEDED.has(result)) return { text: "✔", style: this.chalk.green };
    if (result === "failed") return { text: "✖", style: this.chalk.red };
    return { text: "-", style: this.chalk.yellow };
  }
}

/** A line's text without its colours, to measure it. */
function stripStyles(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*m/g, "");
}
