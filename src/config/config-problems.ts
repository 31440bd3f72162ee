import { CwsError } from "../errors.js";
import { formatProblem, type Problem } from "../template/problems.js";
import { configSchema } from "./config-schema.js";
import { configKeysAt, type ProjectConfig } from "./fields.js";
import { checkJsonText, jsonKeyLines } from "./json-problems.js";

/**
 * What is wrong with a cws.config.json, each problem at its line and column
 * (json-problems.ts, the templates' machinery). Loaded only for a config the
 * quick check turned down.
 */
export function checkConfig(text: string, file: string): { config?: ProjectConfig; problems: Problem[] } {
  const { value, problems } = checkJsonText<ProjectConfig>(text, file, {
    schema: configSchema,
    keysAt: configKeysAt,
    notAnObject: "the config must be a JSON object of settings",
  });
  return value === undefined ? { problems } : { config: value, problems };
}

/** The config, or a usage error (exit 2) listing every problem at file:line:col. */
export function validConfigOrThrow(text: string, file: string): ProjectConfig {
  const { config, problems } = checkConfig(text, file);
  if (config !== undefined) return config;
  throw new CwsError("CONFIG_INVALID", `${file} is not a valid cws config:\n${problems.map((problem) => `  ${formatProblem(problem)}`).join("\n")}`, {
    value: file,
    suggestion: "fix it (schemas/config.schema.json lists every key; an editor checks the file through its \"$schema\")",
  });
}

/** The line each key of a config is on (`build.subnet` → 7), for `cws config`. */
export const configKeyLines = jsonKeyLines;
