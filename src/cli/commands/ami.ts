import { Command } from "commander";
import type { CliIO } from "../io.js";
import { registerBootstrapCommand } from "./bootstrap.js";
import { registerBuildCommand } from "./build.js";
import { registerLintCommand } from "./lint.js";
import { registerListCommand } from "./list.js";
import { registerRegistryCommands } from "./registry.js";
import { registerUpdateTemplatesCommand } from "./update-templates.js";

export function registerAmiCommand(program: Command, io: CliIO): void {
  const ami = program
    .command("ami")
    .description("build, lint and track AMIs")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true);
  registerBootstrapCommand(ami, io);
  registerBuildCommand(ami, io);
  registerLintCommand(ami, io);
  registerListCommand(ami, io);
  registerRegistryCommands(ami, io);
  registerUpdateTemplatesCommand(ami, io);
}
