import type { RegisterCommand } from "../program.js";
import { registerBootstrapCommand } from "./bootstrap.js";
import { registerBuildCommand } from "./build.js";
import { registerLintCommand } from "./lint.js";
import { registerListCommand } from "./list.js";
import { registerRegistryCommands } from "./registry.js";
import { registerUpdateTemplatesCommand } from "./update-templates.js";

/** Every `cws ami` command, in the order `cws ami --help` lists them. */
export const AMI_COMMANDS: readonly RegisterCommand[] = [
  registerBootstrapCommand,
  registerBuildCommand,
  (ami, io) => registerLintCommand(ami, io, () => import("../lint-command.js")),
  (ami, io) => registerListCommand(ami, io, () => import("../list-command.js")),
  registerRegistryCommands,
  registerUpdateTemplatesCommand,
];
