import { LineCounter, parseDocument } from "yaml";
import type * as z from "zod";
import { CwsError } from "../errors.js";
import { lineColumn, parseJsonText } from "../registry/json-text.js";
import { compareProblems, describeValue, formatPath, formatProblem, type Problem } from "../template/problems.js";
import { AWS_REGIONS, regionProblem } from "../template/regions.js";
import { valueAt, type Path } from "../template/rules.js";
import { locator, writtenAt, type Locate, type WrittenAt } from "../template/yaml-document.js";
import { didYouMean } from "../template/suggest.js";
import { configSchema } from "./config-schema.js";
import { configKeysAt, type ProjectConfig } from "./fields.js";

/**
 * What is wrong with a cws.config.json, each problem at its line and column,
 * with the templates' machinery: their Problem and its format, their locator
 * over a `yaml` document (JSON is YAML, so the same parser places a key or
 * value of a JSON file), "did you mean" and their wording of values. Loaded
 * only for a config the quick check turned down.
 */
export function checkConfig(text: string, file: string): { config?: ProjectConfig; problems: Problem[] } {
  const at = (where: { line: number; column: number }, path: Path, message: string): Problem => ({
    file,
    line: where.line,
    column: where.column,
    severity: "error",
    path: formatPath(path),
    message,
  });
  // The registry's reader: a syntax error at its place, and a key written twice (JSON.parse would keep the last without a word).
  const json = parseJsonText(text);
  if (json.problem) {
    const { kind, offset, message } = json.problem;
    return { problems: [at(lineColumn(text, offset), [], kind === "syntax" ? `not valid JSON: ${message}` : message)] };
  }
  const data = json.value;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const locate = locator(document, lineCounter);
  // A value named as written (`1.10`), not as JSON.parse read it (1.1).
  const written = writtenAt(document, text);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { problems: [at(locate([]), [], `the config must be a JSON object of settings, got ${describeValue(data)}`)] };
  }
  const parsed = configSchema.safeParse(data);
  if (parsed.success) return { config: parsed.data as ProjectConfig, problems: [] };
  return { problems: parsed.error.issues.flatMap((issue) => issueProblems(issue, data, locate, written, at)).sort(compareProblems) };
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
export function configKeyLines(text: string): (key: string) => number | undefined {
  const lineCounter = new LineCounter();
  const locate = locator(parseDocument(text, { lineCounter }), lineCounter);
  return (key) => {
    const where = locate(key.split("."), true);
    return where.exact ? where.line : undefined;
  };
}

type At = (where: { line: number; column: number }, path: Path, message: string) => Problem;

function issueProblems(issue: z.core.$ZodIssue, data: unknown, locate: Locate, writtenAt: WrittenAt, at: At): Problem[] {
  const path = issue.path;
  const value = valueAt(data, path);
  const written = writtenAt(path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => at(locate([...path, key], true), [...path, key], `unknown field "${key}"${didYouMean(key, configKeysAt(path))}`));
    case "invalid_type":
      return [at(locate(path), path, `expected ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}, got ${describeValue(value, written)}`)];
    case "invalid_value": {
      const options = issue.values.map(String);
      const isRegion = options.length === AWS_REGIONS.length && typeof value === "string";
      const message = isRegion
        ? `"${value}" is ${regionProblem(value)}`
        : `expected one of ${options.join(", ")}, got ${describeValue(value, written)}${typeof value === "string" ? didYouMean(value, options) : ""}`;
      return [at(locate(path), path, message)];
    }
    case "too_small":
      return [at(locate(path), path, "must not be empty")];
    case "invalid_format":
      return [at(locate(path), path, `${issue.message}, got ${describeValue(value, written)}`)];
    default:
      return [at(locate(path), path, issue.message)];
  }
}

