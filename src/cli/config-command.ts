import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { readSharedConfig } from "../aws/shared-config.js";
import { resolveAwsContext, type AwsRegionContext } from "../config/aws-context.js";
import { ARCHITECTURES } from "../template/architectures.js";
import {
  describeSource,
  projectAwsConfig,
  resolveBuildSettings,
  resolveInstanceType,
  resolvePricesFile,
  type Project,
  type Setting,
  type SettingSource,
} from "../config/settings.js";
import { EXIT, isCwsError, type ExitCode } from "../errors.js";
import { INSTANCE_TYPE_RULE, instanceTypeMismatch } from "../template/lint.js";
import type { CliIO, GlobalOptions } from "./io.js";

/**
 * `cws config`: every effective setting and where it came from, so a person
 * or a CI log can see why a build went where it went. It resolves nothing of
 * its own: the values are the ones commands get (src/config/settings.ts and
 * aws-context.ts). The AWS SDK's config loader is loaded only when no flag,
 * environment variable or cws.config.json names a region.
 */

type Shown = { value: unknown; from: string; source: SettingSource & { line?: number } };

function regionSetting(context: AwsRegionContext): Setting<string> {
  const from = context.regionFrom;
  if (from === "--region") return { value: context.region, from: { kind: "flag", name: from } };
  if (from === "AWS_REGION" || from === "AWS_DEFAULT_REGION") return { value: context.region, from: { kind: "env", name: from } };
  if (from === "cws.config.json") return { value: context.region, from: { kind: "config", file: context.projectConfig!, key: "region" } };
  return { value: context.region, from: { kind: "aws-profile", profile: context.profile, file: context.configFile! } };
}

function profileSetting(context: AwsRegionContext | { profile: string; profileFrom: string; projectConfig?: string }): Setting<string> {
  const from = context.profileFrom;
  if (from === "--profile") return { value: context.profile, from: { kind: "flag", name: from } };
  if (from === "AWS_PROFILE") return { value: context.profile, from: { kind: "env", name: from } };
  if (from === "cws.config.json") return { value: context.profile, from: { kind: "config", file: context.projectConfig!, key: "profile" } };
  return { value: context.profile, from: { kind: "default" } };
}

/** The line of each key the config file sets (`build.subnet` → 7); the YAML parser is loaded for it only here. */
async function configLines(project: Project): Promise<(key: string) => number | undefined> {
  if (project.configFile === undefined) return () => undefined;
  const { configKeyLines } = await import("../config/config-problems.js");
  return configKeyLines(readFileSync(project.configFile, "utf8"));
}

export async function runConfigCommand(options: { region?: string; profile?: string }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const project = globals.project!;
  const settings: [string, Setting<unknown>][] = [
    ["templates_dir", project.templatesDir],
    ["registry", project.registry],
  ];
  let noRegion: string | undefined;
  try {
    const context = await resolveAwsContext({ ...options, project: projectAwsConfig(project) }, io.env, { readSharedConfig });
    settings.push(["profile", profileSetting(context)], ["region", regionSetting(context)]);
  } catch (error) {
    if (!isCwsError(error) || error.code !== "REGION_REQUIRED") throw error;
    const profile = await resolveAwsContext({ ...options, project: projectAwsConfig(project) }, io.env);
    settings.push(["profile", profileSetting(profile)], ["region", { value: null, from: { kind: "default" } }]);
    noRegion = error.message;
  }
  const build = resolveBuildSettings({}, project);
  settings.push(["instance_profile", build.instanceProfile], ["publish_ssm", build.publishSsm], ["prices", resolvePricesFile(undefined, project)]);
  // Lint's instance-type-arch rule, as for a template's instance_type: build would refuse such a type before launching.
  const mismatches: { name: string; rule: string; message: string; suggestion: string }[] = [];
  for (const architecture of ARCHITECTURES) {
    const name = `build.instance_type.${architecture}`;
    const setting = resolveInstanceType(undefined, architecture, undefined, project);
    settings.push([name, setting]);
    const mismatch = instanceTypeMismatch(setting.value, architecture, "it is listed for");
    if (mismatch) mismatches.push({ name, rule: INSTANCE_TYPE_RULE, ...mismatch });
  }
  settings.push(["build.subnet", build.subnet], ["build.on_error", build.onError]);

  const lineOf = await configLines(project);
  const shownFile = (file: string) => relative(project.root, file) || file;
  const warnings = mismatches.map(({ name, ...warning }) => {
    const { from } = settings.find(([setting]) => setting === name)![1];
    const line = from.kind === "config" ? lineOf(from.key) : undefined;
    const where = from.kind === "config" ? `${shownFile(from.file)}${line === undefined ? "" : `:${line}`}` : describeSource(from);
    return { setting: name, where, ...warning };
  });
  const shown: Record<string, Shown> = {};
  for (const [name, setting] of settings) {
    const line = setting.from.kind === "config" ? lineOf(setting.from.key) : undefined;
    const from = name === "region" && noRegion !== undefined ? noRegion : setting.from.kind === "config" ? `${shownFile(setting.from.file)}${line === undefined ? "" : `:${line}`} (${setting.from.key})` : describeSource(setting.from);
    shown[name] = { value: setting.value ?? null, from, source: line === undefined ? setting.from : { ...setting.from, line } };
  }

  if (globals.json) {
    io.stdout.write(`${JSON.stringify({ root: project.root, config_file: project.configFile ?? null, settings: shown, warnings }, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = Object.entries(shown).map(([name, { value, from }]) => [name, value === null ? "-" : String(value), from] as const);
  const width = (column: 0 | 1) => Math.max(...rows.map((row) => row[column].length));
  const lines = [
    `project root: ${project.root}${project.configFile === undefined ? " (no cws.config.json)" : ` (${shownFile(project.configFile)})`}`,
    ...rows.map(([name, value, from]) => `${name.padEnd(width(0))}  ${value.padEnd(width(1))}  ${from}`),
    ...warnings.flatMap((w) => [`${w.where} warning ${w.setting}: ${w.message} [${w.rule}]`, `    → ${w.suggestion}`]),
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}
