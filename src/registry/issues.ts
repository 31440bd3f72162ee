import type * as z from "zod";
import { LineCounter, parseDocument } from "yaml";
import { describeValue, type Problem } from "../template/problems.js";
import { schemaViewOf } from "../template/schema.js";
import { locator, reporter, writtenAt } from "../template/yaml-document.js";
import { rewriteIssue, type IssueRule } from "../template/zod-issues.js";
import { formatVersionMessage, registrySchema } from "./schema.js";

/**
 * The registry's zod issues as problems at file:line:col, worded by the
 * template's rules (zod-issues.ts) over the registry's schema: `must be at
 * least 0, got -1`, `unknown field "aarch64" (did you mean "arm64"?)`, a
 * value quoted as the file has it (`1.0`, not the 1 JSON.parse made of it).
 * JSON is YAML, so the YAML parser gives each path's place and text. Loaded
 * only for a registry that is invalid.
 */

const view = schemaViewOf(registrySchema);

/** The registry's own rules, tried before the template's. */
const REGISTRY_RULES: readonly IssueRule[] = [
  {
    // A format this cws does not read: upgrade cws (a newer one), or what the field holds instead.
    name: "registry-format",
    rewrite: ({ issue, path, value, written, schema, report }) =>
      schema === view.schemaAt(["version"]) && issue.code === "invalid_value" ? [report(path, formatVersionMessage(value, written))] : undefined,
  },
  {
    // A refinement's message (no such day: 2027 is not a leap year), and the value.
    name: "refinement",
    rewrite: ({ issue, path, value, written, report }) => (issue.code === "custom" ? [report(path, `${issue.message}, got ${describeValue(value, written)}`)] : undefined),
  },
];

/** Each issue as a problem in `text` (the registry without its byte-order mark), sorted by position. */
export function registryProblems(issues: readonly z.core.$ZodIssue[], data: unknown, text: string, file: string): Problem[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: false });
  const report = reporter(file, locator(document, lineCounter));
  const written = writtenAt(document, text);
  return issues
    .flatMap((issue) => rewriteIssue(issue, data, report, written, [], { view, rules: REGISTRY_RULES }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
