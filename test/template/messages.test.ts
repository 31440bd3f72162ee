import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { formatProblem, lintAgainCommand } from "../../src/template/problems.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

// The author-facing wording of the messages load.test.ts does not already pin: one case per way a
// zod issue is rewritten, per cross-field rule, and a YAML warning.
const FILE = "templates/t.yml";
const lines = (source: string) => parseTemplate(Buffer.from(source), FILE).problems.map(formatProblem);
const replace = (from: string | RegExp, to: string) => VALID_TEMPLATE.replace(from, to);

describe("template messages", () => {
  it("names a value that is not a region, whatever its type", () => {
    expect(lines(replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, 5]"))).toEqual([
      `${FILE}:7:22 error regions[1]: a number (5) is not an AWS region`,
    ]);
  });

  it("says what the keys of a map by region or by architecture must be", () => {
    const amis = `${VALID_TEMPLATE}amis:\n  us-east1:\n    x86_64: ami-0aaaaaaaaaaaaaaa1\n  us-east-1:\n    amd64: ami-0aaaaaaaaaaaaaaa1\n`;
    expect(lines(amis)).toEqual([
      `${FILE}:21:3 error amis.us-east1: unknown field "us-east1" (did you mean "us-east-1"?); expected a region`,
      `${FILE}:24:5 error amis.us-east-1.amd64: unknown field "amd64" (did you mean "x86_64"? EC2's name for amd64); expected one of x86_64, arm64`,
    ]);
    expect(lines(`${VALID_TEMPLATE}instance_type:\n  intel: t3.small\n`)).toEqual([
      `${FILE}:21:3 error instance_type.intel: unknown field "intel" (did you mean "x86_64"? EC2's name for intel); expected one of x86_64, arm64`,
    ]);
  });

  it("words sizes by what is measured", () => {
    expect(lines(replace("regions: [us-east-1, us-west-2]", "regions: []").replace('name: "Test Environment"', 'name: ""'))).toEqual([
      `${FILE}:1:7 error name: must not be empty`,
      `${FILE}:7:10 error regions: must list at least 1 item`,
    ]);
    expect(lines(`${VALID_TEMPLATE}tags:\n  team: ${"v".repeat(300)}\n`)).toEqual([`${FILE}:21:9 error tags.team: must be at most 256 characters long`]);
    // Characters as AWS (and JSON Schema's maxLength) count them: a key of 128 emoji is 256 UTF-16 units, and fine.
    const emoji = (count: number) => "\u{1F600}".repeat(count);
    expect(lines(`${VALID_TEMPLATE}tags:\n  ${emoji(128)}: ${emoji(256)}\n`)).toEqual([]);
    expect(lines(`${VALID_TEMPLATE}tags:\n  ${emoji(129)}: x\n`)).toEqual([`${FILE}:21:3 error tags.${emoji(129)}: must be at most 128 characters long`]);
  });

  it("explains the forms of a base image, and checks inside { name, owners }", () => {
    expect(lines(replace("source: ubuntu-22.04-lts", "source: 42"))).toEqual([
      `${FILE}:5:11 error base_ami.source: expected an alias (ubuntu-22.04-lts, ubuntu-24.04-lts, amazon-linux-2023, debian-12), an ami-… id or a { name, owners } mapping, got a number (42)`,
    ]);
    expect(lines(replace("source: ubuntu-22.04-lts", "source: { name: 5, owners: [''] }"))).toEqual([
      `${FILE}:5:19 error base_ami.source.name: expected a string, got a number (5)`,
      `${FILE}:5:31 error base_ami.source.owners[0]: expected a 12-digit AWS account id or self, amazon, aws-marketplace, aws-backup-vault, got a string ("")`,
    ]);
    // Complete but for one unknown key: zod passes the object form's issue on as the union's own.
    expect(lines(replace("source: ubuntu-22.04-lts", "source: { name: 'ubuntu/*', owners: [amazon], owner: self }"))).toEqual([
      `${FILE}:5:49 error base_ami.source.owner: unknown field "owner" (did you mean "owners"?)`,
    ]);
  });

  it("refuses another dialect's anchors in expected_regex, which JavaScript reads as letters", () => {
    const regex = (pattern: string) => parseTemplate(Buffer.from(VALID_TEMPLATE.replace('expected: "ready"', () => `expected_regex: '${pattern}'`)), FILE).problems;
    expect(regex("^ready\\Z").map(formatProblem)).toEqual([
      `${FILE}:15:21 error validation_tests[0].expected_regex: \\Z is not an anchor in a JavaScript regular expression: it matches the letter Z`,
    ]);
    expect(regex("\\Aready").map((p) => p.suggestion)).toEqual(["use ^ for the start of the output"]);
    expect(regex("ready\\z").map((p) => p.suggestion)).toEqual(["use $ for the end of the output"]);
    // An escaped backslash before the letter, a letter escape that is an escape in JavaScript, and Z alone are fine.
    for (const fine of ["C:\\\\Z", "\\bready\\b", "^Z$", "[A-Z]+"]) expect(regex(fine), fine).toEqual([]);
  });

  it("reports every cross-field rule at once", () => {
    const source =
      replace("architecture: [x86_64, arm64]", "architecture: [arm64]")
        .replace(/setup_script: \|\n( {2}.*\n)+/, "build_steps:\n  - name: a\n    script: b\nsetup_timeout_seconds: 60\n")
        .replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-east-1]")
        .replace("ports: [22]", "ports: [22, 22]") + "instance_type:\n  x86_64: t3.large\n";
    expect(lines(source)).toEqual([
      `${FILE}:7:22 error regions[1]: duplicate region "us-east-1" (already listed at index 0)`,
      `${FILE}:11:1 error setup_timeout_seconds: setup_timeout_seconds applies to setup_script; with build_steps give each step its own timeout_seconds`,
      `${FILE}:16:13 error ports[1]: duplicate port 22 (already listed at index 0)`,
      `${FILE}:18:3 error estimated_cost_per_hour.x86_64: estimated_cost_per_hour has an entry for x86_64, but base_ami.architecture builds only arm64`,
      `${FILE}:21:3 error instance_type.x86_64: instance_type has an entry for x86_64, but base_ami.architecture builds only arm64`,
    ]);
  });

  it("passes on the YAML parser's warnings as warnings", () => {
    const parsed = parseTemplate(Buffer.from(`%FOO bar\n---\n${VALID_TEMPLATE}`), FILE);
    expect(parsed.problems.map(formatProblem)).toEqual([`${FILE}:1:1 warning Unknown directive %FOO`]);
    expect(parsed.template?.name).toBe("Test Environment");
  });

  describe("a value quoted as written, not as the parser read it", () => {
    const expectedAs = (value: string) => lines(replace('    expected: "ready"', `    expected: ${value}`));
    const at = `${FILE}:15:15 error validation_tests[0].expected: expected a string, got`;

    it.each([
      ["1.10", "a number"],
      ["1.0", "a number"],
      ["1e3", "a number"],
      ["1e400", "a number"],
      ["0x1F", "a number"],
      ["0o17", "a number"],
      ["010", "a number"],
      [".5", "a number"],
      ["-0", "a number"],
      ["+1", "a number"],
      [".inf", "a number"],
      ["-.Inf", "a number"],
      [".nan", "a number"],
      ["True", "a boolean"],
      ["false", "a boolean"],
    ])("%s, read as %s, is quoted as written", (value, type) => {
      expect(expectedAs(value)).toEqual([`${at} ${type} (${value}); put it in quotes: "${value}"`]);
    });

    it.each(["1_000", "yes", "on", "Off", "y", "2024-01-01", "0b101", "1:20", "12:30"])("%s is a string in YAML 1.2, as written", (value) => {
      const parsed = parseTemplate(Buffer.from(replace('    expected: "ready"', `    expected: ${value}`)), FILE);
      expect(parsed.problems).toEqual([]);
      expect(parsed.template?.validation_tests[0]?.expected).toBe(value);
    });

    it("names a null as written, with no quotes to suggest", () => {
      expect(expectedAs("~")).toEqual([`${at} nothing (~)`]);
      expect(expectedAs("Null")).toEqual([`${at} nothing (Null)`]);
      expect(expectedAs("")).toEqual([`${at} nothing (null)`]);
    });

    it("says when even the quoted text would be refused", () => {
      for (const value of ["1.0", "1.10", "2"]) {
        expect(lines(replace('version: "1.0.0"', `version: ${value}`))).toEqual([
          `${FILE}:3:10 error version: expected a string, got a number (${value}); quoted, "${value}" would still be wrong: expected a semantic version such as 1.2.3`,
        ]);
      }
      expect(lines(`${VALID_TEMPLATE}instance_type: { x86_64: 5 }\n`)).toEqual([
        `${FILE}:20:26 error instance_type.x86_64: expected a string, got a number (5); quoted, "5" would still be wrong: expected an EC2 instance type such as t3.medium`,
      ]);
    });

    it("quotes as written wherever a value is named: tags, bounds, enums, regions, base images, aliases", () => {
      expect(lines(`${VALID_TEMPLATE}tags: { cost: 1.50, on: True }\n`)).toEqual([
        `${FILE}:20:15 error tags.cost: expected a string, got a number (1.50); put it in quotes: "1.50"`,
        `${FILE}:20:25 error tags.on: expected a string, got a boolean (True); put it in quotes: "True"`,
      ]);
      expect(lines(replace("ports: [22]", "ports: [0x10000, 1.50]"))).toEqual([
        `${FILE}:16:9 error ports[0]: must be at most 65535, got 0x10000`,
        `${FILE}:16:18 error ports[1]: expected a whole number, got a number (1.50)`,
      ]);
      expect(lines(replace("x86_64: 0.0416", "x86_64: -1.50"))).toEqual([`${FILE}:18:11 error estimated_cost_per_hour.x86_64: must be at least 0, got -1.50`]);
      expect(lines(replace("architecture: [x86_64, arm64]", "architecture: [x86_64, 010]"))).toEqual([
        `${FILE}:6:26 error base_ami.architecture[1]: expected one of x86_64, arm64, got a number (010)`,
      ]);
      expect(lines(replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, 1e3]"))).toEqual([`${FILE}:7:22 error regions[1]: a number (1e3) is not an AWS region`]);
      expect(lines(replace("source: ubuntu-22.04-lts", "source: 0x1F"))[0]).toMatch(/got a number \(0x1F\)$/);
      expect(lines(replace('    expected: "ready"', "    expected: &v 1.10\n  - name: b\n    command: *v"))).toEqual([
        `${FILE}:15:18 error validation_tests[0].expected: expected a string, got a number (1.10); put it in quotes: "1.10"`,
        `${FILE}:15:18 error validation_tests[1].command: expected a string, got a number (1.10); put it in quotes: "1.10" (reached through *v at line 17)`,
      ]);
    });
  });

  describe("keys", () => {
    it("refuses a key YAML reads as a number, boolean or null, quoting it as written; quoted, it is fine", () => {
      expect(lines(`${VALID_TEMPLATE}tags: {1.10: x, 0x1F: y, null: w, ~: v, True: u}\n`)).toEqual([
        `${FILE}:20:8 error a key must be text, got a number (1.10); put it in quotes: "1.10"`,
        `${FILE}:20:17 error a key must be text, got a number (0x1F); put it in quotes: "0x1F"`,
        `${FILE}:20:26 error a key must be text, got nothing (null); put it in quotes: "null"`,
        `${FILE}:20:35 error a key must be text, got nothing (~); put it in quotes: "~"`,
        // To YAML, null and ~ are one key.
        `${FILE}:20:35 error duplicate key "null" (written ~): it is already set in this mapping, and only one value can win`,
        `${FILE}:20:41 error a key must be text, got a boolean (True); put it in quotes: "True"`,
      ]);
      expect(lines(`${VALID_TEMPLATE}tags: {"1.10": x, '0x1F': y, "null": w}\n`)).toEqual([]);
      // At any depth, and with no second complaint about the key it was read as.
      expect(lines(`${VALID_TEMPLATE}instance_type:\n  1: t3.small\n`)).toEqual([
        `${FILE}:21:3 error a key must be text, got a number (1); put it in quotes: "1"`,
        `${FILE}:21:3 error instance_type.1: unknown field "1"; expected one of x86_64, arm64`,
      ]);
    });

    it("refuses __proto__ anywhere, also through a merge key, and Name as a tag (cws sets it)", () => {
      const proto = "__proto__ cannot be a key in a template: JavaScript gives the name a meaning of its own, so the value would be lost";
      expect(lines(`${VALID_TEMPLATE}tags:\n  __proto__: x\n`)).toEqual([`${FILE}:21:3 error ${proto}`]);
      expect(lines(`${VALID_TEMPLATE}x-defaults: &d\n  __proto__: x\ntags:\n  <<: *d\n  team: y\n`)).toEqual([
        `${FILE}:20:1 error x-defaults: unknown field "x-defaults"`,
        `${FILE}:21:3 error ${proto}`,
      ]);
      expect(lines(`${VALID_TEMPLATE}tags:\n  Name: mine\n  name: fine\n`)).toEqual([
        `${FILE}:21:3 error tags.Name: cws sets Name on every image itself (the image name); use another key`,
      ]);
    });

    it("names an empty key as one, at the key", () => {
      expect(lines(`${VALID_TEMPLATE}tags:\n  "": x\n`)).toEqual([`${FILE}:21:3 error tags[""]: the key is empty`]);
    });

    it("counts tags against what EC2 allows an image, less cws's own", () => {
      const tags = (count: number) => `tags:\n${Array.from({ length: count }, (_, i) => `  t${i}: v\n`).join("")}`;
      expect(lines(`${VALID_TEMPLATE}${tags(37)}`)).toEqual([]);
      expect(lines(`${VALID_TEMPLATE}${tags(45)}`)).toEqual([
        `${FILE}:20:1 error tags: 45 tags; a template may set at most 37: EC2 allows 50 per image and cws sets 13 of its own`,
      ]);
    });
  });

  describe("values that would fail only at build time", () => {
    it("refuses text that is only spaces or line breaks, in every text field", () => {
      const blank = "must not be blank (only spaces or line breaks)";
      expect(lines(replace('description: "A template for tests"', 'description: "  "'))).toEqual([`${FILE}:2:14 error description: ${blank}, got a string ("  ")`]);
      expect(lines(replace(/setup_script: \|[\s\S]*?(?=\nvalidation_tests)/, 'setup_script: "\\n\\n"'))).toEqual([
        `${FILE}:8:15 error setup_script: ${blank}, got a string ("\\n\\n")`,
      ]);
      expect(lines(replace('command: "cat /var/tmp/ready"', 'command: " "'))[0]).toMatch(/validation_tests\[0\]\.command: must not be blank/);
    });

    it("refuses an image owner DescribeImages would not take", () => {
      const owners = (list: string) => replace("source: ubuntu-22.04-lts", `source: { name: 'ubuntu/*', owners: ${list} }`);
      expect(lines(owners("[evil, '12345678901', amazon]"))).toEqual([
        `${FILE}:5:40 error base_ami.source.owners[0]: expected a 12-digit AWS account id or self, amazon, aws-marketplace, aws-backup-vault, got a string ("evil")`,
        `${FILE}:5:46 error base_ami.source.owners[1]: expected a 12-digit AWS account id or self, amazon, aws-marketplace, aws-backup-vault, got a string ("12345678901")`,
      ]);
      expect(lines(owners("['099720109477', self, amazon, aws-marketplace, aws-backup-vault]"))).toEqual([]);
    });

    it("limits the name to what fits the EC2 image description, and the description to 255 characters", () => {
      expect(lines(replace('description: "A template for tests"', `description: ${"d".repeat(1001)}`))).toEqual([`${FILE}:2:14 error description: must be at most 255 characters long`]);
      expect(lines(replace('name: "Test Environment"', `name: ${"n".repeat(129)}`))).toEqual([`${FILE}:1:7 error name: must be at most 128 characters long`]);
    });
  });
});

describe("a number too large for a number, or not one", () => {
  it.each([
    ["1e400", "which is beyond the largest number (about 1.8e308) and reads as Infinity"],
    ["-.inf", "which is beyond the largest number (about 1.8e308) and reads as -Infinity"],
    [".nan", "which is not a number (NaN)"],
  ])("volume_size_gb: %s is named as written, and why it is no number", (value, why) => {
    const problems = parseTemplate(Buffer.from(`${VALID_TEMPLATE}volume_size_gb: ${value}\n`), FILE).problems.map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^volume_size_gb: expected a (whole )?number, got ${value.replace(".", "\\.")}, ${why.replace(/[()]/g, "\\$&")}$`))]);
  });
});

describe("lintAgainCommand", () => {
  it("leaves plain ids as they are and single-quotes any that a shell would split or expand", () => {
    expect(lintAgainCommand(["r-research", "python-research"])).toBe("cws ami lint r-research python-research");
    expect(lintAgainCommand(["Bad Name"])).toBe("cws ami lint 'Bad Name'");
    expect(lintAgainCommand(["it's", "$HOME", "a*"])).toBe(`cws ami lint 'it'\\''s' '$HOME' 'a*'`);
  });
});
