import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandSpec, OptionSpec, ValueKind } from "../../src/cli/command-spec.js";
import { GLOBAL_OPTIONS } from "../../src/cli/command-table.js";
import { ON_ERROR_MODES } from "../../src/config/fields.js";
import { FORBID_AWS_SDK, runCli, scratchDir, type CliResult } from "../helpers/cli.js";
import { everyCommand } from "../helpers/commands.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * Every value a flag takes is checked before the command does anything: a
 * wrong one exits 2 with `error: --flag "value": what is wrong` and what to do
 * on stderr (and with --json the same as one JSON document on stdout), before
 * any template is read and before the AWS SDK is even loaded. The cases come
 * from the command table, so a new command or option is covered as it is added.
 */

/** Every command with the words that run it. */
const COMMANDS = everyCommand();

/** For each kind of value, wrong values and what the message says about each; the first is tried on every flag of the kind. */
const BAD_VALUES: Record<ValueKind, [value: string, says: string][]> = {
  region: [
    ["mars-1", "not an AWS region"],
    ["us-esat-1", 'not an AWS region (did you mean "us-east-1"?)'],
  ],
  architecture: [
    ["amd64", `expected x86_64 or arm64 (did you mean "x86_64"? EC2's name for amd64)`],
    ["aarch64", `expected x86_64 or arm64 (did you mean "arm64"? EC2's name for aarch64)`],
    ["sparc", "expected x86_64 or arm64"],
  ],
  instanceType: [["t3-medium", "not an EC2 instance type"]],
  subnet: [["subnet-xyz", "not a subnet id"]],
  instanceProfile: [["my profile", "not a valid instance profile name"]],
  imageVersion: [["v1 2", "not usable in an image name"]],
  duration: [
    ["7days", "not a duration"],
    ["7", "a number without a unit"],
    ["0d", "must be more than zero"],
  ],
  amiOrVersion: [
    ["v 1", "neither an AMI id nor an image version"],
    ["ami-xyz", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
  ],
  count: [
    ["0", "expected a whole number from 1 to 64"],
    ["four", "not a number"],
  ],
  keepCount: [
    ["0", "expected a whole number, 1 or more"],
    ["1001", "at most 1000"],
    ["three", "not a number"],
  ],
  amiId: [
    ["ami-xyz", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
    ["v1.2.3", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
  ],
  profile: [["my profile", "not a profile name"]],
  revision: [
    ["main\u0007", "not a git revision (it holds a control character)"],
    ["main..HEAD", "a range, not one revision"],
  ],
};

/** For each kind of value, two right values (a flag given twice is refused whatever its values). */
const GOOD_VALUES: Record<ValueKind, [string, string]> = {
  region: ["us-east-1", "us-west-2"],
  architecture: ["x86_64", "arm64"],
  instanceType: ["t3.medium", "t3.large"],
  subnet: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
  instanceProfile: ["cws-ami-builder", "other-profile"],
  imageVersion: ["v1.2.3", "v1.2.4"],
  duration: ["2h", "30d"],
  amiOrVersion: ["v1.2.0", "ami-0123456789abcdef0"],
  count: ["2", "4"],
  keepCount: ["1", "3"],
  amiId: ["ami-0123456789abcdef0", "ami-0123456789abcdef1"],
  profile: ["dev", "ops"],
  revision: ["HEAD~1", "main"],
};

const takesValue = (option: OptionSpec) => /[<[]/.test(option.flags);
const longFlag = (option: OptionSpec) => option.flags.split(/[ ,]+/).find((word) => word.startsWith("--"))!;
/** A placeholder for each required argument (`<template>`, `<files...>`): the checks come before anything reads it. */
const requiredArgs = (spec: CommandSpec) => (spec.arguments ?? []).filter((a) => a.syntax.startsWith("<")).map(() => "t");

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = scratchDir({
    "templates/t.yml": VALID_TEMPLATE,
    "templates/one.yml": VALID_TEMPLATE.replace("architecture: [x86_64, arm64]", "architecture: [x86_64]").replace("  arm64: 0.0336\n", ""),
    "templates/pinned-type.yml": `${VALID_TEMPLATE}instance_type:\n  x86_64: t4g.large\n`,
    "home/.aws/config": "[default]\nregion = us-east-1\n",
    "registry/amis.json": JSON.stringify(registryWith({ t: { "us-east-1": { x86_64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } })),
  }));
});
afterAll(() => cleanup());

/** The built CLI in the scratch project, offline, with the AWS SDK forbidden unless `sdk` is true. */
function cws(args: string[], options: { sdk?: boolean; env?: Record<string, string> } = {}): CliResult {
  return runCli(args, {
    cwd: dir,
    env: { HOME: join(dir, "home"), AWS_EC2_METADATA_DISABLED: "true", ...(options.sdk ? {} : { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` }), ...options.env },
  });
}

/** A usage error exactly as promised: exit 2, one error line and one suggestion on stderr, nothing on stdout (or the JSON document with --json). */
function expectUsageError(result: CliResult, expected: { code: string; message: string; value?: string }, json: boolean, what: string): void {
  expect(result.stderr, what).not.toContain("AWS SDK loaded");
  expect(result.status, `${what}\n${result.stderr}`).toBe(2);
  const lines = result.stderr.split("\n");
  expect(lines[0], what).toBe(`error: ${expected.message}`);
  expect(lines[1], what).toMatch(/^ {2}→ \S/);
  expect(lines.slice(2), what).toEqual([""]);
  if (!json) {
    expect(result.stdout, what).toBe("");
    return;
  }
  const document = JSON.parse(result.stdout) as { error: Record<string, unknown>; exitCode: number };
  expect(document, what).toEqual({
    error: { code: expected.code, message: expected.message, value: expected.value ?? null, suggestion: lines[1]!.replace(/^ {2}→ /, "") },
    exitCode: 2,
  });
}

describe("flag values, table-driven over the command table (built CLI)", () => {
  it("has wrong values for every kind of value the table uses, and every kind is used", () => {
    const used = new Set(COMMANDS.flatMap(({ spec }) => (spec.options ?? []).flatMap((option) => (option.value ? [option.value] : []))));
    expect([...used].sort()).toEqual(Object.keys(BAD_VALUES).sort());
    // The choices of --on-error are the config's: one list.
    const onError = COMMANDS.find(({ spec }) => spec.name === "build")!.spec.options!.find((option) => option.flags.startsWith("--on-error"))!;
    expect(onError.choices).toEqual(ON_ERROR_MODES);
  });

  it("refuses a wrong value for every flag of every command, under every spelling, with exit 2 before anything is loaded", () => {
    const triedKinds = new Set<ValueKind>();
    let runs = 0;
    for (const { words, spec } of COMMANDS) {
      for (const option of spec.options ?? []) {
        if (!option.value && !option.choices) continue;
        for (const flag of [longFlag(option), ...(option.aliases ?? [])]) {
          const kind = option.value;
          // Every wrong value of a kind the first time it is met, then its first.
          const bad: [string, string][] = kind
            ? BAD_VALUES[kind].slice(0, triedKinds.has(kind) ? 1 : undefined)
            : [[`${option.choices![0]}x`, `expected ${option.choices!.join(" or ")} (did you mean "${option.choices![0]}"?)`]];
          if (kind) triedKinds.add(kind);
          for (const [value, says] of bad) {
            // Text, and (alternately) the JSON document; the flag before and after the positional arguments.
            const json = runs % 2 === 0;
            const args = runs % 3 === 0 ? [...words, flag, value, ...requiredArgs(spec)] : [...words, ...requiredArgs(spec), flag, value];
            const what = `cws ${json ? "--json " : ""}${args.join(" ")}`;
            expectUsageError(cws(json ? ["--json", ...args] : args), { code: "BAD_OPTION", message: `${flag} ${JSON.stringify(value)}: ${says}`, value }, json, what);
            runs++;
          }
        }
      }
    }
    expect(triedKinds.size).toBe(Object.keys(BAD_VALUES).length);
  });

  it("refuses an empty value for every option and global option that takes one (an unset variable must not mean the default)", () => {
    for (const { words, spec } of COMMANDS) {
      for (const option of (spec.options ?? []).filter(takesValue)) {
        const flag = longFlag(option);
        const args = ["--json", ...words, ...requiredArgs(spec), flag, ""];
        expectUsageError(cws(args), { code: "BAD_OPTION", message: `${flag} "": empty value`, value: "" }, true, `cws ${args.join(" ")}`);
      }
    }
    for (const option of GLOBAL_OPTIONS.filter(takesValue)) {
      const flag = longFlag(option);
      for (const args of [[flag, "", "ami", "lint"], ["ami", "list", flag, ""]]) {
        expectUsageError(cws(args), { code: "BAD_OPTION", message: `${flag} "": empty value` }, false, `cws ${args.join(" ")}`);
      }
    }
  });

  it("takes the next flag for a missing value, for every option and global option that takes one, and honours a --json it swallowed", () => {
    // The same words whether commander noticed (it does for some lines) or the value check did.
    const missing = (flags: string, flag: string) => ({ code: "MISSING_OPTION_VALUE", message: `option '${flags.replace(/^--[\w-]+/, flag)}' argument missing`, value: flag });
    let runs = 0;
    for (const { words, spec } of COMMANDS) {
      for (const option of (spec.options ?? []).filter(takesValue)) {
        for (const flag of [longFlag(option), ...(option.aliases ?? [])]) {
          // The CLI's own --json, and a mistyped flag (--jsn), each where a value should be.
          const next = runs++ % 2 === 0 ? "--json" : "--jsn";
          const args = [...words, ...requiredArgs(spec), flag, next];
          expectUsageError(cws(args), missing(option.flags, flag), next === "--json", `cws ${args.join(" ")}`);
        }
      }
    }
    for (const option of GLOBAL_OPTIONS.filter(takesValue)) {
      const flag = longFlag(option);
      const lines: [string[], string][] = [
        [[flag, "--json", "ami", "lint"], "--json"],
        [["ami", "list", flag, "--json"], "--json"],
        [["ami", "lint", flag, "--no-cache"], "--no-cache"],
      ];
      for (const [args, next] of lines) expectUsageError(cws(args), missing(option.flags, flag), next === "--json", `cws ${args.join(" ")}`);
    }
    // A value that starts with - but is no flag: - (stdout) for --output, and a path written ./-x.
    expect(cws(["ami", "list", "--templates-dir", "./-x"]).stderr).not.toContain("argument missing");
  });

  it("checks every value of every flag that may be repeated, wherever the wrong one is", () => {
    const repeatable = COMMANDS.flatMap(({ words, spec }) => (spec.options ?? []).filter((o) => o.repeatable && o.value).map((option) => ({ words, spec, option })));
    // cleanup's --region and reap's, at least.
    expect(repeatable.map(({ words, option }) => `${words.join(" ")} ${longFlag(option)}`)).toEqual(expect.arrayContaining(["ami cleanup --region", "ami reap --region"]));
    for (const { words, spec, option } of repeatable) {
      const [bad, says] = BAD_VALUES[option.value!][0]!;
      const [good, other] = GOOD_VALUES[option.value!];
      for (const values of [[bad, good], [good, bad], [good, other, bad]]) {
        const args = [...words, ...requiredArgs(spec), ...values.flatMap((value) => [longFlag(option), value])];
        expectUsageError(cws(args), { code: "BAD_OPTION", message: `${longFlag(option)} ${JSON.stringify(bad)}: ${says}`, value: bad }, false, args.join(" "));
      }
    }
  });

  it("refuses every other option with a value given twice, for every command and global option: same or different value, any spelling, --x=v too", () => {
    // Commander would keep the last value without a word (cleanup --template a --template b ran as b alone).
    const forms = ["twice", "equals", "same"] as const;
    let runs = 0;
    const twice = (words: string[], spec: CommandSpec | undefined, option: OptionSpec, form: (typeof forms)[number] | "alias") => {
      const flag = longFlag(option);
      const [a, b] = option.value ? GOOD_VALUES[option.value] : option.choices ? [option.choices[0]!, option.choices[1]!] : ["one", "t"];
      const second = form === "same" ? a : b;
      const given =
        form === "equals" ? [`${flag}=${a}`, flag, second] : form === "alias" ? [option.aliases![0]!, a, flag, second] : [flag, a, flag, second];
      const both = form === "alias" ? `${option.aliases![0]} ${JSON.stringify(a)} and ${flag} ${JSON.stringify(second)}` : `${JSON.stringify(a)} and ${JSON.stringify(second)}`;
      // Text, and (alternately) the JSON document; the flags before and after the positional arguments.
      const json = runs % 2 === 0;
      const required = spec ? requiredArgs(spec) : [];
      const args = runs % 3 === 0 ? [...words, ...given, ...required] : [...words, ...required, ...given];
      runs++;
      const what = `cws ${json ? "--json " : ""}${args.join(" ")}`;
      const path = spec ? ["cws", ...words].join(" ") : "cws";
      const result = cws(json ? ["--json", ...args] : args);
      expectUsageError(result, { code: "REPEATED_OPTION", message: `${flag} given twice: ${both}`, value: second }, json, what);
      expect(result.stderr, what).toContain(`  → pass it once: ${path} takes one ${flag}\n`);
    };
    let checked = 0;
    for (const { words, spec } of COMMANDS) {
      for (const option of (spec.options ?? []).filter((o) => takesValue(o) && !o.repeatable)) {
        twice(words, spec, option, forms[checked++ % forms.length]!);
        if (option.aliases) twice(words, spec, option, "alias");
      }
    }
    for (const option of GLOBAL_OPTIONS.filter(takesValue)) {
      // Before the command and after it, as both are accepted.
      twice(["ami", "lint"], undefined, option, "twice");
      twice(["ami", "list"], undefined, option, "equals");
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("accepts --arch wherever --architecture is taken, and refuses the two together", () => {
    for (const { words, spec } of COMMANDS) {
      const option = spec.options?.find((o) => o.flags.startsWith("--architecture"));
      if (!option) continue;
      expect(option.aliases, words.join(" ")).toEqual(["--arch"]);
      const help = cws([...words, "--help"]).stdout;
      expect(help, words.join(" ")).toContain("--architecture <arch>");
      expect(help, words.join(" ")).not.toContain("--arch <arch>");
      const args = [...words, ...requiredArgs(spec), "--architecture", "arm64", "--arch", "x86_64"];
      expectUsageError(cws(args), { code: "REPEATED_OPTION", message: '--architecture given twice: --architecture "arm64" and --arch "x86_64"', value: "x86_64" }, false, args.join(" "));
    }
    expect(JSON.parse(cws(["ami", "list", "--arch", "x86_64", "--json"]).stdout)).toHaveLength(1);
    expect(JSON.parse(cws(["ami", "list", "--arch", "arm64", "--json"]).stdout)).toEqual([]);
  });
});

describe("what a flag means for the template, checked before anything is launched (built CLI)", () => {
  it("build refuses an instance type of the other architecture, whatever named it, with lint's rule", () => {
    const config = JSON.stringify({ build: { instance_type: { arm64: "t3.large" } } });
    const cases: [string[], string, Record<string, string>][] = [
      [["t", "--arch", "x86_64", "--instance-type", "t4g.large"], "t4g.large looks like an arm64 (Graviton) instance type, but the build is x86_64 (instance type from --instance-type)", {}],
      [["t", "--arch", "arm64", "--instance-type", "m5.xlarge"], "m5.xlarge looks like an x86_64 instance type, but the build is arm64 (instance type from --instance-type)", {}],
      [["pinned-type", "--arch", "x86_64"], "t4g.large looks like an arm64 (Graviton) instance type, but the build is x86_64 (instance type from instance_type.x86_64 of pinned-type)", {}],
    ];
    for (const [args, message] of cases) {
      expectUsageError(cws(["ami", "build", ...args, "--region", "us-east-1", "--dry-run"]), { code: "INSTANCE_TYPE_ARCHITECTURE", message, value: message.split(" ")[0] }, false, args.join(" "));
    }
    const { dir: project, cleanup: done } = scratchDir({ "cws.config.json": config, "templates/t.yml": VALID_TEMPLATE });
    try {
      const result = runCli(["ami", "build", "t", "--arch", "arm64", "--region", "us-east-1", "--dry-run"], { cwd: project, env: { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` } });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("t3.large looks like an x86_64 instance type, but the build is arm64 (instance type from cws.config.json (build.instance_type.arm64))");
    } finally {
      done();
    }
    // The right architecture for the type: the plan, offline.
    const fine = cws(["ami", "build", "t", "--arch", "arm64", "--instance-type", "t4g.large", "--region", "us-east-1", "--dry-run"], { sdk: true });
    expect(fine.status, fine.stderr).toBe(0);
    expect(fine.stdout).toContain("Launch t4g.large");
  });

  it("update-registry refuses a region or architecture the named template does not build, before any AWS call", () => {
    expectUsageError(
      cws(["ami", "update-registry", "t", "--region", "eu-west-1"]),
      { code: "REGION_NOT_IN_TEMPLATE", message: "t is not built in eu-west-1 (regions: us-east-1, us-west-2)", value: "eu-west-1" },
      false,
      "update-registry --region",
    );
    expectUsageError(
      cws(["--json", "ami", "update-registry", "one", "--arch", "arm64"]),
      { code: "ARCHITECTURE_NOT_IN_TEMPLATE", message: "one builds x86_64, not arm64", value: "arm64" },
      true,
      "update-registry --arch",
    );
    // A template and --all: one of them would be ignored.
    for (const args of [["t", "--all"], ["--all", "t", "--json"]]) {
      expectUsageError(
        cws(["ami", "update-registry", ...args]),
        { code: "CONFLICTING_OPTIONS", message: '--all and the template "t" cannot be given together', value: "--all" },
        args.includes("--json"),
        `update-registry ${args.join(" ")}`,
      );
    }
    expectUsageError(
      cws(["ami", "update-registry", "--all", "--region", "eu-west-1"]),
      { code: "NO_TARGETS", message: "nothing to update: no template builds eu-west-1" },
      false,
      "update-registry --all --region",
    );
  });

  it("rollback takes the template's only architecture, asks when there are two, and knows every template id", () => {
    expectUsageError(
      cws(["ami", "rollback", "t", "--region", "us-east-1"]),
      { code: "ARCHITECTURE_REQUIRED", message: "t builds x86_64 and arm64: say which with --architecture" },
      false,
      "rollback two architectures",
    );
    expectUsageError(cws(["ami", "rollback", "r"]), { code: "TEMPLATE_NOT_FOUND", message: 'no template "r" in ./templates or ./registry/amis.json (did you mean "t"?)', value: "r" }, false, "rollback r");
    expectUsageError(cws(["ami", "rollback", "one"]), { code: "NO_REGISTRY_ENTRY", message: "./registry/amis.json has no AMI for one: nothing to roll back", value: "one" }, false, "rollback one");
    expectUsageError(cws(["ami", "rollback", "t", "--to", "ami-xyz"]), { code: "BAD_OPTION", message: '--to "ami-xyz": expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890', value: "ami-xyz" }, false, "rollback --to");
    expectUsageError(cws(["ami", "rollback", "t", "--to", "v 1"]), { code: "BAD_OPTION", message: '--to "v 1": neither an AMI id nor an image version', value: "v 1" }, false, "rollback --to by form");
    // One architecture, one AMI, no history: it gets as far as the registry's answer, with no --architecture.
    expectUsageError(
      cws(["ami", "rollback", "t", "--region", "us-east-1", "--arch", "x86_64"]),
      { code: "NO_HISTORY", message: "t.us-east-1.x86_64 has no earlier AMI to roll back to", value: "t.us-east-1.x86_64" },
      false,
      "rollback --arch",
    );
  });

  it("says a --templates-dir that is a file is not a directory, for every command, whether it reads templates or not", () => {
    for (const { words, spec } of COMMANDS) {
      const args = [...words, ...requiredArgs(spec)];
      expectUsageError(
        cws(["--templates-dir", "registry/amis.json", ...args]),
        { code: "NOT_A_DIRECTORY", message: "registry/amis.json: the templates directory is a regular file, not a directory", value: "registry/amis.json" },
        false,
        args.join(" "),
      );
      // A --templates-dir typed on the command line that is not there is a typo, for list as for lint.
      expectUsageError(
        cws([...args, "--templates-dir", "templatse", "--json"]),
        { code: "NOT_FOUND", message: "templatse: the templates directory does not exist", value: "templatse" },
        true,
        `${args.join(" ")} --templates-dir templatse`,
      );
    }
    // The same from CWS_TEMPLATES_DIR; a missing default or variable is left to the commands that need templates.
    const fromEnv = cws(["ami", "list"], { env: { CWS_TEMPLATES_DIR: "registry/amis.json" } });
    expect(fromEnv.status).toBe(2);
    expect(fromEnv.stderr).toContain("registry/amis.json: the templates directory is a regular file, not a directory");
    const missingEnv = cws(["ami", "list", "--json"], { env: { CWS_TEMPLATES_DIR: "nowhere" } });
    expect(missingEnv.status, missingEnv.stderr).toBe(0);
    expect(JSON.parse(missingEnv.stdout)).toHaveLength(1);
  });
});
