import { CwsError, EXIT } from "../errors.js";
import type { CliIO } from "./io.js";

/**
 * Before a command deletes: with --yes it goes ahead; on a terminal it asks
 * (y/N, on stderr, read from stdin); without a terminal nobody can be asked,
 * so it stops with exit 2 having changed nothing. What the answer was:
 * `yes`, `no` (anything but y or yes), or `interrupted` (Ctrl-C or end of input).
 */
export async function confirmChanges(io: Pick<CliIO, "prompt">, options: { yes: boolean; question: string; command: string }): Promise<"yes" | "no" | "interrupted"> {
  if (options.yes) return "yes";
  if (!io.prompt?.interactive) {
    throw new CwsError("CONFIRMATION_REQUIRED", `${options.command} changes nothing without a yes, and there is no terminal to ask: nothing was changed`, {
      suggestion: `read the plan above, then run it again with --yes to go ahead (--dry-run only prints the plan)`,
      exitCode: EXIT.usage,
    });
  }
  const answer = await io.prompt.ask(`${options.question} [y/N] `);
  if (answer === undefined) return "interrupted";
  return /^\s*y(es)?\s*$/i.test(answer) ? "yes" : "no";
}
