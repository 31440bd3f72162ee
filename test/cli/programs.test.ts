import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanEnv, ROOT, runCli, scratchDir, startCli, type CliResult } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * bin/cws.js runs `cws ami lint …` and `cws ami list …` with programs of their
 * own (dist/bin/ami-lint.js, ami-list.js) for start-up speed. They must be
 * indistinguishable from the full CLI (dist/bin/main.js): same output, same
 * errors, same exit codes.
 */
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

describe("the lint and list programs", () => {
  it("behave exactly as the full CLI for every kind of command line", () => {
    const { dir, cleanup } = scratchDir({
      "templates/t.yml": VALID_TEMPLATE,
      "templates/bad.yml": VALID_TEMPLATE.replace("ports: [22]", "ports: [22, 22]"),
      "registry/amis.json": REGISTRY,
      "broken/amis.json": REGISTRY.replace('"validated": true', '"validated": "yes"'),
    });
    try {
      const lines = [
        ["ami", "lint"],
        ["ami", "lint", "t"],
        ["ami", "lint", "--json", "--no-cache"],
        ["ami", "lint", "nope"],
        ["ami", "lint", "--stict"],
        ["ami", "lint", "--help"],
        ["ami", "lint", "--templates-dir", "missing"],
        ["ami", "list"],
        ["ami", "list", "--json"],
        ["ami", "list", "--region", "us-esat-1"],
        ["ami", "list", "--architecture", "sparc"],
        ["ami", "list", "--registry", "broken/amis.json"],
        ["ami", "list", "--help"],
        ["ami", "list", "extra"],
      ];
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

  it("are what bin/cws.js runs for lint and list, and only for them", () => {
    const programs = readdirSync(join(ROOT, "dist", "bin")).filter((name) => name.endsWith(".js")).sort();
    expect(programs).toEqual(["ami-lint.js", "ami-list.js", "main.js"]);
    // Which files a command line loads: bin/cws.js run in a process that lists require.cache at exit.
    // (With -e, process.argv[1] is the first argument: "x" stands in for the script path.)
    const loaded = (args: string[]) =>
      spawnSync(process.execPath, ["-e", `require(${JSON.stringify(join(ROOT, "bin", "cws.js"))}); process.on("exit", () => process.stderr.write("\\nLOADED " + Object.keys(require.cache).join(" ")))`, "x", ...args], {
        cwd: ROOT,
        env: cleanEnv(),
        encoding: "utf8",
      }).stderr;
    const fullCli = /dist\/bin\/(main\.js|chunks\/main\/)/;
    const lint = loaded(["ami", "lint", "--help"]);
    expect(lint).toMatch(/dist\/bin\/ami-lint\.js/);
    expect(lint).not.toMatch(fullCli);
    const list = loaded(["ami", "list", "--help"]);
    expect(list).toMatch(/dist\/bin\/ami-list\.js/);
    expect(list).not.toMatch(fullCli);
    expect(loaded(["ami", "build", "--help"])).toMatch(fullCli);
    expect(loaded(["--templates-dir", "templates", "ami", "lint", "--help"])).toMatch(fullCli);
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
