import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORBID_AWS_SDK, runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * The project config and the project root, through the built CLI: a
 * repository (a `.git` directory) with templates/, a registry and, in one
 * copy, a cws.config.json; a home whose ~/.aws/config has a default and a
 * dev profile. Offline: no credentials, no instance metadata.
 */
const TEMPLATE = VALID_TEMPLATE.replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-west-2, eu-west-1, ca-central-1]");
const REGISTRY = `${JSON.stringify(registryWith({ multi: { "us-east-1": { x86_64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } }), null, 2)}\n`;
const AWS_CONFIG = "[default]\nregion = us-west-2\n\n[profile dev]\nregion = eu-west-1\n";

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = scratchDir({
    "home/.aws/config": AWS_CONFIG,
    "plain/templates/multi.yml": TEMPLATE,
    "plain/templates/broken.yml": TEMPLATE.replace("validation_tests:", "validaton_tests:"),
    "plain/registry/amis.json": REGISTRY,
    "plain/docs/nested/deeper/.keep": "",
    "configured/templates/multi.yml": TEMPLATE,
    "configured/state/amis.json": REGISTRY,
    "configured/cws.config.json": `{\n  "$schema": "schemas/config.schema.json",\n  "registry": "state/amis.json",\n  "region": "ca-central-1",\n  "build": { "on_error": "abort" }\n}\n`,
    "configured/templates/nested/.keep": "",
    "invalid/templates/multi.yml": TEMPLATE,
    "invalid/cws.config.json": '{\n  "region": "ca-central-1",\n  "build": {\n    "subnt": "subnet-0123456789abcdef0"\n  }\n}\n',
  }));
  for (const repo of ["plain", "configured", "invalid"]) mkdirSync(join(dir, repo, ".git"));
});
afterAll(() => cleanup());

const env = (extra: Record<string, string> = {}) => ({ HOME: join(dir, "home"), AWS_EC2_METADATA_DISABLED: "true", ...extra });
const cws = (repo: string, args: string[], extra: Record<string, string> = {}, sub = "") => runCli(args, { cwd: join(dir, repo, sub), env: env(extra) });
const DRY_RUN = ["ami", "build", "multi", "--architecture", "x86_64", "--dry-run"];
/** The image name in a plan ends with the time of the run. */
const untimed = (stdout: string) => stdout.replace(/\d{8}T\d{6}Z/g, "<time>");

describe("cws.config.json and cws config (built CLI)", () => {
  it("without a config: the dry run takes the AWS profile's region, and cws config names profile dev as the source", () => {
    expect(cws("plain", DRY_RUN, { AWS_PROFILE: "dev" }).stdout).toContain("Plan for multi v1.0.0 (x86_64, eu-west-1)");
    const result = cws("plain", ["config", "--json"], { AWS_PROFILE: "dev" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const shown = JSON.parse(result.stdout) as { root: string; config_file: string | null; settings: Record<string, { value: unknown; from: string }> };
    expect(shown.root).toBe(join(dir, "plain"));
    expect(shown.config_file).toBeNull();
    expect(shown.settings.profile).toMatchObject({ value: "dev", from: "AWS_PROFILE" });
    expect(shown.settings.region).toMatchObject({ value: "eu-west-1", from: `profile dev in ${join(dir, "home", ".aws", "config")}` });
    expect(shown.settings.templates_dir).toMatchObject({ value: "./templates", from: "default" });
  });

  it("a config's region wins over the AWS profile's, and cws config names the file and line", () => {
    expect(cws("configured", DRY_RUN, { AWS_PROFILE: "dev" }).stdout).toContain("Plan for multi v1.0.0 (x86_64, ca-central-1)");
    // The environment still wins over the config.
    expect(cws("configured", DRY_RUN, { AWS_REGION: "us-east-1" }).stdout).toContain("(x86_64, us-east-1)");
    const shown = JSON.parse(cws("configured", ["config", "--json"], { AWS_PROFILE: "dev" }).stdout) as { config_file: string; settings: Record<string, { value: unknown; from: string }> };
    expect(shown.config_file).toBe(join(dir, "configured", "cws.config.json"));
    expect(shown.settings.region).toMatchObject({ value: "ca-central-1", from: "cws.config.json:4 (region)" });
    expect(shown.settings.profile).toMatchObject({ value: "dev", from: "AWS_PROFILE" });
    expect(shown.settings.registry).toMatchObject({ value: "state/amis.json", from: "cws.config.json:3 (registry)" });
    expect(shown.settings["build.on_error"]).toMatchObject({ value: "abort", from: "cws.config.json:5 (build.on_error)" });
    // --on-error abort from the config shows in the plan; the flag wins over it.
    expect(cws("configured", DRY_RUN).stdout).toContain("--on-error abort keeps it running");
    expect(cws("configured", [...DRY_RUN, "--on-error", "cleanup"]).stdout).not.toContain("--on-error abort keeps it running");
    // The registry from the config is the one recorded into and listed.
    expect(cws("configured", DRY_RUN).stdout).toContain("Record the AMI in state/amis.json");
    expect(cws("configured", ["ami", "list"]).stdout).toContain("ami-0123456789abcdef0");
  });

  it("cws config loads the AWS SDK only to read the AWS profile's region", () => {
    const forbid = { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` };
    for (const [repo, extra] of [["configured", {}], ["plain", { AWS_REGION: "us-east-1" }]] as const) {
      const result = cws(repo, ["config"], { ...forbid, ...extra });
      expect(result.stderr, repo).not.toContain("AWS SDK loaded");
      expect(result.status, repo).toBe(0);
    }
    expect(cws("plain", ["config"], forbid).stderr).toContain("AWS SDK loaded");
  });

  it("an invalid config exits 2 at file:line:col, for every command", () => {
    for (const args of [["ami", "lint"], ["ami", "list"], DRY_RUN, ["config"]]) {
      const result = cws("invalid", args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain('cws.config.json:4:5 error build.subnt: unknown field "subnt" (did you mean "subnet"?)');
    }
    // Named as a path from where cws was started.
    expect(cws("invalid", ["ami", "lint"], {}, "templates").stderr).toContain('../cws.config.json:4:5 error build.subnt');
  });
});

describe("run from anywhere in the repository", () => {
  const commands = [["ami", "lint"], ["ami", "list"], DRY_RUN, ["config"], ["config", "--json"]];
  const cases = [
    { repo: "plain", subs: ["templates", join("docs", "nested", "deeper")] },
    { repo: "configured", subs: ["templates", join("templates", "nested")] },
  ];
  for (const { repo, subs } of cases) {
    it(`${repo}: lint, list, build --dry-run and config print the same and exit the same from ${subs.join(" and ")} as from the root`, () => {
      for (const args of commands) {
        const atRoot = cws(repo, args, { AWS_PROFILE: "dev" });
        // Something happened at the root (lint finds the broken template in plain/ and exits 2).
        expect(atRoot.stdout, args.join(" ")).not.toBe("");
        for (const sub of subs) {
          const below = cws(repo, args, { AWS_PROFILE: "dev" }, sub);
          expect({ status: below.status, stdout: untimed(below.stdout) }, `${args.join(" ")} from ${sub}`).toEqual({ status: atRoot.status, stdout: untimed(atRoot.stdout) });
        }
      }
    });
  }

  it("a path typed below the root is relative to where it was typed", () => {
    const fromTemplates = cws("plain", ["--templates-dir", ".", "ami", "lint", "multi"], {}, "templates");
    expect(fromTemplates.status).toBe(0);
    expect(cws("plain", ["--registry", "../registry/amis.json", "ami", "list"], {}, "templates").stdout).toContain("ami-0123456789abcdef0");
    const wrong = cws("plain", ["--registry", "registry/amis.json", "ami", "list"], {}, "templates");
    expect(wrong.stderr).toContain(`no registry at ${join("templates", "registry", "amis.json")}`);
  });
});

describe("a config checked as the templates and the registry are", () => {
  let configDir: string;
  let cleanupConfig: () => void;
  const write = (repo: string, text: string) => ({ [`${repo}/templates/multi.yml`]: TEMPLATE, [`${repo}/cws.config.json`]: text });
  beforeAll(() => {
    ({ dir: configDir, cleanup: cleanupConfig } = scratchDir({
      ...write("twice", '{\n  "region": "us-east-1",\n  "build": { "on_error": "abort" },\n  "region": "eu-west-1"\n}\n'),
      ...write("twice-nested", '{\n  "build": {\n    "instance_type": { "x86_64": "t3.large", "x86_64": "t3.small" }\n  }\n}\n'),
      ...write("crossed", '{\n  "region": "us-east-1",\n  "build": {\n    "instance_type": { "x86_64": "t4g.large", "arm64": "m7g.large" }\n  }\n}\n'),
    }));
    for (const repo of ["twice", "twice-nested", "crossed"]) mkdirSync(join(configDir, repo, ".git"));
  });
  afterAll(() => cleanupConfig());
  const run = (repo: string, args: string[]) => runCli(args, { cwd: join(configDir, repo), env: env() });

  it("a key written twice stops every command with exit 2 at its second place, as in the registry; JSON would keep the last", () => {
    for (const args of [["config"], ["ami", "lint"], ["ami", "list"], DRY_RUN]) {
      const result = run("twice", args);
      expect(result.stderr, args.join(" ")).toContain(
        'cws.config.json:4:3 error the key "region" appears twice in one object (first at line 2, column 3), and JSON keeps only the last',
      );
      expect(result.status, args.join(" ")).toBe(2);
    }
    expect(run("twice-nested", ["config"]).stderr).toContain('cws.config.json:3:46 error build.instance_type: the key "x86_64" appears twice in one object (first at line 3, column 24)');
  });

  it("cws config flags an instance type configured for the other architecture, as lint does in a template, and build refuses it", () => {
    const text = run("crossed", ["config"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("cws.config.json:4 warning build.instance_type.x86_64: t4g.large looks like an arm64 (Graviton) instance type, but it is listed for x86_64 [instance-type-arch]\n    → use an x86_64 type such as t3.medium\n");
    // m7g.large is Graviton: right for arm64, no warning.
    expect(text.stdout).not.toContain("build.instance_type.arm64: m7g");
    const json = JSON.parse(run("crossed", ["config", "--json"]).stdout) as { warnings: { setting: string; where: string; rule: string }[] };
    expect(json.warnings).toEqual([expect.objectContaining({ setting: "build.instance_type.x86_64", where: "cws.config.json:4", rule: "instance-type-arch" })]);
    expect(JSON.parse(cws("configured", ["config", "--json"]).stdout)).toMatchObject({ warnings: [] });
    const build = run("crossed", DRY_RUN);
    expect(build.stderr).toContain("t4g.large looks like an arm64 (Graviton) instance type, but the build is x86_64");
    expect(build.status).toBe(2);
  });
});
