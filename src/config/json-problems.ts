import { LineCounter, parseDocument } from "yaml";
import type * as z from "zod";
import { compareProblems, describeValue, formatPath, type Problem } from "../template/problems.js";
import { AWS_REGIONS, regionProblem } from "../template/regions.js";
import { valueAt, type Path } from "../template/rules.js";
import { locator, writtenAt, type Locate, type WrittenAt } from "../template/yaml-document.js";
import { didYouMean } from "../template/suggest.js";
import { lineColumn, parseJsonText } from "../registry/json-text.js";

/**
 * What is wrong with a JSON file that a zod schema describes (cws.config.json,
 * a price file), each problem at its line and column, with the templates'
 * machinery: their Problem and its format, their locator over a `yaml`
 * document (JSON is YAML, so the same parser places a key or value of a JSON
 * file), "did you mean" and their wording of values. Loaded only for a file
 * that has problems, or to check one that is read rarely.
 */
export interface JsonFileSpec {
  schema: z.ZodType;
  /** The keys allowed at a path (`[]`, `["build"]`), for "did you mean". */
  keysAt(path: Path): readonly string[];
  /** Said of a file that is not a JSON object: "the config must be a JSON object of settings". */
  notAnObject: string;
}

/** `text` without a byte-order mark (stripBom): positions are the editor's. */
export function checkJsonText<T>(text: string, file: string, spec: JsonFileSpec): { value?: T; problems: Problem[] } {
  const at = (where: { line: number; column: number }, path: Path, message: string): Problem => ({
    file,
    line: where.line,
    column: where.column,
    severity: "error",
    path: formatPath(path),
    message,
  });
  // Placed the same in every Node version, and a key written twice (which JSON.parse would silently drop) refused.
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
    return { problems: [at(locate([]), [], `${spec.notAnObject}, got ${describeValue(data)}`)] };
  }
  const parsed = spec.schema.safeParse(data);
  if (parsed.success) return { value: parsed.data as T, problems: [] };
  return { problems: parsed.error.issues.flatMap((issue) => issueProblems(issue, [], data, { locate, written, at, keysAt: spec.keysAt })).sort(compareProblems) };
}

/** The line each key of a JSON file is on (`build.subnet` → 7). */
export function jsonKeyLines(text: string): (key: string) => number | undefined {
  const lineCounter = new LineCounter();
  const locate = locator(parseDocument(text, { lineCounter }), lineCounter);
  return (key) => {
    const where = locate(key.split("."), true);
    return where.exact ? where.line : undefined;
  };
}

type At = (where: { line: number; column: number }, path: Path, message: string) => Problem;

interface Placing {
  locate: Locate;
  written: WrittenAt;
  at: At;
  keysAt: JsonFileSpec["keysAt"];
}

function issueProblems(issue: z.core.$ZodIssue, prefix: Path, data: unknown, { locate, written: writtenAt, at, keysAt }: Placing): Problem[] {
  const path = [...prefix, ...issue.path];
  const value = valueAt(data, path);
  const written = writtenAt(path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = keysAt(path);
      // A map keyed by region takes its keys from the region list: say so in the region rule's words.
      const unknown = (key: string) => (isRegionList(known) ? `"${key}" is ${regionProblem(key)}` : `unknown field "${key}"${didYouMean(key, known)}`);
      return issue.keys.map((key) => at(locate([...path, key], true), [...path, key], unknown(key)));
    }
    case "invalid_key": {
      // A map's key that fails the key's own schema: at the key, in that schema's words.
      const key = path.at(-1);
      const inner = issue.issues.map((nested) => (nested.code === "invalid_value" && typeof key === "string" ? invalidValue(nested, key, undefined) : nested.message));
      return [at(locate(path, true), path, inner.join("; ") || issue.message)];
    }
    case "invalid_type":
      // A required key that is not there has no place of its own: the object that lacks it.
      if (value === undefined) return [at(locate(path.slice(0, -1)), path, "required field is missing")];
      return [at(locate(path), path, `expected ${issue.expected === "object" || issue.expected === "record" ? "an object" : `a ${issue.expected}`}, got ${describeValue(value, written)}`)];
    case "invalid_value":
      return [at(locate(path), path, invalidValue(issue, value, written))];
    case "too_small":
      return [at(locate(path), path, issue.origin === "string" ? "must not be empty" : `must be at least ${Number(issue.minimum)}, got ${written ?? String(value)}`)];
    case "invalid_format":
      return [at(locate(path), path, `${issue.message}, got ${describeValue(value, written)}`)];
    default:
      return [at(locate(path), path, issue.message)];
  }
}

function invalidValue(issue: z.core.$ZodIssueInvalidValue, value: unknown, written: string | undefined): string {
  const options = issue.values.map(String);
  return typeof value === "string" && isRegionList(options)
    ? `"${value}" is ${regionProblem(value)}`
    : `expected one of ${options.join(", ")}, got ${describeValue(value, written)}${typeof value === "string" ? didYouMean(value, options) : ""}`;
}

function isRegionList(values: readonly string[]): boolean {
  return values.length === AWS_REGIONS.length && values.every((value, i) => value === AWS_REGIONS[i]);
}
