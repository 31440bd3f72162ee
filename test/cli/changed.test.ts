import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ChangedReport } from "../../src/pipeline/changed.js";
import { FORBID_AWS_SDK, runCli, type CliResult } from "../helpers/cli.js";
import { GitRepo } from "../helpers/git-repo.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * `cws ami changed` on real git histories made here: the built CLI, run in
 * the repository as CI runs it, offline and without the AWS SDK. Each history
 * is the smallest that shows one case: an edit, an amis-only edit, a rename,
 * a delete, a dependency, a merge, a first commit.
 */

/** A template of its own (its script says `tag`), built from a base image or on `parent`. */
function template(tag: string, parent?: string): string {
  const own = VALID_TEMPLATE.replace("echo ready > /var/tmp/ready", `echo ${tag}\n  echo ready > /var/tmp/ready`);
  return parent === undefined ? own : own.replace("source: ubuntu-22.04-lts", `template: ${parent}`);
}

/** base <- python <- ml, and r and other on their own. */
const FLEET = {
  "templates/base.yml": template("base"),
  "templates/python.yml": template("python", "base"),
  "templates/ml.yml": template("ml", "python"),
  "templates/r.yml": template("r"),
  "templates/other.yml": template("other"),
};

const repos: GitRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

function repoWith(files: Record<string, string> = FLEET): GitRepo {
  const repo = new GitRepo(files);
  repos.push(repo);
  return repo;
}

function cws(repo: GitRepo | string, args: string[], env: Record<string, string> = {}): CliResult {
  const cwd = typeof repo === "string" ? repo : repo.dir;
  return runCli(["ami", "changed", ...args], { cwd, env: { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}`, ...env } });
}

/** The ids on stdout, in order; the command must succeed. */
function changed(repo: GitRepo | string, args: string[] = [], env: Record<string, string> = {}): string[] {
  const result = cws(repo, args, env);
  expect(result.status, result.stderr).toBe(0);
  expect(result.stderr).not.toContain("AWS SDK loaded");
  return result.stdout === "" ? [] : result.stdout.trimEnd().split("\n");
}

function report(repo: GitRepo, args: string[] = []): ChangedReport {
  const result = cws(repo, ["--json", ...args]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ChangedReport;
}

/** Exit 2 with this error code, in words on stderr and as the --json document. */
function refused(repo: GitRepo | string, args: string[], code: string, env: Record<string, string> = {}): { message: string; suggestion: string } {
  const text = cws(repo, args, env);
  expect(text.status, text.stderr).toBe(2);
  expect(text.stdout).toBe("");
  const json = cws(repo, ["--json", ...args], env);
  expect(json.status).toBe(2);
  const document = JSON.parse(json.stdout) as { error: { code: string; message: string; suggestion: string }; exitCode: number };
  expect(document.error.code, text.stderr).toBe(code);
  expect(text.stderr).toContain(`error: ${document.error.message}\n`);
  return document.error;
}

const edit = (text: string) => text.replace("echo ready", "echo changed; echo ready");

describe("cws ami changed (built CLI, real git histories)", () => {
  it("lists an edited template and everything built on it, transitively, parents first, and nothing else", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/base.yml": edit(FLEET["templates/base.yml"]) }).commit("edit base");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("base\npython\nml\n");
    const head1 = repo.git("rev-parse", "--short=7", "HEAD^");
    expect(result.stderr).toBe(
      `base: edited\npython: builds on base\nml: builds on python, which builds on base\n3 of 5 templates changed since ${head1} (HEAD^)\n`,
    );

    // A child's edit leaves its parent out.
    repo.write({ "templates/python.yml": edit(FLEET["templates/python.yml"]) }).commit("edit python");
    expect(changed(repo)).toEqual(["python", "ml"]);
    const document = report(repo);
    expect(document.changed).toEqual([
      { id: "python", file: join("templates", "python.yml"), reason: "edited", architectures: ["x86_64", "arm64"], parent: "base" },
      { id: "ml", file: join("templates", "ml.yml"), reason: "dependent", dependsOn: "python", architectures: ["x86_64", "arm64"], parent: "python" },
    ]);
  });

  it("finds nothing changed after an amis-only edit (as update-templates writes it), or one of comments, formatting or key order", () => {
    const repo = repoWith();
    repo.commit("fleet");
    // The registry's AMIs written into python's amis: block by update-templates itself.
    repo.write({ "registry/amis.json": JSON.stringify(registryWith({ python: { "us-east-1": { x86_64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } })) });
    const update = runCli(["ami", "update-templates", "python"], { cwd: repo.dir });
    expect(update.status, update.stderr).toBe(0);
    expect(readFileSync(join(repo.dir, "templates/python.yml"), "utf8")).toContain("ami-0123456789abcdef0");
    repo.commit("update-templates");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^No template changed since [0-9a-f]{7} \(HEAD\^\) \(5 templates compared\)\n$/);

    // A comment, another layout (flow list to block list, other quoting) and keys in another order.
    const rewritten = `# Python for research\nregions:\n  - us-east-1\n  - 'us-west-2'\n${FLEET["templates/other.yml"].replace("regions: [us-east-1, us-west-2]\n", "")}`;
    repo.write({ "templates/other.yml": rewritten }).commit("reformat");
    expect(changed(repo)).toEqual([]);
    expect(report(repo).changed).toEqual([]);
  });

  it("counts a change of regions as a change (build-all copies the image to a new region)", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/r.yml": FLEET["templates/r.yml"].replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-west-2, eu-west-1]") }).commit("r in eu-west-1");
    expect(changed(repo)).toEqual(["r"]);
  });

  it("reports a rename (git mv, same content) as renamed from the old id, which is not deleted; a rename with an edit as new and deleted", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.git("mv", "templates/r.yml", "templates/rstats.yml");
    repo.commit("rename r");
    const renamed = cws(repo, []);
    expect(renamed.stdout).toBe("rstats\n");
    expect(renamed.stderr).toContain("rstats: renamed from r\n");
    const document = report(repo);
    expect(document.changed).toEqual([expect.objectContaining({ id: "rstats", reason: "renamed", renamedFrom: "r", parent: null })]);
    expect(document.deleted).toEqual([]);

    repo.move("templates/rstats.yml", "templates/rlang.yml");
    repo.write({ "templates/rlang.yml": edit(FLEET["templates/r.yml"]) }).commit("rename and edit");
    const both = report(repo);
    expect(both.changed).toEqual([expect.objectContaining({ id: "rlang", reason: "new" })]);
    expect(both.deleted).toEqual([{ id: "rstats", file: join("templates", "rstats.yml") }]);
  });

  it("lists a deleted template apart, builds nothing for it, and refuses a template still built on it (exit 2, as build-all would)", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.remove("templates/other.yml").commit("delete other");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("other: deleted (nothing to build; its images stay in AWS and in the registry until cws ami cleanup removes them)\n");
    expect(result.stderr).toMatch(/No template changed since [0-9a-f]{7} \(HEAD\^\) \(4 templates compared\); 1 deleted\n$/);
    expect(report(repo)).toMatchObject({ changed: [], deleted: [{ id: "other", file: join("templates", "other.yml") }] });

    // ml still names python: what build-all would refuse, changed refuses, whatever the revision.
    repo.remove("templates/python.yml").commit("delete python");
    const error = refused(repo, [], "TEMPLATE_PARENT_MISSING");
    expect(error.message).toContain('ml: no template "python" to build on');
  });

  it("lists a new template, and an untracked one in the working tree too (what build-all would build)", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/julia.yml": template("julia", "base") }).commit("julia");
    expect(report(repo).changed).toEqual([expect.objectContaining({ id: "julia", reason: "new", parent: "base" })]);
    // Not committed, not even added: it counts, as an uncommitted edit does.
    repo.write({ "templates/zig.yml": template("zig"), "templates/r.yml": edit(FLEET["templates/r.yml"]) });
    expect(changed(repo, ["--since", "HEAD"])).toEqual(["r", "zig"]);
    expect(changed(repo)).toEqual(["julia", "r", "zig"]);
  });

  it("on a merge commit compares with the first parent by default (what the merge brought in), and with the second when asked", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.git("checkout", "-q", "-b", "feature");
    repo.write({ "templates/python.yml": edit(FLEET["templates/python.yml"]) }).commit("feature: python");
    repo.git("checkout", "-q", "main");
    repo.write({ "templates/other.yml": edit(FLEET["templates/other.yml"]) }).commit("main: other");
    repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature");
    expect(repo.git("rev-list", "--parents", "-n", "1", "HEAD").split(" ")).toHaveLength(3);
    expect(changed(repo)).toEqual(["python", "ml"]);
    expect(changed(repo, ["--since", "HEAD^"])).toEqual(["python", "ml"]);
    expect(changed(repo, ["--since", "HEAD^2"])).toEqual(["other"]);
    expect(report(repo, ["--since", "HEAD^2"]).since).toEqual({ rev: "HEAD^2", commit: repo.git("rev-parse", "HEAD^2") });
  });

  it("makes every template new on a first commit (no parent) and for an all-zero sha, saying why on stderr", () => {
    const repo = repoWith();
    const head = repo.commit("first");
    const first = cws(repo, []);
    expect(first.status, first.stderr).toBe(0);
    const ids = first.stdout.trimEnd().split("\n");
    expect([...ids].sort()).toEqual(["base", "ml", "other", "python", "r"]);
    // Parents before children.
    expect(ids.indexOf("base")).toBeLessThan(ids.indexOf("python"));
    expect(ids.indexOf("python")).toBeLessThan(ids.indexOf("ml"));
    expect(first.stderr).toContain(`HEAD (${head.slice(0, 7)}) is the first commit: there is no earlier revision, so every template is new\n`);
    expect(first.stderr).toContain("5 of 5 templates new: no earlier revision to compare with\n");
    expect(report(repo)).toMatchObject({ since: { rev: "HEAD^", commit: null }, head, templatesDir: "./templates", deleted: [] });

    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("second");
    const zeros = "0".repeat(40);
    const result = cws(repo, ["--since", zeros]);
    expect(result.stdout.trimEnd().split("\n").sort()).toEqual(["base", "ml", "other", "python", "r"]);
    expect(result.stderr).toContain("an all-zero sha names no revision (a push that created its branch), so every template is new");
    expect(report(repo, ["--since", zeros]).since).toEqual({ rev: zeros, commit: null });
  });

  it("takes a tag, HEAD~2 and a sha as --since, and refuses a revision it does not know (exit 2, naming it)", () => {
    const repo = repoWith();
    const first = repo.commit("fleet");
    repo.git("tag", "v1");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    repo.write({ "templates/other.yml": edit(FLEET["templates/other.yml"]) }).commit("other");
    expect(changed(repo)).toEqual(["other"]);
    expect(changed(repo, ["--since", "v1"])).toEqual(["other", "r"]);
    expect(changed(repo, ["--since", "HEAD~2"])).toEqual(["other", "r"]);
    expect(changed(repo, ["--since", first])).toEqual(["other", "r"]);
    expect(report(repo, ["--since", "v1"]).since).toEqual({ rev: "v1", commit: first });

    const error = refused(repo, ["--since", "no-such-branch"], "UNKNOWN_REVISION");
    expect(error.message).toBe('--since "no-such-branch": no such commit in this repository');
    expect(error.suggestion).toContain("git fetch");
    // A sha that is not here, and a value that is no revision at all.
    refused(repo, ["--since", "1234567890abcdef1234567890abcdef12345678"], "UNKNOWN_REVISION");
    expect(refused(repo, ["--since", "HEAD~1..HEAD"], "BAD_OPTION").message).toBe('--since "HEAD~1..HEAD": a range, not one revision');
  });

  it("says what is missing in a shallow clone or when an object is gone, rather than calling everything new", () => {
    const origin = repoWith();
    origin.commit("fleet");
    origin.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    const clone = mkdtempSync(join(tmpdir(), "cws-shallow-"));
    try {
      origin.git("clone", "-q", "--depth", "1", `file://${origin.dir}`, clone);
      const parent = origin.git("rev-parse", "HEAD^");
      const error = refused(clone, [], "REVISION_NOT_FETCHED");
      expect(error.message).toContain(`HEAD's parent ${parent.slice(0, 7)} is not in this clone`);
      expect(error.suggestion).toContain("fetch-depth");
      expect(refused(clone, ["--since", parent], "UNKNOWN_REVISION").message).toContain("(a shallow clone: earlier commits are not here)");
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }

    // The commit and its tree are here, a template's blob is not (a broken or partial clone).
    const blob = origin.git("rev-parse", "HEAD^:templates/r.yml");
    const object = join(origin.dir, ".git", "objects", blob.slice(0, 2), blob.slice(2));
    expect(existsSync(object)).toBe(true);
    rmSync(object);
    const error = refused(origin, [], "GIT_OBJECT_MISSING");
    expect(error.message).toContain("templates/r.yml at");
  });

  it("counts a template that did not validate at the revision as edited, saying its first problem then", () => {
    const repo = repoWith();
    repo.write({ "templates/python.yml": FLEET["templates/python.yml"].replace("version:", "versoin:") }).commit("broken python");
    repo.write({ "templates/python.yml": FLEET["templates/python.yml"] }).commit("fixed");
    const result = cws(repo, []);
    expect(result.stdout).toBe("python\nml\n");
    expect(result.stderr).toMatch(/python: edited \(at [0-9a-f]{7} it did not validate \(line \d+: .*versoin.*\), so what it meant then is unknown\)\n/);
    expect(report(repo).changed[0]).toMatchObject({ id: "python", reason: "edited", invalidBefore: true, unknownBefore: expect.stringMatching(/^it did not validate \(line \d+: .*versoin/) });
  });

  it("says a template deleted since was no valid template then either, so nothing was ever built from it", () => {
    const repo = repoWith();
    repo.write({ "templates/huge.yml": `${FLEET["templates/r.yml"]}\n# ${"x".repeat(1024 * 1024)}\n` }).commit("a template too big");
    repo.remove("templates/huge.yml").commit("gone");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/huge: deleted \(at [0-9a-f]{7} it was not a valid template either: it did not validate \((line 1: )?the file is [\d,]+ bytes.*at most [\d,]+ bytes \(1 MiB\)\); nothing was built from it\)\n/);
    expect(result.stderr).not.toContain("cws ami cleanup");
    expect(report(repo).deleted).toEqual([{ id: "huge", file: join("templates", "huge.yml"), invalidBefore: true, unknownBefore: expect.stringContaining("(1 MiB)") }]);
  });

  it("refuses an invalid template now with its problems at file:line:col, as build-all does", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/r.yml": FLEET["templates/r.yml"].replace("version:", "versoin:") });
    const result = cws(repo, []);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/templates\/r\.yml:\d+:\d+/);
    expect(refused(repo, [], "TEMPLATE_INVALID").message).toContain("template r is invalid");
    // With --json the problems are in the document too, as lint lists them: what stderr said above the error.
    const document = JSON.parse(cws(repo, ["--json"]).stdout) as { error: { problems: { file: string; line: number; message: string }[]; suggestion: string } };
    expect(document.error.problems).toEqual([expect.objectContaining({ file: join("templates", "r.yml"), line: expect.any(Number), message: expect.stringContaining("versoin") })]);
    expect(document.error.suggestion).toContain("error.problems");
  });

  it("reads .yaml files by the loader's rules: a .yml renamed .yaml is the same template; a .yaml edit is an edit", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.move("templates/r.yml", "templates/r.yaml").commit("r as .yaml");
    expect(changed(repo)).toEqual([]);
    repo.write({ "templates/r.yaml": edit(FLEET["templates/r.yml"]), "templates/.notes.yml": "not a template" }).commit("edit r.yaml");
    expect(report(repo).changed).toEqual([expect.objectContaining({ id: "r", file: join("templates", "r.yaml"), reason: "edited" })]);
  });

  it("follows the templates directory wherever it is configured in the repository, and refuses one outside it", () => {
    const files = Object.fromEntries(Object.entries(FLEET).map(([name, text]) => [name.replace("templates/", "infra/amis/"), text]));
    const repo = repoWith({ ...files, "other/templates/x.yml": template("x") });
    repo.commit("fleet");
    repo.write({ "infra/amis/r.yml": edit(FLEET["templates/r.yml"]), "other/templates/x.yml": edit(template("x")) }).commit("r and x");
    expect(changed(repo, ["--templates-dir", "infra/amis"])).toEqual(["r"]);
    expect(changed(repo, [], { CWS_TEMPLATES_DIR: "infra/amis" })).toEqual(["r"]);
    writeFileSync(join(repo.dir, "cws.config.json"), JSON.stringify({ templates_dir: "infra/amis" }));
    expect(changed(repo)).toEqual(["r"]);
    expect(report(repo).templatesDir).toBe("infra/amis");
    expect(changed(repo, ["--templates-dir", "other/templates"])).toEqual(["x"]);
  });

  it("compares in the repository that holds the templates directory, wherever cws is started", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    const elsewhere = repoWith({ "templates/y.yml": template("y") });
    elsewhere.commit("y");
    // Started in another repository, and outside any (the templates directory given by its full path).
    expect(changed(elsewhere, ["--templates-dir", join(repo.dir, "templates")])).toEqual(["r"]);
    const plain = mkdtempSync(join(tmpdir(), "cws-no-git-"));
    try {
      expect(changed(plain, ["--templates-dir", join(repo.dir, "templates")], { GIT_CEILING_DIRECTORIES: tmpdir() })).toEqual(["r"]);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it("takes a relative GIT_DIR from where cws was started, and refuses a GIT_DIR and GIT_WORK_TREE of a repository that does not hold the templates", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    expect(changed(repo, [], { GIT_DIR: ".git" })).toEqual(["r"]);
    expect(changed(repo, [], { GIT_DIR: ".git", GIT_WORK_TREE: "." })).toEqual(["r"]);

    const other = repoWith({ "templates/y.yml": template("y") });
    other.commit("y");
    const error = refused(other, [], "TEMPLATES_DIR_OUTSIDE_REPOSITORY", { GIT_DIR: join(repo.dir, ".git"), GIT_WORK_TREE: repo.dir });
    expect(error.message).toContain(`is not in the work tree of the git repository at ${repo.dir}`);
    expect(error.suggestion).toContain("GIT_DIR");
  });

  it("exits 2 outside a git repository and without git", () => {
    const plain = mkdtempSync(join(tmpdir(), "cws-no-git-"));
    try {
      // Templates, but no repository (GIT_CEILING_DIRECTORIES: git does not look above the scratch directory).
      mkdirSync(join(plain, "templates"));
      writeFileSync(join(plain, "templates", "r.yml"), FLEET["templates/r.yml"]);
      const error = refused(plain, [], "NOT_A_GIT_REPOSITORY", { GIT_CEILING_DIRECTORIES: tmpdir() });
      expect(error.suggestion).toContain("actions/checkout");
      expect(error.message).toContain("the templates directory ./templates is in no git repository");
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
    const repo = repoWith();
    repo.commit("fleet");
    // No git on PATH (node itself is run by its full path).
    const error = refused(repo, [], "GIT_NOT_FOUND", { PATH: join(repo.dir, "no-bin") });
    expect(error.message).toContain("git is not installed");
  });
  it("follows a symbolic link at the revision as the loader follows it now, and says why when it cannot", () => {
    const repo = repoWith();
    repo.commit("fleet");
    symlinkSync("r.yml", join(repo.dir, "templates", "link.yml"));
    repo.commit("link");
    repo.write({ "README.md": "notes" }).commit("readme");
    // The link and its target unchanged: nothing to build, on every run.
    expect(changed(repo)).toEqual([]);
    // Its target edited: the link's template is edited too.
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    expect(changed(repo)).toEqual(["link", "r"]);

    // At the revision a link out of the repository, and one to a file that was not there; now plain files.
    symlinkSync(join("..", "..", "outside.yml"), join(repo.dir, "templates", "out.yml"));
    symlinkSync("gone.yml", join(repo.dir, "templates", "dangling.yml"));
    symlinkSync("chain1.yml", join(repo.dir, "templates", "chain2.yml"));
    symlinkSync("link.yml", join(repo.dir, "templates", "chain1.yml"));
    repo.commit("odd links");
    for (const name of ["out.yml", "dangling.yml"]) rmSync(join(repo.dir, "templates", name));
    repo.write({ "templates/out.yml": template("out"), "templates/dangling.yml": template("dangling") }).commit("plain files");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("dangling\nout\n");
    const at = repo.git("rev-parse", "--short=7", "HEAD^");
    expect(result.stderr).toContain(`out: edited (at ${at} it was a symbolic link to ../../outside.yml, outside the repository, so what it meant then is unknown)\n`);
    expect(result.stderr).toContain(`dangling: edited (at ${at} it was a symbolic link to gone.yml, which was not there, so what it meant then is unknown)\n`);
    expect(report(repo).changed).toEqual(expect.arrayContaining([expect.objectContaining({ id: "out", invalidBefore: true, unknownBefore: expect.stringContaining("outside the repository") })]));
  });

  it("refuses ranges in every git notation, and takes @{-1}", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.git("checkout", "-q", "-b", "side");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    for (const range of ["^HEAD", "^HEAD~1", "HEAD^!", "HEAD^@", "HEAD^-", "HEAD^-1", "main...HEAD"]) {
      expect(refused(repo, ["--since", range], "BAD_OPTION").message, range).toBe(`--since ${JSON.stringify(range)}: a range, not one revision`);
    }
    // The branch checked out before this one (main): one revision, though it holds a -.
    expect(changed(repo, ["--since", "@{-1}"])).toEqual(["r"]);
  });

  it("says a short id is ambiguous, and that a tree or a blob is no commit", () => {
    const repo = repoWith();
    repo.commit("fleet");
    // Two commits whose ids start alike (found by hashing candidates here, then written): git cannot tell which is meant.
    const tree = repo.git("rev-parse", "HEAD^{tree}");
    const byPrefix = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let n = 0; pair === undefined; n++) {
      const body = `tree ${tree}\nauthor t <t@e> 1700000000 +0000\ncommitter t <t@e> 1700000000 +0000\n\nc${n}\n`;
      const id = createHash("sha1").update(`commit ${Buffer.byteLength(body)}\0${body}`).digest("hex");
      const seen = byPrefix.get(id.slice(0, 4));
      if (seen !== undefined) pair = [seen, body];
      else byPrefix.set(id.slice(0, 4), body);
    }
    const ids = pair.map((body) => spawnSync("git", ["hash-object", "-t", "commit", "-w", "--stdin"], { cwd: repo.dir, input: body, encoding: "utf8" }).stdout.trim());
    expect(ids[0]!.slice(0, 4)).toBe(ids[1]!.slice(0, 4));
    const ambiguous = refused(repo, ["--since", ids[0]!.slice(0, 4)], "AMBIGUOUS_REVISION");
    expect(ambiguous.message).toContain("more than one object's id starts with");
    expect(ambiguous.suggestion).toContain("more digits");

    for (const [rev, what] of [
      ["HEAD^{tree}", "a tree (a directory)"],
      ["HEAD:templates", "a tree (a directory)"],
      [tree, "a tree (a directory)"],
      [repo.git("rev-parse", "HEAD:templates/r.yml"), "a blob (a file's contents)"],
    ]) {
      expect(refused(repo, ["--since", rev!], "NOT_A_COMMIT").message).toBe(`--since ${JSON.stringify(rev)}: that is ${what}, not a commit`);
    }
  });

  it("takes --since HEAD^, HEAD~1, HEAD~ and HEAD^1 as the default, on a first commit too", () => {
    const repo = repoWith();
    repo.commit("first");
    for (const since of ["HEAD^", "HEAD~1", "HEAD~", "HEAD^1"]) {
      const result = cws(repo, ["--since", since]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trimEnd().split("\n").sort()).toEqual(["base", "ml", "other", "python", "r"]);
      expect(result.stderr).toContain("is the first commit: there is no earlier revision, so every template is new");
      expect(report(repo, ["--since", since]).since).toEqual({ rev: since, commit: null });
    }
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("second");
    expect(changed(repo, ["--since", "HEAD~"])).toEqual(["r"]);
  });

  it("takes --since=-x as the value -x (and refuses it: no revision starts with -), and names the word a flag took", () => {
    const repo = repoWith();
    repo.commit("fleet");
    for (const value of ["-x", "--all"]) {
      const error = refused(repo, [`--since=${value}`], "BAD_OPTION");
      expect(error.message).toBe(`--since ${JSON.stringify(value)}: a revision cannot start with -`);
    }
    // No advice to write --since=-x, which would be refused in turn: the kind says why it is no value.
    const missing = refused(repo, ["--since", "-x"], "MISSING_OPTION_VALUE");
    expect(missing.suggestion).toBe("put the value right after the flag: --since <rev> (the word after it, -x, is a flag, and no value: a revision cannot start with -)");
    expect(missing.suggestion).not.toContain("--since=-x");
  });

  it("names an argument too many", () => {
    const repo = repoWith();
    repo.commit("fleet");
    const result = cws(repo, ["--json", "extra-arg"]);
    expect(result.status).toBe(2);
    const document = JSON.parse(result.stdout) as { error: { code: string; message: string; value: string } };
    expect(document.error).toMatchObject({ code: "TOO_MANY_ARGUMENTS", value: "extra-arg", message: expect.stringContaining('(one too many: "extra-arg")') });
  });

  it("says a partial clone whose remote is gone lacks a template's object (GIT_OBJECT_MISSING), with advice", () => {
    const origin = repoWith();
    origin.commit("fleet");
    origin.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    origin.git("config", "uploadpack.allowFilter", "true");
    const clone = mkdtempSync(join(tmpdir(), "cws-partial-"));
    try {
      origin.git("clone", "-q", "--filter=blob:none", `file://${origin.dir}`, clone);
      spawnSync("git", ["config", "remote.origin.url", "file:///nonexistent"], { cwd: clone });
      const error = refused(clone, ["--since", "HEAD~1"], "GIT_OBJECT_MISSING");
      expect(error.message).toContain("partial clone");
      expect(error.suggestion).toContain("remote");
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });

  it("names the first deleted template in id order as a rename's source when two meant the same", () => {
    const repo = repoWith({ "templates/zeta.yml": template("same"), "templates/alpha.yml": template("same") });
    repo.commit("two copies");
    repo.remove("templates/zeta.yml", "templates/alpha.yml").write({ "templates/mid.yml": template("same") }).commit("one left");
    expect(report(repo)).toMatchObject({ changed: [{ id: "mid", reason: "renamed", renamedFrom: "alpha" }], deleted: [{ id: "zeta" }] });
  });

  it("follows a committed symbolic link to the templates directory at the revision: retargeted, what it led to then is compared", () => {
    const v1 = { "v1/r.yml": FLEET["templates/r.yml"], "v1/other.yml": FLEET["templates/other.yml"] };
    const repo = repoWith({ ...v1, "v2/r.yml": edit(FLEET["templates/r.yml"]), "v2/other.yml": FLEET["templates/other.yml"] });
    symlinkSync("v1", join(repo.dir, "templates"));
    repo.commit("v1");
    rmSync(join(repo.dir, "templates"));
    symlinkSync("v2", join(repo.dir, "templates"));
    repo.commit("switch to v2");
    // At HEAD^ the path templates led to v1: r differs there, not in v2 (which did not change).
    expect(changed(repo)).toEqual(["r"]);
    expect(report(repo).since).toEqual({ rev: "HEAD^", commit: repo.git("rev-parse", "HEAD^") });

    // A link through a link (templates -> current -> v1), and the link to a directory that was not there then.
    symlinkSync("v1", join(repo.dir, "current"));
    rmSync(join(repo.dir, "templates"));
    symlinkSync("current", join(repo.dir, "templates"));
    repo.commit("templates -> current -> v1");
    expect(changed(repo)).toEqual(["r"]);
    rmSync(join(repo.dir, "templates"));
    symlinkSync("v3", join(repo.dir, "templates"));
    repo.commit("templates -> v3 (not there)");
    repo.write({ "v3/r.yml": FLEET["templates/r.yml"] }).commit("v3");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("r\n");
    const at = repo.git("rev-parse", "--short=7", "HEAD^");
    expect(result.stderr).toContain(`templates dir ./templates was a symbolic link to v3, which was not there at ${at} (moved or new?): every template counts as new\n`);
    expect(report(repo).since).toEqual({ rev: "HEAD^", commit: repo.git("rev-parse", "HEAD^"), templatesDirFound: false });
  });

  it("says when the templates directory did not exist at the revision (moved with git mv), and marks it in --json", () => {
    const repo = repoWith();
    repo.commit("fleet");
    mkdirSync(join(repo.dir, "images"));
    repo.git("mv", "templates", "images/tpl");
    writeFileSync(join(repo.dir, "cws.config.json"), JSON.stringify({ templates_dir: "images/tpl" }));
    repo.commit("move the templates");
    const result = cws(repo, []);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split("\n").sort()).toEqual(["base", "ml", "other", "python", "r"]);
    const at = repo.git("rev-parse", "--short=7", "HEAD^");
    expect(result.stderr).toContain(`templates dir images/tpl did not exist at ${at} (moved or new?): every template counts as new\n`);
    expect(report(repo).since).toEqual({ rev: "HEAD^", commit: repo.git("rev-parse", "HEAD^"), templatesDirFound: false });
    // Compared with a commit where it was there, it is found, and nothing changed.
    expect(changed(repo, ["--since", "HEAD"])).toEqual([]);
    expect(report(repo, ["--since", "HEAD"]).since).toEqual({ rev: "HEAD", commit: repo.git("rev-parse", "HEAD") });
  });

  it("says on stderr that templates in a submodule are compared in the submodule's own history, and how to get the superproject's view", () => {
    const fleet = repoWith();
    fleet.commit("fleet");
    fleet.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    const superproject = repoWith({ "README.md": "the superproject" });
    superproject.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", fleet.dir, "fleet");
    superproject.commit("add fleet");
    const result = cws(superproject, ["--templates-dir", "fleet/templates"]);
    expect(result.status, result.stderr).toBe(0);
    // The submodule's HEAD^: r changed there, though the superproject's HEAD is its first commit.
    expect(result.stdout).toBe("r\n");
    expect(result.stderr).toContain("the templates directory fleet/templates is in a git submodule (fleet of ");
    expect(result.stderr).toContain(`give --since $(git -C ${superproject.git("rev-parse", "--show-toplevel")} rev-parse HEAD^:fleet)`);
    // Not said for a repository of its own.
    expect(cws(fleet, []).stderr).not.toContain("submodule");
  });

  it("refuses GIT_DIR without GIT_WORK_TREE when cws is not started at the top of that repository's work tree", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("r");
    const templates = repoWith({ "y/templates/y.yml": template("y") });
    // Started elsewhere, git would take the directory cws runs in for that repository's work tree, holding the templates.
    const error = refused(templates.dir, ["--templates-dir", "y/templates"], "GIT_WORK_TREE_NEEDED", { GIT_DIR: join(repo.dir, ".git") });
    expect(error.message).toContain(`GIT_DIR is set (${join(repo.dir, ".git")}) without GIT_WORK_TREE`);
    expect(error.suggestion).toContain("set GIT_WORK_TREE");
    // From a subdirectory of the repository itself, too; with GIT_WORK_TREE, or at the top, it is taken.
    refused(join(repo.dir, "templates"), ["--templates-dir", "."], "GIT_WORK_TREE_NEEDED", { GIT_DIR: "../.git" });
    expect(changed(join(repo.dir, "templates"), ["--templates-dir", "."], { GIT_DIR: "../.git", GIT_WORK_TREE: ".." })).toEqual(["r"]);
    expect(changed(repo, [], { GIT_DIR: ".git" })).toEqual(["r"]);
  });

  it("takes git's message searches (:/text, REV^{/text}), spaces included, and a commit found by one", () => {
    const repo = repoWith();
    repo.commit("init fleet");
    repo.write({ "templates/r.yml": edit(FLEET["templates/r.yml"]) }).commit("fix r bug");
    repo.write({ "templates/other.yml": edit(FLEET["templates/other.yml"]) }).commit("other");
    for (const since of [":/init", ":/init fleet", "HEAD^{/init fleet}"]) {
      expect(report(repo, ["--since", since]).since, since).toEqual({ rev: since, commit: repo.git("rev-parse", "HEAD~2") });
      expect(changed(repo, ["--since", since])).toEqual(["other", "r"]);
    }
    expect(changed(repo, ["--since", "HEAD^{/fix r bug}"])).toEqual(["other"]);
    expect(refused(repo, ["--since", ":/no such message"], "UNKNOWN_REVISION").message).toBe('--since ":/no such message": no such commit in this repository');
    // An annotated tag is peeled to its commit; one of a tree is no commit.
    repo.git("tag", "-a", "-m", "v1", "v1", "HEAD~2");
    expect(changed(repo, ["--since", "v1"])).toEqual(["other", "r"]);
    repo.git("tag", "-a", "-m", "tree", "t1", "HEAD^{tree}");
    expect(refused(repo, ["--since", "t1"], "NOT_A_COMMIT").message).toBe('--since "t1": that is a tree (a directory), not a commit');
  });

  it("on a branch with no commit yet names the branch, rather than saying the repository has none", () => {
    const repo = repoWith();
    repo.commit("fleet");
    repo.git("checkout", "-q", "--orphan", "fresh");
    const error = refused(repo, ["--since", "main"], "NO_COMMITS");
    expect(error.message).toBe("the current branch fresh has no commit yet (a new or orphan branch), so there is no commit to compare the templates from");
    expect(error.suggestion).toContain("git switch main");
  });

  it("follows a template's link through a linked directory at the revision, so an unchanged one is unchanged", () => {
    const repo = repoWith({ "shared/r.yml": FLEET["templates/r.yml"], "templates/other.yml": FLEET["templates/other.yml"] });
    symlinkSync("shared", join(repo.dir, "linked"));
    symlinkSync(join("..", "linked", "r.yml"), join(repo.dir, "templates", "r.yml"));
    repo.commit("r through linked -> shared");
    repo.write({ "README.md": "notes" }).commit("readme");
    expect(changed(repo)).toEqual([]);
    repo.write({ "shared/r.yml": edit(FLEET["templates/r.yml"]) }).commit("edit r");
    expect(changed(repo)).toEqual(["r"]);
    expect(report(repo).changed).toEqual([expect.not.objectContaining({ invalidBefore: true })]);
  });
});
