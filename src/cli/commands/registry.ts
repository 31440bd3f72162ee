import { Command } from "commander";
import type { CliIO } from "../io.js";
import { globalOptions } from "../program.js";
import { setExitCode } from "../exit.js";

const architectureHelp = "x86_64 or arm64";

export function registerRegistryCommands(ami: Command, io: CliIO): void {
  ami
    .command("update-registry")
    .description("record the newest available, validated cws AMI from AWS tags (works from a fresh checkout; idempotent)")
    .argument("[template]", "template id (or --all)")
    .option("--region <region>", "only this region (default: every region of the template)")
    .option("--architecture <arch>", `only this architecture (${architectureHelp})`)
    .option("--all", "every template in the templates directory")
    .option("--publish-ssm", "also write /cloudworkstation/amis/<template>/<region>/<arch> in SSM Parameter Store")
    .option("--unpin", "replace entries pinned by a rollback too")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .addHelpText("after", "\nExit codes: 0 done (or already current), 1 a named target has no validated AMI in AWS, 2 bad input.\n")
    .action(async (templateId: string | undefined, options: Record<string, unknown>, command: Command) => {
      const { runUpdateRegistry } = await import("../registry-commands.js");
      setExitCode(command, await runUpdateRegistry(templateId, options, globalOptions(command, io), io));
    });

  ami
    .command("rollback")
    .description("make the previous (or a named) AMI current again, keeping history")
    .argument("<template>", "template id")
    .option("--region <region>", "region (default: AWS_REGION)")
    .option("--architecture <arch>", architectureHelp)
    .option("--to <version-or-ami>", "the AMI id or version to go back to (default: the one before the current)")
    .option("--publish-ssm", "also update /cloudworkstation/amis/<template>/<region>/<arch> in SSM Parameter Store")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .addHelpText("after", "\nRefuses an AMI that is no longer available in AWS (exit 1). The entry is pinned until the next build.\n")
    .action(async (templateId: string, options: Record<string, string | boolean | undefined>, command: Command) => {
      const { runRollback } = await import("../registry-commands.js");
      setExitCode(command, await runRollback(templateId, options as never, globalOptions(command, io), io));
    });

  const registry = ami.command("registry").description("work on registry files").helpOption("-h, --help", "show help");
  registry
    .command("merge")
    .description("merge registry files (e.g. artifacts of parallel CI jobs) into the registry: the newest AMI wins, the others go to history")
    .argument("<files...>", "registry files to merge")
    .option("--output <file>", "write here instead of the registry (- for stdout)")
    .action(async (files: string[], options: { output?: string }, command: Command) => {
      const { runRegistryMerge } = await import("../registry-commands.js");
      setExitCode(command, await runRegistryMerge(files, options, globalOptions(command, io), io));
    });
}
