import { execFile, spawn } from "node:child_process";
import { resolve as resolvePath } from "node:path";
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
   * Where `dir` is in its repository: the work tree's top directory and
   * `dir`'s path below it (`templates/`, or `` for the top itself), both as
   * git spells them; undefined when `dir` is in no git work tree.
   */
  locate(dir: string): Promise<{ top: string; prefix: string } | undefined>;
  /** The commit a revision names (any form git takes: a sha, branch, tag, `HEAD~3`), or undefined when it names none here. */
  commitOf(revision: string): Promise<string | undefined>;
  /** A commit's parents as the commit records them, first parent first: in a shallow clone they may be missing from the repository. */
  parentsOf(commit: string): Promise<string[]>;
  /** Whether this is a shallow clone (commits before a depth are not here). */
  isShallow(): Promise<boolean>;
  /** The direct entries of the directory `path` (relative to the top, `` for the top) at `commit`; none when it did not exist then. */
  listDirectory(commit: string, path: string): Promise<TreeEntry[]>;
  /** The contents of blobs by id, read by one `git cat-file --batch`; an id whose object is not in the repository is left out. */
  readBlobs(ids: readonly string[]): Promise<Map<string, Uint8Array>>;
}

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

/** The port on the `git` program, run in `cwd` with `env` (the CLI's environment). */
export function createGitPort(options: { cwd: string; env: Readonly<Record<string, string | undefined>> }): GitPort {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", LANGUAGE: "C" });

  const run = (args: readonly string[], cwd = options.cwd): Promise<GitResult> =>
    new Promise((resolve, reject) => {
      execFile("git", args, { cwd, env, encoding: "buffer", maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true }, (error, stdout, stderr) => {
        const code = error === null ? 0 : (error as { code?: unknown }).code;
        if (code === "ENOENT") return reject(notFound());
        if (typeof code !== "number") return reject(error ?? new Error("git did not run"));
        resolve({ code, stdout, stderr: stderr.toString("utf8") });
      });
    });

  /** A call that must work: its failure is git's message as an error (exit 2), the command line named. */
  const check = async (args: readonly string[], cwd?: string): Promise<Buffer> => {
    const result = await run(args, cwd);
    if (result.code === 0) return result.stdout;
    throw new CwsError("GIT_FAILED", `git ${args.join(" ")} failed: ${gitMessage(result)}`, {
      value: args.join(" "),
      suggestion: "run the same git command in the repository to see what is wrong; a shallow clone may lack the objects (git fetch --unshallow, or actions/checkout with fetch-depth: 0)",
    });
  };

  return {
    async locate(dir) {
      const result = await run(["rev-parse", "--show-toplevel", "--show-prefix"], resolvePath(options.cwd, dir));
      if (result.code !== 0) {
        if (/not a git repository/i.test(result.stderr)) return undefined;
        throw new CwsError("GIT_FAILED", `git cannot read the repository at ${dir}: ${gitMessage(result)}`, {
          value: dir,
          suggestion: /dubious ownership/i.test(result.stderr)
            ? "the repository belongs to another user: run git config --global --add safe.directory with its path, as git's message says"
            : "run git status there to see what is wrong",
        });
      }
      const [top = "", prefix = ""] = result.stdout.toString("utf8").split("\n");
      return { top, prefix };
    },
    async commitOf(revision) {
      const result = await run(["rev-parse", "--verify", "--quiet", "--end-of-options", `${revision}^{commit}`]);
      return result.code === 0 ? result.stdout.toString("utf8").trim() : undefined;
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
      // --full-tree: the path is from the top whatever the working directory; literal: a directory named `t[1]` is no pattern.
      const args = ["--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, ...(path === "" ? [] : ["--", path.endsWith("/") ? path : `${path}/`])];
      const out = (await check(args)).toString("utf8");
      const prefix = path === "" || path.endsWith("/") ? path : `${path}/`;
      const entries: TreeEntry[] = [];
      for (const record of out.split("\0")) {
        const match = /^(\d+) (blob|tree|commit) ([0-9a-f]+)\t(.*)$/s.exec(record);
        if (!match) continue;
        const [, mode, type, id, full] = match;
        if (!full!.startsWith(prefix)) continue;
        entries.push({ mode: mode!, type: type as TreeEntry["type"], id: id!, name: full!.slice(prefix.length) });
      }
      return entries;
    },
    readBlobs(ids) {
      return readBatch(ids, options.cwd, env);
    },
  };
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
        reject(new CwsError("GIT_FAILED", `git cat-file --batch failed: ${gitMessage({ code: code ?? -1, stdout: Buffer.alloc(0), stderr })}`, { value: "git cat-file --batch" }));
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
