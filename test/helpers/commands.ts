import { isGroup, type CommandSpec, type GroupSpec } from "../../src/cli/command-spec.js";
import { COMMAND_TABLE, TOP_LEVEL_COMMANDS } from "../../src/cli/command-table.js";

/** Every command of the command table with the words that run it (`["ami", "registry", "merge"]`, `["config"]`), for table-driven tests. */
export function everyCommand(): { words: string[]; spec: CommandSpec }[] {
  const walk = (group: GroupSpec, words: string[]): { words: string[]; spec: CommandSpec }[] =>
    group.commands.flatMap((entry) => (isGroup(entry) ? walk(entry, [...words, entry.name]) : [{ words: [...words, entry.name], spec: entry }]));
  return [...walk(COMMAND_TABLE, [COMMAND_TABLE.name]), ...TOP_LEVEL_COMMANDS.map((spec) => ({ words: [spec.name], spec }))];
}
