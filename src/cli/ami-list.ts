import { registerListCommand } from "./commands/list.js";
import * as listCommand from "./list-command.js";
import { runProcess } from "./process.js";

/** The entry point bin/cws.js uses for `cws ami list …`; see ami-lint.ts for why. */
export function run(): Promise<void> {
  return runProcess([(ami, io) => registerListCommand(ami, io, async () => listCommand)]);
}
