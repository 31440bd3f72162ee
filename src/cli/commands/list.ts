import { Command, Option } from "commander";
import type { CliIO } from "../io.js";
import { globalOptions } from "../program.js";
import { setExitCode } from "../exit.js";

// Spelled out rather than imported from the template schema, so that parsing
// the command line does not load zod.
const ARCHITECTURE_CHOICES = ["x86_64", "arm64"];

/** `load` brings in the implementation; see registerLintCommand. */
export function registerListCommand(ami: Command, io: CliIO, load: () => Promise<typeof import("../list-command.js")>): void {
  ami
    .command("list")
    .description("list the AMIs in the registry; with --live, also check them against AWS")
    .option("--template <id>", "only this template")
    .option("--region <region>", "only this region")
    .addOption(new Option("--architecture <arch>", "only this architecture").choices(ARCHITECTURE_CHOICES))
    .addOption(new Option("--arch <arch>", "alias of --architecture").choices(ARCHITECTURE_CHOICES).hideHelp())
    .option("--live", "ask AWS (DescribeImages, every registry region in parallel) and mark drift")
    .option("--profile <name>", "AWS profile for --live (default: AWS_PROFILE)")
    .addHelpText(
      "after",
      [
        "",
        "Rows are sorted by template, region and architecture. --json prints them as a JSON array.",
        "A missing registry is not an error: it is reported on stderr and nothing is listed (exit 0).",
        "",
        "--live asks EC2 for the cws images (tag cws:managed-by=cws, owner self) in every region the",
        "registry has AMIs in (only --region when given) and adds a DRIFT column and a summary:",
        "  gone           the registry's AMI does not exist in AWS",
        "  not-available  it exists but its state is not available (pending, failed, ...)",
        "  newer          a newer validated, available cws AMI exists that the registry does not name",
        "  untracked      cws AMIs for a template/region/architecture the registry has no entry for",
        "",
        "Exit codes: 0 listed (with --live: no drift), 1 drift found with --live (gate CI on it) or an",
        "AWS call failed, 2 an invalid registry or option, or AWS credentials/permissions.",
        "",
      ].join("\n"),
    )
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const globals = globalOptions(command, io);
      const { runListCommand } = await load();
      setExitCode(command, await runListCommand(raw, globals, io));
    });
}
