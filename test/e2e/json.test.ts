import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import { everyCommand } from "../helpers/commands.js";
import { startHarness, type Harness } from "./harness.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * `--json` on every command: stdout is one JSON document and nothing else,
 * when the command succeeds, when it fails on bad input, and when commander
 * refuses the command line. The commands come from the command table: a new
 * command fails the first test until it has its cases here.
 */

const COMMANDS = everyCommand();

interface Case {
  /** Arguments after the command's words; run in this order, against one emulator and project. */
  ok: string[];
  /** What the document must hold. */
  okShape: (document: unknown) => void;
  /** Bad input: exit 2 (or the command's own failure code), with the error as the document. */
  fail: string[];
  failCode: string;
  failExit?: number;
}

/** In the order they run: build before list, rollback after two builds, and so on. */
const CASES: Record<string, Case> = {
  "ami bootstrap": {
    ok: [],
    okShape: (d) => expect(d).toMatchObject({ account: expect.any(String), changed: expect.any(Array) }),
    fail: ["--region", "mars-1"],
    failCode: "BAD_OPTION",
  },
  "ami build": {
    ok: ["emu-basic", "--architecture", "x86_64", "--quiet"],
    okShape: (d) => expect(d).toMatchObject({ status: "succeeded", imageId: expect.stringMatching(/^ami-/) }),
    fail: ["emu-basic", "--architecture", "x86_64", "--instance-type", "t4g.large"],
    failCode: "INSTANCE_TYPE_ARCHITECTURE",
  },
  "ami lint": {
    ok: ["emu-basic"],
    okShape: (d) => expect(d).toMatchObject({ errors: 0, exitCode: 0, templates: [{ id: "emu-basic" }] }),
    fail: ["emu-basci"],
    failCode: "TEMPLATE_NOT_FOUND",
  },
  "ami list": {
    ok: ["--template", "emu-basic"],
    okShape: (d) => expect(d).toEqual([expect.objectContaining({ template: "emu-basic", region: "us-east-1", architecture: "x86_64" })]),
    fail: ["--template", "emu-basci"],
    failCode: "TEMPLATE_NOT_FOUND",
  },
  "ami update-registry": {
    ok: ["emu-basic", "--region", "us-east-1", "--arch", "x86_64"],
    okShape: (d) => expect(d).toMatchObject({ updated: [], current: ["emu-basic.us-east-1.x86_64"], missing: [], pinned: [] }),
    // The region is the template's, but nothing was built there: the work failed (exit 1), and the document says so.
    fail: ["emu-basic", "--region", "us-west-2", "--arch", "x86_64"],
    failCode: "NO_VALIDATED_AMI",
    failExit: 1,
  },
  "ami rollback": {
    ok: ["emu-basic", "--region", "us-east-1", "--arch", "x86_64"],
    okShape: (d) => expect(d).toMatchObject({ template: "emu-basic", region: "us-east-1", architecture: "x86_64", from: expect.stringMatching(/^ami-/) }),
    fail: ["emu-basic", "--region", "us-east-1", "--arch", "x86_64", "--to", "v9.9.9"],
    failCode: "ROLLBACK_TARGET_UNKNOWN",
  },
  "ami validate": {
    ok: ["emu-basic", "--region", "us-east-1", "--arch", "x86_64"],
    okShape: (d) => expect(d).toMatchObject({ status: "succeeded", template: "emu-basic", imageId: expect.stringMatching(/^ami-/), exitCode: 0 }),
    fail: ["emu-basic", "--ami", "ami-xyz"],
    failCode: "BAD_OPTION",
  },
  "ami registry merge": {
    ok: ["artifact.json"],
    okShape: (d) => expect(d).toEqual({ merged: ["artifact.json"], into: "./registry/amis.json", templates: 2 }),
    fail: ["missing.json"],
    failCode: "NOT_FOUND",
  },
  "ami update-templates": {
    ok: ["emu-basic"],
    okShape: (d) => expect(d).toMatchObject({ updated: [expect.objectContaining({ template: "emu-basic", region: "us-east-1", architecture: "x86_64" })] }),
    fail: ["emu-basci"],
    failCode: "TEMPLATE_NOT_FOUND",
  },
  "ami cleanup": {
    // After the two builds: the plan keeps both (a dry run changes nothing).
    ok: ["--keep-latest", "5", "--dry-run"],
    okShape: (d) =>
      expect(d).toMatchObject({ dryRun: true, keepLatest: 5, images: [expect.objectContaining({ template: "emu-basic", action: "keep" }), expect.objectContaining({ action: "keep" })], result: null, exitCode: 0 }),
    fail: ["--keep-latest", "2", "--template", "emu-basci"],
    failCode: "TEMPLATE_NOT_FOUND",
  },
  // After the others (list expects one region): emu-basic x86_64 is up to date in us-east-1 and copied to us-west-2.
  "ami build-all": {
    ok: ["emu-basic", "--architecture", "x86_64"],
    okShape: (d) =>
      expect(d).toMatchObject({
        rows: [
          { template: "emu-basic", region: "us-east-1", result: "up-to-date", amiId: expect.stringMatching(/^ami-/) },
          { template: "emu-basic", region: "us-west-2", result: "copied", copiedFrom: { region: "us-east-1" } },
        ],
        counts: { "up-to-date": 1, copied: 1 },
        interrupted: false,
        exitCode: 0,
      }),
    fail: ["emu-basic", "--templates", "emu-basci"],
    failCode: "TEMPLATE_NOT_FOUND",
  },
  "ami reap": {
    // After build-all: every build and copy above cleaned up after itself, nothing is left behind.
    ok: ["--yes"],
    okShape: (d) => expect(d).toMatchObject({ regions: ["us-east-1", "us-west-2"], ending: "nothing-to-do", resources: [], exitCode: 0 }),
    // Not on a terminal, and no --yes: refused before anything is searched.
    fail: ["--older-than", "1h"],
    failCode: "CONFIRMATION_REQUIRED",
  },
  // A git repository of the project's templates, made in beforeAll: its first commit, so every template is new.
  "ami changed": {
    ok: [],
    okShape: (d) =>
      expect(d).toMatchObject({
        since: { rev: "HEAD^", commit: null },
        head: expect.stringMatching(/^[0-9a-f]{40}$/),
        changed: expect.arrayContaining([{ id: "emu-basic", file: "templates/emu-basic.yml", reason: "new", architectures: ["x86_64", "arm64"], parent: null }]),
        deleted: [],
        templates: expect.arrayContaining([{ id: "emu-basic", architectures: ["x86_64", "arm64"], parent: null }]),
      }),
    fail: ["--since", "no-such-revision"],
    failCode: "UNKNOWN_REVISION",
  },
  config: {
    ok: [],
    okShape: (d) => expect(d).toMatchObject({ settings: { region: { value: "us-east-1", from: "AWS_REGION" } } }),
    fail: ["--region", "us-esat-1"],
    failCode: "BAD_OPTION",
  },
};

/** Exactly one JSON document on stdout, nothing before or after it. */
function document(result: CliResult, what: string): unknown {
  expect(result.stdout.endsWith("}\n") || result.stdout.endsWith("]\n"), `${what}: ${result.stdout}\n${result.stderr}`).toBe(true);
  const parsed: unknown = JSON.parse(result.stdout);
  expect(`${JSON.stringify(parsed, null, 2)}\n`, what).toBe(result.stdout);
  return parsed;
}

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
  // cws ami changed compares with git: the project's templates as a first commit.
  for (const args of [["init", "-q"], ["add", "templates"], ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "templates"]]) {
    execFileSync("git", args, { cwd: harness.dir, stdio: "ignore" });
  }
  // A CI job's registry artifact for registry merge: another template's AMI.
  writeFileSync(
    join(harness.dir, "artifact.json"),
    JSON.stringify(registryWith({ "emu-steps": { "us-west-2": { arm64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } })),
  );
}, 60_000);
afterAll(() => harness.close());

describe("--json, for every command of the table (built CLI, emulator)", () => {
  it("has a success and a failure case for every command", () => {
    expect(Object.keys(CASES).sort()).toEqual(COMMANDS.map(({ words }) => words.join(" ")).sort());
  });

  it("prints one document on success and one error document on failure, the global flag before or after the command", { timeout: 240_000 }, async () => {
    // Two builds first, so that list, rollback and update-templates have something to work on.
    // The second with --force: the same content would otherwise be up to date.
    for (const force of [[], ["--force"]]) expect((await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--quiet", ...force])).status).toBe(0);
    let position = 0;
    for (const [name, spec] of Object.entries(CASES)) {
      const words = name.split(" ");
      const place = (args: string[]) => (position++ % 2 === 0 ? ["--json", ...words, ...args] : [...words, ...args, "--json"]);
      const ok = await harness.cws(place(spec.ok));
      expect(ok.status, `${name}: ${ok.stderr}`).toBe(0);
      spec.okShape(document(ok, name));

      const failed = await harness.cws(place(spec.fail));
      const exit = spec.failExit ?? 2;
      expect(failed.status, `${name} ${spec.fail.join(" ")}: ${failed.stderr}`).toBe(exit);
      const error = document(failed, `${name} ${spec.fail.join(" ")}`) as { error: { code: string; message: string; suggestion: string | null }; exitCode: number };
      expect(error.exitCode).toBe(exit);
      expect(error.error.code, name).toBe(spec.failCode);
      // The same error, in words, on stderr.
      expect(failed.stderr, name).toContain(`error: ${error.error.message}\n`);
      expect(error.error.suggestion, name).toMatch(/\w{3}/);
    }
  });

  it("gives a build that failed at work a code and an exit code in its document, as every error document has", { timeout: 120_000 }, async () => {
    for (const [template, code] of [["emu-fail-setup", "BUILD_FAILED"], ["emu-fail-validation", "BUILD_FAILED"]] as const) {
      const result = await harness.cws(["--json", "ami", "build", template, "--architecture", "x86_64", "--quiet"]);
      expect(result.status, `${template}: ${result.stderr}`).toBe(1);
      const failed = document(result, template) as { status: string; exitCode: number; error: { code: string; message: string; preflight: boolean } };
      expect(failed).toMatchObject({ status: "failed", exitCode: 1, error: { code, message: expect.any(String), preflight: false } });
    }
    // The user's setup at fault (credentials refused): the code says so, and the exit code is 2.
    harness.emulator.setRejectCredentials(true);
    try {
      const result = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--quiet", "--json"]);
      expect(result.status, result.stderr).toBe(2);
      expect(document(result, "rejected credentials")).toMatchObject({ status: "failed", exitCode: 2, error: { code: "AWS_CREDENTIALS", preflight: true } });
    } finally {
      harness.emulator.setRejectCredentials(false);
    }
  });

  it("answers a command line commander refuses with an error document too: an unknown flag, a missing value or argument", { timeout: 120_000 }, async () => {
    for (const { words, spec } of COMMANDS) {
      const lines: [string[], string][] = [
        [["--json", ...words, "--no-such-flag"], "UNKNOWN_OPTION"],
        [[...words, "--no-such-flag", "--json"], "UNKNOWN_OPTION"],
      ];
      const required = (spec.arguments ?? []).filter((a) => a.syntax.startsWith("<"));
      if (required.length > 0) lines.push([["--json", ...words], "MISSING_ARGUMENT"]);
      const valued = spec.options?.find((o) => o.flags.includes("<"));
      if (valued) lines.push([["--json", ...words, ...required.map(() => "x"), valued.flags.split(" ")[0]!], "MISSING_OPTION_VALUE"]);
      for (const [args, code] of lines) {
        const result = await harness.cws(args);
        expect(result.status, args.join(" ")).toBe(2);
        expect((document(result, args.join(" ")) as { error: { code: string } }).error.code, args.join(" ")).toBe(code);
      }
    }
    for (const args of [["--json"], ["--json", "ami"], ["--json", "ami", "lnt"], ["--bogus", "--json", "ami", "lint"]]) {
      const result = await harness.cws(args);
      expect(result.status, args.join(" ")).toBe(2);
      expect((document(result, args.join(" ")) as { exitCode: number }).exitCode).toBe(2);
    }
  });
});
