import { join } from "node:path";
import type { ExitCode } from "../errors.js";
import { printLintReport } from "../output/lint-report.js";
import { runLint } from "../template/check.js";
import { LintCache } from "../template/lint-cache.js";
import type { CliIO, GlobalOptions } from "./io.js";

/** One module for the lint command's code path, so it loads as one chunk. */
export async function runLintCommand(ids: string[], options: { strict?: boolean; cache?: boolean }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const useCache = options.cache !== false && io.env.CWS_NO_CACHE === undefined;
  const cache = useCache ? await LintCache.open(join(io.cwd, ".cws", "cache", "lint.json")) : undefined;
  const report = await runLint(globals.templatesDir, ids, { strict: options.strict === true, cache });
  await printLintReport(report, io, globals);
  return report.exitCode;
}
