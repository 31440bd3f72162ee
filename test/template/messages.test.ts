import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { formatProblem } from "../../src/template/problems.js";
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
      `${FILE}:24:5 error amis.us-east-1.amd64: unknown field "amd64" (did you mean "x86_64"? that is what EC2 calls amd64); expected one of x86_64, arm64`,
    ]);
    expect(lines(`${VALID_TEMPLATE}instance_type:\n  intel: t3.small\n`)).toEqual([
      `${FILE}:21:3 error instance_type.intel: unknown field "intel" (did you mean "x86_64"? that is what EC2 calls intel); expected one of x86_64, arm64`,
    ]);
  });

  it("words sizes by what is measured", () => {
    expect(lines(replace("regions: [us-east-1, us-west-2]", "regions: []").replace('name: "Test Environment"', 'name: ""'))).toEqual([
      `${FILE}:1:7 error name: must not be empty`,
      `${FILE}:7:10 error regions: must list at least 1 item`,
    ]);
    expect(lines(`${VALID_TEMPLATE}tags:\n  team: ${"v".repeat(300)}\n`)).toEqual([`${FILE}:21:9 error tags.team: must be at most 256 characters long`]);
  });

  it("explains the forms of a base image, and checks inside { name, owners }", () => {
    expect(lines(replace("source: ubuntu-22.04-lts", "source: 42"))).toEqual([
      `${FILE}:5:11 error base_ami.source: expected an alias (ubuntu-22.04-lts, ubuntu-24.04-lts, amazon-linux-2023, debian-12), an ami-… id or a { name, owners } mapping, got a number (42)`,
    ]);
    expect(lines(replace("source: ubuntu-22.04-lts", "source: { name: 5, owners: [''] }"))).toEqual([
      `${FILE}:5:19 error base_ami.source.name: expected a string, got a number (5)`,
      `${FILE}:5:31 error base_ami.source.owners[0]: must not be empty`,
    ]);
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
    const parsed = parseTemplate(Buffer.from(`${VALID_TEMPLATE}tags: !foo { a: b }\n`), FILE);
    expect(parsed.problems.map(formatProblem)).toEqual([`${FILE}:20:7 warning Unresolved tag: !foo`]);
    expect(parsed.template?.tags).toEqual({ a: "b" });
  });
});
