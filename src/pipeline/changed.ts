import { basename, posix } from "node:path";
import { CwsError } from "../errors.js";
import { refuseGraphProblems } from "../fleet/targets.js";
import type { Architecture } from "../template/architectures.js";
import { templateContentHash } from "../template/content-hash.js";
import { dependencyGraph, type DependencyGraph } from "../template/graph.js";
import { invalidTemplatesError, type Problem } from "../template/problems.js";
import { listTemplateFiles, loadTemplateFile, templateFilesOf } from "../template/repository.js";
import type { Template } from "../template/schema.js";
import { isRegularFile, type GitPort, type TreeEntry } from "./git.js";

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
  /** `edited`: what the id meant then is unknown (the file did not validate, or could not be read as a template), said in `unknownBefore`. */
  invalidBefore?: true;
  /** With `invalidBefore`: why, in words (`it did not validate: …`, `it was a symbolic link to ../x.yml, outside the repository`). */
  unknownBefore?: string;
  architectures: Architecture[];
  parent: string | null;
}

/** A template then that is gone now; `invalidBefore` (and why, `unknownBefore`) when it was no valid template then either, so nothing was ever built from it. */
export interface DeletedTemplate {
  id: string;
  file: string;
  invalidBefore?: true;
  unknownBefore?: string;
}

export interface ChangedReport {
  /**
   * What was compared with: the revision as given (`HEAD^` by default) and its commit, null when there is none (a first commit,
   * an all-zero sha); `templatesDirFound: false` when the templates directory's path led to no directory at that commit
   * (moved, new, or out of the repository): every template is then new.
   */
  since: { rev: string; commit: string | null; templatesDirFound?: false };
  head: string;
  /** The templates directory as configured. */
  templatesDir: string;
  /** To build, parents before their children. */
  changed: ChangedTemplate[];
  /** Templates then that are gone now (and are not the source of a rename): nothing is built for them. */
  deleted: DeletedTemplate[];
  /** Every template now, parents before their children. */
  templates: { id: string; architectures: Architecture[]; parent: string | null }[];
}

export interface ChangedResult {
  report: ChangedReport;
  /** Lines about the comparison itself (no earlier revision, and why), for stderr. */
  notes: string[];
}

export interface ChangedOptions {
  /** As configured, relative to the working directory; the repository compared is the one that holds it (the port runs git there). */
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

/** A template then: its content hash, or undefined with why what it meant is unknown (it did not validate, it was no regular file). */
export interface EarlierTemplate {
  id: string;
  file: string;
  hash: string | undefined;
  /** With no hash: why, in words (`it did not validate`). */
  unknownBecause?: string;
}

/** A sha of zeros: GitHub's `before` for a push that created the branch, "no previous revision". */
const NO_REVISION = /^(0{40}|0{64})$/;
const DEFAULT_SINCE = "HEAD^";
/** What `--since` may say for the default, HEAD's first parent: taken the same way (a first commit has none: every template is new). */
const FIRST_PARENT = /^(HEAD|@)(\^1?|~1?)$/;
/** The most symbolic links followed from one template file at the revision, as the kernel's limit on a path (ELOOP). */
const MAX_LINKS = 40;
const short = (commit: string) => commit.slice(0, 7);

export async function changedTemplates(options: ChangedOptions): Promise<ChangedResult> {
  const { git, templatesDir } = options;
  const now = await loadCurrent(templatesDir, options.onProblem);
  const graph = dependencyGraph(new Map(now.map((t) => [t.id, t.template])));
  // What build-all refuses (a missing parent, a cycle, a parent that lacks a child's region): refused here too.
  refuseGraphProblems(graph, new Set(now.map((t) => t.id)));

  const notes: string[] = [];
  const path = await templatesPath(git, templatesDir, notes);
  const resolvedHead = await git.resolveRevision("HEAD");
  const head = resolvedHead.kind === "commit" ? resolvedHead.commit : undefined;
  if (head === undefined) throw await noCommits(git);
  const since = await resolveSince(git, options.since, head, notes);
  if (since.commit === null) return { report: { since, head, templatesDir, ...compareTemplates([], now, graph) }, notes };
  // The directory's path followed at that commit, name by name: a link in it (templates -> v2) may have led elsewhere then.
  const then = await resolvePathAt(git, since.commit, { at: [], names: path.split("/") });
  const found = "path" in then && (then.entry === undefined || then.entry.type === "tree");
  if (!found) {
    notes.push(`templates dir ${templatesDir} ${"path" in then ? `was no directory (${describeEntry(then.entry!).replace(/^it was /, "")})` : describeFailure(then).replace(/^it /, "")} at ${short(since.commit)} (moved or new?): every template counts as new`);
  }
  const before = found ? await loadEarlier(git, since.commit, then.path, templatesDir) : [];
  return { report: { since: found ? since : { ...since, templatesDirFound: false }, head, templatesDir, ...compareTemplates(before, now, graph) }, notes };
}

/** Every template now, valid, or exit 2 with each problem at its file:line:col (as build-all stops). */
async function loadCurrent(templatesDir: string, onProblem: ChangedOptions["onProblem"]): Promise<CurrentTemplate[]> {
  const files = await listTemplateFiles(templatesDir);
  const loaded = await Promise.all(files.map((file) => loadTemplateFile(file)));
  const invalid = loaded.filter((t) => t.template === undefined);
  for (const problem of invalid.flatMap((t) => t.problems)) onProblem?.(problem);
  if (invalid.length > 0) throw invalidTemplatesError(invalid, ", so what build-all would build is unknown");
  return loaded.map((t) => ({ id: t.id, file: t.file, template: t.template! }));
}

/**
 * The templates directory's path in its repository as it was given (`templates`, a link in it unresolved), or exit 2 when it
 * is in none, or not in the work tree git was pointed at. In a submodule, a note: the history compared is the submodule's.
 */
async function templatesPath(git: GitPort, templatesDir: string, notes: string[]): Promise<string> {
  const repository = await git.locate();
  if (repository === undefined) {
    throw new CwsError("NOT_A_GIT_REPOSITORY", `the templates directory ${templatesDir} is in no git repository: cws ami changed compares the templates with an earlier commit of theirs`, {
      value: templatesDir,
      suggestion: "run it on a clone of the repository that holds the templates (in CI: after actions/checkout), or point --templates-dir at the templates of one",
    });
  }
  if ("outside" in repository) {
    throw new CwsError("TEMPLATES_DIR_OUTSIDE_REPOSITORY", `the templates directory ${templatesDir} is not in the work tree of the git repository at ${repository.top}, which git was pointed at`, {
      value: templatesDir,
      suggestion: "GIT_DIR or GIT_WORK_TREE in the environment name another repository: unset them, or point --templates-dir (or CWS_TEMPLATES_DIR, or templates_dir in cws.config.json) at that repository's templates",
    });
  }
  if (repository.superproject !== undefined) {
    const where = posix.relative(repository.superproject.replaceAll("\\", "/"), repository.top.replaceAll("\\", "/")) || ".";
    notes.push(
      `the templates directory ${templatesDir} is in a git submodule (${where} of ${repository.superproject}): the revisions are the submodule's own ` +
        `(HEAD^ is its previous commit); for what the superproject's last commit changed, give --since $(git -C ${repository.superproject} rev-parse HEAD^:${where})`,
    );
  }
  return repository.path;
}

/** The current branch has no commit: exit 2, naming the branch (the repository may well have commits on others). */
async function noCommits(git: GitPort): Promise<CwsError> {
  const branch = await git.currentBranch();
  return new CwsError(
    "NO_COMMITS",
    branch === undefined
      ? "HEAD names no commit yet, so there is no commit to compare the templates from"
      : `the current branch ${branch} has no commit yet (a new or orphan branch), so there is no commit to compare the templates from`,
    {
      value: branch ?? "HEAD",
      suggestion: "commit the templates on it first (every template is then new), or switch to a branch with commits (git switch main); cws ami build-all builds them all without comparing",
    },
  );
}

/**
 * The revision to compare with and its commit: `--since`, else HEAD's first parent; none for a first
 * commit or an all-zero sha. `--since HEAD^` (or `HEAD~1`, `HEAD~`, `HEAD^1`) is the default said aloud.
 */
async function resolveSince(git: GitPort, given: string | undefined, head: string, notes: string[]): Promise<ChangedReport["since"]> {
  if (given === undefined || FIRST_PARENT.test(given)) {
    const rev = given ?? DEFAULT_SINCE;
    const [parent] = await git.parentsOf(head);
    if (parent === undefined) {
      notes.push(`HEAD (${short(head)}) is the first commit: there is no earlier revision, so every template is new`);
      return { rev, commit: null };
    }
    const resolved = await git.resolveRevision(parent);
    if (resolved.kind !== "commit") {
      throw new CwsError("REVISION_NOT_FETCHED", `HEAD's parent ${short(parent)} is not in this clone (a shallow clone?), so there is nothing to compare the templates with`, {
        value: rev,
        suggestion: "fetch more history (git fetch --deepen=1, or actions/checkout with fetch-depth: 2 or 0), or name a revision that is here with --since",
      });
    }
    return { rev, commit: resolved.commit };
  }
  if (NO_REVISION.test(given)) {
    notes.push(`--since ${short(given)}…: an all-zero sha names no revision (a push that created its branch), so every template is new`);
    return { rev: given, commit: null };
  }
  const resolved = await git.resolveRevision(given);
  switch (resolved.kind) {
    case "commit":
      return { rev: given, commit: resolved.commit };
    case "ambiguous":
      throw new CwsError("AMBIGUOUS_REVISION", `--since ${JSON.stringify(given)}: more than one object's id starts with ${given}, so it names no one commit`, {
        value: given,
        suggestion: "give more digits of the commit's id (git log --oneline --abbrev=12 shows longer ones), or a branch or tag",
      });
    case "not-a-commit":
      throw new CwsError("NOT_A_COMMIT", `--since ${JSON.stringify(given)}: that is a ${resolved.type === "tree" ? "tree (a directory)" : resolved.type === "blob" ? "blob (a file's contents)" : resolved.type}, not a commit`, {
        value: given,
        suggestion: "give a commit, branch or tag (e.g. HEAD~1, origin/main, v1.2.0): the templates are read from the whole commit",
      });
    case "unknown": {
      const shallow = await git.isShallow();
      throw new CwsError("UNKNOWN_REVISION", `--since ${JSON.stringify(given)}: no such commit in this repository${shallow ? " (a shallow clone: earlier commits are not here)" : ""}`, {
        value: given,
        suggestion: shallow
          ? "fetch the history (git fetch --unshallow, or actions/checkout with fetch-depth: 0), then run it again"
          : "give a commit, branch or tag that git log shows; a remote's branch or a tag may need git fetch first",
      });
    }
  }
}

/** What an entry that is no regular file was, in words: why what a template meant then is unknown. */
function describeEntry(entry: TreeEntry): string {
  if (entry.type === "tree") return "it was a directory";
  if (isRegularFile(entry)) return "it was a file";
  if (entry.type === "commit") return "it was a submodule";
  return `it was no regular file (mode ${entry.mode})`;
}

/** Why a path led nowhere at a commit: out of the repository, to nothing, or round a chain too long; `link` the last link's target on the way. */
type PathFailure = { failed: "outside" | "missing"; link?: string } | { failed: "loop" };

/** A failure in words, of a template file (`it was a symbolic link to ../x.yml, outside the repository`). */
function describeFailure(failure: PathFailure): string {
  if (failure.failed === "loop") return `it was a chain of more than ${MAX_LINKS} symbolic links`;
  if (failure.link === undefined) return failure.failed === "outside" ? "it led outside the repository" : "it did not exist";
  return `it was a symbolic link to ${failure.link}, ${failure.failed === "outside" ? "outside the repository" : "which was not there"}`;
}

/**
 * A path at `commit` resolved name by name as the kernel resolves one on
 * disk, within the repository: a name that was a symbolic link then is
 * replaced by its target (read from git), taken from the link's directory;
 * `..` goes up from where the walk really is. `at` is a directory already
 * resolved, `names` the rest; `first`, the entry of the first name when the
 * caller has it. `entry` is undefined for the top or a `..`: a directory.
 */
async function resolvePathAt(
  git: GitPort,
  commit: string,
  start: { at: readonly string[]; names: readonly string[]; first?: TreeEntry },
): Promise<{ path: string; entry: TreeEntry | undefined } | PathFailure> {
  const at = [...start.at];
  const names = [...start.names];
  let first = start.first;
  let entry: TreeEntry | undefined;
  let link: string | undefined;
  for (let hops = 0; names.length > 0; ) {
    const name = names.shift()!;
    if (name === "" || name === ".") continue;
    if (name === "..") {
      if (at.length === 0) return { failed: "outside", ...(link === undefined ? {} : { link }) };
      at.pop();
      entry = undefined;
      continue;
    }
    const path = [...at, name].join("/");
    const next = first ?? (await git.entryAt(commit, path));
    first = undefined;
    // A name that is not there, or a file where a directory is needed on the way (ENOTDIR).
    if (next === undefined || (next.mode !== "120000" && next.type !== "tree" && names.some((rest) => rest !== "" && rest !== "."))) {
      return { failed: "missing", ...(link === undefined ? {} : { link }) };
    }
    if (next.mode === "120000") {
      if (++hops > MAX_LINKS) return { failed: "loop" };
      link = await readLinkTarget(git, commit, path, next);
      if (posix.isAbsolute(link)) return { failed: "outside", link };
      names.unshift(...link.split("/"));
      continue;
    }
    at.push(name);
    entry = next;
  }
  return { path: at.join("/"), entry };
}

async function readLinkTarget(git: GitPort, commit: string, path: string, link: TreeEntry): Promise<string> {
  const blob = (await git.readBlobs([link.id])).get(link.id);
  if (blob === undefined) throw objectMissing(commit, path, link.id);
  return new TextDecoder().decode(blob);
}

const objectMissing = (commit: string, path: string, id: string) =>
  new CwsError("GIT_OBJECT_MISSING", `${path} at ${short(commit)} is not in this repository (object ${short(id)}), so what it meant then cannot be read`, {
    value: id,
    suggestion: "fetch the full history (git fetch --unshallow, or actions/checkout with fetch-depth: 0); in a partial clone, git fetch the missing objects",
  });

/** The templates at `commit`, read from git's objects by the loader's own file-name rules, parser and schema. */
async function loadEarlier(git: GitPort, commit: string, dir: string, templatesDir: string): Promise<EarlierTemplate[]> {
  const entries = new Map((await git.listDirectory(commit, dir)).map((entry) => [entry.name, entry]));
  const files = templateFilesOf(templatesDir, [...entries.keys()]);
  const at = dir === "" ? [] : dir.split("/");
  const followed = await Promise.all(
    files.map(async (file) => {
      const name = basename(file.file);
      const entry = entries.get(name)!;
      if (entry.mode !== "120000") return { file, path: [...at, name].join("/"), entry };
      // Followed as the loader follows it on disk; a target that cannot be read then leaves what the template meant unknown.
      const target = await resolvePathAt(git, commit, { at, names: [name], first: entry });
      return { file, path: [...at, name].join("/"), entry: "path" in target ? (target.entry ?? { unknownBecause: "it was a symbolic link to a directory" }) : { unknownBecause: describeFailure(target) } };
    }),
  );
  const wanted = followed.flatMap(({ path, entry }) => ("id" in entry && isRegularFile(entry) ? [{ path, id: entry.id }] : []));
  const blobs = await git.readBlobs([...new Set(wanted.map((entry) => entry.id))]);
  const missing = wanted.find((entry) => !blobs.has(entry.id));
  if (missing !== undefined) throw objectMissing(commit, missing.path, missing.id);
  return Promise.all(
    followed.map(async ({ file, entry }): Promise<EarlierTemplate> => {
      const unknown = (unknownBecause: string): EarlierTemplate => ({ id: file.id, file: file.file, hash: undefined, unknownBecause });
      if (!("id" in entry)) return unknown(entry.unknownBecause);
      if (!isRegularFile(entry)) return unknown(describeEntry(entry));
      const bytes = blobs.get(entry.id)!;
      const loaded = await loadTemplateFile(file, { bytes: { bytes, size: bytes.length } });
      if (loaded.template !== undefined) return { id: file.id, file: file.file, hash: templateContentHash(loaded.template) };
      // The first problem says why, as lint would (`the file is … bytes; at most 1 MiB`), without the file's path at that commit.
      const [problem] = loaded.problems;
      return unknown(problem === undefined ? "it did not validate" : `it did not validate (${problem.line > 0 ? `line ${problem.line}: ` : ""}${problem.path === "" ? "" : `${problem.path}: `}${problem.message})`);
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
  for (const t of before) then.set(t.id, then.has(t.id) ? { ...then.get(t.id)!, hash: undefined, unknownBecause: "two files had its id" } : t);
  const current = new Map(now.map((t) => [t.id, t]));
  // By id: of two deleted templates that meant the same, a rename names the first in id order, whatever git's order was.
  const gone = [...then.values()].filter((t) => !current.has(t.id)).sort((a, b) => (a.id < b.id ? -1 : 1));
  const renamedFrom = new Set<string>();

  const direct = new Map<string, Pick<ChangedTemplate, "reason" | "renamedFrom" | "invalidBefore" | "unknownBefore">>();
  for (const t of [...now].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const hash = templateContentHash(t.template);
    const earlier = then.get(t.id);
    if (earlier !== undefined) {
      if (earlier.hash === undefined) direct.set(t.id, { reason: "edited", invalidBefore: true, unknownBefore: earlier.unknownBecause ?? "it did not validate" });
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
    deleted: gone
      .filter((t) => !renamedFrom.has(t.id))
      .map(({ id, file, hash, unknownBecause }) => (hash === undefined ? { id, file, invalidBefore: true as const, unknownBefore: unknownBecause ?? "it did not validate" } : { id, file })),
    templates: graph.order.map((id) => ({ id, ...describe(id) })),
  };
}
