import { Command, Option } from "commander";
import { DEFAULT_REGISTRY, DEFAULT_TEMPLATES_DIR } from "../config/defaults.js";
import { resolveProject } from "../config/settings.js";
import { isGroup, type CommandSpec, type GroupSpec } from "./command-spec.js";
import { setExitCode } from "./exit.js";
import { withCwd, type CliIO, type GlobalOptions } from "./io.js";
import { VERSION } from "./version.js";

export { DEFAULT_REGISTRY, DEFAULT_TEMPLATES_DIR };

/**
 * commander's parser for `cws` with the given command group (the table of
 * command-table.ts, or the part of it a fast program carries). Entries only
 * declare; an action loads its implementation when it runs, so `cws --help`
 * loads nothing but commander.
 */
export function createProgram(io: CliIO, group: GroupSpec, topLevel: readonly CommandSpec[] = []): Command {
  const program = new Command("cws")
    .description("CloudWorkstation: build, test and track Amazon Machine Images from YAML templates.")
    // Only -V here: `--version` belongs to `cws ami build` (the design's --version v1.2.3);
    // exec() answers a leading `cws --version` itself.
    .version(VERSION, "-V", "print the version (also: cws --version)")
    .addOption(new Option("--templates-dir <dir>", `template directory (default: env CWS_TEMPLATES_DIR, cws.config.json's templates_dir, else ${DEFAULT_TEMPLATES_DIR})`))
    .addOption(new Option("--registry <file>", `AMI registry file (default: env CWS_REGISTRY, cws.config.json's registry, else ${DEFAULT_REGISTRY})`))
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

  addGroup(program, group, io);
  for (const spec of topLevel) addCommand(program, spec, io);
  program.addHelpText(
    "after",
    "\nExamples:\n  cws ami lint                       check every template in ./templates\n  cws ami --help                     all AMI commands\n",
  );
  return program;
}

function addGroup(parent: Command, group: GroupSpec, io: CliIO): void {
  const command = parent.command(group.name).description(group.description).helpOption("-h, --help", "show help").showSuggestionAfterError(true);
  for (const entry of group.commands) {
    if (isGroup(entry)) addGroup(command, entry, io);
    else addCommand(command, entry, io);
  }
}

function addCommand(parent: Command, spec: CommandSpec, io: CliIO): void {
  const command = parent.command(spec.name).description(spec.description);
  for (const argument of spec.arguments ?? []) command.argument(argument.syntax, argument.description);
  for (const declared of spec.options ?? []) {
    const option = new Option(declared.flags, declared.description);
    if (declared.choices) option.choices(declared.choices);
    if (declared.default !== undefined) option.default(declared.default);
    if (declared.hidden) option.hideHelp();
    command.addOption(option);
  }
  if (spec.helpAfter !== undefined) command.addHelpText("after", `\n${spec.helpAfter}\n`);
  // commander passes the positional arguments, then the options, then the command.
  command.action(async (...params: unknown[]) => {
    const args = params.slice(0, -2);
    const options = params.at(-2) as Record<string, unknown>;
    const globals = await globalOptions(command, io);
    const root = globals.project!.root;
    // A command started below the project root runs at the root, exactly as there (paths typed below it were rebased).
    if (root !== io.cwd) io.chdir?.(root);
    setExitCode(command, await spec.run(await spec.load(), { args, options, globals, io: withCwd(io, root) }));
  });
}

/** Global options: flags, else environment, else cws.config.json, else the built-in defaults (src/config/settings.ts). */
export async function globalOptions(command: Command, io: CliIO): Promise<GlobalOptions> {
  const raw = command.optsWithGlobals<{ templatesDir?: string; registry?: string; json?: boolean; color?: boolean }>();
  const project = await resolveProject({ templatesDir: raw.templatesDir, registry: raw.registry }, io);
  return {
    templatesDir: project.templatesDir.value,
    registry: project.registry.value,
    json: raw.json === true,
    color: raw.color !== false,
    project,
  };
}
