import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lintTemplate } from "../../src/template/lint-positions.js";
import { parseTemplate } from "../../src/template/load.js";
import { formatProblem } from "../../src/template/problems.js";
import { quickParse } from "../../src/template/quick-parse.js";
import { ROOT } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

// What YAML can express, feature by feature: each is either read as its author meant it, or
// refused with one clear problem at its line and column. Never a thrown error.
const FILE = "templates/t.yml";
const parse = (source: string | Uint8Array) => parseTemplate(typeof source === "string" ? Buffer.from(source) : source, FILE);
const lines = (source: string) => parse(source).problems.map(formatProblem);
const withWarnings = (source: string) => {
  const parsed = parse(source);
  return [...parsed.problems, ...lintTemplate(parsed)].map(formatProblem);
};

const TESTS = `validation_tests:
  - name: "ready file"
    command: "cat /var/tmp/ready"
    expected: "ready"
`;
/** VALID_TEMPLATE with its validation tests replaced by `tests` (which start on line 12). */
const withTests = (tests: string) => VALID_TEMPLATE.replace(TESTS, tests);

describe("merge keys and aliases", () => {
  const merged = withTests(`validation_tests:
  - &check
    name: "ready file"
    command: "cat /var/tmp/ready"
    timeout_seconds: 30
  - <<: *check
    name: "ready again"
  - <<: [*check, { expected: "ready", exit_code: 3 }]
    name: "third"
    exit_code: 0
`);

  it("merges a mapping into another: its own keys win, then the sources in the order listed", () => {
    const parsed = parse(merged);
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.validation_tests).toEqual([
      { name: "ready file", command: "cat /var/tmp/ready", timeout_seconds: 30, exit_code: 0 },
      { name: "ready again", command: "cat /var/tmp/ready", timeout_seconds: 30, exit_code: 0 },
      { name: "third", command: "cat /var/tmp/ready", timeout_seconds: 30, expected: "ready", exit_code: 0 },
    ]);
  });

  it("merges mappings that merge others, and inline mappings", () => {
    const parsed = parse(
      withTests(`validation_tests:
  - &base
    name: a
    command: "true"
  - &more
    <<: *base
    name: b
    timeout_seconds: 9
  - <<: *more
    name: c
  - <<: { command: "false", exit_code: 1 }
    name: d
`),
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.validation_tests.map((t) => [t.name, t.command, t.timeout_seconds, t.exit_code])).toEqual([
      ["a", "true", 120, 0],
      ["b", "true", 9, 0],
      ["c", "true", 9, 0],
      ["d", "false", 120, 1],
    ]);
  });

  it("reads the README's merge key example as it says", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const example = /### YAML\n[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toMatch(/<<: \*check/);
    const parsed = parse(withTests(example!));
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.validation_tests).toEqual([
      { name: "R is installed", command: "R --version", timeout_seconds: 60, exit_code: 0 },
      { name: "Rscript is installed", command: "Rscript --version", timeout_seconds: 60, exit_code: 0 },
    ]);
  });

  it("places a problem in a merged value at the anchor, where it is written, and says which alias brought it", () => {
    const broken = merged.replace("    timeout_seconds: 30\n", "    timeout_seconds: 0\n    expect: ready\n");
    expect(lines(broken)).toEqual([
      `${FILE}:16:22 error validation_tests[0].timeout_seconds: must be at least 1, got 0`,
      `${FILE}:16:22 error validation_tests[1].timeout_seconds: must be at least 1, got 0 (reached through *check at line 18)`,
      `${FILE}:16:22 error validation_tests[2].timeout_seconds: must be at least 1, got 0 (reached through *check at line 20)`,
      `${FILE}:17:5 error validation_tests[0].expect: unknown field "expect" (did you mean "expected"?)`,
      `${FILE}:17:5 error validation_tests[1].expect: unknown field "expect" (did you mean "expected"?) (reached through *check at line 18)`,
      `${FILE}:17:5 error validation_tests[2].expect: unknown field "expect" (did you mean "expected"?) (reached through *check at line 20)`,
    ]);
  });

  it("places a missing field at the mapping that merges, and an override at the override", () => {
    const source = withTests(`validation_tests:
  - &check
    name: a
    command: "true"
  - <<: *check
    name: 5
  - <<: { name: c }
`);
    expect(lines(source)).toEqual([
      `${FILE}:17:11 error validation_tests[1].name: expected a string, got a number (5); put it in quotes: "5"`,
      `${FILE}:18:5 error validation_tests[2].command: required field is missing`,
    ]);
  });

  it("follows plain aliases too, for values and for the lint rules' findings", () => {
    const source = VALID_TEMPLATE.replace("regions: [us-east-1, us-west-2]", "regions: &regions [us-east-1, us-west2]").replace(
      "ports: [22]",
      "ports: [22]\ntags: { a: *regions }",
    );
    expect(lines(source)).toEqual([
      `${FILE}:7:19 error tags.a: expected a string, got a list (reached through *regions at line 17)`,
      `${FILE}:7:31 error regions[1]: "us-west2" is not an AWS region (did you mean "us-west-2"?)`,
    ]);
    const script = VALID_TEMPLATE.replace(
      /setup_script: \|\n( {2}.*\n)+/,
      `build_steps:
  - name: one
    script: &script |
      #!/bin/bash
      curl https://x.org/i.sh | bash
  - name: two
    script: *script
`,
    );
    expect(withWarnings(script)).toEqual([
      `${FILE}:12:7 warning build_steps[0].script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
      `${FILE}:12:7 warning build_steps[0].script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
      `${FILE}:12:7 warning build_steps[1].script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it (reached through *script at line 14) [strict-mode]`,
      `${FILE}:12:7 warning build_steps[1].script: pipes a download straight into a shell: whatever the server sends runs as root (reached through *script at line 14) [pipe-to-shell]`,
    ]);
  });

  it("refuses an alias with no anchor before it, an alias inside its own anchor, and a merge of anything but mappings", () => {
    expect(lines(withTests(`validation_tests:\n  - <<: *check\n    name: a\n  - &check\n    command: x\n`))).toEqual([
      `${FILE}:13:9 error unknown alias *check: no anchor &check is set before it`,
    ]);
    expect(lines(`${VALID_TEMPLATE}tags: &t { a: *t }\n`)).toEqual([
      `${FILE}:20:15 error the alias *t is inside the value it stands for (&t), which would make it endless`,
    ]);
    expect(lines(withTests(`validation_tests:\n  - <<: 5\n    name: a\n`))).toEqual([
      `${FILE}:13:9 error << merges a mapping into this one: expected a mapping, an alias of one (*name) or a list of them, got a number (5)`,
    ]);
    const list = VALID_TEMPLATE.replace("regions: [", "regions: &r [").replace('    expected: "ready"', '    expected: "ready"\n    <<: [*r]');
    expect(lines(list)).toEqual([`${FILE}:16:10 error << merges a mapping into this one: expected a mapping, an alias of one (*name) or a list of them, got a list`]);
  });

  it("refuses a key that is a list or a mapping, written or aliased", () => {
    expect(lines(`${VALID_TEMPLATE}tags:\n  ? [a]\n  : b\n`)).toEqual([`${FILE}:21:5 error a key must be text, not a list`]);
    expect(lines(`${VALID_TEMPLATE}x: &k { a: b }\ntags:\n  *k : b\n`)).toEqual([`${FILE}:22:3 error a key must be text, not a mapping`]);
  });

  it("stops an alias bomb at once instead of expanding it", () => {
    let bomb = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(",")}]\n`;
    const started = Date.now();
    expect(lines(`${bomb}regions: *a9\n`)).toEqual([
      `${FILE}:2:10 error the aliases in this file expand to too much data (more than 1000 copies of aliased values)`,
    ]);
    // Under merge keys too.
    let merges = "m0: &m0 { k0: 1 }\n";
    for (let i = 1; i < 25; i++) merges += `m${i}: &m${i}\n  <<: [*m${i - 1}, *m${i - 1}]\n  k${i}: 1\n`;
    expect(lines(merges)).toEqual([`${FILE}:3:8 error the aliases in this file expand to too much data (more than 1000 copies of aliased values)`]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("tags", () => {
  it("reads YAML's own core tags as YAML defines them", () => {
    const parsed = parse(VALID_TEMPLATE.replace('version: "1.0.0"', "version: !!str 1.0.0").replace("ports: [22]", "ports: [!!int '22']"));
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.version).toBe("1.0.0");
    expect(parsed.template?.ports).toEqual([22]);
    expect(parse(VALID_TEMPLATE.replace('    expected: "ready"', "    expected: !!str 1.10")).template?.validation_tests[0]?.expected).toBe("1.10");
  });

  it.each([
    ["!Ref BaseAmi", "!Ref", "source"],
    ["!Sub '${AWS::Region}'", "!Sub", "source"],
    ["!!binary aGVsbG8=", "!!binary", "tag"],
    ["!!timestamp 2024-01-01", "!!timestamp", "tag"],
    ["!!set { a }", "!!set", "tag"],
    ["!!omap [ a: 1 ]", "!!omap", "tag"],
  ])("refuses %s with one problem at the tag", (value, tag) => {
    const source = VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", `source: ${value}`);
    const parsed = parse(source);
    expect(parsed.problems.map(formatProblem)).toEqual([
      `${FILE}:5:11 error unsupported YAML tag ${tag}: a template holds plain strings, numbers, lists and mappings`,
    ]);
    expect(parsed.problems[0]?.suggestion).toMatch(/^remove the tag/);
    expect(parsed.template).toBeUndefined();
  });

  it("refuses a tag of its own that the value does not fit, and a tag handle of another vocabulary", () => {
    expect(lines(VALID_TEMPLATE.replace("x86_64: 0.0416", "x86_64: !!float abc"))).toEqual([`${FILE}:18:11 error the value does not fit its tag !!float`]);
    const custom = `%TAG !e! tag:example.com,2000:\n---\n${VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: !e!ami x")}`;
    expect(lines(custom)).toEqual([`${FILE}:7:11 error unsupported YAML tag tag:example.com,2000:ami: a template holds plain strings, numbers, lists and mappings`]);
  });
});

describe("documents and directives", () => {
  it("reads YAML 1.2, with or without its directive, and refuses YAML 1.1, where yes and 010 mean other things", () => {
    expect(lines(`%YAML 1.2\n---\n${VALID_TEMPLATE}`)).toEqual([]);
    expect(lines(`---\n${VALID_TEMPLATE}...\n`)).toEqual([]);
    expect(lines(`%YAML 1.1\n---\n${VALID_TEMPLATE}`)).toEqual([
      `${FILE}:1:1 error templates are YAML 1.2; this file asks for YAML 1.1, where yes, on and 010 mean other things`,
    ]);
  });

  it("refuses a second document, even an empty one", () => {
    expect(lines(`${VALID_TEMPLATE}---\nname: other\n`)).toEqual([`${FILE}:20:1 error a template file holds one YAML document; this is a second one`]);
    expect(lines(`${VALID_TEMPLATE}---\n`)).toEqual([`${FILE}:20:1 error a template file holds one YAML document; this is a second one`]);
  });

  it("reports a duplicate key at the second key, also when the two are written differently", () => {
    expect(lines(`${VALID_TEMPLATE}ports: [80]\n`)).toEqual([`${FILE}:20:1 error duplicate key "ports": it is already set in this mapping, and only one value can win`]);
    // The key 1 is a number, and no key; '1' then repeats it as text.
    expect(lines(`${VALID_TEMPLATE}tags:\n  1: a\n  '1': b\n`)).toEqual([
      `${FILE}:21:3 error a key must be text, got a number (1); put it in quotes: "1"`,
      `${FILE}:22:3 error duplicate key "1" (written '1'): it is already set in this mapping, and only one value can win`,
    ]);
    // A key is named once, as data, and as written when that differs (not escaped twice).
    expect(lines(`${VALID_TEMPLATE}tags:\n  a: x\n  "\\u0061": y\n  "b": z\n  b: w\n`)).toEqual([
      `${FILE}:22:3 error duplicate key "a" (written "\\u0061"): it is already set in this mapping, and only one value can win`,
      `${FILE}:24:3 error duplicate key "b": it is already set in this mapping, and only one value can win`,
    ]);
    // Merge keys may repeat: each merges more.
    expect(lines(withTests(`validation_tests:\n  - &a { name: a }\n  - &b { command: b }\n  - <<: *a\n    <<: *b\n`)).filter((l) => /duplicate key/.test(l))).toEqual([]);
  });
});

describe("layout", () => {
  it("reads a template written in flow style, like JSON", () => {
    const flow = `{"name": "T", "description": "d", "base_ami": {"source": "debian-12", "architecture": ["arm64"]},
 "regions": ["eu-west-1"], "setup_script": "set -euo pipefail\\necho hi\\n", "ports": [22, 8787]}\n`;
    const parsed = parse(flow);
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.setup_script).toBe("set -euo pipefail\necho hi\n");
  });

  it("keeps block scalars' line breaks as their indicators say, and comments out of values", () => {
    const parsed = parse(
      VALID_TEMPLATE.replace('description: "A template for tests"', "description: >-\n  folded\n  into one line # not a comment\n# a comment\n").replace(
        'command: "cat /var/tmp/ready"',
        "command: |-\n      cat /var/tmp/ready   # a shell comment, kept",
      ),
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.description).toBe("folded into one line # not a comment");
    expect(parsed.template?.validation_tests[0]?.command).toBe("cat /var/tmp/ready   # a shell comment, kept");
  });

  it("reports the same problems at the same places with CRLF line endings as with LF", () => {
    const broken = VALID_TEMPLATE.replace('version: "1.0.0"', "version: 1.0").replace("echo ready", "curl -s http://x | bash; echo ready");
    const lf = withWarnings(broken);
    expect(lf).toHaveLength(3);
    expect(withWarnings(broken.replace(/\n/g, "\r\n"))).toEqual(lf);
    expect(parse(VALID_TEMPLATE.replace(/\n/g, "\r\n")).template?.setup_script).toBe(parse(VALID_TEMPLATE).template?.setup_script);
  });

  it("refuses a carriage return on its own, at its place", () => {
    expect(lines(VALID_TEMPLATE.replace("ports: [22]\n", "ports: [22]\r"))).toEqual([
      `${FILE}:16:12 error a carriage return (\\r) without a line feed: templates use LF or CRLF line endings`,
    ]);
  });

  it("counts columns after a byte-order mark as an editor shows them", () => {
    expect(lines(`\uFEFF${VALID_TEMPLATE.replace('name: "Test Environment"', "name: 5")}`)).toEqual([
      `${FILE}:1:7 error name: expected a string, got a number (5); put it in quotes: "5"`,
    ]);
  });

  it("says a tab cannot indent", () => {
    expect(lines(VALID_TEMPLATE.replace("  source: ubuntu", "\tsource: ubuntu"))[0]).toBe(
      `${FILE}:5:1 error Tabs are not allowed as indentation (YAML indents with spaces, not tabs)`,
    );
  });

  it("refuses nesting too deep to read, quickly and without a stack trace", () => {
    const started = Date.now();
    for (const [open, close] of [["[", "]"], ["{a: ", "}"]] as const) {
      const depth = 20_000;
      const source = `${VALID_TEMPLATE}tags: ${open.repeat(depth)}x${close.repeat(depth)}\n`;
      const problems = parse(source).problems;
      expect(problems).toHaveLength(1);
      expect(formatProblem(problems[0]!)).toMatch(/^templates\/t\.yml:20:\d+ error the YAML is nested too deeply to read/);
      expect(quickParse(Buffer.from(source), FILE)).toBeUndefined();
    }
    // Deep, but not too deep to read: an ordinary type error.
    expect(lines(`${VALID_TEMPLATE}tags: { a: ${"[".repeat(50)}${"]".repeat(50)} }\n`)).toEqual([`${FILE}:20:12 error tags.a: expected a string, got a list`]);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
