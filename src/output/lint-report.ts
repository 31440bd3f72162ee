import type { ChalkInstance } from "chalk";
import { colorLevel, type CliIO, type GlobalOptions } from "../cli/io.js";
import type { LintReport } from "../template/check.js";
import { formatAnnotation, formatProblem } from "../template/problems.js";

/**
 * Findings are the command's result, so they go to stdout: one
 * `file:line:col severity path: message` line each (the format editors and
 * CI log viewers turn into links), with the suggestion indented below.
 * Under GitHub Actions each finding is also a workflow command, so it shows
 * on the pull request's diff.
 */
/** Plain text without colour: no need to load chalk (and the terminal probing it does on import). */
const PLAIN = new Proxy(((text: string) => text) as unknown as ChalkInstance, { get: (_target, _key) => PLAIN, apply: (_t, _this, args) => String(args[0]) });

export async function printLintReport(report: LintReport, io: CliIO, globals: GlobalOptions): Promise<void> {
  const annotate = io.env.GITHUB_ACTIONS === "true";
  if (globals.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    // Keep stdout pure JSON; the runner reads workflow commands from stderr too.
    if (annotate) for (const problem of report.problems) io.stderr.write(`${formatAnnotation(problem)}\n`);
    return;
  }
  const level = colorLevel(io, globals.color);
  const chalk = level === 0 ? PLAIN : new (await import("chalk")).Chalk({ level });
  for (const problem of report.problems) {
    const line = formatProblem(problem);
    // The severity after the position (` error `), or after the file for a problem with the file itself (` error:`).
    const colored = line.replace(
      new RegExp(` ${problem.severity}(?=[ :])`),
      ` ${problem.severity === "error" ? chalk.red.bold("error") : chalk.yellow.bold("warning")}`,
    );
    io.stdout.write(`${colored}\n`);
    if (problem.suggestion) io.stdout.write(`${chalk.dim(`    → ${problem.suggestion}`)}\n`);
    if (annotate) io.stdout.write(`${formatAnnotation(problem)}\n`);
  }
  const count = report.templates.length;
  const noun = `${count} template${count === 1 ? "" : "s"}`;
  if (report.problems.length === 0) {
    io.stdout.write(`${chalk.green("✔")} ${noun} checked: no problems\n`);
  } else {
    const parts = [
      `${report.errors} error${report.errors === 1 ? "" : "s"}`,
      `${report.warnings} warning${report.warnings === 1 ? "" : "s"}`,
    ];
    const unread = report.templates.filter((t) => !t.warningsChecked);
    // Said rather than counted as 0, each with its reason: a file that cannot be read may hide warnings until it is fixed.
    const reasons = unread.map((t) => `${t.id}: ${t.notCheckedBecause ?? "no fields could be read"}`).join("; ");
    const notChecked = unread.length === 0 ? "" : `; ${unread.length} not checked for warnings (${reasons})`;
    const mark = report.errors > 0 ? chalk.red("✖") : chalk.yellow("!");
    io.stdout.write(`${mark} ${noun} checked: ${parts.join(", ")}${notChecked}${report.strict ? " (--strict: warnings count as errors)" : ""}\n`);
  }
}
