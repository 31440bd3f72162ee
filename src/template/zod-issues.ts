import type * as z from "zod";
import { describeValue, type Problem } from "./problems.js";
import { valueAt, type Path, type Report } from "./rules.js";
import { awsRegion, BASE_AMI_ALIASES, baseAmiSource, keyEnumAt, knownKeysAt, schemaAt, type SchemaView } from "./schema.js";
import { regionProblem } from "./regions.js";
import { didYouMean } from "./suggest.js";
import type { WrittenAt } from "./yaml-document.js";

/**
 * zod's issues in a template author's terms: "expected a string, got a
 * number (42); put it in quotes" rather than "Invalid input: expected string,
 * received number", each placed at the node it is about. The rules are tried
 * in order and the first that recognises an issue rewrites it; an issue none
 * recognises keeps zod's message. A rule tells one schema from another by
 * identity (the schema at the issue's path is `awsRegion`), never by the
 * shape of the issue or the name of a field. The registry's problems go
 * through the same rules, over its own schema (a `SchemaView`) and its JSON
 * text, with a few rules of its own put first.
 */

/** What a rewrite rule sees of one issue. */
export interface IssueContext {
  issue: z.core.$ZodIssue;
  /** From the template's root. */
  path: Path;
  /** The author's value at `path`; undefined when it is missing. */
  value: unknown;
  /** The value's text in the file when it is a plain scalar (`1.10` for the number 1.1); see yaml-document.ts. */
  written: string | undefined;
  writtenAt: WrittenAt;
  /** The schema at `path` (view.schemaAt). */
  schema: z.ZodType | undefined;
  /** The schema the data was checked against, seen from a path. */
  view: SchemaView;
  report: Report;
  /** The rules again, for an issue nested in this one (a union branch's), relative to `prefix`. */
  rewrite: (issue: z.core.$ZodIssue, prefix: Path) => Problem[];
}

export interface IssueRule {
  name: string;
  /** The problems for an issue this rule recognises; undefined leaves it to the next rule. */
  rewrite: (context: IssueContext) => Problem[] | undefined;
}

export const issueRules: readonly IssueRule[] = [
  {
    // A union's own message ("Invalid input") helps nobody: name the forms a base image takes.
    name: "base-image-source",
    rewrite: (context) => (context.schema === baseAmiSource ? baseImageProblems(context) : undefined),
  },
  {
    // A map keyed by an enum (regions, architectures) takes its keys from the enum; an object, from its fields.
    name: "unknown-field",
    rewrite: ({ issue, path, report, view }) => {
      if (issue.code !== "unrecognized_keys") return undefined;
      const keys = view.keyEnumAt(path);
      const candidates = keys ? keys.options.map(String) : view.knownKeysAt(path);
      const expected = keys === undefined ? "" : keys === awsRegion ? "; expected a region" : `; expected one of ${keys.options.join(", ")}`;
      return issue.keys.map((key) => report([...path, key], `unknown field "${key}"${didYouMean(key, candidates)}${expected}`, { onKey: true }));
    },
  },
  {
    // Placed at the mapping that lacks it: the field has no place of its own.
    name: "missing-field",
    rewrite: ({ issue, path, value, report }) =>
      issue.code === "invalid_type" && value === undefined ? [report(path, "required field is missing", { place: path.slice(0, -1) })] : undefined,
  },
  {
    name: "wrong-type",
    rewrite: ({ issue, path, value, written, schema, report }) => {
      if (issue.code !== "invalid_type") return undefined;
      // 1e400 is a number to the parser, and Infinity: "expected a number, got a number" would say nothing.
      if (typeof value === "number" && !Number.isFinite(value) && (issue.expected === "number" || issue.expected === "int")) {
        const why = Number.isNaN(value) ? "which is not a number (NaN)" : `which is beyond the largest number (about 1.8e308) and reads as ${String(value)}`;
        return [report(path, `expected ${typeName(issue.expected)}, got ${written ?? String(value)}, ${why}`)];
      }
      const advice = issue.expected === "string" ? quotingAdvice(value, written, schema) : "";
      return [report(path, `expected ${typeName(issue.expected)}, got ${describeValue(value, written)}${advice}`)];
    },
  },
  {
    // Not the 38 regions zod would list: the nearest one.
    name: "aws-region",
    rewrite: ({ issue, path, value, written, schema, report }) => {
      if (issue.code !== "invalid_value" || schema !== awsRegion) return undefined;
      return [report(path, typeof value === "string" ? `"${value}" is ${regionProblem(value)}` : `${describeValue(value, written)} is not an AWS region`)];
    },
  },
  {
    name: "one-of",
    rewrite: ({ issue, path, value, written, report }) => {
      if (issue.code !== "invalid_value") return undefined;
      const options = issue.values.map((v) => String(v));
      const hint = typeof value === "string" ? didYouMean(value, options) : "";
      return [report(path, `expected one of ${options.join(", ")}, got ${describeValue(value, written)}${hint}`)];
    },
  },
  {
    name: "too-small",
    rewrite: ({ issue, path, value, written, report }) => {
      if (issue.code !== "too_small") return undefined;
      const minimum = Number(issue.minimum);
      if (issue.origin === "array") return [report(path, `must list at least ${minimum} item${minimum === 1 ? "" : "s"}`)];
      if (issue.origin === "string") return [report(path, "must not be empty")];
      return [report(path, `must be at least ${minimum}, got ${written ?? String(value)}`)];
    },
  },
  {
    name: "too-big",
    rewrite: ({ issue, path, value, written, report }) => {
      if (issue.code !== "too_big") return undefined;
      const maximum = Number(issue.maximum);
      if (issue.origin === "string") return [report(path, `must be at most ${maximum} characters long`)];
      if (issue.origin === "array") return [report(path, `must list at most ${maximum} items`)];
      return [report(path, `must be at most ${maximum}, got ${written ?? String(value)}`)];
    },
  },
  {
    // A map key that fails its own schema (a reserved tag key): at the key, with the key schema's messages.
    name: "bad-key",
    rewrite: ({ issue, path, report }) =>
      issue.code === "invalid_key" ? [report(path, issue.issues.map(keyMessage).join("; ") || issue.message, { onKey: true })] : undefined,
  },
  {
    // The schema's own message ("expected an AMI id such as …") and what was there instead.
    name: "format",
    rewrite: ({ issue, path, value, written, report }) => (issue.code === "invalid_format" ? [report(path, `${issue.message}, got ${describeValue(value, written)}`)] : undefined),
  },
  {
    // The branch that got furthest: the fewest issues among those that have any.
    name: "closest-union-branch",
    rewrite: ({ issue, path, value, written, report, rewrite }) => {
      if (issue.code !== "invalid_union") return undefined;
      const best = issue.errors.filter((branch) => branch.length > 0).sort((a, b) => a.length - b.length)[0];
      return best ? best.flatMap((inner) => rewrite(inner, path)) : [report(path, `unexpected ${describeValue(value, written)}`)];
    },
  },
];

/**
 * The author-facing problems for one zod issue on `data`, the template's
 * fields as written; `writtenAt` gives a value's text in the file, so that a
 * message quotes `1.10` as written rather than the number 1.1 it was read as.
 */
export function rewriteIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  report: Report,
  writtenAt: WrittenAt = () => undefined,
  prefix: Path = [],
  /** Another schema than the template's (the registry's), and rules of its own tried first. */
  against: { view: SchemaView; rules: readonly IssueRule[] } = TEMPLATE,
): Problem[] {
  const path: Path = [...prefix, ...issue.path];
  const context: IssueContext = {
    issue,
    path,
    value: valueAt(data, path),
    written: writtenAt(path),
    writtenAt,
    schema: against.view.schemaAt(path),
    view: against.view,
    report,
    rewrite: (inner, innerPrefix) => rewriteIssue(inner, data, report, writtenAt, innerPrefix, against),
  };
  for (const rule of [...against.rules, ...issueRules]) {
    const problems = rule.rewrite(context);
    if (problems) return problems;
  }
  return [report(path, issue.message)];
}

const TEMPLATE = { view: { schemaAt, knownKeysAt, keyEnumAt }, rules: [] };

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
};

const typeName = (expected: string) => TYPE_NAMES[expected] ?? expected;

function baseImageProblems({ issue, path, value, written, writtenAt, report, view }: IssueContext): Problem[] {
  if (value === undefined) return [report(path, "required field is missing", { place: path.slice(0, -1) })];
  if (typeof value === "string") {
    if (value.startsWith("ami-")) return [report(path, `"${value}" is not an AMI id: expected ami- followed by 8 or 17 hex digits`)];
    return [
      report(path, `unknown base image "${value}"${didYouMean(value, BASE_AMI_ALIASES)}; expected one of ${BASE_AMI_ALIASES.join(", ")}, an ami-… id, or { name, owners }`),
    ];
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    // A mapping: the problems of the { name, owners } form, all placed inside the mapping. When
    // only that form could take a mapping, zod passes its issue on as the union's own (an unknown key).
    const branches = issue.code === "invalid_union" ? issue.errors : [[{ ...issue, path: [] }]];
    const objectBranch = branches.find((branch) => branch.some((inner) => inner.path.length > 0 || inner.code === "unrecognized_keys"));
    if (objectBranch) {
      return objectBranch.flatMap((inner) => {
        const innerPath = [...path, ...inner.path];
        const innerValue = valueAt(value, inner.path);
        if (inner.code === "unrecognized_keys") {
          return inner.keys.map((key) => report([...path, key], `unknown field "${key}"${didYouMean(key, view.knownKeysAt(path))}`, { onKey: true }));
        }
        if (inner.code === "invalid_type" && innerValue === undefined) return [report(innerPath, "required field is missing", { place: path })];
        return [report(innerPath, describeInner(inner, innerValue, writtenAt(innerPath)))];
      });
    }
  }
  return [report(path, `expected an alias (${BASE_AMI_ALIASES.join(", ")}), an ami-… id or a { name, owners } mapping, got ${describeValue(value, written)}`)];
}

/** What is wrong with a map's key: the key schema's own message, or for an empty key, that it is. */
function keyMessage(issue: z.core.$ZodIssue): string {
  return issue.code === "too_small" && issue.origin === "string" ? "the key is empty" : issue.message;
}

function describeInner(issue: z.core.$ZodIssue, value: unknown, written: string | undefined): string {
  if (issue.code === "invalid_type") return `expected ${typeName(issue.expected)}, got ${describeValue(value, written)}`;
  if (issue.code === "too_small") return issue.origin === "array" ? "must list at least one item" : "must not be empty";
  if (issue.code === "invalid_format") return `${issue.message}, got ${describeValue(value, written)}`;
  return issue.message;
}

/**
 * A number or boolean where text was expected: the advice quotes the value as
 * written (`1.10`, not the 1.1 it was read as), and says so when even the
 * quoted text would be refused (`version: 1.0` is no semantic version).
 * Nothing when the text is unknown (a quoted value with an explicit tag).
 */
function quotingAdvice(value: unknown, written: string | undefined, schema: z.ZodType | undefined): string {
  if (written === undefined || written === "" || (typeof value !== "number" && typeof value !== "boolean")) return "";
  const quoted = JSON.stringify(written);
  const check = schema?.safeParse(written);
  if (check !== undefined && !check.success) return `; quoted, ${quoted} would still be wrong: ${check.error.issues[0]?.message ?? "not a valid value"}`;
  return `; put it in quotes: ${quoted}`;
}
