import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { scratchDir } from "./cli.js";

/**
 * A real git repository in a scratch directory, for tests of what cws reads
 * from git (`cws ami changed`): files written, moved and removed as a person
 * would, commits made with a fixed author, none of the user's git
 * configuration involved (no signing, no hooks, no global ignores).
 */
export class GitRepo {
  readonly dir: string;
  readonly cleanup: () => void;

  constructor(files: Record<string, string> = {}) {
    ({ dir: this.dir, cleanup: this.cleanup } = scratchDir());
    this.git("init", "-q", "-b", "main");
    this.write(files);
  }

  /** Run git here; its trimmed stdout, or a thrown error with its stderr. */
  git(...args: string[]): string {
    const result = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", ...args], {
      cwd: this.dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: this.dir, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" },
    });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
  }

  write(files: Record<string, string>): this {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, name)), { recursive: true });
      writeFileSync(join(this.dir, name), content);
    }
    return this;
  }

  remove(...names: string[]): this {
    for (const name of names) rmSync(join(this.dir, name));
    return this;
  }

  move(from: string, to: string): this {
    renameSync(join(this.dir, from), join(this.dir, to));
    return this;
  }

  /** Stage everything (additions, edits, removals) and commit; the new commit's id. */
  commit(message = "change"): string {
    this.git("add", "-A");
    this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.git("rev-parse", "HEAD");
  }
}
