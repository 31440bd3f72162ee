import type { ExitCode } from "../errors.js";
import type { CliIO, GlobalOptions } from "./io.js";

/**
 * The shape of an entry of the command table (command-table.ts). Plain data
 * and two functions, nothing from commander: program.ts turns entries into
 * commander commands; a fast program (fast-program.ts) takes its command's entry.
 */

/** A positional argument, in commander's syntax: `<template>`, `[template]`, `[templates...]`. */
export interface ArgumentSpec {
  syntax: string;
  description: string;
}

export interface OptionSpec {
  /** In commander's syntax: `--region <region>`, `--strict`, `--no-cache`. */
  flags: string;
  description: string;
  default?: string;
  choices?: readonly string[];
  /** Accepted but left out of the help (an alias such as --arch). */
  hidden?: boolean;
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
