import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type * as z from "zod";
import { ARCHITECTURES, BASE_AMI_ALIASES, knownKeysAt, templateSchema, type Template } from "./schema.js";
import { AWS_REGIONS } from "./regions.js";
import { didYouMean } from "./suggest.js";
import { compareProblems, formatPath, type Problem } from "./problems.js";
import { crossFieldProblems, valueAt, type At, type Locate, type Path } from "./rules.js";
import { decodeText } from "./text.js";


export interface ParsedTemplate {
  file: string;
  /** Present only when there are no errors. */
  template: Template | undefined;
  /** Errors and warnings, sorted by position. */
  problems: Problem[];
  /**
   * The parsed YAML with positions, for tools that point at lines (lint) or
   * edit the file. Absent when the template was validated on the quick path
   * (quick-parse.ts), which builds no syntax tree.
   */
  document: Document | undefined;
  lineCounter: LineCounter | undefined;
  source: string;
}


/**
 * Parse and validate one template. Never throws for bad input: every problem
 * (YAML syntax, duplicate keys, types, missing and unknown fields, cross-field
 * rules) is returned at once with its line and column.
 */
export function parseTemplate(input: string | Uint8Array, file: string, options: { size?: number } = {}): ParsedTemplate {
  const lineCounter = new LineCounter();
  const result: ParsedTemplate = { file, template: undefined, problems: [], document: undefined, lineCounter, source: "" };
  const at = (line: number, column: number, path: Path, message: string, suggestion?: string): Problem => ({
    file,
    line,
    column,
    severity: "error",
    path: formatPath(path),
    message,
    ...(suggestion === undefined ? {} : { suggestion }),
  });

  const decoded = decodeText(input, options.size);
  if ("problem" in decoded) {
    result.problems.push(at(decoded.line, decoded.column, [], decoded.problem, decoded.suggestion));
    return result;
  }
  const source = decoded.text;
  result.source = source;
  if (source.trim() === "") {
    result.problems.push(at(1, 1, [], "the file is empty", "a template needs at least name, description, base_ami, regions and setup_script"));
    return result;
  }

  const documents = parseAllDocuments(source, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  // toJS needs a document without fatal errors; with duplicate keys it keeps the last value.
  const docs = Array.isArray(documents) ? documents : [];
  const first = docs[0];
  if (!first) {
    result.problems.push(at(1, 1, [], "the template is empty (only comments)", "a template needs at least name, description, base_ami, regions and setup_script"));
    return result;
  }
  result.document = first;
  const position = (offset: number) => lineCounter.linePos(offset);

  for (const error of docs.flatMap((doc) => doc.errors)) {
    const { line, col } = position(error.pos[0]);
    if (error.code === "DUPLICATE_KEY") {
      const key = (/^[^:\n]*/.exec(source.slice(error.pos[0]))?.[0] ?? "").trim();
      result.problems.push(at(line, col, [], `duplicate key ${JSON.stringify(key)}: it is already set in this mapping, and only one value can win`, "remove one of the two"));
    } else {
      result.problems.push(at(line, col, [], yamlMessage(error.code, error.message)));
    }
  }
  for (const extra of docs.slice(1)) {
    const offset = extra.range[0];
    const { line, col } = position(offset);
    result.problems.push(at(line, col, [], "a template file holds one YAML document; this is a second one", "remove the `---` line, or split the file"));
  }
  // Duplicate keys leave a usable document (the last value wins), so carry on
  // and report the rest too; any other syntax error makes the data meaningless.
  const fatal = docs.some((doc) => doc.errors.some((error) => error.code !== "DUPLICATE_KEY")) || docs.length > 1;
  if (fatal) {
    result.problems.sort(compareProblems);
    return result;
  }
  for (const warning of first.warnings) {
    const { line, col } = position(warning.pos[0]);
    result.problems.push({ ...at(line, col, [], yamlMessage(warning.code, warning.message)), severity: "warning" });
  }

  let raw: unknown;
  try {
    raw = first.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    result.problems.push(at(1, 1, [], `cannot read the YAML: ${(error as Error).message}`));
    return result;
  }
  if (raw === null || raw === undefined) {
    result.problems.push(at(1, 1, [], "the template is empty (only comments)", "a template needs at least name, description, base_ami, regions and setup_script"));
    return result;
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    const { line, col } = position(first.contents?.range[0] ?? 0);
    result.problems.push(at(line, col, [], `a template must be a mapping of fields, got ${describeValue(raw)}`));
    return result;
  }

  const locate = (path: Path, onKey = false) => locateNode(first, path, onKey, position);
  const parsed = templateSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      result.problems.push(...issueToProblems(issue, [], raw, locate, at));
    }
  }
  result.problems.push(...crossFieldProblems(raw as Record<string, unknown>, locate, at));

  result.problems = dedupe(result.problems).sort(compareProblems);
  if (parsed.success && !result.problems.some((p) => p.severity === "error")) {
    result.template = parsed.data;
  }
  return result;
}


function yamlMessage(code: string, message: string): string {
  // The yaml library appends " at line N, column M" and a code frame; we print our own position.
  const text = message.replace(/ at line \d+, column \d+:?[\s\S]*$/, "").trim();
  if (code === "TAB_AS_INDENT") return `${text} (YAML indents with spaces, not tabs)`;
  return text;
}

function locateNode(
  doc: Document,
  path: Path,
  onKey: boolean,
  position: (offset: number) => { line: number; col: number },
): { line: number; column: number; exact: boolean } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let lastGood: Node | undefined = doc.contents ?? undefined;
  let exact = true;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && scalarKey(item.key) === String(segment));
      if (!pair) {
        exact = false;
        break;
      }
      keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : undefined;
      node = pair.value;
      lastGood = (pair.value as Node | null) ?? keyNode ?? lastGood;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) {
        exact = false;
        break;
      }
      node = item;
      lastGood = item as Node;
    } else {
      exact = false;
      break;
    }
  }
  const target = onKey && exact && keyNode ? keyNode : lastGood;
  const offset = target?.range?.[0] ?? 0;
  const { line, col } = position(offset);
  return { line, column: col, exact };
}

/**
 * Where a path is in a parsed document, as a `Locate`: for templates, and for
 * other files cws places problems in (cws.config.json, which is JSON and so
 * YAML as well).
 */
export function locator(document: Document, lineCounter: LineCounter): Locate {
  return (path, onKey = false) => locateNode(document, path, onKey, (offset) => lineCounter.linePos(offset));
}

function scalarKey(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === "string" || typeof key === "number") return String(key);
  return undefined;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return `a number (${value})`;
  if (typeof value === "boolean") return `a boolean (${value})`;
  if (typeof value === "string") return `a string (${JSON.stringify(truncate(value))})`;
  return typeof value;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
};

/** Common spellings of the two architectures, so `amd64` suggests `x86_64` rather than `arm64`. */
const ARCHITECTURE_SYNONYMS: Record<string, string> = {
  amd64: "x86_64",
  x64: "x86_64",
  "x86-64": "x86_64",
  x86: "x86_64",
  intel: "x86_64",
  aarch64: "arm64",
  arm: "arm64",
  graviton: "arm64",
};

function suggestFor(value: string, candidates: readonly string[]): string {
  const synonym = ARCHITECTURE_SYNONYMS[value.toLowerCase()];
  if (synonym !== undefined && candidates.includes(synonym)) return ` (did you mean "${synonym}"?)`;
  return didYouMean(value, candidates);
}

function issueToProblems(issue: z.core.$ZodIssue, prefix: Path, raw: unknown, locate: Locate, at: At): Problem[] {
  const path: Path = [...prefix, ...issue.path];
  const value = valueAt(raw, path);
  const last = path.at(-1);

  // base_ami.source is a union; zod's own message for it ("Invalid input") helps nobody.
  if (last === "source" && path.length === 2 && path[0] === "base_ami") {
    return sourceProblems(issue, path, value, locate, at);
  }

  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const where = locate([...path, key], true);
        const known = knownKeysAt(path as (string | number)[]);
        const isArchitectureMap = last === "estimated_cost_per_hour" || last === "instance_type" || path[0] === "amis";
        const candidates = isArchitectureMap ? (path[0] === "amis" && path.length === 1 ? [...AWS_REGIONS] : [...ARCHITECTURES]) : known;
        const hint = suggestFor(key, candidates);
        const expected = isArchitectureMap
          ? `; expected ${path[0] === "amis" && path.length === 1 ? "a region" : `one of ${ARCHITECTURES.join(", ")}`}`
          : "";
        return at(where.line, where.column, [...path, key], `unknown field "${key}"${hint}${expected}`);
      });
    case "invalid_type": {
      if (value === undefined) {
        const where = locate(path.slice(0, -1));
        return [at(where.line, where.column, path, "required field is missing")];
      }
      const where = locate(path);
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      const quoteHint =
        issue.expected === "string" && (typeof value === "number" || typeof value === "boolean")
          ? `; put it in quotes: "${String(value)}"`
          : "";
      return [at(where.line, where.column, path, `expected ${expected}, got ${describeValue(value)}${quoteHint}`)];
    }
    case "invalid_value": {
      const where = locate(path);
      const options = issue.values.map((v) => String(v));
      if (options.length === AWS_REGIONS.length && options.includes("us-east-1")) {
        const text = typeof value === "string" ? `"${value}" is` : `${describeValue(value)} is`;
        const hint = typeof value === "string" ? didYouMean(value, AWS_REGIONS) : "";
        return [at(where.line, where.column, path, `${text} not an AWS region${hint}`)];
      }
      const hint = typeof value === "string" ? suggestFor(value, options) : "";
      return [at(where.line, where.column, path, `expected one of ${options.join(", ")}, got ${describeValue(value)}${hint}`)];
    }
    case "too_small": {
      const where = locate(path);
      const minimum = Number(issue.minimum);
      let message: string;
      if (issue.origin === "array") message = `must list at least ${minimum} item${minimum === 1 ? "" : "s"}`;
      else if (issue.origin === "string") message = "must not be empty";
      else message = `must be at least ${minimum}, got ${String(value)}`;
      return [at(where.line, where.column, path, message)];
    }
    case "too_big": {
      const where = locate(path);
      const maximum = Number(issue.maximum);
      const message =
        issue.origin === "string"
          ? `must be at most ${maximum} characters long`
          : issue.origin === "array"
            ? `must list at most ${maximum} items`
            : `must be at most ${maximum}, got ${String(value)}`;
      return [at(where.line, where.column, path, message)];
    }
    case "invalid_key": {
      // A record key that fails its own schema (e.g. a reserved tag key): point at the key.
      const where = locate(path, true);
      const message = issue.issues.map((inner) => inner.message).join("; ") || issue.message;
      return [at(where.line, where.column, path, message)];
    }
    case "invalid_format": {
      const where = locate(path);
      return [at(where.line, where.column, path, `${issue.message}, got ${describeValue(value)}`)];
    }
    case "invalid_union": {
      // Use the branch that got furthest: fewest issues among those matching the value's shape.
      const branches = issue.errors.filter((branch) => branch.length > 0);
      const best = branches.sort((a, b) => a.length - b.length)[0];
      if (best) return best.flatMap((inner) => issueToProblems(inner, path, raw, locate, at));
      const where = locate(path);
      return [at(where.line, where.column, path, `unexpected ${describeValue(value)}`)];
    }
    case "custom": {
      const where = locate(path);
      return [at(where.line, where.column, path, issue.message)];
    }
    default: {
      const where = locate(path);
      return [at(where.line, where.column, path, issue.message)];
    }
  }
}

function sourceProblems(issue: z.core.$ZodIssue, path: Path, value: unknown, locate: Locate, at: At): Problem[] {
  const where = locate(path);
  if (value === undefined) {
    const parent = locate(path.slice(0, -1));
    return [at(parent.line, parent.column, path, "required field is missing")];
  }
  if (typeof value === "string") {
    if (value.startsWith("ami-")) {
      return [at(where.line, where.column, path, `"${value}" is not an AMI id: expected ami- followed by 8 or 17 hex digits`)];
    }
    return [
      at(
        where.line,
        where.column,
        path,
        `unknown base image "${value}"${didYouMean(value, BASE_AMI_ALIASES)}; expected one of ${BASE_AMI_ALIASES.join(", ")}, an ami-… id, or { name, owners }`,
      ),
    ];
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if (issue.code === "invalid_union") {
      const objectBranch = issue.errors.find((branch) => branch.some((inner) => inner.path.length > 0 || inner.code === "unrecognized_keys"));
      if (objectBranch) {
        return objectBranch.flatMap((inner) => {
          const innerPath = [...path, ...inner.path];
          const innerValue = valueAt({ v: value }, ["v", ...inner.path]);
          if (inner.code === "unrecognized_keys") {
            return inner.keys.map((key) => {
              const keyAt = locate([...path, key], true);
              return at(keyAt.line, keyAt.column, [...path, key], `unknown field "${key}"${didYouMean(key, ["name", "owners"])}`);
            });
          }
          if (inner.code === "invalid_type" && innerValue === undefined) {
            return [at(where.line, where.column, innerPath, "required field is missing")];
          }
          const innerAt = locate(innerPath);
          return [at(innerAt.line, innerAt.column, innerPath, describeIssue(inner, innerValue))];
        });
      }
    }
  }
  return [
    at(
      where.line,
      where.column,
      path,
      `expected an alias (${BASE_AMI_ALIASES.join(", ")}), an ami-… id or a { name, owners } mapping, got ${describeValue(value)}`,
    ),
  ];
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === "invalid_type") return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(value)}`;
  if (issue.code === "too_small") return issue.origin === "array" ? "must list at least one item" : "must not be empty";
  return issue.message;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.path}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

