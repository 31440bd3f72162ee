/**
 * README's "Trying it without AWS": the emulator started as it says and stopped with `kill %1`
 * is gone, its scratch folder too. Run by a bash without job control (as a script is), where
 * `kill %1` signals the job's own process only: started through `npm start … &`, that is npm, and
 * the emulator it runs under `sh -c` would be left running.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { preferredScratchDir } from "../../packages/aws-emulator/src/sandbox.js";
import { ROOT } from "../helpers/cli.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The line of the section's first shell block that starts the emulator in the background. */
function startLine(): string {
  const section = README.slice(README.indexOf("#### Trying it without AWS"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const lines = block.split("\n").filter((line) => line.trimEnd().endsWith(" &"));
  expect(lines, "one line starts the emulator in the background").toHaveLength(1);
  return lines[0]!;
}

/** Processes whose command line carries `marker`, as `pid command`. */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ");
      if (cmdline.includes(marker)) found.push(`${entry} ${cmdline}`);
    } catch {
      // gone
    }
  }
  return found;
}

describe("README: the emulator started by hand", () => {
  it("is started as the emulator's own --help says to start it", () => {
    const help = spawnSync(process.execPath, ["--import", "tsx", "packages/aws-emulator/src/main.ts", "--help"], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    const usage = /^usage: (.*) \[options\] &$/m.exec(help.stderr);
    expect(usage, help.stderr).not.toBeNull();
    const command = usage![1]!;
    // The README's line is that command with its options, in the background; the package's README says the same.
    expect(startLine().startsWith(`${command} --`)).toBe(true);
    expect(startLine().endsWith(" &")).toBe(true);
    const packageReadme = readFileSync(join(ROOT, "packages", "aws-emulator", "README.md"), "utf8").replace(/\s+/g, " ");
    expect(packageReadme).toContain(`By hand, from the repository root: \`${command} --`);
    expect(help.stderr).not.toContain("npm start -w");
  });

  it("stops with kill %1, leaving no process and no scratch folder", () => {
    const line = startLine();
    expect(line).toContain("--port 4566 &");
    const parent = mkdtempSync(join(preferredScratchDir() ?? tmpdir(), "cws-emu-readme-"));
    const output = join(parent, "..", `${parent.split("/").at(-1)}.out`);
    // The README's line on a free port, in a scratch parent of this test's, its output in a file.
    const start = line.replace("--port 4566 &", `--port 0 --scratch-dir ${parent} > ${output} 2>&1 &`);
    const script = [
      start,
      `for _ in $(seq 400); do grep -q '^http://' ${output} && break; sleep 0.05; done`,
      "grep -q '^http://' " + output + " || { echo 'the emulator did not start' >&2; cat " + output + " >&2; exit 1; }",
      "kill %1",
      "wait",
    ].join("\n");
    try {
      const result = spawnSync("bash", ["--noprofile", "--norc", "-c", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
      expect(result.stderr).not.toContain("did not start");
      // wait returns when the job ends; a process left behind by it would still be listed here.
      const left = processesWith(parent);
      for (const entry of left) process.kill(Number(entry.split(" ")[0]), "SIGKILL");
      expect(left).toEqual([]);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
      rmSync(output, { force: true });
    }
  }, 90_000);
});
