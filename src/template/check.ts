import { CwsError, type ExitCode } from "../errors.js";
import { findLintIssues } from "./lint.js";
import { compareProblems, type Problem } from "./problems.js";
import { cacheKey, type LintCache } from "./lint-cache.js";
import { loadTemplateFile, readTemplate, selectTemplateFiles } from "./repository.js";

export interface LintReport {
  /**
   * `warningsChecked` is false for a file with no fields for the lint rules to
   * look at (a syntax error, binary, empty, too large, unreadable);
   * `notCheckedBecause` then says which, in a few words.
   */
  templates: { id: string; file: string; valid: boolean; warningsChecked: boolean; notCheckedBecause?: string }[];
  /** Schema errors, then script findings; with `strict`, warnings are reported as errors. */
  problems: Problem[];
  errors: number;
  warnings: number;
  strict: boolean;
  /** 0 clean, 1 findings that --strict makes fatal, 2 an invalid template. */
  exitCode: ExitCode;
}

export async function runLint(
  templatesDir: string,
  ids: readonly string[],
  /** `problems`: found before linting (the lint cache's path is not a file), reported with the templates'. */
  options: { strict: boolean; cache?: LintCache | undefined; problems?: readonly Problem[] },
): Promise<LintReport> {
  const files = await selectTemplateFiles(templatesDir, ids);
  if (files.length === 0) {
    throw new CwsError("NO_TEMPLATES", `no templates (*.yml or *.yaml) in ${templatesDir}`, {
      value: templatesDir,
      suggestion: "run cws from the repository root, or pass --templates-dir DIR",
    });
  }
  const problems: Problem[] = [...(options.problems ?? [])];
  let invalid = problems.some((p) => p.severity === "error");
  const cache = options.cache;
  const loaded = await Promise.all(
    files.map(async (file) => {
      // An entry that is not a readable file is one problem of its own; the other templates are still linted.
      const read = readTemplate(file);
      const key = cache && "bytes" in read ? cacheKey(read.bytes) : "";
      const cached = "bytes" in read ? cache?.get(file.file, key) : undefined;
      let found: { valid: boolean; warningsChecked: boolean; notCheckedBecause?: string; problems: Problem[] };
      if (cached && "bytes" in read && read.size === read.bytes.byteLength) {
        found = cached;
      } else {
        let parsed = await loadTemplateFile(file, { bytes: read });
        const fileProblems: Problem[] = [];
        // Warnings with the errors: the rules look at each field that can be read, valid template or not.
        const findings = parsed.data ? findLintIssues(parsed.data) : [];
        if (findings.length > 0) {
          // Only now is a syntax tree worth building: to place each finding.
          if (!parsed.document) parsed = await loadTemplateFile(file, { withPositions: true, bytes: read });
          const { placeFindingsLazily } = await import("./parsing.js");
          fileProblems.push(...(await placeFindingsLazily(findings, parsed)));
        }
        fileProblems.push(...parsed.problems);
        found = {
          valid: parsed.template !== undefined,
          warningsChecked: parsed.data !== undefined,
          ...(parsed.data === undefined ? { notCheckedBecause: parsed.unread ?? "no fields could be read" } : {}),
          problems: fileProblems,
        };
        if ("bytes" in read) cache?.set(file.file, { bytes: key, ...found });
      }
      if (found.problems.some((p) => p.severity === "error")) invalid = true;
      problems.push(...found.problems);
      const { valid, warningsChecked, notCheckedBecause } = found;
      return { id: file.id, file: file.file, valid, warningsChecked, ...(notCheckedBecause === undefined ? {} : { notCheckedBecause }) };
    }),
  );
  await cache?.save();
  const reported = options.strict ? problems.map((p) => (p.severity === "warning" ? { ...p, severity: "error" as const } : p)) : problems;
  reported.sort(compareProblems);
  const errors = reported.filter((p) => p.severity === "error").length;
  const warnings = reported.length - errors;
  const exitCode: ExitCode = invalid ? 2 : errors > 0 ? 1 : 0;
  return {
    templates: loaded,
    problems: reported,
    errors,
    warnings,
    strict: options.strict,
    exitCode,
  };
}
