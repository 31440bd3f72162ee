import { spawn } from "node:child_process";
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
  /** Called as output arrives (raw text so far); `type` sends keys, e.g. "\x03" for Ctrl-C. */
  onOutput?: (raw: string, type: (keys: string) => void) => void;
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

export function runOnTerminal(args: string[], options: TerminalOptions): Promise<TerminalRun> {
  // `exec` so that cws itself is the terminal's foreground process: Ctrl-C reaches it as from a keyboard.
  const command = `stty cols ${options.cols} rows ${options.rows} && exec ${quote(process.execPath)} ${quote(CWS_BIN)} ${args.map(quote).join(" ")}`;
  const child = spawn("script", ["--quiet", "--return", "--flush", "--command", command, "/dev/null"], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv({ TERM: "xterm-256color", ...options.env }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let raw = "";
  let errors = "";
  const type = (keys: string) => child.stdin.write(keys);
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    raw += chunk;
    options.onOutput?.(raw, type);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`cws ${args.join(" ")} on a terminal timed out; the screen so far:\n${raw}`));
    }, options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (errors.trim() !== "") return reject(new Error(`script(1) failed: ${errors}`));
      // A terminal that reports no size still shows the text: replay it on a wide one.
      void screenOf(raw, options.cols || 200, options.rows || 50).then((screen) => resolve({ status: code ?? -1, raw, screen }));
    });
  });
}

/** Replay terminal output into a terminal emulator of that size; the rows it shows, scrollback first. */
export function screenOf(raw: string, cols: number, rows: number): Promise<string[]> {
  const terminal = new xterm.Terminal({ cols, rows, scrollback: 100_000, allowProposedApi: true });
  return new Promise((resolve) => {
    terminal.write(raw, () => {
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
      resolve(lines);
    });
  });
}

/** Braille spinner frames (ora's "dots"): none may be left on the screen once a command has ended. */
export const SPINNER_FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

export { ROOT };
