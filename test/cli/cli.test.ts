import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FORBID_AWS_SDK, ROOT, runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

describe("cws (built CLI, as a child process)", () => {
  it("prints its version", () => {
    const result = runCli(["--version"]);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("prints package.json's version, which the build writes in, from the full CLI and the fast programs alike", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const args of [["--version"], ["-V"], ["ami", "lint", "-V"], ["ami", "list", "-V"]]) {
      expect(runCli(args), args.join(" ")).toEqual({ status: 0, stdout: `${version}\n`, stderr: "" });
    }
  });

  it("prints help for cws and cws ami on stdout", () => {
    const top = runCli(["--help"]);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain("Usage: cws");
    expect(top.stdout).toContain("--templates-dir");
    expect(top.stdout).toContain("--registry");
    const ami = runCli(["ami", "--help"]);
    expect(ami.status).toBe(0);
    expect(ami.stdout).toContain("lint");
    // The global options are shown with every command's help, where people look for them.
    for (const words of [["ami"], ["ami", "registry"], ["ami", "build"], ["ami", "lint"], ["ami", "list"]]) {
      const help = runCli([...words, "--help"]).stdout;
      expect(help, words.join(" ")).toContain("Global Options:");
      for (const flag of ["--json", "--registry <file>", "--templates-dir <dir>", "--no-color"]) expect(help, `${words.join(" ")} ${flag}`).toContain(flag);
    }
  });

  it("suggests a command or flag for a typo, with exit code 2", () => {
    const command = runCli(["ami", "lnt"]);
    expect(command.status).toBe(2);
    // One line with the suggestion, then what to do, as for every other error.
    expect(command.stderr).toBe("error: unknown command 'lnt' (did you mean lint?)\n  → cws ami --help lists the commands\n");
    const flag = runCli(["ami", "lint", "--stict"]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe("error: unknown option '--stict' (did you mean --strict?)\n  → cws ami lint --help lists the options\n");
    const top = runCli(["amii"]);
    expect(top.status).toBe(2);
    expect(top.stderr).toBe("error: unknown command 'amii' (did you mean ami?)\n  → cws --help lists the commands\n");
    // A global option mistyped before the command: the same two lines.
    const global = runCli(["--jsn", "ami", "lint"]);
    expect(global.status).toBe(2);
    expect(global.stderr).toBe("error: unknown option '--jsn' (did you mean --json?)\n  → cws --help lists the options\n");
  });

  it("answers a group without its command with that group's help, and with --json points at it", () => {
    for (const [words, help] of [[[], "cws --help"], [["ami"], "cws ami --help"], [["ami", "registry"], "cws ami registry --help"]] as const) {
      const text = runCli([...words]);
      expect(text.status, words.join(" ")).toBe(2);
      expect(text.stderr, words.join(" ")).toContain(`Usage: ${["cws", ...words].join(" ")} [options] [command]`);
      const json = runCli(["--json", ...words]);
      expect(json.status).toBe(2);
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: "COMMAND_REQUIRED", message: "no command given", value: null, suggestion: `${help} lists the commands` }, exitCode: 2 });
    }
  });

  it("does not load the AWS SDK for commands that do not call AWS", () => {
    const { dir, cleanup } = scratchDir({ "templates/t.yml": VALID_TEMPLATE });
    try {
      for (const args of [["--help"], ["ami", "--help"], ["ami", "lint"]]) {
        const result = runCli(args, { cwd: dir, env: { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` } });
        expect(result.stderr, args.join(" ")).not.toContain("AWS SDK loaded");
        expect(result.status, args.join(" ")).toBe(0);
      }
    } finally {
      cleanup();
    }
  });
});

describe("cws ami lint", () => {
  it("exits 0 on a clean template directory", () => {
    const { dir, cleanup } = scratchDir({ "templates/good.yml": VALID_TEMPLATE });
    try {
      const result = runCli(["ami", "lint"], { cwd: dir });
      expect(result.stdout).toContain("1 template checked: no problems");
      expect(result.status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it("exits 2 with file:line:col for an invalid template, and checks the others too", () => {
    const { dir, cleanup } = scratchDir({
      "templates/good.yml": VALID_TEMPLATE,
      "templates/bad.yml": VALID_TEMPLATE.replace("validation_tests:", "validaton_tests:"),
      "templates/junk.yaml": Buffer.from([0x00, 0xff, 0x10]),
    });
    try {
      const result = runCli(["ami", "lint"], { cwd: dir });
      expect(result.status).toBe(2);
      expect(result.stdout).toContain('templates/bad.yml:12:1 error validaton_tests: unknown field "validaton_tests" (did you mean "validation_tests"?)');
      expect(result.stdout).toContain("templates/junk.yaml:1:1 error not a text file: it contains a NUL byte at offset 0");
      expect(result.stdout).toContain("3 templates checked: 2 errors, 0 warnings");
      expect(result.stderr).toBe("");
    } finally {
      cleanup();
    }
  });

  it("reports warnings, and --strict turns them into errors (exit 1)", () => {
    const risky = VALID_TEMPLATE.replace("echo ready > /var/tmp/ready", "curl -fsSL https://get.example.org | bash");
    const { dir, cleanup } = scratchDir({ "templates/risky.yml": risky });
    try {
      const relaxed = runCli(["ami", "lint"], { cwd: dir });
      expect(relaxed.status).toBe(0);
      expect(relaxed.stdout).toContain("templates/risky.yml:11:3 warning setup_script: pipes a download straight into a shell");
      expect(relaxed.stdout).toContain("→ download to a file");
      const strict = runCli(["ami", "lint", "--strict"], { cwd: dir });
      expect(strict.status).toBe(1);
      expect(strict.stdout).toContain("templates/risky.yml:11:3 error setup_script: pipes a download straight into a shell");
    } finally {
      cleanup();
    }
  });

  it("prints findings as JSON with --json", () => {
    const { dir, cleanup } = scratchDir({ "templates/bad.yml": VALID_TEMPLATE.replace("ports: [22]", "ports: [22, 22]") });
    try {
      const result = runCli(["ami", "lint", "--json"], { cwd: dir });
      expect(result.status).toBe(2);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({
        errors: 1,
        warnings: 0,
        exitCode: 2,
        templates: [{ id: "bad", file: "templates/bad.yml", valid: false }],
        problems: [{ file: "templates/bad.yml", line: 16, column: 13, severity: "error", path: "ports[1]" }],
      });
    } finally {
      cleanup();
    }
  });

  it("emits GitHub Actions annotations under GITHUB_ACTIONS=true", () => {
    const { dir, cleanup } = scratchDir({ "templates/bad.yml": VALID_TEMPLATE.replace('command: "cat /var/tmp/ready"', "command: 42") });
    try {
      const result = runCli(["ami", "lint"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
      expect(result.status).toBe(2);
      expect(result.stdout).toContain(
        "::error file=templates/bad.yml,line=14,col=14,title=cws template::validation_tests[0].command: expected a string, got a number (42); put it in quotes: \"42\"",
      );
      const json = runCli(["ami", "lint", "--json"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
      expect(() => JSON.parse(json.stdout)).not.toThrow();
      expect(json.stderr).toContain("::error file=templates/bad.yml,line=14,col=14");
    } finally {
      cleanup();
    }
  });

  it("lints only the named templates, and suggests a close id for an unknown one", () => {
    const { dir, cleanup } = scratchDir({
      "templates/r-research.yml": VALID_TEMPLATE,
      "templates/broken.yml": "name: [",
    });
    try {
      expect(runCli(["ami", "lint", "r-research"], { cwd: dir }).status).toBe(0);
      const unknown = runCli(["ami", "lint", "r-reserch"], { cwd: dir });
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('error: no template "r-reserch" in ./templates (did you mean "r-research"?)');
    } finally {
      cleanup();
    }
  });

  it("takes the templates directory from --templates-dir or CWS_TEMPLATES_DIR", () => {
    const { dir, cleanup } = scratchDir({ "elsewhere/x.yml": VALID_TEMPLATE });
    try {
      expect(runCli(["ami", "lint"], { cwd: dir }).stderr).toContain("error: ./templates: the templates directory does not exist\n");
      expect(runCli(["ami", "lint"], { cwd: dir }).status).toBe(2);
      expect(runCli(["--templates-dir", "elsewhere", "ami", "lint"], { cwd: dir }).status).toBe(0);
      expect(runCli(["ami", "lint", "--templates-dir", "elsewhere"], { cwd: dir }).status).toBe(0);
      expect(runCli(["ami", "lint"], { cwd: dir, env: { CWS_TEMPLATES_DIR: "elsewhere" } }).status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it("colours only on request, never with --no-color or NO_COLOR", () => {
    const { dir, cleanup } = scratchDir({ "templates/bad.yml": "name: 1\n" });
    try {
      const ESC = "\u001b[";
      expect(runCli(["ami", "lint"], { cwd: dir, env: { FORCE_COLOR: "1" } }).stdout).toContain(ESC);
      expect(runCli(["ami", "lint", "--no-color"], { cwd: dir, env: { FORCE_COLOR: "1" } }).stdout).not.toContain(ESC);
      expect(runCli(["ami", "lint"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } }).stdout).not.toContain(ESC);
      expect(runCli(["ami", "lint"], { cwd: dir }).stdout).not.toContain(ESC);
    } finally {
      cleanup();
    }
  });

  it("reports a multi-megabyte template by size and an empty directory clearly", () => {
    const { dir, cleanup } = scratchDir({ "templates/huge.yml": Buffer.alloc(5 * 1024 * 1024, "#"), "empty/.keep": "" });
    try {
      const huge = runCli(["ami", "lint"], { cwd: dir });
      expect(huge.status).toBe(2);
      expect(huge.stdout).toContain("templates/huge.yml:1:1 error the file is 5,242,880 bytes (5 MiB); a template may be at most 1,048,576 bytes (1 MiB)");
      const empty = runCli(["ami", "lint", "--templates-dir", "empty"], { cwd: dir });
      expect(empty.status).toBe(2);
      expect(empty.stderr).toContain("no templates (*.yml or *.yaml) in empty");
    } finally {
      cleanup();
    }
  });

  it("caches clean results by file content, re-lints edited files, and survives a corrupt cache", () => {
    const { dir, cleanup } = scratchDir({ "templates/t.yml": VALID_TEMPLATE });
    try {
      expect(runCli(["ami", "lint"], { cwd: dir }).status).toBe(0);
      const cacheFile = join(dir, ".cws", "cache", "lint.json");
      const cache = JSON.parse(readFileSync(cacheFile, "utf8"));
      expect(Object.keys(cache.entries)).toEqual(["templates/t.yml"]);
      expect(runCli(["ami", "lint"], { cwd: dir }).stdout).toContain("1 template checked: no problems");
      // The entry holds the file's exact bytes.
      expect(Buffer.from(cache.entries["templates/t.yml"].bytes, "latin1").toString("utf8")).toBe(VALID_TEMPLATE);
      // An edit of the same size (and likely the same mtime second) must still re-lint.
      writeFileSync(join(dir, "templates", "t.yml"), VALID_TEMPLATE.replace("ports: [22]", "ports: [0 ]"));
      const edited = runCli(["ami", "lint"], { cwd: dir });
      expect(edited.status).toBe(2);
      expect(edited.stdout).toContain("templates/t.yml:16:9 error ports[0]: must be at least 1, got 0");
      // The cached error is reported the same way, with its position.
      expect(runCli(["ami", "lint"], { cwd: dir }).stdout).toBe(edited.stdout);
      writeFileSync(cacheFile, "{ not json");
      expect(runCli(["ami", "lint"], { cwd: dir }).stdout).toBe(edited.stdout);
      expect(runCli(["ami", "lint", "--no-cache"], { cwd: dir }).stdout).toBe(edited.stdout);
    } finally {
      cleanup();
    }
  });
});

