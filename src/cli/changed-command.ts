import { resolve } from "node:path";
import { EXIT, type ExitCode } from "../errors.js";
import { changedTemplates, type ChangedReport, type ChangedTemplate } from "../pipeline/changed.js";
import { createGitPort } from "../pipeline/git.js";
import { formatProblemAndSuggestion } from "../template/problems.js";
import type { CliIO, GlobalOptions } from "./io.js";

/**
 * `cws ami changed [--since REV]`: the ids to build on stdout, one a line,
 * parents first (`cws ami build-all $(cws ami changed)`), and why each is
 * there on stderr; with --json the whole report as one document.
 */
export async function runChangedCommand(options: { since?: string }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const { report, notes } = await changedTemplates({
    templatesDir: globals.templatesDir,
    since: options.since,
    // git runs in the templates directory, so that the repository is the one that holds it; GIT_DIR and the like as typed where cws was started.
    git: createGitPort({ dir: resolve(io.cwd, globals.templatesDir), invokedFrom: globals.project?.invokedFrom ?? io.cwd, env: io.env }),
    onProblem: (problem) => io.stderr.write(`${formatProblemAndSuggestion(problem)}\n`),
  });
  for (const note of notes) io.stderr.write(`${note}\n`);
  io.stderr.write(formatChangedExplanation(report));
  io.stdout.write(globals.json ? `${JSON.stringify(report, null, 2)}\n` : report.changed.map((t) => `${t.id}\n`).join(""));
  return EXIT.ok;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Why one template is to be built, in a few words. */
function why(template: ChangedTemplate, report: ChangedReport): string {
  switch (template.reason) {
    case "edited":
      return template.invalidBefore ? `edited (at ${shortSince(report)} ${template.unknownBefore ?? "it did not validate"}, so what it meant then is unknown)` : "edited";
    case "new":
      return "new";
    case "renamed":
      return `renamed from ${template.renamedFrom!}`;
    case "dependent": {
      // The chain down from the template that changed itself: `builds on b, which builds on a`.
      const chain = [template.dependsOn!];
      for (let at = report.changed.find((t) => t.id === chain.at(-1)); at?.reason === "dependent"; at = report.changed.find((t) => t.id === chain.at(-1))) chain.push(at.dependsOn!);
      return `builds on ${chain.join(", which builds on ")}`;
    }
  }
}

const shortSince = (report: ChangedReport) => report.since.commit?.slice(0, 7) ?? report.since.rev;

/** stderr: a line per template to build and per deleted template, then the count and what was compared with. */
export function formatChangedExplanation(report: ChangedReport): string {
  const lines = report.changed.map((t) => `${t.id}: ${why(t, report)}`);
  for (const t of report.deleted) {
    lines.push(
      t.invalidBefore
        ? `${t.id}: deleted (at ${shortSince(report)} it was not a valid template either: ${t.unknownBefore ?? "it did not validate"}; nothing was built from it)`
        : `${t.id}: deleted (nothing to build; its images stay in AWS and in the registry until cws ami cleanup removes them)`,
    );
  }
  const deleted = report.deleted.length > 0 ? `; ${report.deleted.length} deleted` : "";
  const total = report.templates.length;
  if (report.since.commit === null) {
    lines.push(`${report.changed.length} of ${plural(total, "template")} new: no earlier revision to compare with`);
  } else {
    const since = `since ${shortSince(report)}${report.since.rev === report.since.commit ? "" : ` (${report.since.rev})`}`;
    lines.push(
      report.changed.length === 0
        ? `No template changed ${since} (${plural(total, "template")} compared)${deleted}`
        : `${report.changed.length} of ${plural(total, "template")} changed ${since}${deleted}`,
    );
  }
  return lines.map((line) => `${line}\n`).join("");
}
