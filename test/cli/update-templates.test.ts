import { chmodSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { exec } from "../../src/cli/main.js";
import { templateContentHash } from "../../src/template/content-hash.js";
import { parseTemplate } from "../../src/template/load.js";
import { scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/** The real command tree, run in-process the way bin/cws.js runs it. */
const execWithCommand = (argv: string[], io: CliIO): Promise<number> => exec(argv, io);

const A1 = "ami-0aaaaaaaaaaaaaaa1";
const A2 = "ami-0aaaaaaaaaaaaaaa2";
const B1 = "ami-0bbbbbbbbbbbbbbb1";
const OLD = "ami-00000000000000001";

// VALID_TEMPLATE builds x86_64 and arm64 in us-east-1 and us-west-2.
const COMMENTED = `# yaml-language-server: $schema=../schemas/template.schema.json
# A comment that must survive.

${VALID_TEMPLATE}`;
const WITH_BLOCK = COMMENTED.replace("ports: [22]\n", `ports: [22]\n\namis:\n  us-east-1:\n    x86_64: ${OLD}  # old\n\n`);

function registryJson(templates: Record<string, Record<string, Record<string, string | Record<string, unknown>>>>): string {
  const entries = Object.fromEntries(
    Object.entries(templates).map(([id, amis]) => [
      id,
      {
        version: "1.0.0",
        description: "A template for tests",
        amis: Object.fromEntries(
          Object.entries(amis).map(([region, byArch]) => [
            region,
            Object.fromEntries(
              Object.entries(byArch).map(([arch, ami]) => [arch, typeof ami === "string" ? { ami_id: ami, created: "2024-05-01T00:00:00Z", validated: true, size_gb: 8 } : ami]),
            ),
          ]),
        ),
        ports: [22],
        estimated_cost_per_hour: {},
      },
    ]),
  );
  return `${JSON.stringify({ version: "1.0", last_updated: "2024-05-01T00:00:00Z", templates: entries }, null, 2)}\n`;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workspace(files: Record<string, string>): { dir: string; read: (name: string) => string; run: (...args: string[]) => Promise<{ status: number; stdout: string; stderr: string }> } {
  const { dir, cleanup } = scratchDir(files);
  cleanups.push(cleanup);
  return {
    dir,
    read: (name) => readFileSync(join(dir, name), "utf8"),
    run: async (...args) => {
      let stdout = "";
      let stderr = "";
      const io: CliIO = {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        env: {},
        cwd: dir,
      };
      const status = await execWithCommand(["--templates-dir", join(dir, "templates"), "--registry", join(dir, "registry/amis.json"), "ami", "update-templates", ...args], io);
      return { status, stdout, stderr };
    },
  };
}

describe("cws ami update-templates", () => {
  it("writes each template's AMIs from the registry, one line per change, then changes nothing on a second run", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "templates/beta.yml": WITH_BLOCK,
      "templates/gamma.yml": COMMENTED,
      "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: A1 } }, beta: { "us-east-1": { x86_64: A2, arm64: B1 } } }),
    });
    const result = await ws.run();
    expect(result.stdout).toBe(
      [
        `Template updated: alpha.us-east-1.x86_64 = ${A1}`,
        `Template updated: beta.us-east-1.arm64 = ${B1}`,
        `Template updated: beta.us-east-1.x86_64 = ${A2}`,
        "✔ 2 templates updated (3 AMIs); 1 template not in the registry (left alone)",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(ws.read("templates/alpha.yml").startsWith(COMMENTED)).toBe(true);
    expect(ws.read("templates/beta.yml")).toBe(WITH_BLOCK.replace(`    x86_64: ${OLD}  # old\n`, `    arm64: ${B1}\n    x86_64: ${A2}  # old\n`));
    expect(ws.read("templates/gamma.yml")).toBe(COMMENTED);
    const hash = (text: string) => templateContentHash(parseTemplate(Buffer.from(text), "t.yml").template!);
    expect(hash(ws.read("templates/beta.yml"))).toBe(hash(WITH_BLOCK));

    const inodes = ["alpha", "beta", "gamma"].map((id) => statSync(join(ws.dir, `templates/${id}.yml`)).ino);
    const again = await ws.run();
    expect(again.stdout).toBe("✔ nothing to update: 3 templates checked; 2 templates already up to date, 1 template not in the registry (left alone)\n");
    expect(again.status).toBe(0);
    // Not rewritten at all: a rewrite is a rename, which gives the file a new inode.
    expect(["alpha", "beta", "gamma"].map((id) => statSync(join(ws.dir, `templates/${id}.yml`)).ino)).toEqual(inodes);
    expect(readdirSync(join(ws.dir, "templates")).sort()).toEqual(["alpha.yml", "beta.yml", "gamma.yml"]);
  });

  it("--check changes nothing, names every stale AMI and exits 1; after an update it exits 0", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "templates/beta.yml": WITH_BLOCK,
      "registry/amis.json": registryJson({ alpha: { "us-west-2": { arm64: B1 } }, beta: { "us-east-1": { x86_64: A2 } } }),
    });
    const check = await ws.run("--check");
    expect(check.stdout).toBe(
      [
        `stale: alpha.us-west-2.arm64: missing from the template, registry has ${B1}`,
        `stale: beta.us-east-1.x86_64: template has ${OLD}, registry has ${A2}`,
        "✖ 2 stale AMIs in 2 templates; run cws ami update-templates to write them",
        "",
      ].join("\n"),
    );
    expect(check.status).toBe(1);
    expect(ws.read("templates/alpha.yml")).toBe(COMMENTED);
    expect(ws.read("templates/beta.yml")).toBe(WITH_BLOCK);

    expect((await ws.run()).status).toBe(0);
    const clean = await ws.run("--check");
    expect(clean.stdout).toBe("✔ 2 templates checked: the amis blocks match the registry; 2 templates already up to date\n");
    expect(clean.status).toBe(0);
  });

  it("--check reports an AMI the registry no longer has, and the update removes it", async () => {
    const ws = workspace({ "templates/beta.yml": WITH_BLOCK, "registry/amis.json": registryJson({ beta: {} }) });
    const check = await ws.run("--check");
    expect(check.stdout).toContain(`stale: beta.us-east-1.x86_64: template has ${OLD}, registry has none\n`);
    expect(check.status).toBe(1);
    const update = await ws.run();
    expect(update.stdout).toContain(`Template updated: beta.us-east-1.x86_64 removed (was ${OLD}; the registry has none)\n`);
    expect(ws.read("templates/beta.yml")).not.toContain("amis:");
    expect(ws.read("templates/beta.yml")).toContain("# A comment that must survive.\n");
  });

  it("prints { updated, stale, unchanged } with --json", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "templates/beta.yml": WITH_BLOCK,
      "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: A1 } }, beta: { "us-east-1": { x86_64: OLD } } }),
    });
    const result = await ws.run("--json");
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      check: false,
      updated: [{ template: "alpha", region: "us-east-1", architecture: "x86_64", ami_id: A1, previous: null }],
      stale: [],
      unchanged: [{ template: "beta", region: "us-east-1", architecture: "x86_64", ami_id: OLD }],
      unregistered: [],
      exitCode: 0,
    });
    const check = await ws.run("--json", "--check", "beta");
    expect(JSON.parse(check.stdout)).toMatchObject({ check: true, updated: [], stale: [], templates: [{ id: "beta", status: "unchanged" }] });
    expect(check.status).toBe(0);
  });

  it("warns on stderr about registry templates with no file and AMIs the template does not build, and writes only what it builds", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "registry/amis.json": registryJson({
        alpha: { "us-east-1": { x86_64: A1 }, "eu-west-1": { x86_64: A2 } },
        retired: { "us-east-1": { x86_64: B1 } },
      }),
    });
    const result = await ws.run();
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("warning: the registry has template retired, but there is no retired.yml in ");
    expect(result.stderr).toContain(`note: alpha: registry AMI eu-west-1.x86_64 = ${A2} not written: the template is not built in eu-west-1`);
    expect(result.stdout).toBe(`Template updated: alpha.us-east-1.x86_64 = ${A1}\n✔ 1 template updated (1 AMI)\n`);
    expect(parseTemplate(Buffer.from(ws.read("templates/alpha.yml")), "a.yml").template?.amis).toEqual({ "us-east-1": { x86_64: A1 } });
  });

  it("updates only the templates named, and keeps the file's mode", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "templates/beta.yml": COMMENTED,
      "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: A1 } }, beta: { "us-east-1": { x86_64: A2 } } }),
    });
    chmodSync(join(ws.dir, "templates/beta.yml"), 0o640);
    const result = await ws.run("beta");
    expect(result.status).toBe(0);
    expect(ws.read("templates/alpha.yml")).toBe(COMMENTED);
    expect(ws.read("templates/beta.yml")).toContain(`x86_64: ${A2}`);
    expect(statSync(join(ws.dir, "templates/beta.yml")).mode & 0o777).toBe(0o640);
    expect(result.stderr).toBe("");
  });

  it("keeps an existing block of a template the registry does not know, with a note", async () => {
    const ws = workspace({ "templates/beta.yml": WITH_BLOCK, "registry/amis.json": registryJson({}) });
    const check = await ws.run("--check");
    expect(check.status).toBe(0);
    expect(check.stderr).toBe("note: beta: the registry has no entry for it; its amis: block is left as it is\n");
    expect((await ws.run()).status).toBe(0);
    expect(ws.read("templates/beta.yml")).toBe(WITH_BLOCK);
  });

  it("exits 2 with a clear message when there is no registry", async () => {
    const ws = workspace({ "templates/alpha.yml": COMMENTED });
    const result = await ws.run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("error: no registry at ");
    expect(result.stderr).toContain("cws ami update-registry --all");
    expect(result.stdout).toBe("");
  });

  it("exits 2 with file:line:col for an invalid registry", async () => {
    const ws = workspace({ "templates/alpha.yml": COMMENTED, "registry/amis.json": '{\n  "version": "1.0",\n  "templates": {,}\n}\n' });
    const result = await ws.run();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/registry\/amis\.json:3:\d+ the registry is not valid JSON/);
    expect(ws.read("templates/alpha.yml")).toBe(COMMENTED);
  });

  it("exits 2 with file:line:col for an invalid template and writes none of them", async () => {
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "templates/broken.yml": COMMENTED.replace("validation_tests:", "validaton_tests:"),
      "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: A1 } }, broken: { "us-east-1": { x86_64: A2 } } }),
    });
    for (const args of [[], ["--check"]]) {
      const result = await ws.run(...args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("error: a template is invalid; nothing was written:");
      expect(result.stderr).toMatch(/broken\.yml:15:1 error validaton_tests: unknown field "validaton_tests" \(did you mean "validation_tests"\?\)/);
      expect(result.stdout).toBe("");
    }
    expect(ws.read("templates/alpha.yml")).toBe(COMMENTED);
  });

  it("exits 2 for an unknown template id, with a suggestion", async () => {
    const ws = workspace({ "templates/alpha.yml": COMMENTED, "registry/amis.json": registryJson({}) });
    const result = await ws.run("alpah");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no template "alpah"');
    expect(result.stderr).toContain('did you mean "alpha"');
  });

  it("keeps a byte-order mark", async () => {
    const ws = workspace({ "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: A1 } } }), "templates/alpha.yml": `\uFEFF${COMMENTED}` });
    expect((await ws.run()).status).toBe(0);
    const bytes = readFileSync(join(ws.dir, "templates/alpha.yml"));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString("utf8").startsWith(COMMENTED)).toBe(true);
    expect((await ws.run("--check")).status).toBe(0);
  });

  it("writes only validated AMIs, as resolveAmi returns them, says so on stderr, and --check agrees before and after", async () => {
    const record = (ami: string, validated: boolean, created: string) => ({ ami_id: ami, created, validated, size_gb: 8 });
    const ws = workspace({
      "templates/alpha.yml": COMMENTED,
      "registry/amis.json": registryJson({
        alpha: {
          // Not validated; the newest validated one before it is A2.
          "us-east-1": { x86_64: { ...record(A1, false, "2024-05-03T00:00:00Z"), history: [record(A2, true, "2024-05-02T00:00:00Z"), record(OLD, true, "2024-05-01T00:00:00Z")] } },
          // Never validated at all: nothing is written.
          "us-west-2": { arm64: record(B1, false, "2024-05-03T00:00:00Z") },
        },
      }),
    });
    const check = await ws.run("--check");
    expect(check.stdout).toBe([`stale: alpha.us-east-1.x86_64: missing from the template, registry has ${A2}`, "✖ 1 stale AMI in 1 template; run cws ami update-templates to write them", ""].join("\n"));
    expect(check.status).toBe(1);
    const update = await ws.run();
    expect(update.status).toBe(0);
    expect(update.stdout).toBe(`Template updated: alpha.us-east-1.x86_64 = ${A2}\n✔ 1 template updated (1 AMI)\n`);
    expect(update.stderr).toContain(`note: alpha: registry AMI us-east-1.x86_64 = ${A1} not written: it did not pass validation; ${A2}, the newest validated AMI before it, is written instead\n`);
    expect(update.stderr).toContain(`note: alpha: registry AMI us-west-2.arm64 = ${B1} not written: it did not pass validation; nor did any earlier AMI in its history\n`);
    expect(parseTemplate(Buffer.from(ws.read("templates/alpha.yml")), "a.yml").template?.amis).toEqual({ "us-east-1": { x86_64: A2 } });
    expect((await ws.run("--check")).status).toBe(0);
    const json = JSON.parse((await ws.run("--json", "--check")).stdout) as { skipped: unknown[] };
    expect(json.skipped).toEqual([
      { template: "alpha", region: "us-east-1", architecture: "x86_64", ami_id: A1, reason: "unvalidated", instead: A2 },
      { template: "alpha", region: "us-west-2", architecture: "arm64", ami_id: B1, reason: "unvalidated" },
    ]);
  });

  it("refuses a registry AMI id that a template could not hold, at its position, instead of asking for it to be written by hand", async () => {
    const ws = workspace({ "templates/alpha.yml": COMMENTED, "registry/amis.json": registryJson({ alpha: { "us-east-1": { x86_64: "ami-abc" } } }) });
    const lines = ws.read("registry/amis.json").split("\n");
    const line = lines.findIndex((l) => l.includes('"ami-abc"')) + 1;
    const column = lines[line - 1]!.indexOf('"ami-abc"') + 1;
    for (const args of [[], ["--check"]]) {
      const result = await ws.run(...args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`registry/amis.json:${line}:${column} templates.alpha.amis.us-east-1.x86_64.ami_id: expected an AMI id: ami- and 8 or 17 lowercase hex digits, such as ami-0abcd1234ef567890, got a string ("ami-abc")\n`);
      expect(result.stderr).not.toContain("write it by hand");
      expect(result.stdout).toBe("");
    }
    expect(ws.read("templates/alpha.yml")).toBe(COMMENTED);
  });

  it("keeps the comments of a flow-style block and of a block-style one, and --check agrees", async () => {
    const flow = COMMENTED.replace("ports: [22]\n", `ports: [22]\namis: {us-east-1: {x86_64: ${OLD}}}  # pinned by hand\n`);
    const block = COMMENTED.replace("ports: [22]\n", `ports: [22]\namis:  # AMIs\n  # east\n  us-east-1:\n    x86_64: ${OLD}  # old\n# after\n`);
    const ws = workspace({ "templates/flow.yml": flow, "templates/block.yml": block, "registry/amis.json": registryJson({ flow: { "us-east-1": { x86_64: A1 } }, block: { "us-east-1": { x86_64: A1 } } }) });
    expect((await ws.run("--check")).status).toBe(1);
    expect((await ws.run()).status).toBe(0);
    expect(ws.read("templates/flow.yml")).toBe(COMMENTED.replace("ports: [22]\n", `ports: [22]\namis:  # pinned by hand\n  us-east-1:\n    x86_64: ${A1}\n`));
    expect(ws.read("templates/block.yml")).toBe(COMMENTED.replace("ports: [22]\n", `ports: [22]\namis:  # AMIs\n  # east\n  us-east-1:\n    x86_64: ${A1}  # old\n# after\n`));
    expect((await ws.run("--check")).status).toBe(0);
  });
});
