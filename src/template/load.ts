import type { Document, LineCounter } from "yaml";
import { compareProblems, type Problem } from "./problems.js";
import { crossFieldProblems } from "./rules.js";
import { templateSchema, type Template } from "./schema.js";
import { locator, readTemplateYaml, reporter, writtenAt } from "./yaml-document.js";
import { rewriteIssue } from "./zod-issues.js";

export interface ParsedTemplate {
  file: string;
  /** Present only when there are no errors. */
  template: Template | undefined;
  /**
   * The template's fields as written, before any check: present whenever the
   * file holds a YAML mapping, even with errors (YAML a template does not use
   * included: yaml-document.ts's `fields`), for checks that look at one field
   * at a time (the lint rules).
   */
  data: Record<string, unknown> | undefined;
  /** Why there is no `data`, in a few words (`a YAML syntax error`); see yaml-document.ts. */
  unread?: string;
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
 * rules) is returned at once with its line and column. Three steps, in the
 * manner of changesets' config parser:
 *
 * - parse (yaml-document.ts): the file to a YAML document with positions, and
 *   to data;
 * - normalize (zod-issues.ts): the data through the zod schema, each issue
 *   rewritten in the author's terms by a list of named rules;
 * - validate (rules.ts): the rules across fields, a named list too, on the
 *   data as written, so they are reported even when a field is wrong.
 */
export function parseTemplate(input: string | Uint8Array, file: string, options: { size?: number } = {}): ParsedTemplate {
  const yaml = readTemplateYaml(input, file, options);
  const result: ParsedTemplate = {
    file,
    template: undefined,
    data: yaml.fields,
    ...(yaml.unread === undefined ? {} : { unread: yaml.unread }),
    problems: yaml.problems,
    document: yaml.document,
    lineCounter: yaml.lineCounter,
    source: yaml.source,
  };
  if (yaml.data === undefined || yaml.document === undefined) return result;

  const report = reporter(file, locator(yaml.document, yaml.lineCounter));
  const written = writtenAt(yaml.document, yaml.source);
  const problems = [...yaml.problems];
  const parsed = templateSchema.safeParse(yaml.data, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...rewriteIssue(issue, yaml.data, report, written));
  }
  problems.push(...crossFieldProblems(yaml.data, report));

  result.problems = dedupe(problems).sort(compareProblems);
  if (parsed.success && !result.problems.some((p) => p.severity === "error")) {
    result.template = parsed.data;
  }
  return result;
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
