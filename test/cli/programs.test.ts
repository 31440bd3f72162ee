import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fastPrograms } from "../../src/cli/command-spec.js";
import { COMMAND_TABLE } from "../../src/cli/command-table.js";
import { cleanEnv, ROOT, runCli, scratchDir, startCli, type CliResult } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * bin/cws.js runs the commands whose entry in the command table says
 * `fastProgram` (`cws ami lint …`, `cws ami list …`) with programs of their
 * own (dist/bin/ami-lint.js, ami-list.js) for start-up speed. They must be
 * indistinguishable from the full CLI (dist/bin/main.js): same output, same
 * errors, same exit codes.
 */
const FAST_PROGRAMS = fastPrograms(COMMAND_TABLE);

function runFullCli(args: string[], cwd: string): CliResult {
  const result = spawnSync(process.execPath, ["-e", "require(process.argv[1]).run()", join(ROOT, "dist", "bin", "main.js"), ...args], {
    cwd,
    env: cleanEnv(),
    encoding: "utf8",
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const REGISTRY = `${JSON.stringify(
  {
    version: "1.0",
    last_updated: "2026-01-01T00:00:00Z",
    templates: {
      t: {
        version: "1.0.0",
        description: "test",
        amis: { "us-east-1": { x86_64: { ami_id: "ami-0123456789abcdef0", created: "2026-01-01T00:00:00Z", validated: true, size_gb: 30 } } },
        ports: [22],
        estimated_cost_per_hour: {},
      },
    },
  },
  null,
  2,
)}\n`;

/** For each fast program: command lines of every kind (help, typos, invalid input, JSON) that it must answer as the full CLI does. */
const COMMAND_LINES: Record<string, string[][]> = {
  "ami-lint": [
    ["ami", "lint"],
    ["ami", "lint", "t"],
    ["ami", "lint", "--json", "--no-cache"],
    ["ami", "lint", "nope"],
    ["ami", "lint", "--stict"],
    ["ami", "lint", "--help"],
    ["ami", "lint", "--templates-dir", "missing"],
  ],
  "ami-list": [
    ["ami", "list"],
    ["ami", "list", "--json"],
    ["ami", "list", "--region", "us-esat-1"],
    ["ami", "list", "--architecture", "sparc"],
    ["ami", "list", "--registry", "broken/amis.json"],
    ["ami", "list", "--help"],
    ["ami", "list", "extra"],
  ],
};

describe("the fast programs (lint and list)", () => {
  it("behave exactly as the full CLI for every kind of command line", () => {
    // A command that gets a program of its own gets command lines here too.
    expect(Object.keys(COMMAND_LINES)).toEqual(FAST_PROGRAMS.map((p) => p.name));
    const { dir, cleanup } = scratchDir({
      "templates/t.yml": VALID_TEMPLATE,
      "templates/bad.yml": VALID_TEMPLATE.replace("ports: [22]", "ports: [22, 22]"),
      "registry/amis.json": REGISTRY,
      "broken/amis.json": REGISTRY.replace('"validated": true', '"validated": "yes"'),
    });
    try {
      const lines = FAST_PROGRAMS.flatMap((p) => COMMAND_LINES[p.name]!);
      const statuses = new Set<number>();
      for (const args of lines) {
        const fast = runCli(args, { cwd: dir });
        expect(fast, args.join(" ")).toEqual(runFullCli(args, dir));
        statuses.add(fast.status);
      }
      // The command lines above cover success, findings and usage errors.
      expect([...statuses].sort()).toEqual([0, 2]);
    } finally {
      cleanup();
    }
  });

  it("are what bin/cws.js runs for the table's fast programs, and only for them", () => {
    const programs = readdirSync(join(ROOT, "dist", "bin")).filter((name) => name.endsWith(".js")).sort();
    expect(programs).toEqual(["main", ...FAST_PROGRAMS.map((p) => p.name)].map((name) => `${name}.js`).sort());
    expect(JSON.parse(readFileSync(join(ROOT, "dist", "bin", "routes.json"), "utf8"))).toEqual(Object.fromEntries(FAST_PROGRAMS.map((p) => [p.words.join(" "), p.name])));
    // Which files a command line loads: bin/cws.js run in a process that lists require.cache at exit.
    // (With -e, process.argv[1] is the first argument: "x" stands in for the script path.)
    const loaded = (args: string[]) =>
      spawnSync(process.execPath, ["-e", `require(${JSON.stringify(join(ROOT, "bin", "cws.js"))}); process.on("exit", () => process.stderr.write("\\nLOADED " + Object.keys(require.cache).join(" ")))`, "x", ...args], {
        cwd: ROOT,
        env: cleanEnv(),
        encoding: "utf8",
      }).stderr;
    const fullCli = /dist\/bin\/(main\.js|chunks\/main\/)/;
    for (const { words, name } of FAST_PROGRAMS) {
      const files = loaded([...words, "--help"]);
      expect(files).toContain(`dist/bin/${name}.js`);
      expect(files).not.toMatch(fullCli);
      // A global option first: the full CLI.
      expect(loaded(["--templates-dir", "templates", ...words, "--help"])).toMatch(fullCli);
    }
    for (const entry of COMMAND_TABLE.commands) {
      if (!FAST_PROGRAMS.some((p) => p.spec === entry)) expect(loaded([COMMAND_TABLE.name, entry.name, "--help"]), entry.name).toMatch(fullCli);
    }
  });
});

describe("stdout", () => {
  it("ends quietly when the reader goes away (cws ami list | head -1)", async () => {
    const { dir, cleanup } = scratchDir({ "registry/amis.json": REGISTRY });
    try {
      const child = startCli(["ami", "list"], { cwd: dir });
      // Close our end before the child writes: its first write meets a closed pipe (EPIPE).
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
      const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      expect(stderr).toBe("");
      expect(status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it("is complete when the output is larger than a pipe holds", () => {
    const templates: Record<string, unknown> = {};
    for (let t = 0; t < 300; t++) {
      templates[`template-${String(t).padStart(3, "0")}`] = {
        version: "1.0.0",
        description: "test",
        amis: Object.fromEntries(
          ["eu-west-1", "us-east-1", "us-west-2"].map((region) => [
            region,
            { x86_64: { ami_id: `ami-0${String(t).padStart(16, "0")}`, created: "2026-01-01T00:00:00Z", validated: true, size_gb: 30 } },
          ]),
        ),
        ports: [22],
        estimated_cost_per_hour: {},
      };
    }
    const { dir, cleanup } = scratchDir({ "registry/amis.json": JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates }) });
    try {
      const result = runCli(["ami", "list"], { cwd: dir });
      expect(result.status).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(65536);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(1 + 900);
      expect(lines.at(-1)).toMatch(/^template-299 +1\.0\.0 +us-west-2 +x86_64 +ami-00000000000000299 /);
    } finally {
      cleanup();
    }
  });
});
