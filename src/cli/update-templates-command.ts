import { Chalk } from "chalk";
import type { ExitCode } from "../errors.js";
import { runUpdateTemplates, type AmiChange, type UpdateTemplatesReport } from "../template/update-amis.js";
import { colorLevel, type CliIO, type GlobalOptions } from "./io.js";

/**
 * `cws ami update-templates [ids…] [--check]`: the registry's current AMIs
 * into the templates' `amis:` blocks (see template/update-amis.ts for what
 * is written and why). Results on stdout, notes and warnings on stderr.
 */
export async function runUpdateTemplatesCommand(ids: readonly string[], options: { check: boolean }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const report = await runUpdateTemplates({ templatesDir: globals.templatesDir, registry: globals.registry, ids, check: options.check });
  for (const warning of report.warnings) io.stderr.write(`${warning}\n`);
  if (globals.json) {
    const { warnings: _warnings, ...json } = report;
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return report.exitCode;
  }
  io.stdout.write(formatUpdateTemplatesReport(report, colorLevel(io, globals.color)));
  return report.exitCode;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const where = (c: Pick<AmiChange, "template" | "region" | "architecture">) => `${c.template}.${c.region}.${c.architecture}`;

/** `Template updated: r-research.us-east-1.x86_64 = ami-…` per change (or `stale: …` with --check), then a summary line. */
export function formatUpdateTemplatesReport(report: UpdateTemplatesReport, level: 0 | 1 | 2 | 3 = 0): string {
  const chalk = new Chalk({ level });
  const lines: string[] = [];
  for (const change of report.updated) {
    lines.push(
      change.ami_id === null
        ? `Template updated: ${where(change)} removed (was ${change.previous}; the registry has none)`
        : `Template updated: ${where(change)} = ${change.ami_id}`,
    );
  }
  for (const change of report.stale) {
    const template = change.previous === null ? "missing from the template" : `template has ${change.previous}`;
    lines.push(`stale: ${where(change)}: ${template}, registry has ${change.ami_id ?? "none"}`);
  }
  const count = (status: UpdateTemplatesReport["templates"][number]["status"]) => report.templates.filter((t) => t.status === status).length;
  const unchanged = count("unchanged");
  const unregistered = report.unregistered.length;
  const rest = [
    unchanged > 0 ? `${plural(unchanged, "template")} already up to date` : undefined,
    unregistered > 0 ? `${plural(unregistered, "template")} not in the registry (left alone)` : undefined,
  ].filter((part) => part !== undefined);
  const tail = rest.length > 0 ? `; ${rest.join(", ")}` : "";
  if (report.check) {
    if (report.stale.length > 0) {
      const templates = count("stale");
      lines.push(`${chalk.red("✖")} ${plural(report.stale.length, "stale AMI")} in ${plural(templates, "template")}${tail}; run cws ami update-templates to write them`);
    } else {
      lines.push(`${chalk.green("✔")} ${plural(report.templates.length, "template")} checked: the amis blocks match the registry${tail}`);
    }
  } else if (report.updated.length > 0) {
    lines.push(`${chalk.green("✔")} ${plural(count("updated"), "template")} updated (${plural(report.updated.length, "AMI")})${tail}`);
  } else {
    lines.push(`${chalk.green("✔")} nothing to update: ${plural(report.templates.length, "template")} checked${tail}`);
  }
  return lines.map((line) => `${line}\n`).join("");
}
