/** Reading `cws ami lint`'s output in tests: its problem lines, in text and in --json. */

export interface JsonProblem {
  file: string;
  line: number;
  column: number;
  severity: string;
  path: string;
  message: string;
  rule?: string;
}

/** The problem lines of lint's text output (suggestions and the summary left out). */
export const problemLines = (stdout: string) => stdout.split("\n").filter((line) => /^templates\/\S+:\d+:\d+ (error|warning) /.test(line));

/** The problems of --json, in the text's format. */
export const jsonLines = (problems: JsonProblem[]) =>
  problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.severity} ${p.path === "" ? "" : `${p.path}: `}${p.message}${p.rule === undefined ? "" : ` [${p.rule}]`}`);
