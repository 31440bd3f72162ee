import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import xterm from "@xterm/headless";
import { CWS_BIN, ROOT, cleanEnv } from "./cli.js";

/**
 * The built CLI on a real pseudo-terminal, as a person at a laptop runs it:
 * util-linux `script` gives it a pty of the given size (stdout and stderr are
 * both the terminal, stdin too), and what it draws is replayed into a
 * headless terminal emulator (@xterm/headless, the engine of VS Code's
 * terminal), so tests assert on the screen a person would see: the lines left
 * after every spinner redraw, cursor move and line clear, not the raw bytes.
 */
export interface TerminalRun {
  status: number;
  /** Everything written to the terminal, escape sequences included. */
  raw: string;
  /** The screen and its scrollback after the command ended, one string per line (a line wrapped over several rows is joined again), trailing blank lines dropped. */
  screen: string[];
}

export interface TerminalOptions {
  cols: number;
  rows: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /**
   * Called as output arrives (raw text so far); `type` sends keys, e.g.
   * "\x03" for Ctrl-C; `hangUp` closes the terminal (the window shut, SSH
   * dropped): the program gets SIGHUP from the kernel and every later write
   * to the terminal fails. It returns the program's process id: the run
   * ends at once, the program may not have (see waitForExit).
   */
  onOutput?: (raw: string, type: (keys: string) => void, hangUp: () => number[]) => void;
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * A program that resizes its own terminal (`stty cols N`) writes this to it
 * first, so the replay resizes the emulator at the same point of the output:
 * `\x1b]7770;resize=40x30\x07` (an OSC sequence no terminal acts on).
 */
export const resizeMarker = (cols: number, rows: number) => `\x1b]7770;resize=${cols}x${rows}\x07`;
// eslint-disable-next-line no-control-regex -- the marker is an escape sequence
const RESIZE_MARKER = /\x1b\]7770;resize=(\d+)x(\d+)\x07/g;

export function runOnTerminal(args: string[], options: TerminalOptions): Promise<TerminalRun> {
  return runProgramOnTerminal([process.execPath, CWS_BIN, ...args], options);
}

/** Any program on a pseudo-terminal, as runOnTerminal runs the CLI (a test's own driver, e.g. run with `node --import tsx`). */
export function runProgramOnTerminal(argv: string[], options: TerminalOptions): Promise<TerminalRun> {
  // `exec` so that the program itself is the terminal's foreground process: Ctrl-C reaches it as from a keyboard.
  const command = `stty cols ${options.cols} rows ${options.rows} && exec ${argv.map(quote).join(" ")}`;
  const child = spawn("script", ["--quiet", "--return", "--flush", "--command", command, "/dev/null"], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv({ TERM: "xterm-256color", ...options.env }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let raw = "";
  let errors = "";
  const type = (keys: string) => child.stdin.write(keys);
  // script(1)'s child is the program (exec'd by the shell) and the terminal's session leader; killing script closes the
  // terminal's master side, and the kernel hangs the session up.
  const hangUp = () => {
    const pids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    child.kill("SIGKILL");
    return pids;
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    raw += chunk;
    options.onOutput?.(raw, type, hangUp);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")} on a terminal timed out; the screen so far:\n${raw}`));
    }, options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (errors.trim() !== "") return reject(new Error(`script(1) failed: ${errors}`));
      // Where the program resized its terminal, the replay does too.
      const resizes: Resize[] = [];
      let output = "";
      let from = 0;
      for (const match of raw.matchAll(RESIZE_MARKER)) {
        output += raw.slice(from, match.index);
        resizes.push({ at: output.length, cols: Number(match[1]), rows: Number(match[2]) });
        from = match.index + match[0].length;
      }
      output += raw.slice(from);
      // A terminal that reports no size still shows the text: replay it on a wide one.
      void screenOf(output, options.cols || 200, options.rows || 50, resizes).then((screen) => resolve({ status: code ?? -1, raw: output, screen }));
    });
  });
}

/** The terminal was resized to cols × rows once the first `at` characters of the output had been written. */
export interface Resize {
  at: number;
  cols: number;
  rows: number;
}

/**
 * Replay terminal output into a terminal emulator of that size, resized where
 * `resizes` say (xterm reflows its lines, as terminals do); the rows it shows,
 * scrollback first.
 */
export function screenOf(raw: string, cols: number, rows: number, resizes: readonly Resize[] = []): Promise<string[]> {
  const terminal = new xterm.Terminal({ cols, rows, scrollback: 100_000, allowProposedApi: true });
  const write = (text: string) => new Promise<void>((resolve) => terminal.write(text, resolve));
  return (async () => {
    let from = 0;
    for (const resize of [...resizes].sort((a, b) => a.at - b.at)) {
      await write(raw.slice(from, resize.at));
      terminal.resize(resize.cols, resize.rows);
      from = resize.at;
    }
    await write(raw.slice(from));
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const row = buffer.getLine(i);
      const text = row?.translateToString(true) ?? "";
      if (row?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    terminal.dispose();
    return lines;
  })();
}

/** Braille spinner frames (ora's "dots"): none may be left on the screen once a command has ended. */
export const SPINNER_FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

export { ROOT };

/** Wait until none of these processes runs any more (gone, or a zombie nobody has reaped yet); false if one still runs after `timeoutMs`. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!pids.some(running)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !pids.some(running);
}
