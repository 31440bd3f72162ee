import { describe, expect, it } from "vitest";
import type { OptionSpec, ValueKind } from "../../src/cli/command-spec.js";
import { GLOBAL_OPTIONS } from "../../src/cli/command-table.js";
import { checkOptionValues } from "../../src/cli/option-values.js";
import { CwsError } from "../../src/errors.js";
import { everyCommand } from "../helpers/commands.js";

/** The error checkOptionValues raises for one flag and value, or undefined when it accepts them. */
function check(spec: Pick<OptionSpec, "choices" | "value">, value: string, flag = "--flag", attached = false): CwsError | undefined {
  try {
    checkOptionValues([{ flag, value, attached, spec: { flags: `${flag} <value>`, ...spec } }]);
    return undefined;
  } catch (error) {
    if (error instanceof CwsError) return error;
    throw error;
  }
}

/** For each kind of value: values it takes, and values it refuses with what the message says. */
const KINDS: Record<ValueKind, { good: string[]; bad: [string, string][] }> = {
  // The form only: whether the shared AWS files have it is checkNamedProfiles' (test/e2e/aws-context.test.ts).
  profile: {
    good: ["default", "dev", "my-org:admin@prod", "a,b"],
    bad: [
      ["my profile", "not a profile name"],
      ["dev\t", "not a profile name"],
    ],
  },
  region: {
    good: ["us-east-1", "eu-central-2", "ap-southeast-7", "us-gov-west-1", "cn-north-1"],
    bad: [
      ["mars-1", "not an AWS region"],
      ["us-esat-1", 'not an AWS region (did you mean "us-east-1"?)'],
      ["US-EAST-1", 'not an AWS region (did you mean "us-east-1"?)'],
      ["us-east-1a", 'not an AWS region (did you mean "us-east-1"?)'],
    ],
  },
  architecture: {
    good: ["x86_64", "arm64"],
    bad: [
      ["amd64", `expected x86_64 or arm64 (did you mean "x86_64"? EC2's name for amd64)`],
      ["aarch64", `expected x86_64 or arm64 (did you mean "arm64"? EC2's name for aarch64)`],
      ["x86-64", `expected x86_64 or arm64 (did you mean "x86_64"? EC2's name for x86-64)`],
      ["arm46", 'expected x86_64 or arm64 (did you mean "arm64"?)'],
      ["sparc", "expected x86_64 or arm64"],
      ["X86_64", 'expected x86_64 or arm64 (did you mean "x86_64"?)'],
    ],
  },
  instanceType: {
    good: ["t3.medium", "t4g.large", "c7gn.16xlarge", "u-6tb1.metal", "mac2-m2.metal"],
    bad: [
      ["large", "not an EC2 instance type"],
      ["T3.MEDIUM", "not an EC2 instance type"],
      ["t3 medium", "not an EC2 instance type"],
    ],
  },
  subnet: {
    good: ["subnet-0123abcd", "subnet-0123456789abcdef0"],
    bad: [
      ["subnet-xyz", "not a subnet id"],
      ["sg-0123abcd", "not a subnet id"],
      ["subnet-0123456789abcdef01", "not a subnet id"],
    ],
  },
  instanceProfile: {
    good: ["cws-ami-builder", "a+b=c,d.e@f_g"],
    bad: [
      ["has space", "not a valid instance profile name"],
      ["x".repeat(129), "not a valid instance profile name"],
    ],
  },
  imageVersion: {
    good: ["v1.2.3", "1f3e9a0", "1.0.0+build.5", "release_2026"],
    bad: [
      ["v1 2", "not usable in an image name"],
      ["_v1", "not usable in an image name"],
      ["v1/2", "not usable in an image name"],
      ["v".repeat(65), "not usable in an image name"],
    ],
  },
  duration: {
    good: ["30s", "30m", "12h", "7d", "2w", "999999d"],
    bad: [
      ["7", "a number without a unit"],
      ["0d", "must be more than zero"],
      ["00s", "must be more than zero"],
      ["7D", "not a duration"],
      ["1.5d", "not a duration"],
      ["-7d", "not a duration"],
      ["7 d", "not a duration"],
      ["1d12h", "not a duration"],
      ["7days", "not a duration"],
      ["1000000d", "not a duration"],
    ],
  },
  amiOrVersion: {
    good: ["v1.2.3", "1.0.0", "ami-0abcd1234ef567890", "ami-1234abcd"],
    bad: [
      ["v 1", "neither an AMI id nor an image version"],
      ["v1/2", "neither an AMI id nor an image version"],
      ["ami-xyz", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
      ["ami-0ABCD1234EF567890", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
    ],
  },
  count: {
    good: ["1", "4", "64"],
    bad: [
      ["0", "expected a whole number from 1 to 64"],
      ["65", "expected a whole number from 1 to 64"],
      ["2.5", "expected a whole number from 1 to 64"],
      ["-1", "expected a whole number from 1 to 64"],
      ["04x", "not a number"],
    ],
  },
  keepCount: {
    good: ["1", "3", "03", "250", "1000"],
    bad: [
      ["0", "expected a whole number, 1 or more"],
      ["-1", "expected a whole number, 1 or more"],
      ["2.5", "expected a whole number, 1 or more"],
      ["1001", "at most 1000"],
      ["99999999999999999999", "at most 1000"],
      ["1e1", "not a number"],
      ["three", "not a number"],
    ],
  },
  amiId: {
    good: ["ami-0abcd1234ef567890", "ami-1234abcd"],
    bad: [
      ["ami-xyz", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
      ["ami-0ABCD1234EF567890", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
      ["v1.2.3", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
      ["i-0abcd1234ef567890", "expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890"],
    ],
  },
  // changed --since: the form only; whether git knows it, the command asks git.
  revision: {
    // A space is git's (a commit message search): the value reaches git as one argument, never through a shell.
    good: ["HEAD^", "HEAD~3", "origin/main", "v1.2.0", "0123456789abcdef0123456789abcdef01234567", "main@{1}", "HEAD^2", "@{-1}", "HEAD^1", "HEAD^{commit}", "HEAD^{/fix bug}", ":/two words", ":/init"],
    bad: [
      ["-1", "a revision cannot start with -"],
      ["main\u0007", "not a git revision (it holds a control character)"],
      ["main\nHEAD", "not a git revision (it holds a control character)"],
      ["main..HEAD", "a range, not one revision"],
      ["main...HEAD", "a range, not one revision"],
      // git's other range notations: everything not reachable from HEAD, a commit without its parents, a merge's parents.
      ["^HEAD", "a range, not one revision"],
      ["^HEAD~1", "a range, not one revision"],
      ["HEAD^!", "a range, not one revision"],
      ["HEAD^@", "a range, not one revision"],
      ["HEAD^-", "a range, not one revision"],
      ["HEAD^-2", "a range, not one revision"],
    ],
  },
};

describe("checkOptionValues", () => {
  for (const [kind, { good, bad }] of Object.entries(KINDS) as [ValueKind, (typeof KINDS)[ValueKind]][]) {
    it(`${kind}: takes ${good.join(", ")}; refuses a wrong one with exit 2, the flag, the value and what to do`, () => {
      for (const value of good) expect(check({ value: kind }, value), value).toBeUndefined();
      for (const [value, says] of bad) {
        const error = check({ value: kind }, value, "--x");
        expect(error, value).toBeInstanceOf(CwsError);
        expect(error!.message).toBe(`--x ${JSON.stringify(value)}: ${says}`);
        expect(error!.code).toBe("BAD_OPTION");
        expect(error!.exitCode).toBe(2);
        expect(error!.value).toBe(value);
        expect(error!.suggestion).toMatch(/\w{3}/);
      }
    });
  }

  it("checks a choice, with the nearest for a typo", () => {
    const spec = { choices: ["cleanup", "abort"] };
    expect(check(spec, "abort")).toBeUndefined();
    expect(check(spec, "abrt", "--on-error")?.message).toBe('--on-error "abrt": expected cleanup or abort (did you mean "abort"?)');
    expect(check(spec, "keep", "--on-error")?.message).toBe('--on-error "keep": expected cleanup or abort');
    expect(check(spec, "keep", "--on-error")?.suggestion).toBe("--on-error takes cleanup, abort");
  });

  it("refuses an empty value for any option, whatever it takes (an unset variable in a script must not mean the default)", () => {
    for (const spec of [{}, { value: "region" as const }, { choices: ["a"] }]) {
      for (const value of ["", " ", "\t"]) {
        const error = check(spec, value, "--region");
        expect(error?.message, JSON.stringify(spec)).toBe(`--region ${JSON.stringify(value)}: empty value`);
        expect(error?.suggestion).toContain("leave the flag out");
      }
    }
    expect(check({}, "anything")).toBeUndefined();
  });

  it("reports the first wrong value of several", () => {
    expect(() =>
      checkOptionValues([
        { flag: "--region", value: "us-east-1", spec: { flags: "--region <region>", value: "region" } },
        { flag: "--arch", value: "amd64", spec: { flags: "--architecture <arch>", value: "architecture" } },
        { flag: "--subnet", value: "nope", spec: { flags: "--subnet <subnet-id>", value: "subnet" } },
      ]),
    ).toThrow(/^--arch "amd64"/);
  });

  it("takes a value typed with its flag in one word (--flag=-x) for the value, for every option of the command table, and checks it by its kind", () => {
    const options = [...GLOBAL_OPTIONS, ...everyCommand().flatMap(({ spec }) => spec.options ?? [])].filter((o) => /[<[]/.test(o.flags));
    expect(options.length).toBeGreaterThan(10);
    for (const spec of options) {
      const flag = spec.flags.split(/[ ,]+/).find((word) => word.startsWith("--"))!;
      for (const value of ["-x", "--json"]) {
        let error: unknown;
        try {
          checkOptionValues([{ flag, value, attached: true, spec }]);
        } catch (caught) {
          error = caught;
        }
        expect((error as CwsError | undefined)?.code, `${flag}=${value}`).not.toBe("MISSING_OPTION_VALUE");
      }
    }
    expect(() => checkOptionValues([{ flag: "--since", value: "-x", attached: true, spec: { flags: "--since <rev>", value: "revision" } }])).toThrow('--since "-x": a revision cannot start with -');
  });

  it("takes a value that is itself an option for a missing value, whatever the option's kind; - and negative numbers are values", () => {
    const specs: Pick<OptionSpec, "choices" | "value">[] = [{}, { value: "region" }, { value: "architecture" }, { choices: ["cleanup", "abort"] }];
    for (const spec of specs) {
      for (const value of ["--json", "--jsn", "--no-cache", "-h", "-V", "--", "--templates-dir=x", "-x"]) {
        const error = check(spec, value, "--arch");
        expect(error?.code, `${value} ${JSON.stringify(spec)}`).toBe("MISSING_OPTION_VALUE");
        expect(error?.message).toBe("option '--arch <value>' argument missing");
        expect(error?.value).toBe("--arch");
        // `--arch=-x` is advised only where the kind would take it as a value: a free one; a region or a choice never starts with -.
        expect(error?.suggestion).toBe(
          spec.value === undefined && spec.choices === undefined
            ? `put the value right after the flag: --arch <value> (the word after it, ${value}, starts with -: if it is the value, write --arch=${value})`
            : `put the value right after the flag: --arch <value> (the word after it, ${value}, is a flag, and no value: ${check(spec, value, "--arch", true)!.message.replace(/^--arch "[^"]*": /, "")})`,
        );
      }
    }
    for (const value of ["-", "-1", "-0.5", "-.5", "./-x", "a-b", "x--json"]) expect(check({}, value), value).toBeUndefined();
    // A missing value is reported before any other value's problem: it explains the others.
    expect(() =>
      checkOptionValues([
        { flag: "--region", value: "mars-1", spec: { flags: "--region <region>", value: "region" } },
        { flag: "--templates-dir", value: "--json", spec: { flags: "--templates-dir <dir>" } },
      ]),
    ).toThrow(/^option '--templates-dir <dir>' argument missing/);
  });
});
