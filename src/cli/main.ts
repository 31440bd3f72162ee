import { AMI_COMMANDS } from "./commands/all.js";
import { execCommands } from "./exec.js";
import type { CliIO } from "./io.js";
import { runProcess } from "./process.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and return the
 * exit code. Never calls process.exit: only bin/cws.js sets the exit status.
 */
export function exec(argv: readonly string[], io: CliIO): Promise<number> {
  return execCommands(argv, io, AMI_COMMANDS);
}

/** The process entry point used by bin/cws.js for every command line but the two below. */
export function run(): Promise<void> {
  return runProcess(AMI_COMMANDS);
}
