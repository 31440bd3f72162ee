import { describe, expect, it } from "vitest";
import { crossFieldRules, type RuleContext } from "../../src/template/rules.js";
import { reporter } from "../../src/template/yaml-document.js";

const report = reporter("t.yml", () => ({ line: 1, column: 1, exact: true }));

/** One template per rule that breaks only that rule, and what the rule says about it. */
const cases: Record<string, { data: Record<string, unknown>; expected: string[] }> = {
  "setup-script-or-build-steps": { data: { setup_script: "x", build_steps: [] }, expected: ["build_steps: use setup_script or build_steps, not both"] },
  "base-image-source-or-template": {
    data: { base_ami: { source: "ubuntu-24.04-lts", template: "python-research", architecture: ["x86_64"] } },
    expected: ["base_ami.template: use base_ami.source or base_ami.template, not both"],
  },
  "setup-timeout-needs-setup-script": {
    data: { build_steps: [], setup_timeout_seconds: 5 },
    expected: ["setup_timeout_seconds: setup_timeout_seconds applies to setup_script; with build_steps give each step its own timeout_seconds"],
  },
  "entries-only-for-built-architectures": {
    data: { base_ami: { architecture: ["x86_64"] }, instance_type: { arm64: "t4g.small" } },
    expected: ["instance_type.arm64: instance_type has an entry for arm64, but base_ami.architecture builds only x86_64"],
  },
  "no-duplicate-list-items": { data: { ports: [22, 80, 22] }, expected: ["ports[2]: duplicate port 22 (already listed at index 0)"] },
  "valid-expected-regex": {
    data: { validation_tests: [{ expected_regex: "a(" }] },
    expected: ["validation_tests[0].expected_regex: not a valid regular expression: Invalid regular expression: /a(/: Unterminated group"],
  },
  "tags-fit-on-an-image": {
    data: { tags: Object.fromEntries(Array.from({ length: 38 }, (_, i) => [`k${i}`, "v"])) },
    expected: ["tags: 38 tags; a template may set at most 37: EC2 allows 50 per image and cws sets 13 of its own"],
  },
  "unique-test-names": { data: { validation_tests: [{ name: "a" }, { name: "a" }] }, expected: ['validation_tests[1].name: duplicate test name "a" (also validation_tests[0])'] },
  "unique-step-names": { data: { build_steps: [{ name: "a" }, { name: "a" }] }, expected: ['build_steps[1].name: duplicate step name "a" (also build_steps[0])'] },
};

function run(name: string, data: Record<string, unknown>): string[] {
  const found: string[] = [];
  const context: RuleContext = { data, report: (path, message, options) => void found.push(`${report(path, message, options).path}: ${message}`) };
  crossFieldRules.find((rule) => rule.name === name)!.check(context);
  return found;
}

describe("crossFieldRules", () => {
  it("has a case here for every rule, and names each once", () => {
    expect(crossFieldRules.map((rule) => rule.name)).toEqual(Object.keys(cases));
  });

  it.each(Object.entries(cases))("%s reports its problem on its own", (name, { data, expected }) => {
    expect(run(name, data)).toEqual(expected);
  });

  it("asks for a base image when base_ami has neither source nor template, and leaves a missing base_ami to its own error", () => {
    expect(run("base-image-source-or-template", { base_ami: { architecture: ["x86_64"] } })).toEqual([
      "base_ami: needs source (a distribution's image) or template (another template's image)",
    ]);
    expect(run("base-image-source-or-template", {})).toEqual([]);
    expect(run("base-image-source-or-template", { base_ami: "ubuntu-24.04-lts" })).toEqual([]);
    expect(run("base-image-source-or-template", { base_ami: { template: "python-research", architecture: ["x86_64"] } })).toEqual([]);
  });

  it("leaves 37 tags alone: with cws's 13, an image has EC2's 50", () => {
    expect(run("tags-fit-on-an-image", { tags: Object.fromEntries(Array.from({ length: 37 }, (_, i) => [`k${i}`, "v"])) })).toEqual([]);
  });

  it("leaves a template alone when its architecture list is itself wrong", () => {
    expect(run("entries-only-for-built-architectures", { base_ami: { architecture: ["amd64"] }, instance_type: { arm64: "t4g.small" } })).toEqual([]);
  });
});
