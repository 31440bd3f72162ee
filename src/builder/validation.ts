import type { ValidationTest } from "../template/schema.js";
import { shellQuote } from "./remote.js";

/**
 * Validation tests run in one SSM command: each test's command runs under its
 * own timeout, and the results come back as one line per test with the exit
 * code and base64 of the (bounded) output. Every test runs; there is no fail-fast.
 */
/** Characters of SSM output one validation command may use (SSM keeps 24,000). */
const OUTPUT_BUDGET_CHARS = 23_000;
/** Tests per SSM command; more are run in further commands. */
export const TESTS_PER_COMMAND = 20;

/** Bytes of stdout kept per test when `count` tests share one command (stderr gets a quarter of it). */
export function testOutputLimit(count: number): number {
  const perTestChars = OUTPUT_BUDGET_CHARS / Math.max(1, Math.min(count, TESTS_PER_COMMAND)) - 40;
  // base64 turns 3 bytes into 4 characters; stdout + stderr = 1.25 x limit.
  return Math.floor((perTestChars * 3) / 4 / 1.25);
}

/** `firstIndex`: the index of tests[0] in the template, when tests are run in batches. */
export function validationScript(tests: readonly ValidationTest[], workDir: string, firstIndex = 0): string {
  const limit = testOutputLimit(tests.length);
  const errLimit = Math.floor(limit / 4);
  const dir = `${workDir}/validation`;
  const lines = ["set -u", `d=${shellQuote(dir)}`, 'mkdir -p "$d"', 'chmod 700 "$d"'];
  tests.forEach((test, offset) => {
    const index = firstIndex + offset;
    const encoded = Buffer.from(test.command, "utf8").toString("base64");
    lines.push(
      `printf '%s' '${encoded}' | base64 -d > "$d/${index}.sh"`,
      `(cd / && timeout --kill-after=5 ${test.timeout_seconds} bash "$d/${index}.sh" > "$d/${index}.out" 2> "$d/${index}.err" < /dev/null); echo "$?" > "$d/${index}.rc"`,
      `echo "cws-test ${index} $(cat "$d/${index}.rc") $(stat -c %s "$d/${index}.out") b:$(head -c ${limit} "$d/${index}.out" | base64 -w0) b:$(head -c ${errLimit} "$d/${index}.err" | base64 -w0)"`,
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
  // Output that was cut is longer than what we saw, so it cannot equal `expected`.
  if (test.expected !== undefined && (truncated || output !== test.expected.trim())) {
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
