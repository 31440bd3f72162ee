import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, scratchDir, type CliResult } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * Every kind of file system entry where cws reads or writes: templates and
 * the templates directory, the registry and its lock, files to merge, the lint
 * cache, cws.config.json. Each gets one line naming the path and what is
 * wrong, exit 2, and never a stack trace or a wait (each run is killed after
 * 15 s, which fails the test); lint still checks every other template.
 */

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
/** Root reads a mode-000 file; as root, such a case runs cws as nobody, who meets the permission denied a user would. */
const unprivileged = isRoot ? { uid: NOBODY } : {};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workspace(files: Record<string, string | Uint8Array> = {}): string {
  const { dir, cleanup } = scratchDir(files);
  cleanups.push(cleanup);
  // Readable by nobody too (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  return dir;
}

const run = (dir: string, args: string[], extra: { uid?: number; env?: Record<string, string> } = {}): CliResult =>
  runCli(args, { cwd: dir, timeout: 15_000, env: { HOME: dir, ...extra.env }, ...(extra.uid === undefined ? {} : { uid: extra.uid }) });

/** Exit 2, and nothing that looks like a crash. */
function expectRefused(result: CliResult, firstLine: string): void {
  expect(result.stderr).not.toContain("internal error");
  expect(result.stderr + result.stdout).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(result.stderr.split("\n")[0]).toBe(firstLine);
  expect(result.status).toBe(2);
}

/** A socket file with nobody listening (the process that bound it has exited). */
function makeSocket(path: string): void {
  spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
}

describe("a templates directory of hostile entries", () => {
  function hostileTemplates(): string {
    const dir = workspace({
      "templates/good.yml": VALID_TEMPLATE,
      "templates/empty.yml": "",
      "templates/binary.yml": Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x00, 0x01]),
      "templates/latin1.yml": Buffer.from("name: caf\xe9\n", "latin1"),
      "templates/Bad Name.yml": VALID_TEMPLATE,
      "templates/.hidden.yml": "name: [",
      "templates/notes.txt": "not a template",
    });
    const t = (name: string) => join(dir, "templates", name);
    symlinkSync("good.yml", t("link-good.yml"));
    mkdirSync(t("dir.yml"));
    symlinkSync("nowhere.yml", t("dangling.yml"));
    symlinkSync("loop.yml", t("loop.yml"));
    execFileSync("mkfifo", [t("fifo.yml")]);
    symlinkSync("/dev/zero", t("zero.yml"));
    symlinkSync("/dev/null", t("null.yml"));
    makeSocket(t("socket.yml"));
    writeFileSync(t("huge.yml"), "");
    truncateSync(t("huge.yml"), 4 * 1024 * 1024 * 1024); // sparse: never read
    symlinkSync("user@host.4242:1700000000", t(".#good.yml")); // an editor's lock file: skipped
    writeFileSync(t("unreadable.yml"), VALID_TEMPLATE, { mode: 0o000 });
    chmodSync(t("unreadable.yml"), 0o000);
    return dir;
  }

  const EXPECTED_LINES = [
    'templates/Bad Name.yml: error: "Bad Name" is not a valid template id: use lowercase letters, digits and single hyphens, starting with a letter, at most 32 characters (e.g. r-research)',
    "templates/binary.yml:1:1 error not a text file: it contains a NUL byte at offset 4",
    'templates/dangling.yml: error: is a symbolic link to "nowhere.yml", which does not exist',
    "templates/dir.yml: error: is a directory, not a regular file",
    "templates/empty.yml:1:1 error the file is empty",
    "templates/fifo.yml: error: is a named pipe (FIFO), not a regular file (reading it would wait for a writer)",
    "templates/huge.yml:1:1 error the file is 4,294,967,296 bytes (4 GiB); a template may be at most 1,048,576 bytes (1 MiB)",
    "templates/latin1.yml:1:10 error not valid UTF-8 text (bad byte 0xe9 at offset 9)",
    "templates/loop.yml: error: is a symbolic link that never reaches a file (it leads in a circle, or through too many links)",
    'templates/null.yml: error: is a symbolic link to "/dev/null", which is a character device, not a regular file',
    "templates/socket.yml: error: is a socket, not a regular file",
    "templates/unreadable.yml: error: cannot be read: permission denied",
    'templates/zero.yml: error: is a symbolic link to "/dev/zero", which is a character device, not a regular file',
  ];

  it("lint names each bad entry on one line, checks every other template, and exits 2", () => {
    const dir = hostileTemplates();
    const result = run(dir, ["ami", "lint"], unprivileged);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(2);
    const lines = result.stdout.split("\n").filter((line) => line.startsWith("templates/"));
    expect(lines).toEqual(EXPECTED_LINES);
    expect(result.stdout).not.toContain(".hidden");
    expect(result.stdout).not.toContain(".#good");
    expect(result.stdout).toContain("✖ 15 templates checked: 13 errors, 0 warnings");
  });

  it("lint --json is one document with the same problems, the good templates valid", () => {
    const dir = hostileTemplates();
    const result = run(dir, ["--json", "ami", "lint"], unprivileged);
    expect(result.status).toBe(2);
    const report = JSON.parse(result.stdout) as { templates: { id: string; valid: boolean }[]; problems: { file: string; line: number; column: number; message: string }[]; exitCode: number };
    expect(report.exitCode).toBe(2);
    expect(report.templates.filter((t) => t.valid).map((t) => t.id)).toEqual(["good", "link-good"]);
    expect(report.templates.map((t) => t.id)).not.toContain(".hidden");
    expect(report.problems.find((p) => p.file === "templates/fifo.yml")).toMatchObject({ line: 0, column: 0, message: "is a named pipe (FIFO), not a regular file (reading it would wait for a writer)" });
    expect(report.problems).toHaveLength(EXPECTED_LINES.length);
  });

  it("the same entries under GitHub Actions are annotations on the file, without a line", () => {
    const dir = hostileTemplates();
    const result = run(dir, ["ami", "lint"], { ...unprivileged, env: { GITHUB_ACTIONS: "true" } });
    expect(result.stdout).toContain("::error file=templates/dir.yml,title=cws template::is a directory, not a regular file");
  });

  it("commands that load every template stop at once on such an entry, having written nothing", () => {
    const dir = hostileTemplates();
    writeFileSync(join(dir, "amis.json"), JSON.stringify({ version: "1.0", last_updated: "2024-05-01T00:00:00Z", templates: {} }));
    const before = readdirSync(join(dir, "templates")).sort();
    const result = run(dir, ["--registry", "amis.json", "ami", "update-templates"], unprivileged);
    expectRefused(result, "error: 13 templates are invalid; nothing was written:");
    expect(result.stderr).toContain("  templates/fifo.yml: error: is a named pipe (FIFO), not a regular file (reading it would wait for a writer)");
    expect(readdirSync(join(dir, "templates")).sort()).toEqual(before);
    // update-registry --all reads the templates before it asks AWS anything.
    expectRefused(run(dir, ["ami", "update-registry", "--all"], unprivileged), "error: template Bad Name is invalid (templates/Bad Name.yml:0:0 \"Bad Name\" is not a valid template id: use lowercase letters, digits and single hyphens, starting with a letter, at most 32 characters (e.g. r-research))");
  });

  it("a command naming one template reads only that one", () => {
    const dir = hostileTemplates();
    expect(run(dir, ["ami", "lint", "good"]).status).toBe(0);
    expect(run(dir, ["ami", "build", "good", "--region", "us-east-1", "--architecture", "x86_64", "--dry-run"]).status).toBe(0);
    expectRefused(run(dir, ["ami", "build", "fifo", "--region", "us-east-1", "--architecture", "x86_64", "--dry-run"]), "templates/fifo.yml: error: is a named pipe (FIFO), not a regular file (reading it would wait for a writer)");
  });
});

describe("the templates directory itself", () => {
  it("is named with what it is when it is not a readable directory", () => {
    const dir = workspace({ "a-file": "x", "templates/.keep": "" });
    execFileSync("mkfifo", [join(dir, "fifo")]);
    symlinkSync("nowhere", join(dir, "dangling"));
    mkdirSync(join(dir, "locked"), { mode: 0o000 });
    chmodSync(join(dir, "locked"), 0o000);
    const suggestion = "  → run cws from the repository root, or pass --templates-dir DIR (or set CWS_TEMPLATES_DIR)";
    const cases: [string, string, object][] = [
      ["a-file", "the templates directory is a regular file, not a directory", {}],
      ["fifo", "the templates directory is a named pipe (FIFO), not a directory", {}],
      ["missing", "the templates directory does not exist", {}],
      ["dangling", 'the templates directory is a symbolic link to "nowhere", which does not exist', {}],
      ["/etc/passwd", "the templates directory is a regular file, not a directory", {}],
      ["locked", "the templates directory cannot be read: permission denied", unprivileged],
    ];
    for (const [path, problem, as] of cases) {
      const result = run(dir, ["--templates-dir", path, "ami", "lint"], as);
      expectRefused(result, `error: ${path}: ${problem}`);
      expect(result.stderr.split("\n")[1]).toBe(suggestion);
    }
  });
});

describe("the registry, its lock and the files to merge", () => {
  const KINDS: [name: string, make: (path: string) => void, problem: string, as?: object][] = [
    ["a directory", (path) => mkdirSync(path), "is a directory, not a regular file"],
    ["a named pipe", (path) => execFileSync("mkfifo", [path]), "is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"],
    ["a dangling link", (path) => symlinkSync("nowhere.json", path), 'is a symbolic link to "nowhere.json", which does not exist'],
    ["a link loop", (path) => symlinkSync("amis.json", path), "is a symbolic link that never reaches a file (it leads in a circle, or through too many links)"],
    ["a link to /dev/zero", (path) => symlinkSync("/dev/zero", path), 'is a symbolic link to "/dev/zero", which is a character device, not a regular file'],
    ["a socket", (path) => makeSocket(path), "is a socket, not a regular file"],
    ["too large", (path) => (writeFileSync(path, ""), truncateSync(path, 100 * 1024 * 1024)), "is 104,857,600 bytes (100 MiB); a registry may be at most 67,108,864 bytes (64 MiB)"],
    // Its directory writable, so that the lock can be taken and the read is what fails.
    ["unreadable", (path) => (writeFileSync(path, "{}"), chmodSync(path, 0o000), chmodSync(dirname(path), 0o777)), "cannot be read: permission denied", unprivileged],
  ];

  it.each(KINDS)("a registry that is %s: every command that reads it names it and exits 2", (_kind, make, problem, as = {}) => {
    const dir = workspace({ "templates/good.yml": VALID_TEMPLATE, "input.json": JSON.stringify({ version: "1.0", last_updated: "2024-05-01T00:00:00Z", templates: {} }) });
    make(join(dir, "amis.json"));
    const line = `error: amis.json: the registry ${problem}`;
    const registry = ["--registry", "amis.json"];
    expectRefused(run(dir, [...registry, "ami", "list"], as), line);
    expectRefused(run(dir, [...registry, "ami", "registry", "merge", "input.json"], as), line);
    expectRefused(run(dir, [...registry, "ami", "update-templates"], as), line);
    expectRefused(run(dir, [...registry, "ami", "rollback", "good", "--region", "us-east-1", "--architecture", "x86_64"], as), line);
    expectRefused(run(dir, [...registry, "ami", "build", "good", "--region", "us-east-1", "--architecture", "x86_64", "--dry-run"], as), line);
    // As a file to merge, it is named as such, and nothing is written.
    expectRefused(run(dir, ["--registry", "out.json", "ami", "registry", "merge", "input.json", "amis.json"], as), `error: amis.json: the file to merge ${problem}`);
    expect(readdirSync(dir)).not.toContain("out.json");
  });

  it("names a registry inside a file, every unusable file to merge at once, and a missing one", () => {
    const dir = workspace({ "plain": "x", "input.json": JSON.stringify({ version: "1.0", last_updated: "2024-05-01T00:00:00Z", templates: {} }) });
    mkdirSync(join(dir, "a-dir.json"));
    expectRefused(run(dir, ["--registry", "plain/amis.json", "ami", "list"]), "error: plain/amis.json: the registry is inside plain, which is a regular file, not a directory");
    // merge checks the registry it writes before making its lock: the same line as list's.
    expectRefused(run(dir, ["--registry", "plain/amis.json", "ami", "registry", "merge", "input.json"]), "error: plain/amis.json: the registry is inside plain, which is a regular file, not a directory");
    const both = run(dir, ["--registry", "out.json", "ami", "registry", "merge", "missing.json", "a-dir.json", "input.json"]);
    expectRefused(both, "error: 2 of the files cannot be merged; nothing was written:");
    expect(both.stderr).toContain("\n  missing.json: the file to merge does not exist\n  a-dir.json: the file to merge is a directory, not a regular file\n");
  });

  it.each([
    ["a directory", (path: string) => mkdirSync(path), "is a directory, not a regular file"],
    ["a named pipe", (path: string) => execFileSync("mkfifo", [path]), "is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"],
    ["a dangling link", (path: string) => symlinkSync("nowhere", path), 'is a symbolic link to "nowhere", which does not exist'],
  ])("a lock file that is %s is named at once, not waited for", (_kind, make, problem) => {
    const dir = workspace({ "input.json": JSON.stringify({ version: "1.0", last_updated: "2024-05-01T00:00:00Z", templates: {} }) });
    make(join(dir, "amis.json.lock"));
    const started = Date.now();
    const result = run(dir, ["--registry", "amis.json", "ami", "registry", "merge", "input.json"]);
    expectRefused(result, `error: amis.json.lock: the registry lock ${problem}`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readdirSync(dir).sort()).toEqual(["amis.json.lock", "input.json"]);
  });
});

describe("the lint cache and cws.config.json", () => {
  it.each([
    ["a named pipe", (dir: string) => (mkdirSync(join(dir, ".cws", "cache"), { recursive: true }), execFileSync("mkfifo", [join(dir, ".cws", "cache", "lint.json")])), "the lint cache is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"],
    ["a directory", (dir: string) => mkdirSync(join(dir, ".cws", "cache", "lint.json"), { recursive: true }), "the lint cache is a directory, not a regular file"],
    ["a link to /dev/zero", (dir: string) => (mkdirSync(join(dir, ".cws", "cache"), { recursive: true }), symlinkSync("/dev/zero", join(dir, ".cws", "cache", "lint.json"))), 'the lint cache is a symbolic link to "/dev/zero", which is a character device, not a regular file'],
    ["inside a file", (dir: string) => writeFileSync(join(dir, ".cws"), "x"), "the lint cache is inside .cws, which is a regular file, not a directory"],
  ])("a lint cache that is %s is one problem; every template is still linted", (_kind, make, problem) => {
    const dir = workspace({ "templates/good.yml": VALID_TEMPLATE, "templates/bad.yml": VALID_TEMPLATE.replace("ports: [22]", "ports: [0]") });
    make(dir);
    const result = run(dir, ["ami", "lint"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n").slice(0, 4)).toEqual([
      `.cws/cache/lint.json: error: ${problem}`,
      "    → remove it (lint recreates it), or lint with --no-cache",
      "templates/bad.yml:16:9 error ports[0]: must be at least 1, got 0",
      "✖ 2 templates checked: 2 errors, 0 warnings",
    ]);
    // Without the cache, only the templates count.
    expect(run(dir, ["ami", "lint", "--no-cache", "good"]).status).toBe(0);
  });

  it.each([
    ["a named pipe", (path: string) => execFileSync("mkfifo", [path]), "is a named pipe (FIFO), not a regular file (reading it would wait for a writer)"],
    ["a directory", (path: string) => mkdirSync(path), "is a directory, not a regular file"],
    ["a dangling link", (path: string) => symlinkSync("nowhere.json", path), 'is a symbolic link to "nowhere.json", which does not exist'],
    ["a link loop", (path: string) => symlinkSync("cws.config.json", path), "is a symbolic link that never reaches a file (it leads in a circle, or through too many links)"],
    ["a link to /dev/zero", (path: string) => symlinkSync("/dev/zero", path), 'is a symbolic link to "/dev/zero", which is a character device, not a regular file'],
  ])("a cws.config.json that is %s stops every command with its name", (_kind, make, problem) => {
    const dir = workspace({ "templates/good.yml": VALID_TEMPLATE });
    make(join(dir, "cws.config.json"));
    expectRefused(run(dir, ["ami", "lint"]), `error: cws.config.json: the config file ${problem}`);
    expectRefused(run(dir, ["ami", "list"]), `error: cws.config.json: the config file ${problem}`);
  });

  it("the build's log directory inside a file stops a build before anything is launched", () => {
    const dir = workspace({ "templates/good.yml": VALID_TEMPLATE, ".cws": "x" });
    const result = run(dir, ["ami", "build", "good", "--region", "us-east-1", "--architecture", "x86_64"], { env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_ENDPOINT_URL: "http://127.0.0.1:9" } });
    expect(result.stderr).toMatch(/error: \.cws\/logs\/[^:]+: the build's log directory is inside \.cws, which is a regular file, not a directory/);
    expect(result.status).toBe(2);
    expect(readFileSync(join(dir, ".cws"), "utf8")).toBe("x");
  });
});
