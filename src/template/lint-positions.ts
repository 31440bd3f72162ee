import { isScalar, Scalar, type LineCounter } from "yaml";
import type { ParsedTemplate } from "./load.js";
import { findLintIssues, type LintFinding } from "./lint.js";
import { formatPath, type Problem } from "./problems.js";
import type { Path } from "./rules.js";
import { locator, nodeAt, reporter, throughAlias } from "./yaml-document.js";

/**
 * Lint warnings for a template parsed with positions (parseTemplate): for
 * every field that can be looked at, whatever errors the template has.
 */
export function lintTemplate(parsed: ParsedTemplate): Problem[] {
  const fields = parsed.data ?? parsed.template;
  return fields ? placeFindings(findLintIssues(fields), parsed) : [];
}

/**
 * Give each finding its file line and column (a value reached through an
 * alias is placed at its anchor). A finding about a field that has an error
 * of its own is left out: the error says what to fix there.
 */
export function placeFindings(findings: readonly LintFinding[], parsed: ParsedTemplate): Problem[] {
  const wrong = new Set(parsed.problems.filter((p) => p.severity === "error").map((p) => p.path));
  return findings.filter((finding) => !wrong.has(formatPath(finding.path))).map((finding) => {
    const found = parsed.document ? nodeAt(parsed.document, finding.path) : undefined;
    const node = found?.exact && isScalar(found.node) ? found.node : undefined;
    let line = 1;
    let column = 1;
    let via = "";
    if (node?.range && parsed.lineCounter) {
      if (finding.scriptLine === undefined) {
        const pos = parsed.lineCounter.linePos(node.range[0]);
        line = pos.line;
        column = pos.col;
      } else {
        const start = scriptLineStart(node, parsed.lineCounter, parsed.source, finding.scriptLine);
        line = start.line;
        column = start.column + (finding.scriptColumn ?? 0);
      }
      const alias = found?.via;
      if (alias?.range) via = throughAlias({ alias: alias.source, line: parsed.lineCounter.linePos(alias.range[0]).line });
    }
    return {
      file: parsed.file,
      line,
      column,
      severity: "warning" as const,
      path: formatPath(finding.path),
      rule: finding.rule,
      message: `${finding.message}${via}`,
      suggestion: finding.suggestion,
    };
  });
}

/**
 * Where line `index` of a script starts in the file. For block scalars (`|`,
 * `>`) the content starts on the line after the indicator, indented; other
 * scalars start where the value does.
 */
function scriptLineStart(node: Scalar, lineCounter: LineCounter, source: string, index: number): { line: number; column: number } {
  const start = lineCounter.linePos(node.range![0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const lines = source.split("\n");
    let indent = 0;
    for (let i = start.line; i < lines.length; i++) {
      const text = lines[i]!;
      if (text.trim() === "") continue;
      indent = text.length - text.trimStart().length;
      break;
    }
    return { line: start.line + 1 + index, column: indent + 1 };
  }
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return index === 0 ? { line: start.line, column: start.col + quoted } : { line: start.line + index, column: 1 };
}

/**
 * Errors about paths of a template parsed with positions, placed where the
 * path is written (a value reached through an alias at its anchor): the
 * problems between templates, at a child's `base_ami.template`.
 */
export function placeProblems(problems: readonly { path: Path; message: string; suggestion?: string }[], parsed: ParsedTemplate): Problem[] {
  const place = parsed.document && parsed.lineCounter ? locator(parsed.document, parsed.lineCounter) : () => ({ line: 1, column: 1, exact: false });
  const report = reporter(parsed.file, place);
  return problems.map((problem) => report(problem.path, problem.message, problem.suggestion === undefined ? {} : { suggestion: problem.suggestion }));
}
