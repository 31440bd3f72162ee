import { Command, Option } from "commander";
import type { CliIO, GlobalOptions } from "./io.js";
import { registerAmiCommand } from "./commands/ami.js";
import { VERSION } from "./version.js";

/** Adds one command (or a group) under `cws ami`; src/cli/commands/all.ts lists them all. */
export type RegisterCommand = (ami: Command, io: CliIO) => void;

export const DEFAULT_TEMPLATES_DIR = "./templates";
export const DEFAULT_REGISTRY = "./registry/amis.json";

/**
 * The whole command tree. Command files only declare options and lazily
 * import their implementation, so `cws --help` loads nothing but commander.
 */
export function createProgram(io: CliIO, commands: readonly RegisterCommand[]): Command {
  const program = new Command("cws")
    .description("CloudWorkstation: build, test and track Amazon Machine Images from YAML templates.")
    // Only -V here: `--version` belongs to `cws ami build` (the design's --version v1.2.3);
    // exec() answers a leading `cws --version` itself.
    .version(VERSION, "-V", "print the version (also: cws --version)")
    .addOption(new Option("--templates-dir <dir>", `template directory (default: ${DEFAULT_TEMPLATES_DIR}, env CWS_TEMPLATES_DIR)`))
    .addOption(new Option("--registry <file>", `AMI registry file (default: ${DEFAULT_REGISTRY}, env CWS_REGISTRY)`))
    .option("--json", "print results as JSON on stdout")
    .option("--no-color", "no colours in the output (also: NO_COLOR=1)")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();

  registerAmiCommand(program, io, commands);
  program.addHelpText(
    "after",
    "\nExamples:\n  cws ami lint                       check every template in ./templates\n  cws ami --help                     all AMI commands\n",
  );
  return program;
}

/** Global options with their environment and built-in defaults applied. */
export function globalOptions(command: Command, io: CliIO): GlobalOptions {
  const raw = command.optsWithGlobals<{ templatesDir?: string; registry?: string; json?: boolean; color?: boolean }>();
  return {
    templatesDir: raw.templatesDir ?? nonEmpty(io.env.CWS_TEMPLATES_DIR) ?? DEFAULT_TEMPLATES_DIR,
    registry: raw.registry ?? nonEmpty(io.env.CWS_REGISTRY) ?? DEFAULT_REGISTRY,
    json: raw.json === true,
    color: raw.color !== false,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
