import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { MAX_TEMPLATE_BYTES } from "../../src/template/text.js";
import { formatProblem } from "../../src/template/problems.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

const FILE = "templates/t.yml";
const lines = (source: string | Uint8Array) => parseTemplate(typeof source === "string" ? Buffer.from(source) : source, FILE).problems.map(formatProblem);

describe("parseTemplate", () => {
  it("accepts a valid template and applies defaults", () => {
    const parsed = parseTemplate(Buffer.from(VALID_TEMPLATE), FILE);
    expect(parsed.problems).toEqual([]);
    expect(parsed.template?.base_ami.architecture).toEqual(["x86_64", "arm64"]);
    expect(parsed.template?.validation_tests[0]).toMatchObject({ exit_code: 0, timeout_seconds: 120 });
    expect(parsed.template?.setup_timeout_seconds).toBe(3600);
  });

  it("reports a type error at the value, in the documented format", () => {
    const source = VALID_TEMPLATE.replace('command: "cat /var/tmp/ready"', "command: 42");
    expect(lines(source)).toEqual([`${FILE}:14:14 error validation_tests[0].command: expected a string, got a number (42); put it in quotes: "42"`]);
  });

  it("reports every problem at once, each at its own line and column", () => {
    const source = `name: "R"
description: x
validaton_tests: []
base_ami:
  source: ubuntu-22.04
  architecture: [amd64, arm64, arm64]
regions: [us-east1, us-west-2]
setup_script: |
  #!/bin/bash
  echo hi
build_steps:
  - name: a
    script: b
validation_tests:
  - name: t
    command: 42
  - command: "x"
    expected: 3.11
ports: [22, 99999]
name: dup
`;
    expect(lines(source)).toEqual([
      `${FILE}:3:1 error validaton_tests: unknown field "validaton_tests" (did you mean "validation_tests"?)`,
      `${FILE}:5:11 error base_ami.source: unknown base image "ubuntu-22.04" (did you mean "ubuntu-22.04-lts"?); expected one of ubuntu-22.04-lts, ubuntu-24.04-lts, amazon-linux-2023, debian-12, an ami-… id, or { name, owners }`,
      `${FILE}:6:18 error base_ami.architecture[0]: expected one of x86_64, arm64, got a string ("amd64") (did you mean "x86_64"? EC2's name for amd64)`,
      `${FILE}:6:32 error base_ami.architecture[2]: duplicate architecture "arm64" (already listed at index 1)`,
      `${FILE}:7:11 error regions[0]: "us-east1" is not an AWS region (did you mean "us-east-1"?)`,
      `${FILE}:11:1 error build_steps: use setup_script or build_steps, not both`,
      `${FILE}:16:14 error validation_tests[0].command: expected a string, got a number (42); put it in quotes: "42"`,
      `${FILE}:17:5 error validation_tests[1].name: required field is missing`,
      `${FILE}:18:15 error validation_tests[1].expected: expected a string, got a number (3.11); put it in quotes: "3.11"`,
      `${FILE}:19:13 error ports[1]: must be at most 65535, got 99999`,
      `${FILE}:20:1 error duplicate key "name": it is already set in this mapping, and only one value can win`,
    ]);
  });

  it("points a missing field at its parent mapping", () => {
    const source = VALID_TEMPLATE.replace('description: "A template for tests"\n', "").replace("  source: ubuntu-22.04-lts\n", "");
    expect(lines(source)).toEqual([
      `${FILE}:1:1 error description: required field is missing`,
      // base_ami takes source or template: without either it says so, where base_ami's mapping is.
      `${FILE}:4:3 error base_ami: needs source (a distribution's image) or template (another template's image)`,
    ]);
  });

  it("suggests the right spelling for unknown nested keys", () => {
    const source = VALID_TEMPLATE.replace('    expected: "ready"', '    expect: "ready"\n    timeout: 5');
    expect(lines(source)).toEqual([
      `${FILE}:15:5 error validation_tests[0].expect: unknown field "expect" (did you mean "expected"?)`,
      `${FILE}:16:5 error validation_tests[0].timeout: unknown field "timeout"`,
    ]);
  });

  it("checks a { name, owners } base image", () => {
    const source = VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: { name: 'ubuntu/images/*', ownrs: ['099720109477'] }");
    expect(lines(source)).toEqual([
      `${FILE}:5:11 error base_ami.source.owners: required field is missing`,
      `${FILE}:5:38 error base_ami.source.ownrs: unknown field "ownrs" (did you mean "owners"?)`,
    ]);
    const ok = VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: { name: 'ubuntu/images/*', owners: ['099720109477'] }");
    expect(lines(ok)).toEqual([]);
  });

  it("checks literal AMI ids", () => {
    expect(lines(VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: ami-123"))).toEqual([
      `${FILE}:5:11 error base_ami.source: "ami-123" is not an AMI id: expected ami- followed by 8 or 17 hex digits`,
    ]);
    expect(lines(VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: ami-0abcdef1234567890"))).toEqual([]);
  });

  it("applies cross-field rules", () => {
    const oneArch = VALID_TEMPLATE.replace("architecture: [x86_64, arm64]", "architecture: [x86_64]");
    expect(lines(oneArch)).toEqual([
      `${FILE}:19:3 error estimated_cost_per_hour.arm64: estimated_cost_per_hour has an entry for arm64, but base_ami.architecture builds only x86_64`,
    ]);
    const neither = VALID_TEMPLATE.replace(/setup_script: \|\n( {2}.*\n)+/, "");
    expect(lines(neither)).toEqual([`${FILE}:1:1 error a template needs setup_script or build_steps`]);
    const badRegex = VALID_TEMPLATE.replace('expected: "ready"', 'expected_regex: "(unclosed"');
    expect(lines(badRegex)).toEqual([
      `${FILE}:15:21 error validation_tests[0].expected_regex: not a valid regular expression: Invalid regular expression: /(unclosed/: Unterminated group`,
    ]);
    const costTypo = VALID_TEMPLATE.replace("  arm64: 0.0336", "  amd64: 0.0336");
    expect(lines(costTypo)).toEqual([
      `${FILE}:19:3 error estimated_cost_per_hour.amd64: unknown field "amd64" (did you mean "x86_64"? EC2's name for amd64); expected one of x86_64, arm64`,
    ]);
  });

  it("reports YAML syntax errors with their position", () => {
    expect(lines("name: x\nregions: [us-east-1,\n")).toEqual([`${FILE}:3:1 error Flow sequence in block collection must be sufficiently indented and end with a ]`]);
    expect(lines("name: x\n\tdescription: y\n")[0]).toMatch(new RegExp(`^${FILE}:2:1 error `));
    expect(lines("name: [\n")[0]).toMatch(new RegExp(`^${FILE}:\\d+:\\d+ error `));
  });

  it("rejects empty, comment-only, non-mapping and multi-document files", () => {
    expect(lines("")).toEqual([`${FILE}:1:1 error the file is empty`]);
    expect(lines("\n  \n")).toEqual([`${FILE}:1:1 error the file is empty`]);
    expect(lines("# nothing here\n")).toEqual([`${FILE}:1:1 error the template is empty (only comments)`]);
    expect(lines("- a\n- b\n")).toEqual([`${FILE}:1:1 error a template must be a mapping of fields, got a list`]);
    expect(lines("just a string\n")).toEqual([`${FILE}:1:1 error a template must be a mapping of fields, got a string ("just a string")`]);
    expect(lines("a: 1\n---\nb: 2\n")).toEqual([`${FILE}:2:1 error a template file holds one YAML document; this is a second one`]);
  });

  it("rejects binary junk without a stack trace", () => {
    expect(lines(Uint8Array.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x00, 0x01, 0x02]))).toEqual([
      `${FILE}:1:1 error not a text file: it contains a NUL byte at offset 5`,
    ]);
    expect(lines(Uint8Array.from([...Buffer.from("name: x\ndesc: "), 0xff, 0xfe, 0x41]))).toEqual([
      `${FILE}:2:7 error not valid UTF-8 text (bad byte 0xff at offset 14)`,
    ]);
    const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
    expect(lines(random)).toHaveLength(1);
  });

  it("rejects a multi-megabyte file by its size", () => {
    const big = Buffer.alloc(3 * 1024 * 1024, "a");
    expect(lines(big)).toEqual([`${FILE}:1:1 error the file is 3,145,728 bytes (3 MiB); a template may be at most 1,048,576 bytes (1 MiB)`]);
    // Just over the limit, the two sizes differ as written, not only in bytes nobody sees.
    const justOver = parseTemplate(Buffer.alloc(10), FILE, { size: 1_070_751 }).problems[0];
    expect(justOver?.message).toBe("the file is 1,070,751 bytes (about 1.02 MiB); a template may be at most 1,048,576 bytes (1 MiB)");
    expect(justOver?.suggestion).toMatch(/download it at build time/);
    expect(parseTemplate(Buffer.alloc(10), FILE, { size: MAX_TEMPLATE_BYTES + 1 }).problems[0]?.message).toMatch(/1,048,577 bytes/);
  });

  it("does not return a template when there are errors", () => {
    const parsed = parseTemplate(Buffer.from(VALID_TEMPLATE.replace("ports: [22]", "ports: [0]")), FILE);
    expect(parsed.template).toBeUndefined();
    expect(parsed.problems.map(formatProblem)).toEqual([`${FILE}:16:9 error ports[0]: must be at least 1, got 0`]);
  });

  it("rejects reserved tag keys and bad instance types", () => {
    const source = `${VALID_TEMPLATE}tags:\n  cws:template: x\ninstance_type:\n  x86_64: large\n`;
    expect(lines(source)).toEqual([
      `${FILE}:21:3 error tags.cws:template: tag keys starting with aws: or cws: are reserved`,
      `${FILE}:23:11 error instance_type.x86_64: expected an EC2 instance type such as t3.medium, got a string ("large")`,
    ]);
  });

  it("rejects two validation tests or two build steps with the same name", () => {
    const tests = VALID_TEMPLATE.replace('    expected: "ready"\n', '    expected: "ready"\n  - name: "ready file"\n    command: "true"\n');
    expect(lines(tests)).toEqual([`${FILE}:16:11 error validation_tests[1].name: duplicate test name "ready file" (also validation_tests[0])`]);
    const steps = VALID_TEMPLATE.replace(
      /setup_script: \|\n( {2}.*\n)+/,
      "build_steps:\n  - name: a\n    script: x\n  - name: b\n    script: y\n  - name: a\n    script: z\n",
    );
    expect(lines(steps)).toEqual([`${FILE}:13:11 error build_steps[2].name: duplicate step name "a" (also build_steps[0])`]);
  });
});

