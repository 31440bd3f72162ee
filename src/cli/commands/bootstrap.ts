import { Command } from "commander";
import type { CliIO } from "../io.js";
import { globalOptions } from "../program.js";
import { setExitCode } from "../exit.js";

export function registerBootstrapCommand(ami: Command, io: CliIO): void {
  ami
    .command("bootstrap")
    .description("create the build instances' IAM role and instance profile (once per account; safe to re-run)")
    .option("--region <region>", "region whose EC2 must accept the profile (default: AWS_REGION)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .option("--instance-profile <name>", "instance profile name", "cws-ami-builder")
    .addHelpText(
      "after",
      "\nCreates role cws-ami-builder (trusted by ec2.amazonaws.com, with AmazonSSMManagedInstanceCore) and\nan instance profile holding it, then waits until EC2 accepts the profile.\nYour own permissions: docs/iam/cws-cli-policy.json.\n",
    )
    .action(async (options: { region?: string; profile?: string; instanceProfile: string }, command: Command) => {
      const globals = globalOptions(command, io);
      const { runBootstrapCommand } = await import("../bootstrap-command.js");
      setExitCode(command, await runBootstrapCommand(options, globals, io));
    });
}
