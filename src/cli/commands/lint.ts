import { Command } from "commander";
import { globalOptions } from "../program.js";
import type { CliIO } from "../io.js";
import { setExitCode } from "../exit.js";

/**
 * `load` brings in the implementation: a dynamic import in the full CLI, so
 * that `cws --help` does not load it; the lint program passes it in already
 * loaded (src/cli/ami-lint.ts).
 */
export function registerLintCommand(ami: Command, io: CliIO, load: () => Promise<typeof import("../lint-command.js")>): void {
  ami
    .command("lint")
    .description("check templates against the schema and for risky script patterns, without touching AWS")
    .argument("[templates...]", "template ids (default: every template in the templates directory)")
    .option("--strict", "treat warnings as errors (for CI)")
    .option("--no-cache", "lint every file afresh (by default unchanged files reuse .cws/cache/lint.json)")
    .addHelpText(
      "after",
      "\nExit codes: 0 clean, 1 warnings with --strict, 2 a template is invalid.\nRules: literal-password, pipe-to-shell, or-true, plain-http, strict-mode, instance-type-arch.\n",
    )
    .action(async (ids: string[], options: { strict?: boolean; cache?: boolean }, command: Command) => {
      const { runLintCommand } = await load();
      setExitCode(command, await runLintCommand(ids, options, globalOptions(command, io), io));
    });
}
