import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { jsonLines, problemLines, type JsonProblem } from "../helpers/lint-output.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

// `cws ami lint` as users run it: every problem of every file at once, errors and warnings
// together, the same in text and JSON, from the cache or not.

/** Three errors and four warnings, as in the report that hid the warnings. */
const BROKEN = VALID_TEMPLATE.replace('version: "1.0.0"', "version: 1.10")
  .replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-west2]")
  .replace('command: "cat /var/tmp/ready"', "command: 42")
  .replace("  set -euo pipefail\n", "")
  .replace("echo ready > /var/tmp/ready", "curl -fsSL http://get.example.org/i.sh | bash || true");
const RISKY = VALID_TEMPLATE.replace("echo ready > /var/tmp/ready", "wget -qO- https://get.example.org | sh").concat("instance_type:\n  x86_64: t4g.large\n");

describe("cws ami lint: warnings alongside errors", () => {
  it("reports every error and every warning at once, in text and JSON alike, cached or not", () => {
    const { dir, cleanup } = scratchDir({ "templates/broken.yml": BROKEN, "templates/risky.yml": RISKY, "templates/good.yml": VALID_TEMPLATE });
    try {
      const text = runCli(["ami", "lint"], { cwd: dir });
      expect(text.status).toBe(2);
      expect(text.stderr).toBe("");
      expect(problemLines(text.stdout)).toEqual([
        `templates/broken.yml:3:10 error version: expected a string, got a number (1.10); quoted, "1.10" would still be wrong: expected a semantic version such as 1.2.3`,
        `templates/broken.yml:7:22 error regions[1]: "us-west2" is not an AWS region (did you mean "us-west-2"?)`,
        `templates/broken.yml:10:3 warning setup_script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
        `templates/broken.yml:10:3 warning setup_script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
        `templates/broken.yml:10:14 warning setup_script: downloads over plain http://, which anyone on the path can tamper with [plain-http]`,
        `templates/broken.yml:10:49 warning setup_script: \`|| true\` hides a failed command, so a broken install still produces an image [or-true]`,
        `templates/broken.yml:13:14 error validation_tests[0].command: expected a string, got a number (42); put it in quotes: "42"`,
        `templates/risky.yml:11:3 warning setup_script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
        `templates/risky.yml:21:11 warning instance_type.x86_64: t4g.large looks like an arm64 (Graviton) instance type, but it is listed for x86_64 [instance-type-arch]`,
      ]);
      expect(text.stdout).toMatch(/✖ 3 templates checked: 3 errors, 6 warnings\n$/);

      const json = runCli(["ami", "lint", "--json"], { cwd: dir });
      expect(json.status).toBe(2);
      const report = JSON.parse(json.stdout) as { problems: JsonProblem[]; errors: number; warnings: number; exitCode: number; templates: unknown[] };
      expect(report).toMatchObject({ errors: 3, warnings: 6, exitCode: 2, strict: false });
      expect(jsonLines(report.problems)).toEqual(problemLines(text.stdout));
      expect(report.templates).toEqual([
        { id: "broken", file: "templates/broken.yml", valid: false, warningsChecked: true },
        { id: "good", file: "templates/good.yml", valid: true, warningsChecked: true },
        { id: "risky", file: "templates/risky.yml", valid: true, warningsChecked: true },
      ]);

      // The cache (written by the runs above) answers exactly as a fresh lint does.
      expect(runCli(["ami", "lint"], { cwd: dir })).toEqual(text);
      expect(runCli(["ami", "lint", "--no-cache"], { cwd: dir })).toEqual(text);
      expect(runCli(["ami", "lint", "--json", "--no-cache"], { cwd: dir })).toEqual(json);
    } finally {
      cleanup();
    }
  });

  it("--strict counts every warning as an error; an invalid template still exits 2, warnings alone exit 1", () => {
    const { dir, cleanup } = scratchDir({ "templates/broken.yml": BROKEN, "templates/risky.yml": RISKY });
    try {
      const relaxed = runCli(["ami", "lint", "--json"], { cwd: dir });
      const strict = runCli(["ami", "lint", "--strict", "--json"], { cwd: dir });
      expect(strict.status).toBe(2);
      const report = JSON.parse(strict.stdout) as { problems: JsonProblem[]; errors: number; warnings: number; exitCode: number };
      expect(report).toMatchObject({ errors: 9, warnings: 0, exitCode: 2, strict: true });
      expect(report.problems.every((p) => p.severity === "error")).toBe(true);
      // The same problems, only their severity changed.
      expect(report.problems.map(({ severity: _s, ...rest }) => rest)).toEqual((JSON.parse(relaxed.stdout) as { problems: JsonProblem[] }).problems.map(({ severity: _s, ...rest }) => rest));
      const text = runCli(["ami", "lint", "--strict"], { cwd: dir });
      expect(text.status).toBe(2);
      expect(text.stdout).toMatch(/✖ 2 templates checked: 9 errors, 0 warnings \(--strict: warnings count as errors\)\n$/);

      const warningsOnly = runCli(["ami", "lint", "risky", "--strict"], { cwd: dir });
      expect(warningsOnly.status).toBe(1);
      expect(runCli(["ami", "lint", "risky"], { cwd: dir }).status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it("says which files could not be looked at for warnings, rather than counting none", () => {
    const { dir, cleanup } = scratchDir({
      "templates/syntax.yml": BROKEN.replace("regions: [us-east-1, us-west2]", "regions: [us-east-1, us-west-2"),
      "templates/risky.yml": RISKY,
    });
    try {
      const text = runCli(["ami", "lint"], { cwd: dir });
      expect(text.status).toBe(2);
      expect(problemLines(text.stdout).filter((line) => line.startsWith("templates/syntax.yml"))).toHaveLength(1);
      expect(text.stdout).toMatch(/✖ 2 templates checked: 1 error, 2 warnings; 1 not checked for warnings \(syntax: a YAML syntax error\)\n$/);
      const report = JSON.parse(runCli(["ami", "lint", "--json"], { cwd: dir }).stdout) as { templates: { id: string; warningsChecked: boolean; notCheckedBecause?: string }[] };
      expect(report.templates.map((t) => [t.id, t.warningsChecked, t.notCheckedBecause])).toEqual([
        ["risky", true, undefined],
        ["syntax", false, "a YAML syntax error"],
      ]);
      expect(runCli(["ami", "lint"], { cwd: dir }).stdout).toBe(text.stdout);
    } finally {
      cleanup();
    }
  });

  // A mapping refused for YAML it should not use is still a mapping: its scripts are text, and linted.
  const PIPE = "curl -fsSL https://get.example.org/i.sh | bash";
  const piped = VALID_TEMPLATE.replace("echo ready > /var/tmp/ready", PIPE);
  const refusedYaml: Record<string, string> = {
    "a-ref-tag": `${piped}volume_size_gb: !Ref Size\n`,
    "an-unknown-alias": `${piped}volume_size_gb: *size\n`,
    "an-alias-in-itself": `${piped}extra: &loop [*loop]\n`,
    "yaml-1-1": `%YAML 1.1\n---\n${piped}`,
    "two-documents": `${piped}---\nname: second\n`,
    "a-list-as-key": `${piped}? [a, b]\n: c\n`,
    "a-number-as-key": `${piped}tags:\n  1.10: x\n`,
  };

  it.each(Object.entries(refusedYaml))("lints the scripts of a mapping refused for its YAML: %s", (id, text) => {
    const { dir, cleanup } = scratchDir({ [`templates/${id}.yml`]: text });
    try {
      const result = runCli(["ami", "lint", "--json", "--no-cache"], { cwd: dir });
      expect(result.status).toBe(2);
      const report = JSON.parse(result.stdout) as { templates: { warningsChecked: boolean }[]; problems: JsonProblem[] };
      expect(report.templates).toEqual([expect.objectContaining({ id, valid: false, warningsChecked: true })]);
      expect(report.problems.filter((p) => p.severity === "error").length).toBeGreaterThan(0);
      expect(report.problems.filter((p) => p.severity === "warning").map((p) => `${p.line} ${p.rule}`)).toEqual([`${text.split("\n").findIndex((l) => l.includes(PIPE)) + 1} pipe-to-shell`]);
    } finally {
      cleanup();
    }
  });

  it("names the reason a file's warnings could not be looked at: too large, binary, not UTF-8, empty, not a mapping, unreadable", () => {
    const { dir, cleanup } = scratchDir({
      "templates/big.yml": `${piped}# ${"x".repeat(1024 * 1024)}\n`,
      "templates/binary.yml": "name: \0\n",
      "templates/list.yml": "- a\n- b\n",
      "templates/empty.yml": "# nothing yet\n",
      "templates/ok.yml": piped,
    });
    try {
      writeFileSync(join(dir, "templates/latin1.yml"), Buffer.from("name: caf\xe9\n", "latin1"));
      mkdirSync(join(dir, "templates/dir.yml"));
      const text = runCli(["ami", "lint", "--no-cache"], { cwd: dir });
      expect(text.status).toBe(2);
      expect(text.stdout).toContain(
        "✖ 7 templates checked: 6 errors, 1 warning; 6 not checked for warnings (big: larger than 1 MiB, not read; binary: not a text file; dir: the file could not be read; empty: empty; latin1: not UTF-8 text; list: not a YAML mapping)",
      );
    } finally {
      cleanup();
    }
  });
});
