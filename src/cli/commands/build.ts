import { Command, Option } from "commander";
import type { CliIO } from "../io.js";
import { globalOptions } from "../program.js";
import { setExitCode } from "../exit.js";

export function registerBuildCommand(ami: Command, io: CliIO): void {
  ami
    .command("build")
    .description("build one AMI from a template: launch, provision, validate, image, clean up")
    .argument("<template>", "template id, e.g. r-research")
    .option("--architecture <arch>", "x86_64 or arm64 (default: the template's only architecture)")
    .addOption(new Option("--arch <arch>", "alias of --architecture").hideHelp())
    .option("--region <region>", "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the template's only region)")
    .option("--version <version>", "version for the image name and tags, e.g. v1.2.3 or a commit (default: the template's version)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .option("--instance-type <type>", "build instance type (default: the template's, else t3.medium / t4g.medium)")
    .option("--subnet <subnet-id>", "subnet for the build instance (default: a default subnet of the default VPC)")
    .option("--instance-profile <name>", "IAM instance profile for the build instance (default: cws-ami-builder)")
    .option("--dry-run", "print the plan; with credentials also resolve the base AMI and check EC2 permissions")
    .addOption(new Option("--on-error <mode>", "on failure: clean up everything, or keep the instance to debug").choices(["cleanup", "abort"]).default("cleanup"))
    .option("--quiet", "print only warnings, errors and the result")
    .option("--no-registry-update", "do not record the AMI in the registry file")
    .option("--publish-ssm", "also write the AMI id to SSM Parameter Store at /cloudworkstation/amis/<template>/<region>/<arch>")
    .addHelpText(
      "after",
      [
        "",
        "Exit codes: 0 built, 1 the build failed (setup or validation), 2 bad template, option or AWS setup, 130 interrupted.",
        "Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL as in every AWS tool; CWS_POLL_INTERVAL_MS overrides every poll delay.",
        "Logs: .cws/logs/<build-id>/ (setup.log or one file per build step, validation.log).",
        "",
      ].join("\n"),
    )
    .action(async (templateId: string, raw: Record<string, unknown>, command: Command) => {
      const globals = globalOptions(command, io);
      const { runBuildCommand } = await import("../build-command.js");
      setExitCode(command, await runBuildCommand(templateId, raw, globals, io));
    });
}
