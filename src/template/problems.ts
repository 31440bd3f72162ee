import { CwsError } from "../errors.js";

/** One thing wrong with (or worth a look in) a file, at a line and column. */
export interface Problem {
  file: string;
  /** 1-based; 0 for a problem with the file itself, which has no position (it cannot be read, or its name is wrong). */
  line: number;
  /** 1-based; 0 with line 0. */
  column: number;
  severity: "error" | "warning";
  /** Where in the template, e.g. `validation_tests[1].command`; empty for the whole file. */
  path: string;
  message: string;
  /** The lint rule that found it; schema problems have none. */
  rule?: string;
  suggestion?: string;
}

/** A problem with the file itself rather than a place in it: `fileProblem("templates/x.yml", "is a directory, …")`. */
export function fileProblem(file: string, message: string, suggestion?: string): Problem {
  return { file, line: 0, column: 0, severity: "error", path: "", message, ...(suggestion === undefined ? {} : { suggestion }) };
}

/**
 * `validation_tests[1].command`; a key that would not read back as one
 * segment (empty, or with a dot, bracket or double quote) in quotes:
 * `tags[""]`, `tags["app.kubernetes.io/name"]`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (!/^[^.[\]"]+$/.test(String(segment))) out += `[${JSON.stringify(String(segment))}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/**
 * How a message names an author's value: `a number (42)`, `a string ("amd64")`, `a list`.
 * `written` is the value's text in the file, when it was a plain scalar: a
 * number, boolean or null is then shown as written (`1.10`, `True`, `~`), not
 * as the parser read it (1.1, true, null).
 */
export function describeValue(value: unknown, written?: string): string {
  const shown = (read: string) => (written === undefined || written === "" ? read : written);
  if (value === null || value === undefined) return `nothing (${shown("null")})`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return `a number (${shown(String(value))})`;
  if (typeof value === "boolean") return `a boolean (${shown(String(value))})`;
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)})`;
  return typeof value;
}

export function compareProblems(a: Problem, b: Problem): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || a.message.localeCompare(b.message);
}

/** `templates/r-research.yml:12:7 error validation_tests[1].command: expected a string, got a number` */
export function formatProblem(problem: Problem): string {
  const where = problem.path === "" ? "" : `${problem.path}: `;
  const rule = problem.rule === undefined ? "" : ` [${problem.rule}]`;
  // A problem with the file itself has no position to point an editor at: `templates/x.yml: error: is a directory, …`.
  if (problem.line === 0) return `${problem.file}: ${problem.severity}: ${where}${problem.message}${rule}`;
  return `${problem.file}:${problem.line}:${problem.column} ${problem.severity} ${where}${problem.message}${rule}`;
}

/** A problem as lint prints it, its suggestion indented below: how build and build-all show a template's problems before they stop. */
export function formatProblemAndSuggestion(problem: Problem): string {
  return `${formatProblem(problem)}${problem.suggestion === undefined ? "" : `\n    → ${problem.suggestion}`}`;
}

/**
 * Invalid templates stop a command that needs them valid (exit 2): their
 * problems were printed on stderr before it (formatProblemAndSuggestion), and
 * ride in the error for the --json document (`error.problems`).
 * `consequence` says what that means for this command: `; nothing was built`.
 */
export function invalidTemplatesError(invalid: readonly { id: string; file: string; problems: readonly Problem[] }[], consequence: string): CwsError {
  const ids = [...new Set(invalid.map((t) => t.id))];
  return new CwsError("TEMPLATE_INVALID", `${ids.length === 1 ? `template ${ids[0]} is` : `templates ${ids.join(", ")} are`} invalid${consequence}`, {
    value: invalid.map((t) => t.file).join(", "),
    suggestion: `fix the problems printed above, listed in error.problems with --json (${lintAgainCommand(ids)} shows them again)`,
    problems: invalid.flatMap((t) => t.problems),
  });
}

/**
 * A `cws ami lint` command line that shows the problems of these templates
 * again, as a user can paste it: an id that is not a plain word (a file
 * named `Bad Name.yml`) in single quotes.
 */
export function lintAgainCommand(ids: readonly string[]): string {
  return ["cws ami lint", ...ids.map((id) => (/^[A-Za-z0-9._@%+=:,/-]+$/.test(id) ? id : `'${id.replace(/'/g, `'\\''`)}'`))].join(" ");
}

/**
 * A GitHub Actions workflow command, so the problem shows on the pull
 * request's diff. Property and message values are escaped as the runner expects.
 */
export function formatAnnotation(problem: Problem): string {
  const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  const where = problem.path === "" ? "" : `${problem.path}: `;
  const suggestion = problem.suggestion === undefined ? "" : `\n${problem.suggestion}`;
  const title = problem.rule === undefined ? "template" : problem.rule;
  const position = problem.line === 0 ? "" : `,line=${problem.line},col=${problem.column}`;
  return `::${problem.severity} file=${escapeProperty(problem.file)}${position},title=${escapeProperty(`cws ${title}`)}::${escapeData(`${where}${problem.message}${suggestion}`)}`;
}
