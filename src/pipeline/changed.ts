import { basename } from "node:path";
import { CwsError } from "../errors.js";
import { refuseGraphProblems } from "../fleet/targets.js";
import type { Architecture } from "../template/architectures.js";
import { templateContentHash } from "../template/content-hash.js";
import { dependencyGraph, type DependencyGraph } from "../template/graph.js";
import { lintAgainCommand, type Problem } from "../template/problems.js";
import { listTemplateFiles, loadTemplateFile, templateFilesOf } from "../template/repository.js";
import type { Template } from "../template/schema.js";
import { isRegularFile, type GitPort } from "./git.js";

/**
 * `cws ami changed`: which templates to build after a change, from what they
 * mean rather than how their files differ. The templates now are the
 * templates directory as every command loads it (exactly what `build-all`
 * would build, uncommitted edits included); the templates then are read from
 * git's objects at the revision (never checked out) and parsed by the same
 * loader. Each side's templates are compared by `templateContentHash`, which
 * ignores the `amis:` block, comments, formatting and key order, so a commit
 * of `update-templates` changes nothing. No `process`, no child process here:
 * git is a port (git.ts).
 */

export type ChangeReason = "edited" | "new" | "renamed" | "dependent";

export interface ChangedTemplate {
  id: string;
  /** Its file now. */
  file: string;
  /**
   * `edited`: the same id means something else now; `new`: no such id then;
   * `renamed`: no such id then, but a template deleted since meant exactly
   * this; `dependent`: unchanged itself, but built (through `base_ami.template`)
   * on a template that changed.
   */
  reason: ChangeReason;
  /** `renamed`: the id it had. */
  renamedFrom?: string;
  /** `dependent`: the changed template it builds on (its parent). */
  dependsOn?: string;
  /** `edited`: the file then did not validate, so what it meant then is unknown. */
  invalidBefore?: true;
  architectures: Architecture[];
  parent: string | null;
}

export interface ChangedReport {
  /** What was compared with: the revision as given (`HEAD^` by default) and its commit, null when there is none (a first commit, an all-zero sha). */
  since: { rev: string; commit: string | null };
  head: string;
  /** The templates directory as configured. */
  templatesDir: string;
  /** To build, parents before their children. */
  changed: ChangedTemplate[];
  /** Templates then that are gone now (and are not the source of a rename): nothing is built for them. */
  deleted: { id: string; file: string }[];
  /** Every template now, parents before their children. */
  templates: { id: string; architectures: Architecture[]; parent: string | null }[];
}

export interface ChangedResult {
  report: ChangedReport;
  /** Lines about the comparison itself (no earlier revision, and why), for stderr. */
  notes: string[];
}

export interface ChangedOptions {
  /** As configured, relative to the working directory; it must be inside the repository `git` works in. */
  templatesDir: string;
  /** Any revision git takes; absent: HEAD's first parent. */
  since?: string | undefined;
  git: GitPort;
  /** Each problem of an invalid template now, before the error that stops the command. */
  onProblem?: (problem: Problem) => void;
}

/** A template now: valid (the command stops on an invalid one). */
export interface CurrentTemplate {
  id: string;
  file: string;
  template: Template;
}

/** A template then: its content hash, or undefined when it did not validate (or was no regular file). */
export interface EarlierTemplate {
  id: string;
  file: string;
  hash: string | undefined;
}

/** A sha of zeros: GitHub's `before` for a push that created the branch, "no previous revision". */
const NO_REVISION = /^(0{40}|0{64})$/;
const DEFAULT_SINCE = "HEAD^";
const short = (commit: string) => commit.slice(0, 7);

export async function changedTemplates(options: ChangedOptions): Promise<ChangedResult> {
  const { git, templatesDir } = options;
  const now = await loadCurrent(templatesDir, options.onProblem);
  const graph = dependencyGraph(new Map(now.map((t) => [t.id, t.template])));
  // What build-all refuses (a missing parent, a cycle, a parent that lacks a child's region): refused here too.
  refuseGraphProblems(graph, new Set(now.map((t) => t.id)));

  const prefix = await templatesPrefix(git, templatesDir);
  const head = await git.commitOf("HEAD");
  if (head === undefined) {
    throw new CwsError("NO_COMMITS", "the repository has no commit yet, so there is nothing to compare the templates with", {
      value: "HEAD",
      suggestion: "commit the templates first (every template is then new), or run cws ami build-all to build them all",
    });
  }
  const notes: string[] = [];
  const since = await resolveSince(git, options.since, head, notes);
  const before = since.commit === null ? [] : await loadEarlier(git, since.commit, prefix, templatesDir);
  return { report: { since, head, templatesDir, ...compareTemplates(before, now, graph) }, notes };
}

/** Every template now, valid, or exit 2 with each problem at its file:line:col (as build-all stops). */
async function loadCurrent(templatesDir: string, onProblem: ChangedOptions["onProblem"]): Promise<CurrentTemplate[]> {
  const files = await listTemplateFiles(templatesDir);
  const loaded = await Promise.all(files.map((file) => loadTemplateFile(file)));
  const invalid = loaded.filter((t) => t.template === undefined);
  for (const problem of invalid.flatMap((t) => t.problems)) onProblem?.(problem);
  if (invalid.length > 0) {
    const ids = [...new Set(invalid.map((t) => t.id))];
    throw new CwsError("TEMPLATE_INVALID", `${ids.length === 1 ? `template ${ids[0]} is` : `templates ${ids.join(", ")} are`} invalid, so what build-all would build is unknown`, {
      value: invalid.map((t) => t.file).join(", "),
      suggestion: `fix the problems above (${lintAgainCommand(ids)} shows them again)`,
    });
  }
  return loaded.map((t) => ({ id: t.id, file: t.file, template: t.template! }));
}

/** The templates directory's path in the repository (`templates/`), or exit 2 when it is not in the repository git works in. */
async function templatesPrefix(git: GitPort, templatesDir: string): Promise<string> {
  const repository = await git.locate(".");
  if (repository === undefined) {
    throw new CwsError("NOT_A_GIT_REPOSITORY", "not in a git repository: cws ami changed compares the templates with an earlier commit", {
      value: ".",
      suggestion: "run it in a clone of the repository that holds the templates (in CI: after actions/checkout)",
    });
  }
  const located = await git.locate(templatesDir);
  if (located === undefined || located.top !== repository.top) {
    throw new CwsError("TEMPLATES_DIR_OUTSIDE_REPOSITORY", `the templates directory ${templatesDir} is not in the git repository at ${repository.top}`, {
      value: templatesDir,
      suggestion: "point --templates-dir (or CWS_TEMPLATES_DIR, or templates_dir in cws.config.json) at a directory of this repository, or run cws from the repository that holds the templates",
    });
  }
  return located.prefix;
}

/** The revision to compare with and its commit: `--since`, else HEAD's first parent; none for a first commit or an all-zero sha. */
async function resolveSince(git: GitPort, given: string | undefined, head: string, notes: string[]): Promise<ChangedReport["since"]> {
  if (given === undefined) {
    const [parent] = await git.parentsOf(head);
    if (parent === undefined) {
      notes.push(`HEAD (${short(head)}) is the first commit: there is no earlier revision, so every template is new`);
      return { rev: DEFAULT_SINCE, commit: null };
    }
    const commit = await git.commitOf(parent);
    if (commit === undefined) {
      throw new CwsError("REVISION_NOT_FETCHED", `HEAD's parent ${short(parent)} is not in this clone (a shallow clone?), so there is nothing to compare the templates with`, {
        value: DEFAULT_SINCE,
        suggestion: "fetch more history (git fetch --deepen=1, or actions/checkout with fetch-depth: 2 or 0), or name a revision that is here with --since",
      });
    }
    return { rev: DEFAULT_SINCE, commit };
  }
  if (NO_REVISION.test(given)) {
    notes.push(`--since ${short(given)}…: an all-zero sha names no revision (a push that created its branch), so every template is new`);
    return { rev: given, commit: null };
  }
  const commit = await git.commitOf(given);
  if (commit === undefined) {
    const shallow = await git.isShallow();
    throw new CwsError("UNKNOWN_REVISION", `--since ${JSON.stringify(given)}: no such commit in this repository${shallow ? " (a shallow clone: earlier commits are not here)" : ""}`, {
      value: given,
      suggestion: shallow
        ? "fetch the history (git fetch --unshallow, or actions/checkout with fetch-depth: 0), then run it again"
        : "give a commit, branch or tag that git log shows; a remote's branch or a tag may need git fetch first",
    });
  }
  return { rev: given, commit };
}

/** The templates at `commit`, read from git's objects by the loader's own file-name rules, parser and schema. */
async function loadEarlier(git: GitPort, commit: string, prefix: string, templatesDir: string): Promise<EarlierTemplate[]> {
  const entries = new Map((await git.listDirectory(commit, prefix)).map((entry) => [entry.name, entry]));
  const files = templateFilesOf(templatesDir, [...entries.keys()]);
  const wanted = files.map((file) => entries.get(basename(file.file))!).filter(isRegularFile);
  const blobs = await git.readBlobs(wanted.map((entry) => entry.id));
  const missing = wanted.find((entry) => !blobs.has(entry.id));
  if (missing !== undefined) {
    throw new CwsError("GIT_OBJECT_MISSING", `${prefix}${missing.name} at ${short(commit)} is not in this repository (object ${short(missing.id)}), so what it meant then cannot be read`, {
      value: missing.id,
      suggestion: "fetch the full history (git fetch --unshallow, or actions/checkout with fetch-depth: 0); in a partial clone, git fetch the missing objects",
    });
  }
  return Promise.all(
    files.map(async (file): Promise<EarlierTemplate> => {
      const entry = entries.get(basename(file.file))!;
      if (!isRegularFile(entry)) return { id: file.id, file: file.file, hash: undefined };
      const bytes = blobs.get(entry.id)!;
      const loaded = await loadTemplateFile(file, { bytes: { bytes, size: bytes.length } });
      return { id: file.id, file: file.file, hash: loaded.template === undefined ? undefined : templateContentHash(loaded.template) };
    }),
  );
}

/**
 * The comparison itself, pure: each template now against the templates then
 * by content hash, then every template built on a changed one. `graph` is the
 * dependency graph of `now`, free of problems.
 */
export function compareTemplates(
  before: readonly EarlierTemplate[],
  now: readonly CurrentTemplate[],
  graph: DependencyGraph,
): Pick<ChangedReport, "changed" | "deleted" | "templates"> {
  const then = new Map<string, EarlierTemplate>();
  // Two files with one id then (a.yml and a.yaml): neither was the template, so what it meant is unknown.
  for (const t of before) then.set(t.id, then.has(t.id) ? { ...then.get(t.id)!, hash: undefined } : t);
  const current = new Map(now.map((t) => [t.id, t]));
  const gone = [...then.values()].filter((t) => !current.has(t.id));
  const renamedFrom = new Set<string>();

  const direct = new Map<string, Pick<ChangedTemplate, "reason" | "renamedFrom" | "invalidBefore">>();
  for (const t of [...now].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const hash = templateContentHash(t.template);
    const earlier = then.get(t.id);
    if (earlier !== undefined) {
      if (earlier.hash === undefined) direct.set(t.id, { reason: "edited", invalidBefore: true });
      else if (earlier.hash !== hash) direct.set(t.id, { reason: "edited" });
      continue;
    }
    const source = gone.find((old) => old.hash === hash && !renamedFrom.has(old.id));
    if (source === undefined) {
      direct.set(t.id, { reason: "new" });
      continue;
    }
    renamedFrom.add(source.id);
    direct.set(t.id, { reason: "renamed", renamedFrom: source.id });
  }

  const dependents = graph.dependentsOf(direct.keys());
  const describe = (id: string) => {
    const { template } = current.get(id)!;
    return { architectures: [...template.base_ami.architecture], parent: template.base_ami.template ?? null };
  };
  const changed: ChangedTemplate[] = [];
  for (const id of graph.order) {
    const own = direct.get(id);
    if (own !== undefined) changed.push({ id, file: current.get(id)!.file, ...own, ...describe(id) });
    else if (dependents.has(id)) changed.push({ id, file: current.get(id)!.file, reason: "dependent", dependsOn: graph.parentOf(id)!, ...describe(id) });
  }
  return {
    changed,
    deleted: gone.filter((t) => !renamedFrom.has(t.id)).map(({ id, file }) => ({ id, file })),
    templates: graph.order.map((id) => ({ id, ...describe(id) })),
  };
}
