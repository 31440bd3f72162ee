import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { errorDocument, JsonStdout, jsonRequested, usageErrorOf } from "../../src/cli/json-document.js";

describe("--json", () => {
  it("is asked for by --json anywhere before --", () => {
    expect(jsonRequested(["--json", "ami", "lint"])).toBe(true);
    expect(jsonRequested(["ami", "lint", "--bogus", "--json"])).toBe(true);
    expect(jsonRequested(["ami", "lint"])).toBe(false);
    expect(jsonRequested(["ami", "lint", "--", "--json"])).toBe(false);
    expect(jsonRequested(["ami", "lint", "--jsonx"])).toBe(false);
  });

  it("passes one JSON document through, and refuses nothing, text, or two documents (a bug in the command)", () => {
    const written: string[] = [];
    const stdout = { write: (text: string) => written.push(text) };
    const one = new JsonStdout();
    one.write("{\n");
    one.write('  "a": 1\n}');
    one.flushTo(stdout, "ami x");
    expect(written).toEqual(['{\n  "a": 1\n}\n']);
    for (const [chunks, what] of [[[], "nothing"], [["Merged 2 files\n"], "something other than one JSON document"], [["{}\n", "{}\n"], "something other than one JSON document"]] as const) {
      const collected = new JsonStdout();
      for (const chunk of chunks) collected.write(chunk);
      expect(() => collected.flushTo(stdout, "ami x")).toThrow(`cws ami x --json printed ${what} on stdout`);
    }
    expect(written).toHaveLength(1);
  });

  it("writes an error as { error: { code, message, value, suggestion }, exitCode }", () => {
    expect(JSON.parse(errorDocument({ code: "BAD_OPTION", message: "m", value: "v", suggestion: "s" }, 2))).toEqual({
      error: { code: "BAD_OPTION", message: "m", value: "v", suggestion: "s" },
      exitCode: 2,
    });
    expect(JSON.parse(errorDocument({ code: "X", message: "m", value: undefined, suggestion: undefined }, 1))).toEqual({
      error: { code: "X", message: "m", value: null, suggestion: null },
      exitCode: 1,
    });
    // An error with the problems of invalid templates carries them, as lint lists them.
    const problem = { file: "templates/a.yml", line: 3, column: 1, severity: "error" as const, path: "version", message: "required field is missing" };
    expect(JSON.parse(errorDocument({ code: "TEMPLATE_INVALID", message: "m", value: "templates/a.yml", suggestion: "s", problems: [problem] }, 2)).error.problems).toEqual([problem]);
  });

  it("reads commander's usage errors: a code of ours, one line with its did-you-mean, the value at fault, the --help of the command that refused it", () => {
    const error = (code: string, message: string, commandPath?: string) => Object.assign(new CommanderError(1, code, message), commandPath === undefined ? {} : { commandPath });
    expect(usageErrorOf(error("commander.unknownOption", "error: unknown option '--stict'\n(Did you mean --strict?)", "ami lint"))).toEqual({
      code: "UNKNOWN_OPTION",
      message: "unknown option '--stict' (did you mean --strict?)",
      value: "--stict",
      suggestion: "cws ami lint --help lists the options",
    });
    expect(usageErrorOf(error("commander.unknownCommand", "error: unknown command 'lnt'\n(Did you mean lint?)", "ami"))).toMatchObject({
      code: "UNKNOWN_COMMAND",
      message: "unknown command 'lnt' (did you mean lint?)",
      value: "lnt",
      suggestion: "cws ami --help lists the commands",
    });
    expect(usageErrorOf(error("commander.unknownOption", "error: unknown option '--zzz'", ""))).toMatchObject({ message: "unknown option '--zzz'", suggestion: "cws --help lists the options" });
    expect(usageErrorOf(error("commander.optionMissingArgument", "error: option '--region <region>' argument missing"))).toMatchObject({
      code: "MISSING_OPTION_VALUE",
      value: "--region",
      suggestion: "put the value right after the flag: --region <region>",
    });
    expect(usageErrorOf(error("commander.missingArgument", "error: missing required argument 'template'", "ami build"))).toMatchObject({
      code: "MISSING_ARGUMENT",
      value: undefined,
      suggestion: "cws ami build --help shows the usage",
    });
    expect(usageErrorOf(error("commander.excessArguments", "error: too many arguments for 'list'. Expected 0 arguments but got 1."))).toMatchObject({
      code: "TOO_MANY_ARGUMENTS",
      value: undefined,
    });
    // With the arguments too many (program.ts adds them): the first is the value at fault, all are named.
    expect(usageErrorOf(Object.assign(error("commander.excessArguments", "error: too many arguments for 'lint'. Expected 0 arguments but got 2.", "ami x"), { extraArguments: ["a b", "c"] }))).toEqual({
      code: "TOO_MANY_ARGUMENTS",
      message: `too many arguments for 'lint'. Expected 0 arguments but got 2 (2 too many: "a b", "c")`,
      value: "a b",
      suggestion: "cws ami x --help shows the usage (a value with spaces needs quotes)",
    });
    // A group without its command: that group's help, not cws's.
    expect(usageErrorOf(error("commander.help", "(outputHelp)", "ami registry"))).toMatchObject({
      code: "COMMAND_REQUIRED",
      message: "no command given",
      suggestion: "cws ami registry --help lists the commands",
    });
    expect(usageErrorOf(error("commander.help", "(outputHelp)", ""))).toMatchObject({ suggestion: "cws --help lists the commands" });
    expect(usageErrorOf(error("commander.somethingNew", "error: odd"))).toMatchObject({ code: "USAGE", message: "odd" });
  });
});
