import { runFastProgram } from "./fast-program.js";
import * as lintCommand from "./lint-command.js";

/** The entry point bin/cws.js uses for `cws ami lint …`, the command people run most (see fast-program.ts). */
export function run(): Promise<void> {
  return runFastProgram("lint", lintCommand);
}
