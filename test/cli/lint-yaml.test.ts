import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { jsonLines, problemLines, type JsonProblem } from "../helpers/lint-output.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

// Every YAML feature through the built CLI, in one templates directory: each file read as its
// author meant it or refused with one line at file:line:col; the cache and the quick path agree.

describe("cws ami lint: YAML features", () => {
  const tests = (body: string) => VALID_TEMPLATE.replace(/validation_tests:\n(?: {2}.*\n)+/, body);
  /** Each file, and what lint says of it: nothing (read as meant), or its one problem. */
  const files: Record<string, RegExp | RegExp[] | undefined> = {
    "merge-keys.yml": undefined,
    "merged-error.yml": [
      /^templates\/merged-error\.yml:16:22 error validation_tests\[0\]\.timeout_seconds: must be at least 1, got 0$/,
      /^templates\/merged-error\.yml:16:22 error validation_tests\[1\]\.timeout_seconds: must be at least 1, got 0 \(reached through \*t at line 17\)$/,
    ],
    "unknown-alias.yml": /:13:9 error unknown alias \*t: no anchor &t is set before it$/,
    "circular-alias.yml": /:20:15 error the alias \*t is inside the value it stands for \(&t\), which would make it endless$/,
    "custom-tag.yml": /:5:11 error unsupported YAML tag !Ref: /,
    "binary-tag.yml": /:20:12 error unsupported YAML tag !!binary: /,
    "str-tag.yml": undefined,
    "two-documents.yml": /:20:1 error a template file holds one YAML document; this is a second one$/,
    "duplicate-key.yml": /:20:1 error duplicate key "ports": /,
    "flow-style.yml": undefined,
    "crlf.yml": undefined,
    "lone-cr.yml": /:16:12 error a carriage return \(\\r\) without a line feed/,
    "tab.yml": /:5:1 error Tabs are not allowed as indentation/,
    "bom.yml": /:1:7 error name: expected a string, got a number \(5\); put it in quotes: "5"$/,
    "yaml-1-1.yml": /:1:1 error templates are YAML 1.2; this file asks for YAML 1.1/,
    "alias-bomb.yml": /:2:10 error the aliases in this file expand to too much data/,
    "deep.yml": /:20:\d+ error the YAML is nested too deeply to read/,
    "quoting.yml": /:3:10 error version: expected a string, got a number \(1\.0\); quoted, "1\.0" would still be wrong/,
  };
  let bomb = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(",")}]\n`;
  const sources: Record<string, string> = {
    "merge-keys.yml": tests(`validation_tests:\n  - &t\n    name: a\n    command: "true"\n  - <<: *t\n    name: b\n`),
    "merged-error.yml": tests(`validation_tests:\n  - &t\n    name: a\n    command: "true"\n    timeout_seconds: 0\n  - <<: *t\n    name: b\n`),
    "unknown-alias.yml": tests(`validation_tests:\n  - <<: *t\n    name: b\n`),
    "circular-alias.yml": `${VALID_TEMPLATE}tags: &t { a: *t }\n`,
    "custom-tag.yml": VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", "source: !Ref BaseAmi"),
    "binary-tag.yml": `${VALID_TEMPLATE}tags: { a: !!binary aGVsbG8= }\n`,
    "str-tag.yml": VALID_TEMPLATE.replace('version: "1.0.0"', "version: !!str 1.0.0"),
    "two-documents.yml": `${VALID_TEMPLATE}---\nname: x\n`,
    "duplicate-key.yml": `${VALID_TEMPLATE}ports: [80]\n`,
    "flow-style.yml": `{"name": "T", "description": "d", "base_ami": {"source": "debian-12", "architecture": ["arm64"]}, "regions": ["eu-west-1"], "setup_script": "set -euo pipefail\\necho hi\\n"}\n`,
    "crlf.yml": VALID_TEMPLATE.replace(/\n/g, "\r\n"),
    "lone-cr.yml": VALID_TEMPLATE.replace("ports: [22]\n", "ports: [22]\r"),
    "tab.yml": VALID_TEMPLATE.replace("  source: ubuntu", "\tsource: ubuntu"),
    "bom.yml": `\uFEFF${VALID_TEMPLATE.replace('name: "Test Environment"', "name: 5")}`,
    "yaml-1-1.yml": `%YAML 1.1\n---\n${VALID_TEMPLATE}`,
    "alias-bomb.yml": `${bomb}regions: *a9\n`,
    "deep.yml": `${VALID_TEMPLATE}tags: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    "quoting.yml": VALID_TEMPLATE.replace('version: "1.0.0"', "version: 1.0"),
  };

  it("reads each as its author meant it or refuses it with one line at file:line:col, never a stack trace", () => {
    const { dir, cleanup } = scratchDir(Object.fromEntries(Object.entries(sources).map(([name, text]) => [`templates/${name}`, text])));
    try {
      const result = runCli(["ami", "lint"], { cwd: dir });
      expect(result.status).toBe(2);
      expect(result.stderr).toBe("");
      expect(result.stdout).not.toMatch(/\n\s+at |internal error|Error:/);
      const found = problemLines(result.stdout);
      for (const [name, expected] of Object.entries(files)) {
        const mine = found.filter((line) => line.startsWith(`templates/${name}:`));
        if (expected === undefined) expect(mine, name).toEqual([]);
        else if (Array.isArray(expected)) expect(mine, name).toEqual(expected.map((e) => expect.stringMatching(e)));
        else if (name === "tab.yml") expect(mine[0], name).toMatch(expected);
        else expect(mine, name).toEqual([expect.stringMatching(expected)]);
      }
      // The quick path and the cache answer as the full parser does.
      expect(runCli(["ami", "lint"], { cwd: dir })).toEqual(result);
      expect(runCli(["ami", "lint", "--no-cache"], { cwd: dir })).toEqual(result);
      const json = runCli(["ami", "lint", "--json"], { cwd: dir });
      expect(jsonLines((JSON.parse(json.stdout) as { problems: JsonProblem[] }).problems)).toEqual(found);
    } finally {
      cleanup();
    }
  });
});
