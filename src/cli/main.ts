import { CommanderError } from "commander";
import { isCwsError } from "../errors.js";
import type { CliIO } from "./io.js";
import { exitCodeOf } from "./exit.js";
import { createProgram, VERSION } from "./program.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and return the
 * exit code. Never calls process.exit: only bin/cws.js sets the exit status.
 */
export async function exec(argv: readonly string[], io: CliIO): Promise<number> {
  if (argv.length === 1 && argv[0] === "--version") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const program = createProgram(io);
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

/** The process entry point used by bin/cws.js. */
export async function run(): Promise<void> {
  // The AWS SDK warns on every run that its 2027 releases will need Node 22; that is
  // for whoever upgrades dependencies, not for someone building an AMI.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onSignal: (handler) => {
      const onInt = () => handler("SIGINT");
      const onTerm = () => handler("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      return () => {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      };
    },
  };
  process.exitCode = await exec(process.argv.slice(2), io);
}
