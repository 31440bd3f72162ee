import { describe, expect, it } from "vitest";
import { command, fastPrograms, type GroupSpec } from "../../src/cli/command-spec.js";
import { ARCHITECTURE_NAMES, COMMAND_TABLE } from "../../src/cli/command-table.js";
import { execCommands } from "../../src/cli/exec.js";
import type { CliIO } from "../../src/cli/io.js";
import { ARCHITECTURES } from "../../src/template/architectures.js";
import { findLintIssues } from "../../src/template/lint.js";
import type { Template } from "../../src/template/schema.js";
import { ROOT } from "../helpers/cli.js";
import { everyCommand } from "../helpers/commands.js";

/** Run a command line in-process against `table`; what it printed and its exit code. */
async function run(table: GroupSpec, argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { CWS_REGISTRY: "from-env.json" }, cwd: ROOT };
  const status = await execCommands(argv, io, table);
  return { status, stdout, stderr };
}

/** A table with one command, `cws ami greet`, whose implementation records how it was called and how often it was loaded. */
function greetTable() {
  const calls: unknown[] = [];
  let loads = 0;
  const implementation = {
    greet: async (names: string[], options: Record<string, unknown>, registry: string) => {
      calls.push({ names, options, registry });
      return 1 as const;
    },
  };
  const spec = command({
    name: "greet",
    description: "say hello",
    arguments: [{ syntax: "<names...>", description: "who" }],
    options: [
      { flags: "--loud", description: "shout" },
      { flags: "--tone <tone>", description: "how", choices: ["warm", "dry"], default: "warm" },
      { flags: "--voice <tone>", description: "alias of --tone", hidden: true },
    ],
    helpAfter: "Exit codes: 1 always.",
    load: async () => {
      loads++;
      return implementation;
    },
    run: ({ greet }, { args: [names], options, globals }) => greet(names as string[], options, globals.registry),
  });
  const table: GroupSpec = { name: "ami", description: "test commands", commands: [spec] };
  return { table, spec, calls, loads: () => loads };
}

describe("the command table", () => {
  it("is what commander parses: arguments, options, defaults, choices, help, and the exit code the implementation returns", async () => {
    const { table, calls, loads } = greetTable();
    const help = await run(table, ["ami", "greet", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage: cws ami greet [options] <names...>");
    expect(help.stdout).toMatch(/--tone <tone> +how \(choices: "warm", "dry", default: "warm"\)/);
    expect(help.stdout).not.toContain("--voice");
    expect(help.stdout).toContain("\n\nExit codes: 1 always.\n");
    // Help, commander's own errors and a value the table refuses never load an implementation.
    expect(await run(table, ["ami", "greet", "ada", "--tone", "drry"])).toEqual({
      status: 2,
      stdout: "",
      stderr: 'error: --tone "drry": expected warm or dry (did you mean "dry"?)\n  → --tone takes warm, dry\n',
    });
    expect((await run(table, ["ami", "greet", "--loud"])).stderr).toContain("missing required argument 'names'");
    expect(loads()).toBe(0);

    expect(await run(table, ["ami", "greet", "ada", "grace", "--loud", "--voice", "dry"])).toEqual({ status: 1, stdout: "", stderr: "" });
    expect(loads()).toBe(1);
    expect(calls).toEqual([{ names: ["ada", "grace"], options: { loud: true, tone: "warm", voice: "dry" }, registry: "from-env.json" }]);
  });

  it("gives an alias's value under the option's own name, checks values by their kind, and answers --json with one document", async () => {
    const calls: Record<string, unknown>[] = [];
    const table: GroupSpec = {
      name: "ami",
      description: "test commands",
      commands: [
        command({
          name: "go",
          description: "go somewhere",
          options: [
            { flags: "--region <region>", description: "where", value: "region" },
            { flags: "--architecture <arch>", description: "what", value: "architecture", aliases: ["--arch", "--platform"] },
          ],
          load: async () => ({}),
          run: async (_implementation, { options, globals, io }) => {
            calls.push(options);
            io.stdout.write(globals.json ? '{"went": true}' : "went\n");
            return 0;
          },
        }),
      ],
    };
    expect(await run(table, ["ami", "go", "--platform", "arm64", "--region", "eu-west-1"])).toEqual({ status: 0, stdout: "went\n", stderr: "" });
    expect(await run(table, ["ami", "go", "--arch", "x86_64", "--json"])).toEqual({ status: 0, stdout: '{"went": true}\n', stderr: "" });
    expect(calls).toEqual([{ architecture: "arm64", region: "eu-west-1" }, { architecture: "x86_64" }]);
    const typo = await run(table, ["ami", "go", "--platform", "aarch64", "--json"]);
    expect(typo.status).toBe(2);
    expect(JSON.parse(typo.stdout)).toEqual({
      error: {
        code: "BAD_OPTION",
        message: `--platform "aarch64": expected x86_64 or arm64 (did you mean "arm64"? EC2's name for aarch64)`,
        value: "aarch64",
        suggestion: "EC2 names the architectures x86_64 and arm64",
      },
      exitCode: 2,
    });
    expect(typo.stderr).toBe(`error: ${JSON.parse(typo.stdout).error.message}\n  → EC2 names the architectures x86_64 and arm64\n`);
    expect(calls).toHaveLength(2);
    // Help lists the option, not its aliases.
    const help = (await run(table, ["ami", "go", "--help"])).stdout;
    expect(help).toContain("--architecture <arch>");
    expect(help).not.toMatch(/--arch |--platform/);
  });

  it("refuses an option with an argument or option its entry says it excludes, whichever comes first, and names only things the command has", async () => {
    const ran: unknown[] = [];
    const table: GroupSpec = {
      name: "ami",
      description: "AMIs",
      commands: [
        command({
          name: "tidy",
          description: "tidy one or all",
          arguments: [{ syntax: "[things...]", description: "which" }],
          options: [
            { flags: "--all", description: "every one", conflicts: ["things", "--only"] },
            { flags: "--only <kind>", description: "only these" },
          ],
          load: async () => ({}),
          run: async (_implementation, { args, options }) => {
            ran.push([args, options]);
            return 0;
          },
        }),
      ],
    };
    const refusals: [string[], string][] = [
      [["ami", "tidy", "a", "--all"], '--all and the things ["a"] cannot be given together'],
      [["ami", "tidy", "--all", "a", "b"], '--all and the things ["a","b"] cannot be given together'],
      [["ami", "tidy", "--only", "x", "--all"], "--all and --only cannot be given together"],
    ];
    for (const [argv, message] of refusals) {
      const result = await run(table, [...argv, "--json"]);
      expect(result.status, argv.join(" ")).toBe(2);
      expect(JSON.parse(result.stdout)).toEqual({ error: { code: "CONFLICTING_OPTIONS", message, value: "--all", suggestion: "give one of them (cws ami tidy --help says what each does)" }, exitCode: 2 });
    }
    expect(ran).toEqual([]);
    for (const argv of [["ami", "tidy", "--all"], ["ami", "tidy", "a"], ["ami", "tidy", "--only", "x", "a"]]) expect((await run(table, argv)).status, argv.join(" ")).toBe(0);
    expect(ran).toHaveLength(3);
    // In the real table every name a conflict gives is an argument or another option of the same command.
    for (const entry of COMMAND_TABLE.commands.flatMap((c) => ("commands" in c ? c.commands : [c]))) {
      if ("commands" in entry) continue;
      const names = [...(entry.arguments ?? []).map((a) => a.syntax.replace(/[<>[\].]/g, "")), ...(entry.options ?? []).map((o) => o.flags.split(" ")[0])];
      for (const option of entry.options ?? []) for (const other of option.conflicts ?? []) expect(names, `${entry.name} ${option.flags}`).toContain(other);
    }
  });

  it("names the architectures in its help as architectures.ts lists them", () => {
    expect(ARCHITECTURE_NAMES).toBe(ARCHITECTURES.join(" or "));
  });

  it("lists every `cws ami` command in the full CLI's help, in the table's order", async () => {
    const { stdout } = await run(COMMAND_TABLE, ["ami", "--help"]);
    const commands = stdout.slice(stdout.indexOf("\nCommands:\n"));
    const listed = [...commands.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]).filter((name) => name !== "help");
    expect(listed).toEqual(COMMAND_TABLE.commands.map((entry) => entry.name));
  });

  it("names, in `cws ami lint --help`, exactly the rules lint reports", async () => {
    // One script that breaks every script rule, and an arm64 instance type listed for x86_64.
    const template = {
      setup_script: 'curl http://example.org/install.sh | sh\necho "ubuntu:secret" | chpasswd\nfalse || true\n',
      instance_type: { x86_64: "t4g.large" },
    } as unknown as Template;
    const reported = new Set(findLintIssues(template).map((finding) => finding.rule));
    const { stdout } = await run(COMMAND_TABLE, ["ami", "lint", "--help"]);
    const named = /^Rules: (.*)\.$/m.exec(stdout)?.[1]?.split(", ");
    expect(named?.toSorted()).toEqual([...reported].sort());
  });

  it("declares a switch that any command takes in both spellings (--verify, --no-verify) in both on every command that takes it", () => {
    const switches = everyCommand().map(({ words, spec }) => ({ name: words.join(" "), flags: new Set((spec.options ?? []).filter((o) => !/[<[]/.test(o.flags)).map((o) => o.flags)) }));
    const spelled = new Set(switches.flatMap((command) => [...command.flags]));
    // A switch with both spellings somewhere (build's --verify is build-all's default; --no-verify skips it there).
    const pairs = [...spelled].filter((flag) => flag.startsWith("--no-") && spelled.has(`--${flag.slice(5)}`)).map((flag) => [`--${flag.slice(5)}`, flag] as const);
    expect(pairs.map(([on]) => on)).toEqual(expect.arrayContaining(["--verify", "--publish-ssm"]));
    for (const [on, off] of pairs) {
      for (const command of switches.filter((c) => c.flags.has(on) || c.flags.has(off))) {
        expect({ command: command.name, takes: [on, off].filter((flag) => command.flags.has(flag)) }).toEqual({ command: command.name, takes: [on, off] });
      }
    }
  });

  it("takes --verify and --no-verify on build and on build-all, each with its own default", async () => {
    const seen: Record<string, unknown>[] = [];
    const spy = (name: string): GroupSpec["commands"][number] =>
      command({
        ...(COMMAND_TABLE.commands.find((c) => c.name === name) as Parameters<typeof command>[0]),
        load: async () => ({}),
        run: async (_module, { options }) => (seen.push(options), 0),
      });
    const table: GroupSpec = { ...COMMAND_TABLE, commands: [spy("build"), spy("build-all")] };
    for (const argv of [["build", "t"], ["build", "t", "--verify"], ["build", "t", "--no-verify"], ["build-all"], ["build-all", "--verify"], ["build-all", "--no-verify"]]) {
      const result = await run(table, ["ami", ...argv]);
      expect(result.status, `${argv.join(" ")}: ${result.stderr}`).toBe(0);
    }
    // undefined: the command's default (build does not verify, build-all does).
    expect(seen.map((options) => options.verify)).toEqual([undefined, true, false, undefined, true, false]);
  });

  it("gives each fast program the first two words of its command line as its name", () => {
    expect(fastPrograms(COMMAND_TABLE).map(({ words, name, spec }) => ({ words, name, fast: spec.fastProgram }))).toEqual([
      { words: ["ami", "lint"], name: "ami-lint", fast: true },
      { words: ["ami", "list"], name: "ami-list", fast: true },
    ]);
    // bin/cws.js routes on two words: a fast program deeper in the tree is refused.
    const nested: GroupSpec = { ...COMMAND_TABLE, commands: [{ name: "registry", description: "", commands: [{ ...greetTable().spec, fastProgram: true }] }] };
    expect(() => fastPrograms(nested)).toThrow("ami registry greet: only a command right under `cws ami` can have a program of its own");
  });
});
