import { z } from "zod";
import { CwsError } from "../errors.js";
import { ARCHITECTURES } from "../template/architectures.js";
import { dependencyGraph, type DependencyGraph, type GraphTemplate } from "../template/graph.js";
import { didYouMean } from "../template/suggest.js";
import type { ChangedReport } from "./changed.js";

/**
 * The plan step of the AMI build workflow (.github/workflows/ami-build.yml):
 * from the event that started the run and what `cws ami changed --json` says,
 * which `cws ami build-all` jobs to run. Pure: .github/scripts/plan.mjs reads
 * the environment, runs `changed`, and writes what this returns to the job's
 * outputs and summary.
 */

export const PLAN_EVENTS = ["push", "schedule", "workflow_dispatch"] as const;
export type PlanEvent = (typeof PLAN_EVENTS)[number];

/** What the plan reads of `cws ami changed --json`; anything else in the document is ignored. */
const templateSummarySchema = z.object({
  id: z.string(),
  architectures: z.array(z.string()),
  parent: z.string().nullable(),
});

export const changedDocumentSchema = z.object({
  since: z.object({ rev: z.string(), commit: z.string().nullable() }),
  head: z.string(),
  templatesDir: z.string(),
  changed: z.array(
    templateSummarySchema.extend({
      file: z.string(),
      reason: z.enum(["edited", "new", "renamed", "dependent"]),
      renamedFrom: z.string().optional(),
      dependsOn: z.string().optional(),
    }),
  ),
  deleted: z.array(z.object({ id: z.string(), file: z.string() })),
  templates: z.array(templateSummarySchema),
});
export type ChangedDocument = z.infer<typeof changedDocumentSchema>;

// `cws ami changed --json` prints a ChangedReport: the compiler holds it to what the plan reads of it.
const _reportIsReadable = (report: ChangedReport): ChangedDocument => report;

/** The `changed` document, checked: a document of another shape is a bug between the two commands, said plainly. */
export function parseChangedDocument(json: unknown): ChangedDocument {
  const parsed = changedDocumentSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new CwsError("CHANGED_DOCUMENT_INVALID", `cws ami changed --json printed a document the plan cannot read: ${issue.path.join(".") || "(top)"}: ${issue.message}`, {
    exitCode: 1,
    suggestion: "run `cws ami changed --json` to see it; the plan and the command come from the same checkout, so this is a bug to report",
  });
}

export interface PlanRequest {
  event: PlanEvent;
  /** workflow_dispatch's `templates` input, as typed: ids separated by commas and/or spaces, `all`, or empty. */
  templatesInput?: string;
  /** workflow_dispatch's `force` input: build even what is up to date. */
  force?: boolean;
  /**
   * Whether a push has a commit to compare with (the last run that finished its builds, or the push's
   * `before`: set, not all zeros, and in the clone). When it has none (a new branch, a force-push)
   * every template is planned.
   */
  beforeUsable: boolean;
  /** For a push: which commit it was compared with and why, in one sentence for the log and the summary. */
  comparison?: string;
  changes: ChangedDocument;
}

export interface BuildMatrixEntry {
  /** Readable, unique among the entries, and safe in an artifact's name. */
  name: string;
  /** The ids build-all is given, separated by single spaces, parents first. */
  templates: string;
  architecture: string;
}

/** Why a template is in the plan. */
export type PlanReason =
  | { kind: "edited" | "new" }
  | { kind: "renamed"; from: string | undefined }
  | { kind: "dependent"; of: string | undefined }
  | { kind: "named" }
  | { kind: "all"; why: string };

export interface BuildPlan {
  matrix: { include: BuildMatrixEntry[] };
  /** build-all's `--max-age`: WEEKLY_MAX_AGE on the weekly run, so unchanged images are rebuilt on fresh base images. */
  maxAge: string | null;
  force: boolean;
  /** The templates planned, parents before children, each with why. */
  templates: { id: string; reason: PlanReason }[];
  /** Templates the push deleted: nothing is built for them. */
  deleted: string[];
  /** One sentence on what the run builds, for the log and the summary. */
  headline: string;
  /** For a push: which commit it was compared with and why. */
  comparison: string | undefined;
}

/**
 * The weekly run's `--max-age`. Not 7d: the run starts at the same time each week, so the images
 * the previous weekly run built are a little younger than 7 days (its start plus its build time)
 * and 7d would skip them. An image is at most a week plus a build old.
 */
export const WEEKLY_MAX_AGE = "6d";

/** GitHub's limit: a matrix may generate at most 256 jobs per workflow run. */
export const MAX_MATRIX_JOBS = 256;

/**
 * workflow_dispatch's `force` input as the plan step's environment has it: GitHub passes a boolean
 * input as `true` or `false`; by hand, `TRUE`, `1` and `0` read the same. Anything else is refused
 * (a typo must not quietly build without --force).
 */
export function parseForceInput(input: string | undefined): boolean {
  const value = (input ?? "").trim().toLowerCase();
  if (value === "true" || value === "1") return true;
  if (value === "" || value === "false" || value === "0") return false;
  throw new CwsError("FORCE_INPUT_INVALID", `force "${input}" is not a boolean`, { value: input, suggestion: "give true or false (1 or 0), or leave it empty for false" });
}

/** The ids a workflow_dispatch input names, in order, once each; undefined means every template. */
export function parseTemplatesInput(input: string | undefined): string[] | undefined {
  const words = (input ?? "").split(/[\s,]+/).filter((word) => word !== "");
  if (words.length === 0 || words.some((word) => word.toLowerCase() === "all")) return undefined;
  return [...new Set(words)];
}

export function planBuilds(request: PlanRequest): BuildPlan {
  const { changes } = request;
  // Every current template; a changed one is one of them, but the plan does not rely on it.
  const catalogue = [...changes.templates, ...changes.changed.filter((c) => !changes.templates.some((t) => t.id === c.id))];
  const graph = dependencyGraph(new Map(catalogue.map((t): [string, GraphTemplate] => [t.id, { base_ami: { template: t.parent ?? undefined, architecture: t.architectures } }])));
  const known = catalogue.map((t) => t.id);
  const selection = select(request, graph, known);
  const order = orderOf(graph, known);
  const selected = [...selection.keys()].sort((a, b) => order.get(a)! - order.get(b)!);
  const architectures = new Map(catalogue.map((t) => [t.id, t.architectures]));
  const include = matrixEntries(selected, graph, architectures);
  const force = request.event === "workflow_dispatch" && request.force === true;
  const maxAge = request.event === "schedule" ? WEEKLY_MAX_AGE : null;
  return {
    matrix: { include },
    maxAge,
    force,
    templates: selected.map((id) => ({ id, reason: selection.get(id)! })),
    deleted: request.event === "push" && request.beforeUsable ? changes.deleted.map((d) => d.id) : [],
    headline: headline(request.event, selected.map((id) => selection.get(id)!), include.length, buildAllFlags(maxAge, force)),
    comparison: request.event === "push" ? request.comparison : undefined,
  };
}

function select(request: PlanRequest, graph: DependencyGraph, known: string[]): Map<string, PlanReason> {
  const all = (why: string) => new Map(known.map((id): [string, PlanReason] => [id, { kind: "all", why }]));
  switch (request.event) {
    case "schedule":
      return all("the weekly rebuild");
    case "push": {
      if (!request.beforeUsable) return all("the push's previous commit is not in the clone (a new branch or a force-push)");
      return new Map(
        request.changes.changed.map((c): [string, PlanReason] => [
          c.id,
          c.reason === "renamed" ? { kind: "renamed", from: c.renamedFrom } : c.reason === "dependent" ? { kind: "dependent", of: c.dependsOn ?? c.parent ?? undefined } : { kind: c.reason },
        ]),
      );
    }
    case "workflow_dispatch": {
      const named = parseTemplatesInput(request.templatesInput);
      if (named === undefined) return all("asked for all");
      const unknown = named.filter((id) => !known.includes(id));
      if (unknown.length > 0) throw unknownTemplates(unknown, known, request.changes.templatesDir);
      const selection = new Map(named.map((id): [string, PlanReason] => [id, { kind: "named" }]));
      for (const id of graph.dependentsOf(named)) if (!selection.has(id)) selection.set(id, { kind: "dependent", of: graph.parentOf(id) });
      return selection;
    }
  }
}

function unknownTemplates(unknown: string[], known: string[], templatesDir: string): CwsError {
  const names = unknown.map((id) => `"${id}"${didYouMean(id, known)}`).join(", ");
  return new CwsError("TEMPLATE_NOT_FOUND", `no template ${names} in ${templatesDir}`, {
    value: unknown.join(", "),
    suggestion: `templates here: ${known.join(", ") || "none"}; give ids separated by commas or spaces, or all`,
  });
}

/** Parents before children, then by id (the graph's order); a template the graph leaves out (lint refuses it) goes last, by id. */
function orderOf(graph: DependencyGraph, known: string[]): Map<string, number> {
  const rest = known.filter((id) => !graph.order.includes(id)).sort();
  return new Map([...graph.order, ...rest].map((id, index) => [id, index]));
}

/** The template at the top of `id`'s chain of parents (itself when it has none); a cycle stops where it comes round. */
function rootOf(id: string, graph: DependencyGraph): string {
  const seen = new Set([id]);
  let root = id;
  for (let parent = graph.parentOf(root); parent !== undefined && !seen.has(parent); parent = graph.parentOf(root)) {
    seen.add(parent);
    root = parent;
  }
  return root;
}

/**
 * One entry per group and architecture. A group is the selected templates that share a root: a
 * parent and the children built on it go to one build-all call, which builds the parent once and
 * each child on its new image. (Two children of a parent that is not selected go together too:
 * build-all includes the parent for each of them, and with --force or --max-age two jobs would
 * build it twice.)
 */
function matrixEntries(selected: string[], graph: DependencyGraph, architectures: Map<string, string[]>): BuildMatrixEntry[] {
  const groups = new Map<string, string[]>();
  for (const id of selected) {
    const root = rootOf(id, graph);
    groups.set(root, [...(groups.get(root) ?? []), id]);
  }
  const known: readonly string[] = ARCHITECTURES;
  const rank = (arch: string) => (known.includes(arch) ? known.indexOf(arch) : known.length);
  const jobs = [...groups.values()].flatMap((members) => {
    const archs = [...new Set(members.flatMap((id) => architectures.get(id) ?? []))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return archs.map((architecture) => ({ templates: members.filter((id) => architectures.get(id)?.includes(architecture)), architecture }));
  });
  return packJobs(jobs, MAX_MATRIX_JOBS).map(({ templates, architecture }) => ({ name: `${groupLabel(templates)}-${architecture}`, templates: templates.join(" "), architecture }));
}

interface Job {
  templates: string[];
  architecture: string;
}

/**
 * At most `limit` jobs: past it (GitHub fails the whole run), the groups of each architecture are
 * packed into fewer jobs, each architecture getting a share of the limit in proportion to its
 * groups, and consecutive groups filling its jobs as evenly as possible. build-all takes any
 * number of independent templates and builds them with its own --concurrency, so a packed job
 * builds the same images, only within one job. Deterministic: the same plan packs the same way.
 */
function packJobs(jobs: Job[], limit: number): Job[] {
  if (jobs.length <= limit) return jobs;
  const byArchitecture = new Map<string, Job[]>();
  for (const job of jobs) byArchitecture.set(job.architecture, [...(byArchitecture.get(job.architecture) ?? []), job]);
  return [...byArchitecture].flatMap(([architecture, groups]) => {
    const bins = Math.max(1, Math.floor((limit * groups.length) / jobs.length));
    const base = Math.floor(groups.length / bins);
    const larger = groups.length % bins;
    const packed: Job[] = [];
    let next = 0;
    for (let bin = 0; bin < bins; bin++) {
      const size = base + (bin < larger ? 1 : 0);
      packed.push({ templates: groups.slice(next, next + size).flatMap((group) => group.templates), architecture });
      next += size;
    }
    return packed;
  });
}

/** `python-research+ml-research`, or `python-research+3` past three templates (an artifact's name stays short). */
function groupLabel(templates: string[]): string {
  return templates.length <= 3 ? templates.join("+") : `${templates[0]}+${templates.length - 1}`;
}

function headline(event: PlanEvent, reasons: PlanReason[], jobs: number, flags: string): string {
  if (jobs === 0) {
    return event === "push"
      ? "Nothing to build: the push changed no template's content (an amis: block, a comment or formatting is not a change)."
      : "Nothing to build: there are no templates.";
  }
  const all = reasons[0]?.kind === "all" ? reasons[0].why : undefined;
  const what = `${all === undefined ? "" : "all "}${reasons.length} template${reasons.length === 1 ? "" : "s"} in ${jobs} job${jobs === 1 ? "" : "s"}`;
  return `Building ${what}${flags ? ` with ${flags.trim()}` : ""}${all === undefined ? "" : `: ${all}`}.`;
}

/** build-all's flags besides the templates and the architecture, each with a leading space. */
function buildAllFlags(maxAge: string | null, force: boolean): string {
  return `${maxAge === null ? "" : ` --max-age ${maxAge}`}${force ? " --force" : ""}`;
}

/** The command a matrix entry runs, as the build job writes it. */
export function buildAllCommand(plan: BuildPlan, entry: BuildMatrixEntry): string {
  return `cws ami build-all ${entry.templates} --architecture ${entry.architecture}${buildAllFlags(plan.maxAge, plan.force)}`;
}

/**
 * The plan step's outputs, as the workflow reads them: `matrix` (one line of JSON, for
 * fromJSON), `any` (whether there is a build job), `max_age` and `force` (build-all's flags, or
 * empty and false).
 */
export function planOutputs(plan: BuildPlan): { matrix: string; any: string; max_age: string; force: string } {
  return { matrix: JSON.stringify(plan.matrix), any: String(plan.matrix.include.length > 0), max_age: plan.maxAge ?? "", force: String(plan.force) };
}

/** Why, in words. */
export function describeReason(reason: PlanReason): string {
  switch (reason.kind) {
    case "edited":
      return "edited";
    case "new":
      return "new";
    case "renamed":
      return reason.from === undefined ? "renamed" : `renamed from ${reason.from}`;
    case "dependent":
      return reason.of === undefined ? "built on a rebuilt template" : `built on ${reason.of}, which is rebuilt`;
    case "named":
      return "named";
    case "all":
      return "all templates";
  }
}

/** The plan as Markdown for the job summary ($GITHUB_STEP_SUMMARY). */
export function planSummaryMarkdown(plan: BuildPlan): string[] {
  const lines = ["### AMI build plan", "", plan.headline];
  if (plan.comparison !== undefined) lines.push("", plan.comparison);
  if (plan.matrix.include.length > 0) {
    lines.push("", "| Job | Architecture | build-all | Why |", "| --- | --- | --- | --- |");
    for (const entry of plan.matrix.include) {
      const why = entry.templates
        .split(" ")
        .map((id) => `${id}: ${describeReason(plan.templates.find((t) => t.id === id)!.reason)}`)
        .join("; ");
      lines.push(`| ${entry.name} | ${entry.architecture} | \`${buildAllCommand(plan, entry)}\` | ${why} |`);
    }
  }
  if (plan.deleted.length > 0) lines.push("", `Deleted, so not built: ${plan.deleted.join(", ")}.`);
  return lines;
}

/** The plan as plain lines for the log (stderr). */
export function planLogLines(plan: BuildPlan): string[] {
  const lines = [plan.headline];
  if (plan.comparison !== undefined) lines.push(`  ${plan.comparison}`);
  for (const entry of plan.matrix.include) lines.push(`  ${entry.name}: ${buildAllCommand(plan, entry)}`);
  for (const t of plan.templates) lines.push(`  ${t.id}: ${describeReason(t.reason)}`);
  if (plan.deleted.length > 0) lines.push(`  deleted, not built: ${plan.deleted.join(", ")}`);
  return lines;
}
