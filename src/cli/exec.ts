import { CommanderError } from "commander";
import { isCwsError } from "../errors.js";
import type { CliIO } from "./io.js";
import { exitCodeOf } from "./exit.js";
import { createProgram, VERSION, type RegisterCommand } from "./program.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and the given
 * `cws ami` commands, and return the exit code. Never calls process.exit:
 * only src/cli/process.ts sets the exit status.
 */
export async function execCommands(argv: readonly string[], io: CliIO, commands: readonly RegisterCommand[]): Promise<number> {
  if (argv.length === 1 && argv[0] === "--version") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const program = createProgram(io, commands);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCodeOf(program);
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is a usage error.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isCwsError(error)) {
    io.stderr.write(`error: ${error.message}\n`);
    if (error.suggestion) io.stderr.write(`  → ${error.suggestion}\n`);
    return error.exitCode;
  }
  const err = error as Error;
  io.stderr.write(`internal error: ${err?.stack ?? String(error)}\n`);
  io.stderr.write("  → this is a bug in cws; please report it with the command you ran\n");
  return 1;
}
