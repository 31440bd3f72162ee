import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSharedConfig } from "../../src/aws/shared-config.js";
import { resolveAwsContext, type Env } from "../../src/config/aws-context.js";
import { findProjectRoot, statKind, type StatKind } from "../../src/config/config-file.js";
import { checkConfig } from "../../src/config/config-problems.js";
import { configSchema } from "../../src/config/config-schema.js";
import { quickCheckConfig } from "../../src/config/fields.js";
import { formatProblem } from "../../src/template/problems.js";
import {
  projectAwsConfig,
  resolveBuildSettings,
  resolveInstanceProfile,
  resolveInstanceType,
  resolvePricesFile,
  resolveProject,
  resolvePublishSsm,
  type Project,
  type SettingSource,
} from "../../src/config/settings.js";
import { CwsError } from "../../src/errors.js";

/**
 * A repository with a cws.config.json that sets everything, a home whose
 * ~/.aws/config has a default and a dev profile, and a subdirectory to start from.
 */
const CONFIG = {
  $schema: "schemas/config.schema.json",
  templates_dir: "images",
  registry: "state/amis.json",
  profile: "dev",
  region: "ca-central-1",
  instance_profile: "from-config",
  publish_ssm: true,
  prices: "costs/prices.json",
  build: { instance_type: { x86_64: "m7i.large" }, subnet: "subnet-0123456789abcdef0", on_error: "abort" },
};

let root: string;
let repo: string;
let bare: string;
let home: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "cws-settings-"));
  repo = join(root, "repo");
  mkdirSync(join(repo, ".git"), { recursive: true });
  mkdirSync(join(repo, "images", "nested"), { recursive: true });
  writeFileSync(join(repo, "cws.config.json"), `${JSON.stringify(CONFIG, null, 2)}\n`);
  bare = join(root, "bare");
  mkdirSync(join(bare, ".git"), { recursive: true });
  mkdirSync(join(bare, "templates", "deep"), { recursive: true });
  home = join(root, "home");
  mkdirSync(join(home, ".aws"), { recursive: true });
  writeFileSync(join(home, ".aws", "config"), "[default]\nregion = us-west-2\n\n[profile dev]\nregion = eu-west-1\n\n[profile ops]\nregion = ap-south-1\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const config = (key: string): SettingSource => ({ kind: "config", file: join(repo, "cws.config.json"), key });
const flag = (name: string): SettingSource => ({ kind: "flag", name });
const env = (name: string): SettingSource => ({ kind: "env", name });
const DEFAULT: SettingSource = { kind: "default" };

describe("one resolver: flag > environment > cws.config.json > default", () => {
  const paths: { name: string; flags?: { templatesDir?: string; registry?: string }; env?: Env; bare?: boolean; templatesDir: [string, SettingSource | (() => SettingSource)]; registry: [string, SettingSource | (() => SettingSource)] }[] = [
    { name: "flags win", flags: { templatesDir: "t", registry: "r.json" }, env: { CWS_TEMPLATES_DIR: "e", CWS_REGISTRY: "e.json" }, templatesDir: ["t", flag("--templates-dir")], registry: ["r.json", flag("--registry")] },
    { name: "then the environment", env: { CWS_TEMPLATES_DIR: "e", CWS_REGISTRY: "e.json" }, templatesDir: ["e", env("CWS_TEMPLATES_DIR")], registry: ["e.json", env("CWS_REGISTRY")] },
    { name: "then the config file (an empty flag or variable is unset)", flags: { templatesDir: "" }, env: { CWS_REGISTRY: "" }, templatesDir: ["images", () => config("templates_dir")], registry: ["state/amis.json", () => config("registry")] },
    { name: "then the defaults", bare: true, templatesDir: ["./templates", DEFAULT], registry: ["./registry/amis.json", DEFAULT] },
  ];
  it.each(paths)("templates directory and registry: $name", async (row) => {
    const project = await resolveProject(row.flags ?? {}, { cwd: row.bare ? bare : repo, env: row.env ?? {} });
    const source = (s: SettingSource | (() => SettingSource)) => (typeof s === "function" ? s() : s);
    expect(project.templatesDir).toEqual({ value: row.templatesDir[0], from: source(row.templatesDir[1]) });
    expect(project.registry).toEqual({ value: row.registry[0], from: source(row.registry[1]) });
  });

  const aws: { name: string; flags?: { profile?: string; region?: string }; env?: Env; noConfig?: boolean; profile: [string, string]; region: [string, string]; reads: boolean }[] = [
    { name: "--profile and --region win", flags: { profile: "ops", region: "us-east-2" }, env: { AWS_PROFILE: "dev", AWS_REGION: "sa-east-1" }, profile: ["ops", "--profile"], region: ["us-east-2", "--region"], reads: false },
    { name: "then AWS_PROFILE, AWS_REGION", env: { AWS_PROFILE: "ops", AWS_REGION: "sa-east-1", AWS_DEFAULT_REGION: "eu-north-1" }, profile: ["ops", "AWS_PROFILE"], region: ["sa-east-1", "AWS_REGION"], reads: false },
    { name: "then AWS_DEFAULT_REGION", env: { AWS_DEFAULT_REGION: "eu-north-1" }, profile: ["dev", "cws.config.json"], region: ["eu-north-1", "AWS_DEFAULT_REGION"], reads: false },
    { name: "then the config file, over the AWS profile's region", profile: ["dev", "cws.config.json"], region: ["ca-central-1", "cws.config.json"], reads: false },
    { name: "then the AWS profile's region (AWS_PROFILE picks the profile)", noConfig: true, env: { AWS_PROFILE: "dev" }, profile: ["dev", "AWS_PROFILE"], region: ["eu-west-1", "config file"], reads: true },
    { name: "then the default profile's", noConfig: true, profile: ["default", "default"], region: ["us-west-2", "config file"], reads: true },
  ];
  it.each(aws)("AWS profile and region: $name", async (row) => {
    const project = await resolveProject({}, { cwd: row.noConfig ? bare : repo, env: {} });
    const reads: string[] = [];
    const context = await resolveAwsContext({ ...row.flags, project: projectAwsConfig(project) }, { HOME: home, ...row.env }, {
      readSharedConfig: (file) => {
        reads.push(file);
        return readSharedConfig(file);
      },
    });
    expect([context.profile, context.profileFrom]).toEqual(row.profile);
    expect([context.region, context.regionFrom]).toEqual(row.region);
    expect(reads.length > 0).toBe(row.reads);
  });

  it("the config's profile selects which AWS profile's region is read when it gives no region itself", async () => {
    const context = await resolveAwsContext({ project: { file: "cws.config.json", profile: "ops" } }, { HOME: home }, { readSharedConfig });
    expect(context).toMatchObject({ profile: "ops", profileFrom: "cws.config.json", region: "ap-south-1", regionFrom: "config file" });
  });

  it("build options: flag, else config, else default", async () => {
    const withConfig = await resolveProject({}, { cwd: repo, env: {} });
    const without = await resolveProject({}, { cwd: bare, env: {} });
    const flags = { instanceProfile: "from-flag", subnet: "subnet-00000000", onError: "cleanup" as const, publishSsm: false };
    expect(resolveBuildSettings(flags, withConfig)).toEqual({
      instanceProfile: { value: "from-flag", from: flag("--instance-profile") },
      subnet: { value: "subnet-00000000", from: flag("--subnet") },
      onError: { value: "cleanup", from: flag("--on-error") },
      publishSsm: { value: false, from: flag("--no-publish-ssm") },
    });
    expect(resolveBuildSettings({}, withConfig)).toEqual({
      instanceProfile: { value: "from-config", from: config("instance_profile") },
      subnet: { value: "subnet-0123456789abcdef0", from: config("build.subnet") },
      onError: { value: "abort", from: config("build.on_error") },
      publishSsm: { value: true, from: config("publish_ssm") },
    });
    expect(resolveBuildSettings({}, without)).toEqual({
      instanceProfile: { value: "cws-ami-builder", from: DEFAULT },
      subnet: { value: undefined, from: DEFAULT },
      onError: { value: "cleanup", from: DEFAULT },
      publishSsm: { value: false, from: DEFAULT },
    });
    expect(resolveInstanceProfile(undefined, undefined)).toEqual({ value: "cws-ami-builder", from: DEFAULT });
    expect(resolvePublishSsm(true, without)).toEqual({ value: true, from: flag("--publish-ssm") });
  });

  it("instance type: flag, else the template's, else the config's, else the default", async () => {
    const project = await resolveProject({}, { cwd: repo, env: {} });
    const template = { id: "big", instanceType: { x86_64: "c7i.xlarge" } };
    expect(resolveInstanceType("t3.small", "x86_64", template, project)).toEqual({ value: "t3.small", from: flag("--instance-type") });
    expect(resolveInstanceType(undefined, "x86_64", template, project)).toEqual({ value: "c7i.xlarge", from: { kind: "template", detail: "instance_type.x86_64 of big" } });
    expect(resolveInstanceType(undefined, "x86_64", { id: "small" }, project)).toEqual({ value: "m7i.large", from: config("build.instance_type.x86_64") });
    expect(resolveInstanceType(undefined, "arm64", { id: "small" }, project)).toEqual({ value: "t4g.medium", from: DEFAULT });
  });

  it("price file: --prices (typed where cws was started), else the config's prices, else none (the shipped table)", async () => {
    const below = await resolveProject({}, { cwd: join(repo, "images"), env: {} });
    expect(resolvePricesFile("mine.json", below)).toEqual({ value: join("images", "mine.json"), from: flag("--prices") });
    expect(resolvePricesFile("/abs/prices.json", below)).toEqual({ value: "/abs/prices.json", from: flag("--prices") });
    expect(resolvePricesFile(undefined, below)).toEqual({ value: "costs/prices.json", from: config("prices") });
    expect(resolvePricesFile(undefined, await resolveProject({}, { cwd: bare, env: {} }))).toEqual({ value: undefined, from: DEFAULT });
    expect(resolvePricesFile("x.json", undefined)).toEqual({ value: "x.json", from: flag("--prices") });
  });
});

describe("the project root, from anywhere in the repository", () => {
  it("is the nearest directory with cws.config.json, from the root or any directory below it", () => {
    for (const start of [repo, join(repo, "images"), join(repo, "images", "nested")]) {
      expect(findProjectRoot(start)).toEqual({ root: repo, configFile: join(repo, "cws.config.json") });
    }
  });

  it("else the nearest directory holding templates/, not above the git root", () => {
    for (const start of [bare, join(bare, "templates"), join(bare, "templates", "deep")]) {
      expect(findProjectRoot(start)).toEqual({ root: bare, configFile: undefined });
    }
    // Nothing up to the git root: the current directory.
    const lost = join(repo, "images", "nested");
    rmSync(join(repo, "cws.config.json"));
    try {
      expect(findProjectRoot(lost)).toEqual({ root: lost, configFile: undefined });
    } finally {
      writeFileSync(join(repo, "cws.config.json"), `${JSON.stringify(CONFIG, null, 2)}\n`);
    }
  });

  it("costs a few stat calls: three at a repository root without a config, one with", () => {
    const counting = (): { stat: StatKind; calls: string[] } => {
      const calls: string[] = [];
      return { calls, stat: (path) => (calls.push(path), statKind(path)) };
    };
    const atBare = counting();
    findProjectRoot(bare, atBare.stat);
    expect(atBare.calls).toEqual([join(bare, "cws.config.json"), join(bare, "templates"), join(bare, ".git")]);
    const atRepo = counting();
    findProjectRoot(repo, atRepo.stat);
    expect(atRepo.calls).toEqual([join(repo, "cws.config.json")]);
  });

  it("rebases paths typed below the root onto it; the config's and the defaults are the root's", async () => {
    const project = await resolveProject({ templatesDir: "." }, { cwd: join(repo, "images"), env: { CWS_REGISTRY: "../state/other.json" } });
    expect(project.root).toBe(repo);
    expect(project.templatesDir.value).toBe("images");
    expect(project.registry.value).toBe(join("state", "other.json"));
    const absolute = await resolveProject({ registry: "/abs/amis.json" }, { cwd: join(repo, "images", "nested"), env: {} });
    expect(absolute.registry.value).toBe("/abs/amis.json");
    expect(absolute.templatesDir).toEqual({ value: "images", from: config("templates_dir") });
  });
});

describe("an invalid cws.config.json exits 2 with every problem at file:line:col", () => {
  const cases: { name: string; text: string; problems: string[] }[] = [
    { name: "bad JSON", text: '{\n  "region": "us-east-1",\n}\n', problems: [/* Node names the position of the closing brace */ "cws.config.json:3:1 error not valid JSON: "] },
    { name: "an unknown key, with did you mean", text: '{\n  "build": {\n    "subnt": "subnet-0123456789abcdef0"\n  }\n}\n', problems: ['cws.config.json:3:5 error build.subnt: unknown field "subnt" (did you mean "subnet"?)'] },
    {
      name: "wrong types and values",
      text: '{\n  "publish_ssm": "yes",\n  "region": "us-esat-1",\n  "build": { "on_error": "keep", "instance_type": { "x86_64": "huge" } }\n}\n',
      problems: [
        'cws.config.json:2:18 error publish_ssm: expected a boolean, got a string ("yes")',
        'cws.config.json:3:13 error region: "us-esat-1" is not an AWS region (did you mean "us-east-1"?)',
        'cws.config.json:4:26 error build.on_error: expected one of cleanup, abort, got a string ("keep")',
        'cws.config.json:4:63 error build.instance_type.x86_64: expected an EC2 instance type such as t3.medium, got a string ("huge")',
      ],
    },
    { name: "not an object", text: "[]\n", problems: ["cws.config.json:1:1 error the config must be a JSON object of settings, got a list"] },
    {
      name: "numbers named as written, not as read",
      text: '{\n  "profile": 1.10,\n  "publish_ssm": 1e3\n}\n',
      problems: ["cws.config.json:2:14 error profile: expected a string, got a number (1.10)", "cws.config.json:3:18 error publish_ssm: expected a boolean, got a number (1e3)"],
    },
  ];
  it.each(cases)("$name", async (row) => {
    const dir = join(root, "invalid");
    mkdirSync(join(dir, ".git"), { recursive: true });
    writeFileSync(join(dir, "cws.config.json"), row.text);
    const error = await resolveProject({}, { cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({ code: "CONFIG_INVALID", exitCode: 2 });
    const lines = (error as CwsError).message.split("\n").slice(1).map((line) => line.trim());
    expect(lines).toHaveLength(row.problems.length);
    row.problems.forEach((expected, i) => expect(lines[i]!.startsWith(expected), `${lines[i]} starts with ${expected}`).toBe(true));
    expect(checkConfig(row.text, "cws.config.json").problems.map(formatProblem)).toEqual(lines);
  });

  it("the quick check accepts exactly what the schema accepts", () => {
    const samples: unknown[] = [
      CONFIG,
      {},
      { build: {} },
      { build: { instance_type: {} } },
      { region: "mars-1" },
      { templates_dir: "" },
      { profile: 3 },
      { build: { instance_type: { riscv: "t3.medium" } } },
      { build: { subnet: "subnet-xyz" } },
      { instance_profile: "has space" },
      { build: [] },
      { extra: true },
      null,
      [],
      "cws",
    ];
    for (const sample of samples) expect(quickCheckConfig(sample), JSON.stringify(sample)).toBe(configSchema.safeParse(sample).success);
  });
});

// Keep the Project type honest: a project without a config has no config values.
const _typecheck: (p: Project) => boolean = (p) => p.configFile === undefined || typeof p.config === "object";
void _typecheck;
