import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatChangedExplanation } from "../../src/cli/changed-command.js";
import { CwsError } from "../../src/errors.js";
import { changedTemplates, compareTemplates, type CurrentTemplate, type EarlierTemplate } from "../../src/pipeline/changed.js";
import type { GitPort, TreeEntry } from "../../src/pipeline/git.js";
import { templateContentHash } from "../../src/template/content-hash.js";
import { dependencyGraph } from "../../src/template/graph.js";
import { parseTemplate } from "../../src/template/load.js";
import { scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/** The comparison on its own (pure), and the core against a fake git: the cases a real history makes awkward. */

function text(tag: string, parent?: string): string {
  const own = VALID_TEMPLATE.replace("echo ready > /var/tmp/ready", `echo ${tag}\n  echo ready > /var/tmp/ready`);
  return parent === undefined ? own : own.replace("source: ubuntu-22.04-lts", `template: ${parent}`);
}

function current(id: string, source: string): CurrentTemplate {
  const template = parseTemplate(source, `${id}.yml`).template;
  if (template === undefined) throw new Error(`${id} does not validate`);
  return { id, file: `templates/${id}.yml`, template };
}

const earlier = (id: string, source: string | undefined): EarlierTemplate => ({
  id,
  file: `templates/${id}.yml`,
  hash: source === undefined ? undefined : templateContentHash(current(id, source).template),
});

function compare(before: EarlierTemplate[], now: CurrentTemplate[]) {
  return compareTemplates(before, now, dependencyGraph(new Map(now.map((t) => [t.id, t.template]))));
}

describe("compareTemplates", () => {
  it("names, for each dependent, the changed template it builds on, and explains the chain down from what changed", () => {
    const now = [current("a", text("a")), current("b", text("b", "a")), current("c", text("c", "b")), current("d", text("d", "c"))];
    const result = compare([earlier("a", text("a")), earlier("b", text("b", "a")), earlier("c", text("c", "b")), earlier("d", text("d", "c"))], [
      now[0]!,
      current("b", text("b2", "a")),
      now[2]!,
      now[3]!,
    ]);
    expect(result.changed.map(({ id, reason, dependsOn }) => ({ id, reason, dependsOn }))).toEqual([
      { id: "b", reason: "edited", dependsOn: undefined },
      { id: "c", reason: "dependent", dependsOn: "b" },
      { id: "d", reason: "dependent", dependsOn: "c" },
    ]);
    const explained = formatChangedExplanation({ since: { rev: "HEAD^", commit: "1a2b3c4d".padEnd(40, "0") }, head: "f".repeat(40), templatesDir: "templates", ...result });
    expect(explained).toBe("b: edited\nc: builds on b\nd: builds on c, which builds on b\n3 of 4 templates changed since 1a2b3c4 (HEAD^)\n");
  });

  it("takes each deleted template as the source of one rename at most, and lists the rest as deleted", () => {
    // Two old templates with one content, three new ones with it: two renames, one new.
    const same = text("same");
    // In any order then: each rename takes the first deleted template in id order.
    const result = compare([earlier("old2", same), earlier("gone", text("gone")), earlier("old1", same)], [current("n3", same), current("n1", same), current("n2", same)]);
    expect(result.changed.map(({ id, reason, renamedFrom }) => [id, reason, renamedFrom])).toEqual([
      ["n1", "renamed", "old1"],
      ["n2", "renamed", "old2"],
      ["n3", "new", undefined],
    ]);
    expect(result.deleted).toEqual([{ id: "gone", file: "templates/gone.yml" }]);
  });

  it("never takes a template that did not validate then for the source of a rename, and counts it as edited when its id is still there", () => {
    const result = compare([earlier("broken", undefined), earlier("was-broken", undefined)], [current("broken", text("x")), current("renamed", text("y"))]);
    expect(result.changed.map(({ id, reason, invalidBefore }) => [id, reason, invalidBefore])).toEqual([
      ["broken", "edited", true],
      ["renamed", "new", undefined],
    ]);
    expect(result.deleted.map((t) => t.id)).toEqual(["was-broken"]);
  });

  it("treats an id two files had then (a.yml and a.yaml) as unknown then", () => {
    const a = text("a");
    const result = compare([earlier("a", a), { ...earlier("a", a), file: "templates/a.yaml" }], [current("a", a)]);
    expect(result.changed).toEqual([expect.objectContaining({ id: "a", reason: "edited", invalidBefore: true })]);
    expect(result.deleted).toEqual([]);
  });

  it("lists every template now, parents first, with its architectures and parent", () => {
    const result = compare([], [current("z", text("z")), current("child", text("child", "z").replace("architecture: [x86_64, arm64]", "architecture: [arm64]").replace("  x86_64: 0.0416\n", ""))]);
    expect(result.templates).toEqual([
      { id: "z", architectures: ["x86_64", "arm64"], parent: null },
      { id: "child", architectures: ["arm64"], parent: "z" },
    ]);
    expect(result.changed.map((t) => t.reason)).toEqual(["new", "new"]);
  });
});

/** A git with one commit (`parent`) before HEAD, whose templates directory holds `entries`. */
function fakeGit(entries: (TreeEntry & { content?: string })[], overrides: Partial<GitPort> = {}): GitPort & { calls: string[] } {
  const calls: string[] = [];
  const commits: Record<string, string> = { HEAD: "h".repeat(40), "HEAD^": "p".repeat(40), ["p".repeat(40)]: "p".repeat(40) };
  return {
    calls,
    locate: async () => ({ top: "/repo", path: "templates" }),
    currentBranch: async () => "main",
    resolveRevision: async (revision) => (commits[revision] === undefined ? { kind: "unknown" } : { kind: "commit", commit: commits[revision] }),
    parentsOf: async () => ["p".repeat(40)],
    isShallow: async () => false,
    listDirectory: async (commit, path) => {
      calls.push(`ls-tree ${commit.slice(0, 1)} ${path}`);
      return entries;
    },
    entryAt: async (commit, path) => {
      calls.push(`ls-tree ${commit.slice(0, 1)} ${path}`);
      if (path === "templates") return { name: "templates", mode: "040000", type: "tree", id: "t".repeat(40) };
      return entries.find((e) => `templates/${e.name}` === path);
    },
    readBlobs: async (ids) => {
      calls.push(`cat-file ${ids.join(",")}`);
      return new Map(entries.filter((e) => ids.includes(e.id) && e.content !== undefined).map((e) => [e.id, new TextEncoder().encode(e.content)]));
    },
    ...overrides,
  };
}

describe("changedTemplates (fake git)", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function templatesNow(files: Record<string, string>): string {
    const { dir, cleanup } = scratchDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, "templates"));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, "templates", name), content);
    return join(dir, "templates");
  }

  it("reads the blobs in one batch, skips what the loader skips, follows a symbolic link, and counts a template that was no regular file then as edited, saying why", async () => {
    const dir = templatesNow({ "a.yml": text("a"), "link.yml": text("a"), "sub.yml": text("sub") });
    const git = fakeGit([
      { name: "a.yml", mode: "100644", type: "blob", id: "1".repeat(40), content: text("a") },
      { name: "link.yml", mode: "120000", type: "blob", id: "2".repeat(40), content: "a.yml" },
      { name: "sub.yml", mode: "040000", type: "tree", id: "3".repeat(40) },
      { name: ".hidden.yml", mode: "100644", type: "blob", id: "4".repeat(40), content: "nonsense" },
      { name: "README.md", mode: "100644", type: "blob", id: "5".repeat(40), content: "# notes" },
    ]);
    const { report } = await changedTemplates({ templatesDir: dir, git });
    // The link's target read, its path resolved from the link's directory; then every template's blob in one batch.
    expect(git.calls).toEqual(["ls-tree p templates", `ls-tree p templates`, `cat-file ${"2".repeat(40)}`, "ls-tree p templates/a.yml", `cat-file ${"1".repeat(40)}`]);
    expect(report.changed.map(({ id, reason, unknownBefore }) => [id, reason, unknownBefore])).toEqual([["sub", "edited", "it was a directory"]]);
    expect(report.since).toEqual({ rev: "HEAD^", commit: "p".repeat(40) });
  });

  it("stops following a chain of links at 40, as the kernel does", async () => {
    const dir = templatesNow({ "loop.yml": text("loop") });
    const git = fakeGit([{ name: "loop.yml", mode: "120000", type: "blob", id: "2".repeat(40), content: "loop.yml" }]);
    const { report } = await changedTemplates({ templatesDir: dir, git });
    expect(report.changed).toEqual([expect.objectContaining({ id: "loop", reason: "edited", unknownBefore: "it was a chain of more than 40 symbolic links" })]);
  });

  it("refuses a blob git does not have, naming the file and the commit", async () => {
    const dir = templatesNow({ "a.yml": text("a") });
    const git = fakeGit([{ name: "a.yml", mode: "100644", type: "blob", id: "1".repeat(40) }]);
    const error = await changedTemplates({ templatesDir: dir, git }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({ code: "GIT_OBJECT_MISSING", exitCode: 2, message: expect.stringContaining("templates/a.yml at ppppppp") });
  });

  it("asks git nothing about the revision when the templates now are invalid (exit 2 first), and reports each problem", async () => {
    const dir = templatesNow({ "a.yml": text("a").replace("version:", "versoin:") });
    const git = fakeGit([]);
    const problems: string[] = [];
    const error = await changedTemplates({ templatesDir: dir, git, onProblem: (p) => problems.push(`${p.line}:${p.column} ${p.message}`) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TEMPLATE_INVALID", exitCode: 2 });
    expect(problems.length).toBeGreaterThan(0);
    expect(git.calls).toEqual([]);
  });
});
