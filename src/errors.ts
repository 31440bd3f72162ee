/**
 * Errors that a user can act on. Every one carries a stable code, the value at
 * fault (when there is one) and a suggestion saying what to do next; the CLI
 * maps `exitCode` straight to the process exit status.
 */
export type ExitCode = 0 | 1 | 2 | 130;

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const satisfies Record<string, ExitCode>;

export interface CwsErrorOptions {
  /** The value that was wrong, quoted back to the user. */
  value?: string;
  /** What to do about it. */
  suggestion?: string;
  exitCode?: ExitCode;
  cause?: unknown;
}

export class CwsError extends Error {
  readonly code: string;
  readonly value: string | undefined;
  readonly suggestion: string | undefined;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options: CwsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CwsError";
    this.code = code;
    this.value = options.value;
    this.suggestion = options.suggestion;
    this.exitCode = options.exitCode ?? EXIT.usage;
  }
}

export function isCwsError(error: unknown): error is CwsError {
  return error instanceof CwsError;
}
