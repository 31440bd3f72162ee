import { describe, expect, it } from "vitest";
import { evaluateTest, parseValidationOutput, testOutputLimit, validationScript, type RawTestResult } from "../../src/builder/validation.js";
import type { ValidationTest } from "../../src/template/schema.js";

const test = (extra: Partial<ValidationTest>): ValidationTest => ({ name: "t", command: "x", exit_code: 0, timeout_seconds: 30, ...extra });
const result = (extra: Partial<RawTestResult>): RawTestResult => ({ index: 0, exitCode: 0, stdout: "", stderr: "", stdoutBytes: 0, ...extra, ...(extra.stdout !== undefined && extra.stdoutBytes === undefined ? { stdoutBytes: Buffer.byteLength(extra.stdout) } : {}) });

describe("evaluateTest", () => {
  it("compares `expected` with the trimmed output, exactly", () => {
    expect(evaluateTest(test({ expected: "active" }), result({ stdout: "active\n" })).passed).toBe(true);
    expect(evaluateTest(test({ expected: "active" }), result({ stdout: "inactive\n" }))).toEqual({
      passed: false,
      failures: ['output: expected "active", got "inactive"'],
    });
    expect(evaluateTest(test({ expected: "active" }), result({ stdout: "active (running)" })).passed).toBe(false);
  });

  it("checks expected_contains and expected_regex", () => {
    expect(evaluateTest(test({ expected_contains: "ubuntu" }), result({ stdout: "uid=1000(ubuntu)" })).passed).toBe(true);
    expect(evaluateTest(test({ expected_contains: "root" }), result({ stdout: "uid=1000(ubuntu)" })).failures).toEqual([
      'output: expected to contain "root", got "uid=1000(ubuntu)"',
    ]);
    expect(evaluateTest(test({ expected_regex: "^R version 4\\." }), result({ stdout: "R version 4.4.1" })).passed).toBe(true);
    expect(evaluateTest(test({ expected_regex: "^R version 4\\." }), result({ stdout: "R version 3.6" })).passed).toBe(false);
  });

  it("checks the exit code (0 by default, or the one declared) and reports stderr", () => {
    expect(evaluateTest(test({}), result({ exitCode: 1, stderr: "not found\n" })).failures).toEqual(["exit code: expected 0, got 1 (stderr: not found)"]);
    expect(evaluateTest(test({ exit_code: 3 }), result({ exitCode: 3 })).passed).toBe(true);
    expect(evaluateTest(test({ exit_code: 3 }), result({ exitCode: 0 })).passed).toBe(false);
  });

  it("reports a timeout, a missing result, and every failing check together", () => {
    expect(evaluateTest(test({ timeout_seconds: 5 }), result({ exitCode: 124 })).failures).toEqual(["timed out after 5s"]);
    expect(evaluateTest(test({}), undefined).passed).toBe(false);
    const all = evaluateTest(test({ expected: "a", expected_contains: "b", expected_regex: "c" }), result({ exitCode: 2, stdout: "z" }));
    expect(all.failures).toHaveLength(4);
  });

  it("does not pass an exact match on output that was cut", () => {
    const verdict = evaluateTest(test({ expected: "x".repeat(100) }), result({ stdout: "x".repeat(100), stdoutBytes: 5000 }));
    expect(verdict.passed).toBe(false);
    expect(verdict.failures[0]).toContain("5000 bytes of output");
  });
});

describe("validation script and its output", () => {
  it("embeds each command base64-encoded with its own timeout", () => {
    const script = validationScript([test({ command: "echo 'it''s' \"$HOME\"", timeout_seconds: 7 })], "/var/lib/cws-build/b1");
    expect(script).toContain(Buffer.from("echo 'it''s' \"$HOME\"").toString("base64"));
    expect(script).toContain("timeout --kill-after=5 7 bash");
    expect(script).not.toContain("$HOME\"");
  });

  it("parses result lines, including empty output", () => {
    const out = [
      `cws-test 0 0 6 b:${Buffer.from("hello\n").toString("base64")} b:`,
      "noise",
      `cws-test 1 1 0 b: b:${Buffer.from("oops").toString("base64")}`,
    ].join("\n");
    expect(parseValidationOutput(out)).toEqual([
      { index: 0, exitCode: 0, stdoutBytes: 6, stdout: "hello\n", stderr: "" },
      { index: 1, exitCode: 1, stdoutBytes: 0, stdout: "", stderr: "oops" },
    ]);
  });

  it("keeps a command's whole result under SSM's 24,000 characters", () => {
    for (const count of [1, 5, 20, 50]) {
      const perCommand = Math.min(count, 20);
      const limit = testOutputLimit(count);
      const line = `cws-test 99 0 ${limit} b:${"A".repeat(Math.ceil((limit * 4) / 3))} b:${"A".repeat(Math.ceil((Math.floor(limit / 4) * 4) / 3))}\n`;
      expect(perCommand * line.length).toBeLessThan(24_000);
    }
  });
});
