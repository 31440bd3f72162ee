import { isAbsolute, join, relative } from "node:path";
import type { Architecture } from "../template/architectures.js";
import type { Env, ProjectAwsConfig } from "./aws-context.js";
import { DEFAULT_INSTANCE_PROFILE, DEFAULT_INSTANCE_TYPES, DEFAULT_REGISTRY, DEFAULT_TEMPLATES_DIR } from "./defaults.js";
import { findProjectRoot, readProjectConfig, statKind, type StatKind } from "./config-file.js";
import type { OnErrorMode, ProjectConfig } from "./fields.js";

/**
 * The one resolver of cws's settings: a flag, else an environment variable,
 * else cws.config.json, else the built-in default (for the AWS profile and
 * region, aws-context.ts applies the same order and adds the AWS profile's
 * region after the project config). Every setting comes with where it came
 * from, so `cws config` and messages can say why.
 */


export type SettingSource =
  | { kind: "flag"; name: string }
  | { kind: "env"; name: string }
  /** `key` as written in the file, e.g. `build.subnet`. */
  | { kind: "config"; file: string; key: string }
  | { kind: "aws-profile"; profile: string; file: string }
  | { kind: "template"; detail: string }
  | { kind: "default" };

export interface Setting<T> {
  value: T;
  from: SettingSource;
}

type Candidate<T> = readonly [value: T | undefined, from: SettingSource];

/** The first candidate that has a value (an empty string has none), else the default. */
export function firstOf<T>(candidates: readonly Candidate<T>[], fallback: T): Setting<T> {
  for (const [value, from] of candidates) {
    if (value !== undefined && value !== "") return { value, from };
  }
  return { value: fallback, from: { kind: "default" } };
}

export interface Project {
  /** Absolute. Commands run here (the CLI changes to it), so stored paths are relative to it. */
  root: string;
  /** Absolute: where cws was started. Paths typed there (flags, environment) are rebased onto the root. */
  invokedFrom: string;
  /** Absolute, when the root has one. */
  configFile: string | undefined;
  config: ProjectConfig;
  templatesDir: Setting<string>;
  registry: Setting<string>;
}

/**
 * A path typed where cws was started (a flag, an environment variable, an
 * argument), as a path from the project root: unchanged when cws was started
 * at the root or the path is absolute.
 */
export function typedPath(project: Pick<Project, "root" | "invokedFrom">, path: string): string {
  if (isAbsolute(path) || project.root === project.invokedFrom) return path;
  return join(relative(project.root, project.invokedFrom), path);
}

/** The project's root, config file and paths. Reads cws.config.json when there is one (exit 2 if it is invalid). */
export async function resolveProject(
  flags: { templatesDir?: string | undefined; registry?: string | undefined },
  where: { cwd: string; env: Env },
  stat: StatKind = statKind,
): Promise<Project> {
  const { root, configFile } = findProjectRoot(where.cwd, stat);
  const config = configFile === undefined ? {} : await readProjectConfig(configFile, relative(where.cwd, configFile) || configFile);
  const located = { root, invokedFrom: where.cwd };
  const typed = (value: string | undefined) => (value === undefined || value === "" ? undefined : typedPath(located, value));
  const fromConfig = (key: string): SettingSource => ({ kind: "config", file: configFile!, key });
  return {
    ...located,
    configFile,
    config,
    templatesDir: firstOf(
      [
        [typed(flags.templatesDir), { kind: "flag", name: "--templates-dir" }],
        [typed(where.env.CWS_TEMPLATES_DIR), { kind: "env", name: "CWS_TEMPLATES_DIR" }],
        [config.templates_dir, fromConfig("templates_dir")],
      ],
      DEFAULT_TEMPLATES_DIR,
    ),
    registry: firstOf(
      [
        [typed(flags.registry), { kind: "flag", name: "--registry" }],
        [typed(where.env.CWS_REGISTRY), { kind: "env", name: "CWS_REGISTRY" }],
        [config.registry, fromConfig("registry")],
      ],
      DEFAULT_REGISTRY,
    ),
  };
}

/** What resolveAwsContext takes from the project config. */
export function projectAwsConfig(project: Project | undefined): ProjectAwsConfig | undefined {
  if (project?.configFile === undefined) return undefined;
  return { file: project.configFile, profile: project.config.profile, region: project.config.region };
}

function configSource(project: Project | undefined, key: string): SettingSource {
  return { kind: "config", file: project?.configFile ?? "", key };
}

/** --instance-profile, else the config's instance_profile, else cws-ami-builder (build and bootstrap). */
export function resolveInstanceProfile(flag: string | undefined, project: Project | undefined): Setting<string> {
  return firstOf(
    [
      [flag, { kind: "flag", name: "--instance-profile" }],
      [project?.config.instance_profile, configSource(project, "instance_profile")],
    ],
    DEFAULT_INSTANCE_PROFILE,
  );
}

/** --publish-ssm / --no-publish-ssm, else the config's publish_ssm, else off (build, build-all, update-registry, rollback). */
export function resolvePublishSsm(flag: boolean | undefined, project: Project | undefined): Setting<boolean> {
  return firstOf(
    [
      [flag, { kind: "flag", name: flag === false ? "--no-publish-ssm" : "--publish-ssm" }],
      [project?.config.publish_ssm, configSource(project, "publish_ssm")],
    ],
    false,
  );
}

/**
 * The price file: --prices (typed where cws was started, so rebased onto the
 * root), else the config's prices, else none (the shipped table).
 */
export function resolvePricesFile(flag: string | undefined, project: Project | undefined): Setting<string | undefined> {
  return firstOf<string | undefined>(
    [
      [flag === undefined || project === undefined ? flag : typedPath(project, flag), { kind: "flag", name: "--prices" }],
      [project?.config.prices, configSource(project, "prices")],
    ],
    undefined,
  );
}

export interface BuildSettings {
  instanceProfile: Setting<string>;
  subnet: Setting<string | undefined>;
  onError: Setting<OnErrorMode>;
  publishSsm: Setting<boolean>;
}

/** The build's options that the project config can set, each with its source. */
export function resolveBuildSettings(
  flags: { instanceProfile?: string | undefined; subnet?: string | undefined; onError?: OnErrorMode | undefined; publishSsm?: boolean | undefined },
  project: Project | undefined,
): BuildSettings {
  const build = project?.config.build;
  return {
    instanceProfile: resolveInstanceProfile(flags.instanceProfile, project),
    subnet: firstOf<string | undefined>(
      [
        [flags.subnet, { kind: "flag", name: "--subnet" }],
        [build?.subnet, configSource(project, "build.subnet")],
      ],
      undefined,
    ),
    onError: firstOf<OnErrorMode>(
      [
        [flags.onError, { kind: "flag", name: "--on-error" }],
        [build?.on_error, configSource(project, "build.on_error")],
      ],
      "cleanup",
    ),
    publishSsm: resolvePublishSsm(flags.publishSsm, project),
  };
}

/**
 * The build instance type: --instance-type, else the template's instance_type
 * for the architecture (what this image needs beats what the project
 * prefers), else the config's build.instance_type, else the built-in default.
 */
export function resolveInstanceType(
  flag: string | undefined,
  architecture: Architecture,
  template: { id: string; instanceType?: Partial<Record<Architecture, string>> | undefined } | undefined,
  project: Project | undefined,
): Setting<string> {
  return firstOf(
    [
      [flag, { kind: "flag", name: "--instance-type" }],
      [template?.instanceType?.[architecture], { kind: "template", detail: `instance_type.${architecture} of ${template?.id ?? "the template"}` }],
      [project?.config.build?.instance_type?.[architecture], configSource(project, `build.instance_type.${architecture}`)],
    ],
    DEFAULT_INSTANCE_TYPES[architecture],
  );
}

/** Where a setting came from, in words: "--region", "AWS_PROFILE", "cws.config.json (build.subnet)", "profile dev in ~/.aws/config", "default". */
export function describeSource(source: SettingSource, shownFile: (file: string) => string = (file) => file): string {
  switch (source.kind) {
    case "flag":
    case "env":
      return source.name;
    case "config":
      return `${shownFile(source.file)} (${source.key})`;
    case "aws-profile":
      return `profile ${source.profile} in ${source.file}`;
    case "template":
      return source.detail;
    case "default":
      return "default";
  }
}
