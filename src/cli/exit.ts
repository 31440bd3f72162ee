import type { Command } from "commander";
import type { ExitCode } from "../errors.js";

/**
 * Actions report their exit status here rather than calling process.exit, so
 * that `exec` stays testable in-process and cleanups always finish.
 */
const exitCodes = new WeakMap<Command, ExitCode>();

export function setExitCode(command: Command, code: ExitCode): void {
  let root: Command = command;
  while (root.parent) root = root.parent;
  exitCodes.set(root, code);
}

export function exitCodeOf(program: Command): ExitCode {
  return exitCodes.get(program) ?? 0;
}
