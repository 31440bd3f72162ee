import { COMMAND_TABLE, TOP_LEVEL_COMMANDS } from "./command-table.js";
import { execCommands } from "./exec.js";
import type { CliIO } from "./io.js";
import { runProcess } from "./process.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and return the
 * exit code. Never calls process.exit: only src/cli/process.ts sets the exit status.
 */
export function exec(argv: readonly string[], io: CliIO): Promise<number> {
  return execCommands(argv, io, COMMAND_TABLE, TOP_LEVEL_COMMANDS);
}

/** The entry point of the full CLI (dist/bin/main.js): bin/cws.js runs it for every command line no fast program takes (fast-program.ts). */
export function run(): Promise<void> {
  return runProcess(COMMAND_TABLE, TOP_LEVEL_COMMANDS);
}
