import { join } from "node:path";
import type { ExitCode } from "../errors.js";
import { isFileAccessError } from "../file-access.js";
import { printLintReport } from "../output/lint-report.js";
import { runLint } from "../template/check.js";
import { LintCache } from "../template/lint-cache.js";
import { fileProblem, type Problem } from "../template/problems.js";
import type { CliIO, GlobalOptions } from "./io.js";

/** One module for the lint command's code path, so it loads as one chunk. */
export async function runLintCommand(ids: string[], options: { strict?: boolean; cache?: boolean }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const useCache = options.cache !== false && io.env.CWS_NO_CACHE === undefined;
  let cache: LintCache | undefined;
  const problems: Problem[] = [];
  if (useCache) {
    try {
      cache = await LintCache.open(join(io.cwd, ".cws", "cache", "lint.json"), join(".cws", "cache", "lint.json"));
    } catch (error) {
      // Something that is not a cache file where the cache goes: said, and every template linted without it.
      if (!isFileAccessError(error)) throw error;
      problems.push(fileProblem(error.path, error.problem, error.suggestion));
    }
  }
  const report = await runLint(globals.templatesDir, ids, { strict: options.strict === true, cache, problems });
  await printLintReport(report, io, globals);
  return report.exitCode;
}
