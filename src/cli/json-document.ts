import type { CommanderError } from "commander";
import type { CwsError } from "../errors.js";
import type { OutputStream } from "./io.js";

/**
 * `--json`: whatever a command prints, and however it ends, stdout holds one
 * JSON document. This is the CLI's doing, not each command's: a command writes
 * its result as JSON when `globals.json` is set, into a `JsonStdout` that
 * program.ts hands it instead of stdout; the document reaches stdout when the
 * command returns, after a check that it is exactly one JSON document. A
 * command that fails (a usage error, bad input, a bug) leaves its partial
 * output unwritten, and exec.ts prints the error as the document instead.
 * Progress, warnings and the human-readable error stay on stderr.
 */
export class JsonStdout implements OutputStream {
  readonly isTTY = false;
  readonly columns = 0;
  private readonly chunks: string[] = [];

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }

  /** Write the document to `stdout`; a command that printed anything but one JSON document is a bug in cws. */
  flushTo(stdout: OutputStream, command: string): void {
    const text = this.chunks.join("");
    try {
      JSON.parse(text);
    } catch {
      throw new Error(`cws ${command} --json printed ${text.trim() === "" ? "nothing" : "something other than one JSON document"} on stdout`);
    }
    stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/**
 * The document for an error: what went wrong, the value at fault, what to do, and the exit code;
 * `problems` too when the error has them (each problem of an invalid template, as lint's --json lists them).
 */
export function errorDocument(error: Pick<CwsError, "code" | "message" | "value" | "suggestion"> & { problems?: CwsError["problems"] }, exitCode: number): string {
  const { code, message, value, suggestion, problems } = error;
  return `${JSON.stringify({ error: { code, message, value: value ?? null, suggestion: suggestion ?? null, ...(problems === undefined ? {} : { problems }) }, exitCode }, null, 2)}\n`;
}

/**
 * Whether the command line asks for JSON, for an error commander raised while
 * parsing it (its options are then not all parsed): `--json` anywhere before `--`.
 */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

const USAGE_CODES: Record<string, string> = {
  "commander.unknownOption": "UNKNOWN_OPTION",
  "commander.unknownCommand": "UNKNOWN_COMMAND",
  "commander.missingArgument": "MISSING_ARGUMENT",
  "commander.optionMissingArgument": "MISSING_OPTION_VALUE",
  "commander.missingMandatoryOptionValue": "MISSING_OPTION_VALUE",
  "commander.excessArguments": "TOO_MANY_ARGUMENTS",
  "commander.invalidArgument": "BAD_OPTION",
  "commander.conflictingOption": "CONFLICTING_OPTIONS",
  // `cws` or `cws ami` without a command: commander shows the help, as an error.
  "commander.help": "COMMAND_REQUIRED",
};

/**
 * A usage error commander raised, with the command that raised it (program.ts adds it: `ami registry`, or `` for `cws`),
 * and for too many arguments the ones too many.
 */
export type UsageError = CommanderError & { commandPath?: string; extraArguments?: string[] };

/**
 * A usage error commander raised, as the fields of an error: one line (with
 * its "did you mean", lower-cased like ours), the value at fault, and the
 * `--help` of the command that refused the line.
 */
export function usageErrorOf(error: UsageError): Pick<CwsError, "code" | "message" | "value" | "suggestion"> {
  const help = ["cws", error.commandPath].filter(Boolean).join(" ") + " --help";
  if (error.code === "commander.help") {
    return { code: USAGE_CODES[error.code]!, message: "no command given", value: undefined, suggestion: `${help} lists the commands` };
  }
  const [first = "", ...rest] = error.message.split("\n");
  const didYouMean = /^\(Did you mean (.+)\?\)$/.exec(rest.join(" ").trim());
  const message = first.replace(/^error: /, "") + (didYouMean ? ` (did you mean ${didYouMean[1]}?)` : "");
  // The value at fault, where commander's message quotes one: the unknown flag or command, the flag that lacks its value.
  const quoted = /'([^']*)'/.exec(first)?.[1];
  const value = ["commander.unknownOption", "commander.unknownCommand", "commander.optionMissingArgument", "commander.invalidArgument"].includes(error.code)
    ? quoted?.split(" ")[0]
    : undefined;
  const extra = error.code === "commander.excessArguments" ? error.extraArguments : undefined;
  if (extra !== undefined && extra.length > 0) {
    const words = extra.map((word) => JSON.stringify(word)).join(", ");
    return { code: USAGE_CODES[error.code]!, message: `${message.replace(/\.$/, "")} (${extra.length === 1 ? "one" : extra.length} too many: ${words})`, value: extra[0], suggestion: `${help} shows the usage (a value with spaces needs quotes)` };
  }
  const suggestion =
    error.code === "commander.optionMissingArgument" && quoted !== undefined
      ? `put the value right after the flag: ${quoted}`
      : `${help} ${error.code === "commander.unknownCommand" ? "lists the commands" : error.code === "commander.unknownOption" ? "lists the options" : "shows the usage"}`;
  return { code: USAGE_CODES[error.code] ?? "USAGE", message, value, suggestion };
}
