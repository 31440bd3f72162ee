import type { ExitCode } from "../errors.js";
import type { CliIO, GlobalOptions } from "./io.js";

/**
 * The shape of an entry of the command table (command-table.ts). Plain data
 * and two functions, nothing from commander: program.ts turns entries into
 * commander commands, scripts/build.mjs reads the same entries to build a
 * program of its own for each `fastProgram` command and to write the routes
 * bin/cws.js follows.
 */

/** A positional argument, in commander's syntax: `<template>`, `[template]`, `[templates...]`. */
export interface ArgumentSpec {
  syntax: string;
  description: string;
}

/**
 * What an option's value must look like. Every value is checked (src/cli/option-values.ts)
 * before the command's implementation is loaded, so a wrong flag exits 2 before anything
 * touches AWS, with a suggestion for a typo.
 */
export type ValueKind =
  | "region"
  | "architecture"
  | "instanceType"
  | "subnet"
  | "instanceProfile"
  | "imageVersion"
  | "duration"
  | "amiOrVersion"
  /** An AMI id (validate --ami). */
  | "amiId"
  /** A whole number of things at once, 1 to 64 (--concurrency). */
  | "count"
  /** How many to keep, 1 to 1,000 (cleanup's --keep-latest). */
  | "keepCount"
  /** An AWS profile of the shared config or credentials file (--profile): checked there too, before any AWS call. */
  | "profile"
  /** One git revision (changed --since): a sha, branch, tag or `HEAD~3`, never a range or an option; whether the repository has it, the command checks. */
  | "revision";

export interface OptionSpec {
  /** In commander's syntax: `--region <region>`, `--strict`, `--no-cache`. */
  flags: string;
  description: string;
  default?: string;
  /** The values it takes; a typo gets the nearest one. */
  choices?: readonly string[];
  value?: ValueKind;
  /** Other long flags for the same option (`--arch` for `--architecture`), accepted and left out of the help. */
  aliases?: readonly string[];
  /** Accepted but left out of the help. */
  hidden?: boolean;
  /** May be given more than once (`--region a --region b`): the command gets every value, in order, each checked. */
  repeatable?: boolean;
  /**
   * What cannot be given with it: the command's arguments by name (`template` for `[template]`) and
   * other options by long flag. Both given is a usage error (exit 2), never one silently ignored.
   */
  conflicts?: readonly string[];
}

/** What an action receives: its positional arguments in declaration order, its options, the global options. */
export interface CommandCall {
  args: readonly unknown[];
  options: Record<string, unknown>;
  globals: GlobalOptions;
  io: CliIO;
}

/**
 * One command. `load` brings in its implementation module, lazily: `cws
 * --help` loads none of them. `run` calls into that module.
 */
export interface CommandSpec<Implementation = unknown> {
  name: string;
  description: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  /** Printed after the generated help (exit codes, environment, details). */
  helpAfter?: string;
  /**
   * A program of its own (dist/bin/ami-<name>.js) that bin/cws.js runs for
   * `cws ami <name> …`: only this command, with its implementation in the
   * entry file (docs/decisions.md §18). For the commands people run most.
   */
  fastProgram?: boolean;
  load(): Promise<Implementation>;
  run(implementation: Implementation, call: CommandCall): Promise<ExitCode>;
}

/** A command that only holds other commands (`cws ami`, `cws ami registry`). */
export interface GroupSpec {
  name: string;
  description: string;
  commands: readonly (CommandSpec | GroupSpec)[];
}

export function isGroup(entry: CommandSpec | GroupSpec): entry is GroupSpec {
  return "commands" in entry;
}

/** An entry whose `run` is checked against the module `load` returns. */
export function command<Implementation>(spec: CommandSpec<Implementation>): CommandSpec {
  return spec;
}

/** A command with a program of its own: its words on the command line and the program's name under dist/bin/. */
export interface FastProgram {
  /** `["ami", "lint"]`: bin/cws.js runs the program when a command line starts with them. */
  words: readonly string[];
  /** `ami-lint`: dist/bin/ami-lint.js. */
  name: string;
  spec: CommandSpec;
}

/** The table's fast programs, in its order. bin/cws.js looks at the first two words of a command line only. */
export function fastPrograms(group: GroupSpec, words: readonly string[] = [group.name]): FastProgram[] {
  return group.commands.flatMap((entry) => {
    const path = [...words, entry.name];
    if (isGroup(entry)) return fastPrograms(entry, path);
    if (!entry.fastProgram) return [];
    if (path.length !== 2) throw new Error(`${path.join(" ")}: only a command right under \`cws ${words[0]}\` can have a program of its own`);
    return [{ words: path, name: path.join("-"), spec: entry }];
  });
}
