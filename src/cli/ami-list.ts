import { runFastProgram } from "./fast-program.js";
import * as listCommand from "./list-command.js";

/** The entry point bin/cws.js uses for `cws ami list …` (see fast-program.ts). */
export function run(): Promise<void> {
  return runFastProgram("list", listCommand);
}
