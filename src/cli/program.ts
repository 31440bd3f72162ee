import { Command, Option } from "commander";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_REGISTRY, DEFAULT_TEMPLATES_DIR, TEMPLATES_DIR_ROLE } from "../config/defaults.js";
import { resolveProject, type Project } from "../config/settings.js";
import { CwsError } from "../errors.js";
import { isGroup, type CommandSpec, type GroupSpec, type OptionSpec } from "./command-spec.js";
import { GLOBAL_OPTIONS } from "./command-table.js";
import { setExitCode } from "./exit.js";
import { withIo, type CliIO, type GlobalOptions } from "./io.js";
import { JsonStdout } from "./json-document.js";
import type { GivenValue } from "./option-values.js";
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
    .version(VERSION, "-V", "print the version (also: cws --version)");
  const globalDeclared = addOptions(program, GLOBAL_OPTIONS);
  program
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    // `cws ami --help` lists --json, --registry and --templates-dir too (commander: "Global Options").
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // A usage error is printed by exec.ts, as every error is: one line, then what to do.
      outputError: () => undefined,
    })
    // Subcommands inherit this callback, and commander calls it on the command that refused the line:
    // the error remembers which, so that its advice names that command's --help.
    .exitOverride(function (this: Command, error) {
      // Too many arguments: commander counts them; the error names the first one too many, the value at fault.
      const extra = error.code === "commander.excessArguments" ? this.args.slice(this.registeredArguments.length) : [];
      throw Object.assign(error, { commandPath: commandPath(this), ...(extra.length > 0 ? { extraArguments: extra } : {}) });
    });

  addGroup(program, group, io, globalDeclared);
  for (const spec of topLevel) addCommand(program, spec, io, globalDeclared);
  program.addHelpText(
    "after",
    "\nExamples:\n  cws ami lint                       check every template in ./templates\n  cws ami --help                     all AMI commands\n",
  );
  return program;
}

function addGroup(parent: Command, group: GroupSpec, io: CliIO, globalDeclared: readonly Declared[]): void {
  const command = parent.command(group.name).description(group.description).helpOption("-h, --help", "show help").showSuggestionAfterError(true);
  for (const entry of group.commands) {
    if (isGroup(entry)) addGroup(command, entry, io, globalDeclared);
    else addCommand(command, entry, io, globalDeclared);
  }
}

/** An option with a value (`--region <region>`), its aliases, as commander knows them: the key its value is stored under. */
interface Declared {
  spec: OptionSpec;
  key: string;
  flag: string;
  aliases: { key: string; flag: string }[];
}

function addOptions(command: Command, specs: readonly OptionSpec[]): Declared[] {
  return specs.flatMap((spec) => {
    const option = new Option(spec.flags, spec.description);
    // Listed in the help; checked with the other values (option-values.ts), which suggests the nearest.
    if (spec.choices) option.choices(spec.choices);
    if (spec.default !== undefined) option.default(spec.default);
    if (spec.hidden) option.hideHelp();
    command.addOption(option);
    const aliases = (spec.aliases ?? []).map((flag) => {
      const alias = new Option(spec.flags.replace(/^--[\w-]+/, flag)).hideHelp();
      command.addOption(alias);
      return { key: alias.attributeName(), flag, option: alias };
    });
    // Only options that take a value have one to check.
    if (!option.required && !option.optional) return [];
    const parse = valueParser(command, spec, option.long!);
    for (const spelling of [{ flag: option.long!, option }, ...aliases]) spelling.option.argParser((value: string, previous: unknown) => parse(spelling.flag, value, previous));
    return [{ spec, key: option.attributeName(), flag: option.long!, aliases: aliases.map(({ key, flag }) => ({ key, flag })) }];
  });
}

/**
 * What commander does with each value of an option, under any of its spellings (`--arch` for `--architecture`,
 * `--x v` or `--x=v`). A repeatable one collects every value, in order. Any other is given once: commander would keep
 * the last value and drop the first without a word (`cleanup --template a --template b` ran as b), so a second one is
 * a usage error naming both, raised while the line is parsed, before any command is loaded.
 */
function valueParser(command: Command, spec: OptionSpec, long: string): (flag: string, value: string, previous: unknown) => unknown {
  if (spec.repeatable) return (_flag, value, previous) => [...(Array.isArray(previous) ? (previous as string[]) : []), value];
  let first: { flag: string; value: string } | undefined;
  return (flag, value) => {
    if (first === undefined) {
      first = { flag, value };
      return value;
    }
    const both = first.flag === flag ? `${JSON.stringify(first.value)} and ${JSON.stringify(value)}` : `${first.flag} ${JSON.stringify(first.value)} and ${flag} ${JSON.stringify(value)}`;
    const path = commandPath(command);
    throw new CwsError("REPEATED_OPTION", `${long} given twice: ${both}`, {
      value,
      suggestion: `pass it once: ${["cws", ...(path ? [path] : [])].join(" ")} takes one ${long}`,
    });
  };
}

/** An option's value as typed, and the option's own key (an alias's value too: `--arch` as `architecture`). */
type Given = GivenValue & { key: string; spec: OptionSpec };

/**
 * The values given, each with its flag as typed. `words` is the command line: a value typed in one
 * word with its flag (`--since=-x`) is `attached`, a value whatever it looks like, as commander took it.
 */
function givenValues(values: Record<string, unknown>, declared: readonly Declared[], words: readonly string[]): Given[] {
  const found = givenSpellings(values, declared);
  return found.map((given) => (words.includes(`${given.flag}=${given.value}`) ? { ...given, attached: true } : given));
}

function givenSpellings(values: Record<string, unknown>, declared: readonly Declared[]): Given[] {
  const found: Given[] = [];
  for (const { spec, key, flag, aliases } of declared) {
    // A repeatable option's values, each checked like a single one.
    const repeated = values[key];
    if (Array.isArray(repeated)) {
      for (const value of repeated as string[]) found.push({ key, flag, value, spec });
      continue;
    }
    // Any other was given once, under one of its spellings (valueParser refused a second).
    const typed = [{ key, flag }, ...aliases].find((name) => typeof values[name.key] === "string");
    if (typed !== undefined) found.push({ key, flag: typed.flag, value: values[typed.key] as string, spec });
  }
  return found;
}

function addCommand(parent: Command, spec: CommandSpec, io: CliIO, globalDeclared: readonly Declared[]): void {
  const command = parent.command(spec.name).description(spec.description);
  for (const argument of spec.arguments ?? []) command.argument(argument.syntax, argument.description);
  const declared = addOptions(command, spec.options ?? []);
  if (spec.helpAfter !== undefined) command.addHelpText("after", `\n${spec.helpAfter}\n`);
  // commander passes the positional arguments, then the options, then the command.
  command.action(async (...params: unknown[]) => {
    const args = params.slice(0, -2);
    const raw = params.at(-2) as Record<string, unknown>;
    // Every value checked against the table before anything is loaded (option-values.ts, itself loaded only when a value was given).
    // commander keeps the command line it parsed (`rawArgs`, set by parse(), missing from its typings).
    const words = (rootOf(command) as Command & { rawArgs?: string[] }).rawArgs ?? [];
    const own = givenValues(raw, declared, words);
    const values = [...givenValues(command.optsWithGlobals(), globalDeclared, words), ...own];
    const checks = values.length > 0 ? await import("./option-values.js") : undefined;
    checks?.checkOptionValues(values);
    checkConflicts(command, spec, args);
    // Before the command loads, so before any AWS call: a --profile the shared AWS files do not have.
    await checks?.checkNamedProfiles(own, io.env);
    const options = { ...raw };
    for (const { aliases } of declared) for (const alias of aliases) delete options[alias.key];
    for (const { key, value, spec: given } of own) if (!given.repeatable) options[key] = value;

    const globals = await globalOptions(command, io);
    const root = globals.project!.root;
    // A command started below the project root runs at the root, exactly as there (paths typed below it were rebased).
    if (root !== io.cwd) io.chdir?.(root);
    await checkTemplatesDir(globals.project!, root);
    const json = globals.json ? new JsonStdout() : undefined;
    const code = await spec.run(await spec.load(), { args, options, globals, io: withIo(io, { cwd: root, ...(json ? { stdout: json } : {}) }) });
    json?.flushTo(io.stdout, commandPath(command));
    setExitCode(command, code);
  });
}

/** An option given with an argument or option it excludes (its `conflicts` in the table): a usage error, never one of them ignored. */
function checkConflicts(command: Command, spec: CommandSpec, args: readonly unknown[]): void {
  const given = (flag: string) => {
    const option = command.options.find((o) => o.long === flag);
    return option !== undefined && command.getOptionValueSource(option.attributeName()) === "cli";
  };
  for (const option of spec.options ?? []) {
    const flag = option.flags.split(/[ ,]+/).find((word) => word.startsWith("--"))!;
    if (!option.conflicts || !given(flag)) continue;
    for (const other of option.conflicts) {
      const index = (spec.arguments ?? []).findIndex((argument) => argument.syntax.replace(/[<>[\].]/g, "") === other);
      const value = index === -1 ? undefined : args[index];
      const what = other.startsWith("--") ? (given(other) ? other : undefined) : value !== undefined && !(Array.isArray(value) && value.length === 0) ? `the ${other} ${JSON.stringify(value)}` : undefined;
      if (what === undefined) continue;
      throw new CwsError("CONFLICTING_OPTIONS", `${flag} and ${what} cannot be given together`, {
        value: flag,
        suggestion: `give one of them (${["cws", commandPath(command), "--help"].join(" ")} says what each does)`,
      });
    }
  }
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** `ami registry merge`: the words of a command after `cws` (`` for `cws` itself). */
function commandPath(command: Command): string {
  const words: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) words.unshift(at.name());
  return words.join(" ");
}

/**
 * The templates directory, checked for every command, whether it reads templates or not: a path that
 * is there but is not a directory (`--templates-dir registry/amis.json`) is a wrong flag, variable or
 * config, and so is a `--templates-dir` that does not exist. A default or configured one that does not
 * exist is left to the commands that need templates: list and rollback work in a checkout holding only
 * the registry. One stat; file-access.ts is loaded only to word a problem.
 */
async function checkTemplatesDir({ templatesDir }: Project, root: string): Promise<void> {
  let problem: unknown;
  try {
    const stats = statSync(resolve(root, templatesDir.value), { throwIfNoEntry: templatesDir.from.kind === "flag" });
    if (stats === undefined || stats.isDirectory()) return;
  } catch (error) {
    problem = error;
  }
  const { fileError, readDirectoryNames } = await import("../file-access.js");
  if (problem !== undefined) throw fileError(templatesDir.value, problem, { ...TEMPLATES_DIR_ROLE, expected: "directory" });
  // Not a directory: the reader of directories says what it is instead, as every command does.
  readDirectoryNames(templatesDir.value, TEMPLATES_DIR_ROLE);
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
