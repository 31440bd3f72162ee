import { CwsError, EXIT } from "../errors.js";
import type { CliIO } from "./io.js";

/**
 * The one rule for a command that deletes (cleanup, reap): with --yes it goes
 * ahead; on a terminal it asks (y/N, on stderr, read from stdin); without a
 * terminal (CI, a pipe, cron, /dev/null) nobody can be asked, so it stops with
 * exit 2 having changed nothing.
 */

function noTerminalToAsk(command: string, planShown: boolean): CwsError {
  return new CwsError("CONFIRMATION_REQUIRED", `${command} changes nothing without a yes, and there is no terminal to ask: nothing was changed`, {
    suggestion: planShown
      ? "read the plan above, then run it again with --yes to go ahead (--dry-run only prints the plan)"
      : `run it again with --yes to go ahead (${command} --dry-run shows what it would do)`,
    exitCode: EXIT.usage,
  });
}

/** Before anything is read from AWS: a script that could never be asked learns at once that it must pass --yes. */
export function checkConfirmable(io: Pick<CliIO, "prompt">, options: { yes?: boolean; dryRun?: boolean; command: string }): void {
  if (options.yes === true || options.dryRun === true || io.prompt?.interactive === true) return;
  throw noTerminalToAsk(options.command, false);
}

/**
 * After the plan is printed: `yes` (y or yes, any case, spaces around), `no`
 * (any other answer, or none: the input ended, Ctrl-D), or `interrupted`
 * (Ctrl-C at the question: the command exits 130, as Ctrl-C does anywhere).
 */
export async function confirmChanges(io: Pick<CliIO, "prompt">, options: { yes: boolean; question: string; command: string }): Promise<"yes" | "no" | "interrupted"> {
  if (options.yes) return "yes";
  if (!io.prompt?.interactive) throw noTerminalToAsk(options.command, true);
  const answer = await io.prompt.ask(`${options.question} [y/N] `);
  if (answer.kind === "interrupted") return "interrupted";
  return answer.kind === "line" && /^\s*y(es)?\s*$/i.test(answer.text) ? "yes" : "no";
}
