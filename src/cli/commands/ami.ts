import { Command } from "commander";
import type { CliIO } from "../io.js";
import type { RegisterCommand } from "../program.js";

export function registerAmiCommand(program: Command, io: CliIO, commands: readonly RegisterCommand[]): void {
  const ami = program
    .command("ami")
    .description("build, lint and track AMIs")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true);
  for (const register of commands) register(ami, io);
}
