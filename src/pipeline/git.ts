import { execFile, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, relative as relativePath, resolve as resolvePath, sep } from "node:path";
import { CwsError } from "../errors.js";

/**
 * The few questions `cws ami changed` asks git, behind a narrow port so that
 * the comparison (changed.ts) is plain code a test can drive with a fake.
 * Every call runs the `git` program with an argument array (never a shell),
 * with prompts off (a missing credential must fail, not wait for a person in
 * CI) and LC_ALL=C (git's messages are parsed). Git objects are read, never
 * checked out: the working tree and the index are left as they are.
 */
export interface GitPort {
  /**
   * The repository that holds the directory git runs in (the templates
   * directory): its work tree's top; the directory's path below it as it was
   * given (`templates`, or `` for the top itself, with `/` between names),
   * a symbolic link in it left as it is, so that it can be followed at
   * another commit, or git's own resolved path when the given one does not
   * pass through the top; the superproject's work tree when the repository
   * is a submodule. `outside` when git found a repository whose work tree
   * does not hold the directory (GIT_DIR and GIT_WORK_TREE naming another);
   * undefined when there is none.
   */
  locate(): Promise<{ top: string; path: string; superproject?: string } | { top: string; outside: true } | undefined>;
  /** The branch HEAD is on (`main`), undefined when HEAD is detached. */
  currentBranch(): Promise<string | undefined>;
  /** What a revision names (any form git takes: a sha, branch, tag, `HEAD~3`): a commit, or why it names none. */
  resolveRevision(revision: string): Promise<Revision>;
  /** A commit's parents as the commit records them, first parent first: in a shallow clone they may be missing from the repository. */
  parentsOf(commit: string): Promise<string[]>;
  /** Whether this is a shallow clone (commits before a depth are not here). */
  isShallow(): Promise<boolean>;
  /** The direct entries of the directory `path` (relative to the top, `` for the top) at `commit`; none when it did not exist then. */
  listDirectory(commit: string, path: string): Promise<TreeEntry[]>;
  /** The entry at `path` (relative to the top) at `commit`, undefined when there is none (a symbolic link's target). */
  entryAt(commit: string, path: string): Promise<TreeEntry | undefined>;
  /**
   * The contents of blobs by id, read by one `git cat-file --batch`; an id
   * whose object is not in the repository is left out. A partial clone that
   * cannot fetch them is GIT_OBJECT_MISSING.
   */
  readBlobs(ids: readonly string[]): Promise<Map<string, Uint8Array>>;
}

/**
 * A revision as git resolves it: a commit; a short id several objects start
 * with; an object that is no commit (a tree, a blob: `HEAD^{tree}`,
 * `HEAD:templates`); nothing at all.
 */
export type Revision = { kind: "commit"; commit: string } | { kind: "ambiguous" } | { kind: "not-a-commit"; type: string } | { kind: "unknown" };

export interface TreeEntry {
  /** The name within the directory. */
  name: string;
  /** `100644`, `100755` (regular files), `120000` (a symbolic link), `040000` (a directory), `160000` (a submodule). */
  mode: string;
  type: "blob" | "tree" | "commit";
  id: string;
}

/** A regular file, as the templates loader reads only regular files. */
export function isRegularFile(entry: Pick<TreeEntry, "mode" | "type">): boolean {
  return entry.type === "blob" && (entry.mode === "100644" || entry.mode === "100755");
}

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Template blobs are small; this bounds a listing or a batch of them with room to spare. */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

const notFound = () =>
  new CwsError("GIT_NOT_FOUND", "git is not installed (or not on PATH): cws ami changed reads the templates of an earlier revision with it", {
    value: "git",
    suggestion: "install git (apt-get install git, brew install git), or put it on PATH",
  });

/** git's own first line of complaint, for messages. */
function gitMessage(result: GitResult): string {
  return (
    result.stderr
      .split("\n")
      .map((line) => line.replace(/^(fatal|error): /, "").trim())
      .find((line) => line !== "") ?? `git exited with ${result.code}`
  );
}

/**
 * Git's variables that name paths: a relative one means relative to where the
 * user typed the command, as git users expect, not to the directory git is
 * run in (the templates directory).
 */
const GIT_PATH_VARIABLES = ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"] as const;

/** A path's real form, for comparing where two paths are (a symbolic link in /tmp, a case-insensitive disk); as given when it cannot be resolved. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * `dir`'s path below `top` as it was given: the path from the first of its
 * ancestors that is `top` (the same directory, however spelled: /tmp may be
 * a link), names joined by `/`, symbolic links in it not resolved. Undefined
 * when no ancestor is `top` (the path came in through a link outside the
 * repository).
 */
function pathAsGiven(top: string, dir: string): string | undefined {
  const realTop = realPath(top);
  for (let ancestor = dir, rest: string[] = []; ; ) {
    if (realPath(ancestor) === realTop) return rest.join("/");
    const parent = dirname(ancestor);
    if (parent === ancestor) return undefined;
    rest = [basename(ancestor), ...rest];
    ancestor = parent;
  }
}

/**
 * GIT_DIR without GIT_WORK_TREE: git takes the directory it runs in for the
 * top of the work tree (unless the repository's core.worktree says
 * otherwise), so the answer would depend on where git happens to run. Taken
 * as git says it is where cws was started when that is where the repository
 * is (GIT_DIR=.git at the top) or core.worktree names it; refused otherwise,
 * since git would then call any directory below the one cws was started in
 * part of that repository.
 */
async function settleWorkTree(
  env: Record<string, string>,
  invokedFrom: string,
  spawnGit: (args: readonly string[], where: string) => Promise<GitResult>,
): Promise<void> {
  const gitDir = env.GIT_DIR ?? "";
  if (gitDir === "" || (env.GIT_WORK_TREE ?? "") !== "") return;
  const result = await spawnGit(["rev-parse", "--show-toplevel"], invokedFrom);
  const top = result.stdout.toString("utf8").trim();
  // A bare repository has no work tree: the calls that need one say so in git's words.
  if (result.code !== 0 || top === "") return;
  const named = (await spawnGit(["config", "--get", "core.worktree"], invokedFrom)).stdout.toString("utf8").trim() !== "";
  if (!named && realPath(dirname(gitDir)) !== realPath(top)) {
    throw new CwsError("GIT_WORK_TREE_NEEDED", `GIT_DIR is set (${gitDir}) without GIT_WORK_TREE, and cws was not started at the top of that repository's work tree: git would take ${invokedFrom} for it`, {
      value: gitDir,
      suggestion: "set GIT_WORK_TREE to the repository's work tree too, or unset GIT_DIR (git then finds the repository that holds the templates by itself), or start cws in the directory that holds GIT_DIR",
    });
  }
  env.GIT_WORK_TREE = top;
}

/**
 * The port on the `git` program, run in `dir` (the templates directory, so
 * that the repository is the one that holds it) with `env` (the CLI's
 * environment), its relative GIT_DIR and the like made absolute against
 * `invokedFrom`, where cws was started.
 */
export function createGitPort(options: { dir: string; invokedFrom: string; env: Readonly<Record<string, string | undefined>> }): GitPort {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  for (const key of GIT_PATH_VARIABLES) if (env[key] !== undefined && env[key] !== "") env[key] = resolvePath(options.invokedFrom, env[key]);
  Object.assign(env, { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", LANGUAGE: "C" });
  const cwd = resolvePath(options.invokedFrom, options.dir);

  const spawnGit = (args: readonly string[], where: string): Promise<GitResult> =>
    new Promise((resolve, reject) => {
      execFile("git", args, { cwd: where, env, encoding: "buffer", maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true }, (error, stdout, stderr) => {
        const code = error === null ? 0 : (error as { code?: unknown }).code;
        if (code === "ENOENT") return reject(notFound());
        if (typeof code !== "number") return reject(error ?? new Error("git did not run"));
        resolve({ code, stdout, stderr: stderr.toString("utf8") });
      });
    });
  // Asked once, at the first call (never before: a refusal must reach a caller that awaits it).
  let prepared: Promise<void> | undefined;
  const prepare = () => (prepared ??= settleWorkTree(env, options.invokedFrom, spawnGit));
  const run = async (args: readonly string[]): Promise<GitResult> => {
    await prepare();
    return spawnGit(args, cwd);
  };

  /** A call that must work: its failure is git's message as an error (exit 2), the command line named. */
  const check = async (args: readonly string[]): Promise<Buffer> => {
    const result = await run(args);
    if (result.code === 0) return result.stdout;
    throw gitFailed(`git ${args.join(" ")}`, result, options.dir);
  };

  /** The entries `ls-tree` lists for `pathspec` at `commit`, with their paths from the top. */
  const listTree = async (commit: string, pathspec: readonly string[]): Promise<(TreeEntry & { path: string })[]> => {
    // --full-tree: paths from the top whatever the working directory; literal: a directory named `t[1]` is no pattern.
    const out = (await check(["--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, ...(pathspec.length === 0 ? [] : ["--", ...pathspec])])).toString("utf8");
    const entries: (TreeEntry & { path: string })[] = [];
    for (const record of out.split("\0")) {
      const match = /^(\d+) (blob|tree|commit) ([0-9a-f]+)\t(.*)$/s.exec(record);
      if (match) entries.push({ mode: match[1]!, type: match[2] as TreeEntry["type"], id: match[3]!, path: match[4]!, name: match[4]!.slice(match[4]!.lastIndexOf("/") + 1) });
    }
    return entries;
  };

  return {
    async locate() {
      const result = await run(["rev-parse", "--show-toplevel", "--show-prefix", "--show-superproject-working-tree"]);
      if (result.code !== 0) {
        if (/not a git repository/i.test(result.stderr)) return undefined;
        throw new CwsError("GIT_FAILED", `git cannot read the repository that holds ${options.dir}: ${gitMessage(result)}`, {
          value: options.dir,
          suggestion: /dubious ownership/i.test(result.stderr)
            ? "the repository belongs to another user: run git config --global --add safe.directory with its path, as git's message says"
            : `run git status in ${options.dir} to see what is wrong`,
        });
      }
      const [top = "", prefix = "", superproject = ""] = result.stdout.toString("utf8").split("\n");
      // GIT_DIR and GIT_WORK_TREE may name a repository elsewhere: git then answers for a work tree that does not hold the directory.
      const below = relativePath(realPath(top), realPath(cwd));
      if (below === ".." || below.startsWith(`..${sep}`) || isAbsolute(below)) return { top, outside: true };
      const path = pathAsGiven(top, cwd) ?? prefix.replace(/\/$/, "");
      return superproject === "" ? { top, path } : { top, path, superproject };
    },
    async currentBranch() {
      const result = await run(["symbolic-ref", "--quiet", "--short", "HEAD"]);
      const name = result.stdout.toString("utf8").trim();
      return result.code === 0 && name !== "" ? name : undefined;
    },
    async resolveRevision(revision) {
      // The object first, its type next: `REV^{commit}` appended to the text would turn `:/fix` into a search for `fix^{commit}`.
      const object = await run(["rev-parse", "--verify", "--end-of-options", revision]);
      if (object.code !== 0) return /short object ID .* is ambiguous/i.test(object.stderr) ? { kind: "ambiguous" } : { kind: "unknown" };
      const id = object.stdout.toString("utf8").trim();
      const type = await run(["cat-file", "-t", id]);
      if (type.code !== 0) return { kind: "unknown" };
      const kind = type.stdout.toString("utf8").trim();
      if (kind === "commit") return { kind: "commit", commit: id };
      if (kind !== "tag") return { kind: "not-a-commit", type: kind };
      // An annotated tag: peeled on its id, to the commit it tags, or to what it tags instead (`expected commit type, but the object dereferences to tree type`).
      const peeled = await run(["rev-parse", "--verify", "--end-of-options", `${id}^{commit}`]);
      if (peeled.code === 0) return { kind: "commit", commit: peeled.stdout.toString("utf8").trim() };
      return { kind: "not-a-commit", type: /dereferences to (\w+) type/.exec(peeled.stderr)?.[1] ?? "tag" };
    },
    async parentsOf(commit) {
      const text = (await check(["cat-file", "commit", commit])).toString("utf8");
      const header = text.slice(0, text.indexOf("\n\n") === -1 ? text.length : text.indexOf("\n\n"));
      return header
        .split("\n")
        .filter((line) => line.startsWith("parent "))
        .map((line) => line.slice("parent ".length).trim());
    },
    async isShallow() {
      return (await check(["rev-parse", "--is-shallow-repository"])).toString("utf8").trim() === "true";
    },
    async listDirectory(commit, path) {
      const prefix = path === "" || path.endsWith("/") ? path : `${path}/`;
      const entries = await listTree(commit, prefix === "" ? [] : [prefix]);
      return entries.filter((entry) => entry.path.startsWith(prefix)).map(({ path: full, ...entry }) => ({ ...entry, name: full.slice(prefix.length) }));
    },
    async entryAt(commit, path) {
      const found = (await listTree(commit, [path])).find((entry) => entry.path === path);
      if (found === undefined) return undefined;
      const { path: _path, ...entry } = found;
      return entry;
    },
    async readBlobs(ids) {
      try {
        await prepare();
        return await readBatch(ids, cwd, env);
      } catch (error) {
        if (!(error instanceof BatchFailed)) throw error;
        // A partial clone fetches a blob it lacks from its remote as it is read: an unreachable remote fails the whole batch.
        // (git 2.45's --no-lazy-fetch would make that a `missing` answer; older gits have no such switch.)
        // A partial clone: a remote marked promisor (extensions.partialClone in older clones).
        const partial = await run(["config", "--get-regexp", "^(extensions\\.partialclone|remote\\..*\\.promisor)$"]);
        if (partial.code === 0) {
          throw new CwsError("GIT_OBJECT_MISSING", `the templates at the revision are not all in this partial clone, and git could not fetch them: ${gitMessage(error.result)}`, {
            value: "git cat-file --batch",
            suggestion: "make the clone's remote reachable (git remote -v shows it) and run it again, or fetch the objects (git fetch origin); in CI, actions/checkout without filter",
          });
        }
        throw gitFailed("git cat-file --batch", error.result, options.dir);
      }
    },
  };
}

/** git's failure of a call that must work, with what to do: run it yourself to see why, and the usual cause. */
function gitFailed(command: string, result: GitResult, dir: string): CwsError {
  return new CwsError("GIT_FAILED", `${command} failed: ${gitMessage(result)}`, {
    value: command,
    suggestion: `run the same git command in ${dir} to see what is wrong; a shallow or partial clone may lack the objects (git fetch --unshallow, or actions/checkout with fetch-depth: 0)`,
  });
}

/** `git cat-file --batch` exited non-zero: its result, for the port to word. */
class BatchFailed extends Error {
  constructor(readonly result: GitResult) {
    super(`git cat-file --batch exited with ${result.code}`);
  }
}

/**
 * `git cat-file --batch`: one process for every blob. Each answer is
 * `<id> <type> <size>\n<contents>\n`, or `<id> missing\n` for an object the
 * repository lacks (a shallow or partial clone).
 */
function readBatch(ids: readonly string[], cwd: string, env: Record<string, string>): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  if (ids.length === 0) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd, env, stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT" ? notFound() : error));
    // The answers are read when git is done; a broken pipe then is git's exit, reported below.
    child.stdin.on("error", () => undefined);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new BatchFailed({ code: code ?? -1, stdout: Buffer.alloc(0), stderr }));
        return;
      }
      const out = Buffer.concat(chunks);
      let at = 0;
      while (at < out.length) {
        const end = out.indexOf(0x0a, at);
        if (end === -1) break;
        const [id, type, size] = out.subarray(at, end).toString("utf8").split(" ");
        at = end + 1;
        if (type === "missing" || type === "ambiguous" || size === undefined) continue;
        const length = Number(size);
        if (type === "blob") found.set(id!, new Uint8Array(out.subarray(at, at + length)));
        at += length + 1;
      }
      resolve(found);
    });
    child.stdin.end(ids.map((id) => `${id}\n`).join(""));
  });
}
