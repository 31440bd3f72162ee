import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preferredScratchDir, startEmulator, type Emulator } from "@cws/aws-emulator";
import { ROOT, scratchDir } from "../helpers/cli.js";

/**
 * The package as users get it: `npm pack` (of the dist/ that `npm test`
 * built), installed from the tarball into an empty directory, and run with
 * `npx cws` there. A file missing from package.json's "files", a dependency
 * missing from "dependencies" or a bundling mistake fails here even when the
 * work tree's own dist/ runs.
 */
let work: { dir: string; cleanup: () => void };
let project: string;
let emulator: Emulator | undefined;

const npm = (args: string[], cwd: string) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });

/** `npx cws …` in the project, asynchronously: an in-process emulator must keep answering meanwhile. */
function cws(args: string[], env: Record<string, string> = {}, cwd = project): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["--no-install", "cws", ...args],
      { cwd, encoding: "utf8", timeout: 60_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env } },
      (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  work = scratchDir();
  // dist/ is already built (npm test builds before it tests): pack it as it is, without running prepare again.
  const [packed] = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work.dir], ROOT)) as { filename: string }[];
  project = join(work.dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "research-images", private: true }, null, 2)}\n`);
  npm(["install", "--prefer-offline", "--ignore-scripts", join(work.dir, packed!.filename)], project);
  // A team's repository: its own templates (here, the shipped ones, from the installed package).
  cpSync(join(project, "node_modules", "cws-ami", "templates"), join(project, "templates"), { recursive: true });
}, 240_000);

afterAll(async () => {
  await emulator?.stop();
  work?.cleanup();
});

describe("the packed package, installed from its tarball", () => {
  it("ships the programs, their chunks, the schemas and the templates, and no sources or tests", () => {
    const installed = join(project, "node_modules", "cws-ami");
    const top = readdirSync(installed).sort();
    expect(top).toEqual(expect.arrayContaining(["bin", "dist", "package.json", "schemas", "templates"]));
    expect(top).not.toContain("src");
    expect(top).not.toContain("test");
    expect(readdirSync(join(installed, "dist", "bin"))).toEqual(expect.arrayContaining(["main.js", "ami-lint.js", "ami-list.js", "package.json", "manifest.json"]));
  });

  it("leaves out the workspace packages: the emulator is neither shipped nor depended on", () => {
    const installed = join(project, "node_modules", "cws-ami");
    expect(readdirSync(installed)).not.toContain("packages");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith("@cws/"))).toEqual([]);
    expect(readdirSync(join(project, "node_modules"))).not.toContain("@cws");
  });

  it("npx cws ami lint checks the templates", async () => {
    const result = await cws(["ami", "lint"]);
    expect(result.stderr + result.stdout).toMatch(/\d+ templates checked: no problems/);
    expect(result.status).toBe(0);
  });

  it("npx cws ami lint places a broken template's problems (the lazily loaded YAML parser)", async () => {
    writeFileSync(join(project, "templates", "broken.yml"), "name: Broken\ndescription: [unclosed\n");
    try {
      const result = await cws(["ami", "lint", "broken"]);
      expect(result.status).toBe(2);
      expect(result.stdout + result.stderr).toMatch(/broken\.yml:\d+:\d+/);
    } finally {
      rmSync(join(project, "templates", "broken.yml"));
    }
  });

  it("npx cws config --json reads the project's cws.config.json (found from a subdirectory) and names it as the source", async () => {
    writeFileSync(join(project, "cws.config.json"), `${JSON.stringify({ region: "eu-west-1" }, null, 2)}\n`);
    try {
      // HOME without .aws/config: the region can only come from the project's file.
      const result = await cws(["config", "--json"], { HOME: project }, join(project, "templates"));
      expect(result.status).toBe(0);
      const config = JSON.parse(result.stdout) as { root: string; settings: { region: { value: string; from: string } } };
      expect(config.root).toBe(project);
      expect(config.settings.region.value).toBe("eu-west-1");
      expect(config.settings.region.from).toContain("cws.config.json");
    } finally {
      rmSync(join(project, "cws.config.json"));
    }
  });

  it("npx cws ami build --dry-run prints the plan offline", async () => {
    const result = await cws(["ami", "build", "basic-ubuntu", "--architecture", "x86_64", "--region", "us-east-1", "--dry-run"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Plan for basic-ubuntu");
    expect(result.stdout).toContain("dry run, nothing is created");
    // The price table is bundled: the estimate is priced, not unknown.
    expect(result.stdout).toMatch(/Estimated cost \(shipped price table of \d{4}-\d{2}-\d{2}; on-demand estimates\):\n {2}build: \$0\.\d+ \(t3\.medium for 30m 0s at \$0\.0416\/h; 16 GiB gp3/);
  });

  it("npx cws ami build --dry-run with credentials loads the installed AWS SDK and checks against the API", async () => {
    const scratch = preferredScratchDir();
    emulator = await startEmulator({ msPerSimSecond: 2, ...(scratch ? { scratchDir: scratch } : {}) });
    const result = await cws(["ami", "build", "basic-ubuntu", "--architecture", "x86_64", "--region", "us-east-1", "--dry-run"], {
      AWS_ENDPOINT_URL: emulator.url,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/credentials: ok: arn:aws:\S+:123456789012:/);
    expect(result.stdout).toMatch(/base AMI: ami-[0-9a-f]{17}/);
    expect(result.stdout).toContain("ec2:CreateSecurityGroup (DryRun): allowed");
  });
});
