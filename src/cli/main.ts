import { AMI_COMMANDS } from "./commands/all.js";
import { execCommands } from "./exec.js";
import type { CliIO } from "./io.js";
import { runProcess } from "./process.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and return the
 * exit code. Never calls process.exit: only src/cli/process.ts sets the exit status.
 */
export function exec(argv: readonly string[], io: CliIO): Promise<number> {
  return execCommands(argv, io, AMI_COMMANDS);
}

/** The process entry point bin/cws.js uses for every command line except `ami lint …` and `ami list …` (see ami-lint.ts). */
export function run(): Promise<void> {
  return runProcess(AMI_COMMANDS);
}
