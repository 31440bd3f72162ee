import { isGroup } from "./command-spec.js";
import { COMMAND_TABLE } from "./command-table.js";
import { runProcess } from "./process.js";

/**
 * The entry point of a fast program (dist/bin/ami-lint.js, ami-list.js): the
 * same CLI with a single command under `cws ami`, the one whose entry in the
 * table says `fastProgram`. scripts/build.mjs writes each program's entry, a
 * call of this function with the command's implementation imported
 * statically, and bundles it on its own: a run loads a handful of small files
 * instead of a dozen chunks shared with every other command (docs/decisions.md
 * §18). What `cws ami lint …` does (its help, errors and suggestions) is
 * unchanged: for such a command line commander only ever consults the root
 * options and the lint command.
 */
export function runFastProgram(name: string, implementation: unknown): Promise<void> {
  const spec = COMMAND_TABLE.commands.find((entry) => entry.name === name);
  if (spec === undefined || isGroup(spec)) throw new Error(`no command "${name}" in the command table`);
  return runProcess({ ...COMMAND_TABLE, commands: [{ ...spec, load: async () => implementation }] });
}
