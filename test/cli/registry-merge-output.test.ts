import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { registryWith, record } from "../registry/fixtures.js";

/** `registry merge --output`: the output is named as what it is, standard output is pointed to `--output -`, and nothing is left beside a bad output. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const REGISTRY = `${JSON.stringify(registryWith({ t: { "us-east-1": { x86_64: record("ami-0abcd1234ef567890", "2026-01-01T00:00:00Z") } } }), null, 2)}\n`;

function project(): string {
  const { dir, cleanup } = scratchDir({ "a.json": REGISTRY });
  cleanups.push(cleanup);
  return dir;
}

const merge = (dir: string, output: string) => runCli(["ami", "registry", "merge", "a.json", "--output", output], { cwd: dir, timeout: 15_000 });

describe("registry merge --output that is not a registry file (built CLI)", () => {
  it.each(["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])("%s: exit 2, pointing to --output -, whatever standard output is", (output) => {
    const result = merge(project(), output);
    expect(result.stderr.split("\n").slice(0, 2)).toEqual([
      `error: --output ${output}: the merged registry is written to a file, atomically (a temporary file renamed over it), and standard output is no file`,
      "  → --output - prints the merged registry on standard output",
    ]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
  });

  const cases: [string, (dir: string) => void, RegExp][] = [
    ["a directory", (dir) => mkdirSync(join(dir, "out")), /^error: out: the merge's output \(--output\) is a directory, not a regular file$/],
    ["a named pipe", (dir) => execFileSync("mkfifo", [join(dir, "out")]), /^error: out: the merge's output \(--output\) is a named pipe \(FIFO\), not a regular file/],
    ["a link to a device", (dir) => symlinkSync("/dev/null", join(dir, "out")), /^error: out: the merge's output \(--output\) is a symbolic link to "\/dev\/null", which is a character device, not a regular file$/],
    ["a dangling link", (dir) => symlinkSync("nowhere.json", join(dir, "out")), /^error: out: the merge's output \(--output\) is a symbolic link to "nowhere\.json", which does not exist$/],
  ];
  it.each(cases)("%s: named as the merge's output, with what to do, and no lock left beside it", (_name, arrange, message) => {
    const dir = project();
    arrange(dir);
    const before = readdirSync(dir).sort();
    const result = merge(dir, "out");
    const [first, second] = result.stderr.split("\n");
    expect(first).toMatch(message);
    expect(second).toBe("  → name a registry file to merge into, or --output - prints the merged registry on standard output");
    expect(result.status).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it("--output - prints the merge, and a new file is written", () => {
    const dir = project();
    expect(JSON.parse(merge(dir, "-").stdout)).toEqual(JSON.parse(REGISTRY));
    const written = merge(dir, "new.json");
    expect(written.status, written.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["a.json", "new.json"]);
  });
});
