import type { ValidationTest } from "../template/schema.js";
import { shellQuote } from "./remote.js";

/**
 * Validation tests run in one SSM command: each test's command runs under its
 * own timeout, and the results come back as one line per test with the exit
 * code and base64 of the (bounded) output. Every test runs; there is no fail-fast.
 */
export const TEST_OUTPUT_BUDGET_BYTES = 16_000;

export function testOutputLimit(count: number): number {
  return Math.max(256, Math.floor(TEST_OUTPUT_BUDGET_BYTES / Math.max(1, count) / 1.4));
}

export function validationScript(tests: readonly ValidationTest[], workDir: string): string {
  const limit = testOutputLimit(tests.length);
  const dir = `${workDir}/validation`;
  const lines = ["set -u", `d=${shellQuote(dir)}`, 'rm -rf "$d"', 'mkdir -p "$d"', 'chmod 700 "$d"'];
  tests.forEach((test, index) => {
    const encoded = Buffer.from(test.command, "utf8").toString("base64");
    lines.push(
      `printf '%s' '${encoded}' | base64 -d > "$d/${index}.sh"`,
      `(cd / && timeout --kill-after=5 ${test.timeout_seconds} bash "$d/${index}.sh" > "$d/${index}.out" 2> "$d/${index}.err" < /dev/null); echo "$?" > "$d/${index}.rc"`,
      `echo "cws-test ${index} $(cat "$d/${index}.rc") $(stat -c %s "$d/${index}.out") b:$(head -c ${limit} "$d/${index}.out" | base64 -w0) b:$(head -c 512 "$d/${index}.err" | base64 -w0)"`,
    );
  });
  lines.push("exit 0");
  return lines.join("\n");
}

export interface RawTestResult {
  index: number;
  exitCode: number;
  /** Full size of stdout on the instance; more than `stdout` holds when it was cut. */
  stdoutBytes: number;
  stdout: string;
  stderr: string;
}

export function parseValidationOutput(stdout: string): RawTestResult[] {
  const results: RawTestResult[] = [];
  for (const line of stdout.split("\n")) {
    // Each base64 field has a `b:` prefix so an empty output still leaves a field.
    const match = /^cws-test (\d+) (\d+) (\d+) b:([A-Za-z0-9+/=]*) b:([A-Za-z0-9+/=]*)$/.exec(line.trim());
    if (!match) continue;
    results.push({
      index: Number(match[1]),
      exitCode: Number(match[2]),
      stdoutBytes: Number(match[3]),
      stdout: Buffer.from(match[4]!, "base64").toString("utf8"),
      stderr: Buffer.from(match[5] ?? "", "base64").toString("utf8"),
    });
  }
  return results;
}

export interface TestVerdict {
  passed: boolean;
  /** Expected vs actual, for each check that failed. */
  failures: string[];
}

/**
 * Evaluate every check a test declares; all must hold. (The original Go
 * implementation parsed `expected` and never compared it.)
 */
export function evaluateTest(test: ValidationTest, result: RawTestResult | undefined): TestVerdict {
  if (!result) return { passed: false, failures: ["no result: the test did not run (the validation command failed)"] };
  const failures: string[] = [];
  const expectedExit = test.exit_code ?? 0;
  if (result.exitCode === 124) failures.push(`timed out after ${test.timeout_seconds}s`);
  else if (result.exitCode !== expectedExit) {
    failures.push(`exit code: expected ${expectedExit}, got ${result.exitCode}${result.stderr.trim() ? ` (stderr: ${oneLine(result.stderr)})` : ""}`);
  }
  const truncated = result.stdoutBytes > Buffer.byteLength(result.stdout, "utf8");
  const output = result.stdout.trim();
  if (test.expected !== undefined && output !== test.expected.trim()) {
    failures.push(
      truncated
        ? `output: expected exactly ${JSON.stringify(test.expected)}, got ${result.stdoutBytes} bytes of output`
        : `output: expected ${JSON.stringify(test.expected)}, got ${JSON.stringify(oneLine(output))}`,
    );
  }
  if (test.expected_contains !== undefined && !result.stdout.includes(test.expected_contains)) {
    failures.push(`output: expected to contain ${JSON.stringify(test.expected_contains)}, got ${JSON.stringify(oneLine(output))}${truncated ? " (cut)" : ""}`);
  }
  if (test.expected_regex !== undefined && !new RegExp(test.expected_regex).test(result.stdout)) {
    failures.push(`output: expected to match /${test.expected_regex}/, got ${JSON.stringify(oneLine(output))}${truncated ? " (cut)" : ""}`);
  }
  return { passed: failures.length === 0, failures };
}

function oneLine(text: string): string {
  const flat = text.trim().replace(/\s*\n\s*/g, " ⏎ ");
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
