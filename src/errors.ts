/**
 * Errors that a user can act on. Every one carries a stable code, the value at
 * fault (when there is one) and a suggestion saying what to do next; the CLI
 * maps `exitCode` straight to the process exit status.
 */
import type { Problem } from "./template/problems.js";

export type ExitCode = 0 | 1 | 2 | 129 | 130 | 143;

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** Ctrl-C (SIGINT): 128 + 2, what shells report for it. */
  interrupted: 130,
  /** The terminal closed (SIGHUP): 128 + 1. */
  hangup: 129,
  /** SIGTERM (a cancelled CI job, `kill`): 128 + 15. */
  terminated: 143,
} as const satisfies Record<string, ExitCode>;

/** The signals a long command stops for, cleaning up: Ctrl-C, `kill` or a cancelled CI job, a closed terminal. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * What a command stopped by a signal exits with: 128 + the signal's number,
 * as a shell reports a process the signal ended (130 Ctrl-C, 143 SIGTERM, 129
 * SIGHUP), so a script or CI step tells them apart as it would for any
 * program; the command cleaned up first. Anything else that aborted it
 * counts as Ctrl-C.
 */
export function exitCodeOfSignal(reason: unknown): ExitCode {
  return reason === "SIGHUP" ? EXIT.hangup : reason === "SIGTERM" ? EXIT.terminated : EXIT.interrupted;
}

export interface CwsErrorOptions {
  /** The value that was wrong, quoted back to the user. */
  value?: string;
  /** Each problem of the files at fault (invalid templates), for the --json error document: on stderr they come before the error. */
  problems?: readonly Problem[];
  /** What to do about it. */
  suggestion?: string;
  exitCode?: ExitCode;
  cause?: unknown;
}

export class CwsError extends Error {
  readonly code: string;
  readonly value: string | undefined;
  readonly suggestion: string | undefined;
  readonly problems: readonly Problem[] | undefined;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options: CwsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CwsError";
    this.code = code;
    this.value = options.value;
    this.suggestion = options.suggestion;
    this.problems = options.problems;
    this.exitCode = options.exitCode ?? EXIT.usage;
  }
}

export function isCwsError(error: unknown): error is CwsError {
  return error instanceof CwsError;
}
