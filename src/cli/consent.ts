import { CwsError } from "../errors.js";
import type { CliIO } from "./io.js";

/**
 * A command that deletes acts only when told to: on a terminal it asks
 * first; elsewhere (CI, a pipe, cron, /dev/null) only with --yes, and without
 * it stops before it looks at anything (exit 2), so a script learns at once
 * that it must say so.
 */
export function checkConsentPossible(io: Pick<CliIO, "ask">, options: { yes?: boolean; dryRun?: boolean }, command: string): void {
  if (options.yes === true || options.dryRun === true || io.ask !== undefined) return;
  throw new CwsError("CONFIRMATION_REQUIRED", `${command} removes what it finds and asks first, but standard input is not a terminal to ask on`, {
    suggestion: `pass --yes to remove without asking (${command} --dry-run shows what it would remove)`,
  });
}

/** The answer to "go ahead?": only y or yes (any case) is a yes; Ctrl-C or Ctrl-D is no answer. */
export async function askConsent(io: Pick<CliIO, "ask">, question: string): Promise<"yes" | "no" | "no-answer"> {
  const answer = await io.ask?.(`${question} [y/N] `);
  if (answer === undefined) return "no-answer";
  return /^\s*y(es)?\s*$/i.test(answer) ? "yes" : "no";
}
