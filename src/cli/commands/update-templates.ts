import { Command } from "commander";
import { globalOptions } from "../program.js";
import type { CliIO } from "../io.js";
import { setExitCode } from "../exit.js";

export function registerUpdateTemplatesCommand(ami: Command, io: CliIO): void {
  ami
    .command("update-templates")
    .description("write each template's current AMIs from the registry into its amis: block, keeping comments and formatting")
    .argument("[templates...]", "template ids (default: every template in the templates directory)")
    .option("--check", "change nothing; exit 1 and list every template AMI that differs from the registry (for CI)")
    .addHelpText(
      "after",
      [
        "",
        "Only the template's regions and base_ami.architecture are written; a template the registry has no entry for is left alone.",
        "Exit codes: 0 done (with --check: everything matches), 1 with --check: stale AMIs, 2 an invalid template or registry, or no registry.",
        "",
      ].join("\n"),
    )
    .action(async (ids: string[], options: { check?: boolean }, command: Command) => {
      const globals = globalOptions(command, io);
      const { runUpdateTemplatesCommand } = await import("../update-templates-command.js");
      setExitCode(command, await runUpdateTemplatesCommand(ids, { check: options.check === true }, globals, io));
    });
}
