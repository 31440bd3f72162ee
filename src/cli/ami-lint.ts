import { registerLintCommand } from "./commands/lint.js";
import * as lintCommand from "./lint-command.js";
import { runProcess } from "./process.js";

/**
 * The entry point bin/cws.js uses for `cws ami lint …`, the command people run
 * most: the same program with only `lint` under `cws ami`, bundled on its own
 * with the command's implementation, so that a run whose templates are all in
 * the lint cache loads a handful of small files instead of a dozen chunks
 * shared with every other command (docs/decisions.md §18). What `cws ami lint …` does (its help,
 * errors and suggestions) is unchanged: for such a command line commander only
 * ever consults the root options and the lint command.
 */
export function run(): Promise<void> {
  return runProcess([(ami, io) => registerLintCommand(ami, io, async () => lintCommand)]);
}
