import { CommanderError } from "commander";
import { CwsError, EXIT, isCwsError } from "../errors.js";
import type { CliIO } from "./io.js";
import { exitCodeOf } from "./exit.js";
import type { CommandSpec, GroupSpec } from "./command-spec.js";
import { errorDocument, jsonRequested, usageErrorOf } from "./json-document.js";
import { createProgram } from "./program.js";
import { VERSION } from "./version.js";

/**
 * Run the CLI with `argv` (without the node and script paths) and the given
 * command group (`cws ami` and its commands), and return the exit code.
 * Never calls process.exit: only src/cli/process.ts sets the exit status.
 */
export async function execCommands(argv: readonly string[], io: CliIO, group: GroupSpec, topLevel: readonly CommandSpec[] = []): Promise<number> {
  if (argv.length === 1 && argv[0] === "--version") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const program = createProgram(io, group, topLevel);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCodeOf(program);
  } catch (error) {
    // Commander may stop before it has parsed every option, and an option may have been refused for
    // taking `--json` as its value (option-values.ts): --json is looked for in argv, where no value can be it.
    const json = program.opts<{ json?: boolean }>().json === true || jsonRequested(argv);
    return await reportError(error, io, json);
  }
}

/** Every error ends here: in words on stderr, and with --json as the one document on stdout. */
function reportError(error: unknown, io: CliIO, json: boolean): number | Promise<number> {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is a usage error.
    if (error.exitCode === 0) return EXIT.ok;
    const usage = usageErrorOf(error);
    // Without a command commander has shown the group's help, which lists them.
    if (error.code !== "commander.help") io.stderr.write(`error: ${usage.message}\n  → ${usage.suggestion}\n`);
    if (json) io.stdout.write(errorDocument(usage, EXIT.usage));
    return EXIT.usage;
  }
  if (error instanceof Error && error.name === "AwsCallError" && !isCwsError(error)) {
    // An AWS answer no command turned into advice (AwsCallError, known by name so start-up loads nothing more): AWS's words, not a bug in cws.
    const code = (error as Error & { code?: string }).code;
    return reportError(
      new CwsError("AWS_ERROR", `AWS refused or failed the request: ${error.message}`, {
        ...(code ? { value: code } : {}),
        suggestion: `the message is AWS's own; look up ${code ?? "the error code"} in the AWS documentation for the action, fix what it names, and run the command again`,
        exitCode: EXIT.failed,
        cause: error,
      }),
      io,
      json,
    );
  }
  if (isCwsError(error)) {
    io.stderr.write(`error: ${error.message}\n`);
    if (error.suggestion) io.stderr.write(`  → ${error.suggestion}\n`);
    if (json) io.stdout.write(errorDocument(error, error.exitCode));
    return error.exitCode;
  }
  return reportInternalError(error, io, json);
}

/**
 * Anything else is a bug in cws. The stack names our sources (src/….ts:line,
 * through the bundle's source maps), and the message says what to send: with
 * --json the same report is one JSON document on stdout, ready to attach.
 */
async function reportInternalError(error: unknown, io: CliIO, json: boolean): Promise<number> {
  let stack = error instanceof Error && error.stack ? error.stack : String(error);
  try {
    // Loaded only now: no run that goes well pays for it.
    stack = (await import("./internal-error.js")).sourceMappedStack(stack);
  } catch {
    // The stack as it was is still worth reporting.
  }
  const about = `cws ${VERSION}${io.runtime ? ` on ${io.runtime}` : ""}`;
  io.stderr.write(`internal error: ${stack}\n`);
  const attach = json ? "the JSON report printed on stdout" : "this whole message (with --json, cws prints it as one JSON document to attach)";
  io.stderr.write(
    `  → this is a bug in ${about}, not a problem with your templates or your AWS account.\n` +
      `    Please report it with the command you ran and ${attach};\n` +
      "    if a build was running, attach its log folder too (.cws/logs/<build-id>).\n",
  );
  if (json) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const report = { code: "INTERNAL_ERROR", message, stack: stack.split("\n").slice(1).map((l) => l.trim()), version: VERSION, runtime: io.runtime };
    io.stdout.write(`${JSON.stringify({ error: report, exitCode: EXIT.failed }, null, 2)}\n`);
  }
  return EXIT.failed;
}
