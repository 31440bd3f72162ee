import { CwsError, type ExitCode } from "../errors.js";
import { findLintIssues } from "./lint.js";
import { compareProblems, type Problem } from "./problems.js";
import { loadTemplateFile, selectTemplateFiles } from "./repository.js";

export interface LintReport {
  templates: { id: string; file: string; valid: boolean }[];
  /** Schema errors, then script findings; with `strict`, warnings are reported as errors. */
  problems: Problem[];
  errors: number;
  warnings: number;
  strict: boolean;
  /** 0 clean, 1 findings that --strict makes fatal, 2 an invalid template. */
  exitCode: ExitCode;
}

export async function runLint(templatesDir: string, ids: readonly string[], options: { strict: boolean }): Promise<LintReport> {
  const files = await selectTemplateFiles(templatesDir, ids);
  if (files.length === 0) {
    throw new CwsError("NO_TEMPLATES", `no templates (*.yml or *.yaml) in ${templatesDir}`, {
      value: templatesDir,
      suggestion: "run cws from the repository root, or pass --templates-dir DIR",
    });
  }
  const problems: Problem[] = [];
  let invalid = false;
  const loaded = await Promise.all(
    files.map(async (file) => {
      let parsed = await loadTemplateFile(file);
      const findings = parsed.template ? findLintIssues(parsed.template) : [];
      if (findings.length > 0) {
        // Only now is a syntax tree worth building: to place each finding.
        if (!parsed.document) parsed = await loadTemplateFile(file, { withPositions: true });
        const { placeFindings } = await import("./lint-positions.js");
        problems.push(...placeFindings(findings, parsed));
      }
      if (parsed.problems.some((p) => p.severity === "error")) invalid = true;
      problems.push(...parsed.problems);
      return parsed;
    }),
  );
  const reported = options.strict ? problems.map((p) => (p.severity === "warning" ? { ...p, severity: "error" as const } : p)) : problems;
  reported.sort(compareProblems);
  const errors = reported.filter((p) => p.severity === "error").length;
  const warnings = reported.length - errors;
  const exitCode: ExitCode = invalid ? 2 : errors > 0 ? 1 : 0;
  return {
    templates: loaded.map((t) => ({ id: t.id, file: t.file, valid: t.template !== undefined })),
    problems: reported,
    errors,
    warnings,
    strict: options.strict,
    exitCode,
  };
}
