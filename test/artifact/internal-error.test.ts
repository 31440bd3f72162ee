import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../e2e/harness.js";
import { ROOT } from "../helpers/cli.js";
import { runOnTerminal } from "../helpers/terminal.js";

/**
 * A bug in the built CLI, reported as a user would see it: the stack names the
 * TypeScript sources (through the bundle's source maps), and the message says
 * what to attach to a report. The bug is made real by breaking one chunk as it
 * loads (test/helpers/break-chunk.cjs).
 */
const BREAK = join(ROOT, "test", "helpers", "break-chunk.cjs");
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("internal errors in the built CLI", () => {
  it("on a terminal: the build's spinner failing names src/output/build-reporter.ts, says how to report it, and leaves nothing running", async () => {
    harness = await startHarness();
    const run = await runOnTerminal(["ami", "build", "emu-basic", "--architecture", "x86_64"], {
      cols: 100,
      rows: 40,
      cwd: harness.dir,
      env: { ...harness.env, NODE_OPTIONS: `--require ${BREAK}`, CWS_TEST_BREAK_CHUNK: "ora" },
    });
    const screen = run.screen.join("\n");
    expect(run.status, screen).toBe(1);
    expect(screen).toMatch(/internal error: TypeError: [\w$]+ is not a function/);
    expect(screen).toMatch(/at .*\(src\/output\/build-reporter\.ts:\d+:\d+\)/);
    expect(screen).not.toMatch(/dist\/bin\/chunks\/main\/build-reporter-\w+\.js:\d+/);
    expect(screen).toContain("this is a bug in cws");
    expect(screen).toContain("with --json, cws prints it as one JSON document to attach");
    expect(harness.emulator.instances("us-east-1").filter((i) => i.state !== "terminated")).toEqual([]);
  });

  it("with --json: one JSON document on stdout with the mapped stack, the version and the runtime", async () => {
    harness = await startHarness();
    const result = await harness.cws(["--json", "ami", "build", "emu-basic", "--architecture", "x86_64", "--dry-run"], {
      env: { NODE_OPTIONS: `--require ${BREAK}`, CWS_TEST_BREAK_CHUNK: "plan" },
    });
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as { error: { code: string; message: string; stack: string[]; version: string; runtime: string } };
    expect(report.error.code).toBe("INTERNAL_ERROR");
    expect(report.error.message).toMatch(/^TypeError: [\w$]+ is not a function$/);
    expect(report.error.stack[0]).toMatch(/^at .*src\/cli\/build-command\.ts:\d+:\d+\)?$/);
    expect(report.error.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.error.runtime).toMatch(/^node v\d+/);
    expect(result.stderr).toContain("the command you ran and the JSON report printed on stdout");
  });
});
