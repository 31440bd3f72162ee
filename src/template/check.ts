import { CwsError, type ExitCode } from "../errors.js";
import { findLintIssues } from "./lint.js";
import { compareProblems, type Problem } from "./problems.js";
// Static, so it lands in lint's own file: the graph costs no module load even when templates name parents.
import { dependencyGraph, graphTemplateOf, type GraphTemplate } from "./graph.js";
import { cacheKey, type CachedLint, type LintCache } from "./lint-cache.js";
import { listTemplateFiles, loadTemplateFile, readTemplate, selectTemplateFiles, type TemplateFile } from "./repository.js";

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
  const linted = await Promise.all(files.map((file) => lintFile(file, cache)));
  // Problems between templates: a parent that is missing, a cycle, a parent that does not build what its child builds.
  const between = await problemsBetweenTemplates(templatesDir, ids.length === 0, linted, cache);
  const loaded = linted.map(({ file, found }) => {
    const fileProblems = [...found.problems, ...(between.get(file.id) ?? [])];
    if (fileProblems.some((p) => p.severity === "error")) invalid = true;
    problems.push(...fileProblems);
    const { warningsChecked, notCheckedBecause } = found;
    return { id: file.id, file: file.file, valid: found.valid && !between.has(file.id), warningsChecked, ...(notCheckedBecause === undefined ? {} : { notCheckedBecause }) };
  });
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

interface LintedFile {
  file: TemplateFile;
  /** What the file's own lint found (from the cache when its bytes are unchanged), and what the graph needs of it. */
  found: Omit<CachedLint, "bytes">;
}

/** One file's own problems: schema errors and lint warnings, from the cache when its bytes have not changed. */
async function lintFile(file: TemplateFile, cache: LintCache | undefined): Promise<LintedFile> {
  // An entry that is not a readable file is one problem of its own; the other templates are still linted.
  const read = readTemplate(file);
  const key = cache && "bytes" in read ? cacheKey(read.bytes) : "";
  const cached = "bytes" in read ? cache?.get(file.file, key) : undefined;
  if (cached && "bytes" in read && read.size === read.bytes.byteLength) return { file, found: cached };
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
  const found: Omit<CachedLint, "bytes"> = {
    valid: parsed.template !== undefined,
    warningsChecked: parsed.data !== undefined,
    ...(parsed.data === undefined ? { notCheckedBecause: parsed.unread ?? "no fields could be read" } : {}),
    problems: fileProblems,
    graph: graphTemplateOf(parsed.data, parsed.problems),
  };
  if ("bytes" in read) cache?.set(file.file, { bytes: key, ...found });
  return { file, found };
}

/**
 * The problems between templates (graph.ts), placed at each child's
 * `base_ami.template`, by template id. They depend on other files, so they are
 * never cached; the facts the graph needs of each file are. When only some
 * templates are linted, their ancestors are read too (not reported), so a cycle
 * or a parent's regions are judged with the whole chain.
 */
async function problemsBetweenTemplates(templatesDir: string, everyTemplate: boolean, linted: readonly LintedFile[], cache: LintCache | undefined): Promise<Map<string, Problem[]>> {
  const facts = new Map<string, GraphTemplate>(linted.map(({ file, found }) => [file.id, found.graph]));
  const parentsNamed = () => new Set([...facts.values()].flatMap((t) => (t.base_ami.template === undefined ? [] : [t.base_ami.template])));
  // Nothing is built on another template: nothing to check between them.
  if (parentsNamed().size === 0) return new Map();
  if (!everyTemplate) {
    const all = new Map((await listTemplateFiles(templatesDir)).map((file) => [file.id, file]));
    const unread = () => [...parentsNamed()].filter((id) => !facts.has(id) && all.has(id));
    // A generation of parents at a time, up to the templates built from a source (or a missing one, or round a cycle).
    for (let next = unread(); next.length > 0; next = unread()) {
      for (const parent of await Promise.all(next.map((id) => lintFile(all.get(id)!, cache)))) facts.set(parent.file.id, parent.found.graph);
    }
  }
  const byChild = new Map<string, { path: string[]; message: string; suggestion: string }[]>();
  for (const problem of dependencyGraph(facts).problems) {
    byChild.set(problem.template, [...(byChild.get(problem.template) ?? []), { path: ["base_ami", "template"], message: problem.message, suggestion: problem.suggestion }]);
  }
  const placed = new Map<string, Problem[]>();
  if (byChild.size === 0) return placed;
  const { placeProblemsLazily } = await import("./parsing.js");
  for (const { file } of linted) {
    const found = byChild.get(file.id);
    if (!found) continue;
    // Positions only now, for a template with a problem to place.
    const parsed = await loadTemplateFile(file, { withPositions: true });
    placed.set(file.id, await placeProblemsLazily(found, parsed));
  }
  return placed;
}
