import type { Project } from "../config/settings.js";
import type { StopSignal } from "../errors.js";
import type { ProcessProbe } from "../process-probe.js";

/**
 * What a command may touch of the outside world. The entry point passes the
 * real process streams and environment; tests pass their own, so `exec` can
 * run in-process.
 */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 0 or absent when unknown. */
  columns?: number;
  /** Terminal height; 0 or absent when unknown. */
  rows?: number;
}

/**
 * The person at the terminal, for a command that asks before it deletes
 * (cleanup's y/N). Only src/cli/process.ts makes one; tests pass their own.
 */
export interface Prompt {
  /** Someone can answer: stdin and stderr are both a terminal. */
  readonly interactive: boolean;
  /** Writes `question` on stderr and reads one line from stdin, or learns how the question ended without one. */
  ask(question: string): Promise<PromptAnswer>;
}

/**
 * What came of a question: the line typed; the input ended (Ctrl-D, a closed
 * stdin) without an answer, which is no yes; or Ctrl-C, which stops the
 * command as it would anywhere else.
 */
export type PromptAnswer = { kind: "line"; text: string } | { kind: "end-of-input" } | { kind: "interrupted" };

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** What runs cws, for bug reports ("node v22.12.0, linux x64"). */
  runtime?: string;
  /** Signals delivered to the process (SIGINT, SIGTERM, SIGHUP); commands that run long subscribe, clean up and exit with exitCodeOfSignal. */
  onSignal?: (handler: (signal: StopSignal) => void) => () => void;
  /**
   * Make `dir` the working directory: a command started below the project root
   * runs at the root (src/config/settings.ts). In-process callers without it
   * run where they are, which is the root when they start there.
   */
  chdir?: (dir: string) => void;
  /** This process, and whether another exists: the registry lock records who holds it and takes over a dead holder's. */
  processes?: ProcessProbe;
  /** Asking a person; absent (nobody to ask) in-process and in library use. */
  prompt?: Prompt;
}

/** Global options every command shares (see program.ts). */
export interface GlobalOptions {
  /** From the project root. */
  templatesDir: string;
  /** From the project root. */
  registry: string;
  json: boolean;
  color: boolean;
  /** The project: root, config file and where each path came from. Absent when GlobalOptions are made by hand (library use). */
  project?: Project;
}

/**
 * The same io with some of it replaced (another working directory, stdout
 * collected for --json). Its properties are copied as they are, getters
 * included: spreading would call io.stderr's getter, and creating
 * process.stderr costs ~2.5 ms a run that never writes to it.
 */
export function withIo(io: CliIO, replaced: Partial<Pick<CliIO, "cwd" | "stdout">>): CliIO {
  const values = Object.fromEntries(Object.entries(replaced).map(([key, value]) => [key, { value, enumerable: true }]));
  return Object.defineProperties({} as CliIO, { ...Object.getOwnPropertyDescriptors(io), ...values });
}

export function isCI(env: CliIO["env"]): boolean {
  const ci = env.CI;
  return (ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false") || env.GITHUB_ACTIONS === "true";
}

/**
 * Progress drawn in place (spinners, live lines) rather than plain lines: only
 * on an interactive terminal of known width outside CI (some CI systems report
 * a TTY; ora redraws forever on a 0-column pty).
 */
export function fancyProgress(io: Pick<CliIO, "stderr" | "env">): boolean {
  return io.stderr.isTTY === true && (io.stderr.columns ?? 0) > 0 && !isCI(io.env);
}

/** Colour only when asked for or on an interactive terminal, and never with NO_COLOR or --no-color. */
export function colorLevel(io: CliIO, wanted: boolean): 0 | 1 | 2 | 3 {
  if (!wanted) return 0;
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== "") return 0;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === "0" || force === "false") return 0;
    const level = Number(force);
    return level >= 1 && level <= 3 ? (level as 1 | 2 | 3) : 1;
  }
  if (!io.stdout.isTTY) return 0;
  if (io.env.TERM === "dumb") return 0;
  return io.env.COLORTERM === "truecolor" ? 3 : 2;
}
