import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanEnv, CWS_BIN, runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/** One rule for template ids (src/template/template-id.ts), from file names, from the command line and in the registry. */

const RULE = "use lowercase letters, digits and single hyphens, starting with a letter, at most 32 characters (e.g. r-research)";
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
function workspace(files: Record<string, string>): string {
  const { dir, cleanup } = scratchDir(files);
  cleanups.push(cleanup);
  return dir;
}

describe("template ids", () => {
  it("a file whose name is not an id is reported by lint (and its content still checked); dot-files are skipped", () => {
    const dir = workspace({
      "templates/r-research.yml": VALID_TEMPLATE,
      "templates/R_Research.yml": VALID_TEMPLATE.replace("ports: [22]", "ports: [0]"),
      "templates/.draft.yml": "name: [",
    });
    const result = runCli(["ami", "lint"], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stdout).toContain(`templates/R_Research.yml: error: "R_Research" is not a valid template id: ${RULE}\n    → rename the file to r-research.yml: the id is part of image names, tags and SSM parameters\n`);
    expect(result.stdout).toContain("templates/R_Research.yml:16:9 error ports[0]: must be at least 1, got 0");
    expect(result.stdout).not.toContain(".draft");
    expect(result.stdout).toContain("2 templates checked");
  });

  it("an id typed on the command line that cannot be one says the rule, and the id it was probably meant to be", () => {
    const dir = workspace({ "templates/r-research.yml": VALID_TEMPLATE, "registry/amis.json": JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: {} }) });
    const cases: [args: string[], message: string][] = [
      [["ami", "lint", "R_Research"], `error: "R_Research" is not a valid template id: ${RULE} (did you mean "r-research"?)`],
      [["ami", "lint", ".draft"], `error: ".draft" is not a valid template id: ${RULE}`],
      [["ami", "build", "Bad Name", "--dry-run", "--region", "us-east-1"], `error: "Bad Name" is not a valid template id: ${RULE}`],
      [["ami", "update-templates", "r-research.YML"], `error: "r-research.YML" is not a valid template id: ${RULE} (did you mean "r-research"?)`],
      [["ami", "update-registry", "R-Research"], `error: "R-Research" is not a valid template id: ${RULE} (did you mean "r-research"?)`],
    ];
    for (const [args, message] of cases) {
      const result = runCli(args, { cwd: dir });
      expect(result.stderr.split("\n")[0], args.join(" ")).toBe(message);
      expect(result.status, args.join(" ")).toBe(2);
    }
    // A well-formed id that does not exist is still "no template".
    expect(runCli(["ami", "lint", "r-reserch"], { cwd: dir }).stderr).toContain('no template "r-reserch"');
  });

  it("build and build-all stopped by a badly named file print lint's advice and a lint command that works when pasted into a shell", () => {
    const dir = workspace({ "templates/r-research.yml": VALID_TEMPLATE, "templates/Bad Name.yml": VALID_TEMPLATE, "registry/amis.json": JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: {} }) });
    for (const args of [
      ["ami", "build-all", "--dry-run"],
      ["ami", "build", "Bad Name", "--region", "us-east-1"],
    ]) {
      const result = runCli(args, { cwd: dir });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain(`templates/Bad Name.yml: error: "Bad Name" is not a valid template id: ${RULE}\n    → rename the file to bad-name.yml`);
      const command = /\((cws ami lint .+) shows them again\)/.exec(result.stderr)?.[1];
      expect(command, result.stderr).toBeDefined();
      // As a user pastes it: through a shell, with cws being the built CLI.
      const pasted = spawnSync("sh", ["-c", `cws() { "${process.execPath}" "${CWS_BIN}" "$@"; }; ${command!}`], { cwd: dir, encoding: "utf8", env: cleanEnv() });
      expect(pasted.status, command).toBe(2);
      expect(pasted.stdout, command).toContain(`templates/Bad Name.yml: error: "Bad Name" is not a valid template id`);
      expect(pasted.stdout, command).toContain("1 template checked");
    }
  });

  it("two files of one id (dup.yml and dup.yaml) are a problem of each, and every other template is still checked", () => {
    const dir = workspace({
      "templates/dup.yml": VALID_TEMPLATE,
      "templates/dup.yaml": VALID_TEMPLATE.replace("ports: [22]", "ports: [0]"),
      "templates/good.yml": VALID_TEMPLATE,
      "templates/other.yml": VALID_TEMPLATE.replace('version: "1.0.0"', "version: 1.10"),
    });
    const both = (file: string, other: string) =>
      `templates/${file}: error: template dup is also ${other}: one id, 2 files, so neither is the template\n    → keep one of dup.yaml and dup.yml: remove or rename the other\n`;
    const all = runCli(["ami", "lint"], { cwd: dir });
    expect(all.status).toBe(2);
    expect(all.stdout).toContain(both("dup.yaml", "dup.yml"));
    expect(all.stdout).toContain(both("dup.yml", "dup.yaml"));
    // Each file's content is checked too, and the other templates are.
    expect(all.stdout).toContain("templates/dup.yaml:16:9 error ports[0]: must be at least 1, got 0");
    expect(all.stdout).toContain("templates/other.yml:3:10 error version:");
    expect(all.stdout).toContain("4 templates checked");
    const json = JSON.parse(runCli(["ami", "lint", "--json"], { cwd: dir }).stdout) as { templates: { file: string; valid: boolean }[] };
    expect(json.templates.map((t) => [t.file, t.valid])).toEqual([
      ["templates/dup.yaml", false],
      ["templates/dup.yml", false],
      ["templates/good.yml", true],
      ["templates/other.yml", false],
    ]);
    // Named, the id lints both files; a good template alone is still fine.
    const named = runCli(["ami", "lint", "dup"], { cwd: dir });
    expect(named.status).toBe(2);
    expect(named.stdout).toContain(both("dup.yml", "dup.yaml"));
    expect(named.stdout).toContain("2 templates checked");
    expect(runCli(["ami", "lint", "good"], { cwd: dir }).status).toBe(0);
    // Every other command refuses the id, naming the two files, before anything is launched.
    const build = runCli(["ami", "build", "dup", "--dry-run", "--region", "us-east-1", "--architecture", "x86_64"], { cwd: dir });
    expect(build.stderr).toContain("template dup is also dup.yml");
    expect(build.stderr).toContain("nothing was built");
    expect(build.status).toBe(2);
  });

  it("a .yml or .yaml extension not in lower case is reported with the name to use, not passed over", () => {
    const dir = workspace({
      "templates/upper.YML": VALID_TEMPLATE.replace("ports: [22]", "ports: [0]"),
      "templates/mixed.Yaml": VALID_TEMPLATE,
      "templates/Shout.YAML": VALID_TEMPLATE,
      "templates/good.yml": VALID_TEMPLATE,
    });
    const result = runCli(["ami", "lint"], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stdout).toContain("templates/upper.YML: error: the extension .YML is not in lower case: template files end in .yml or .yaml\n    → rename the file to upper.yml\n");
    expect(result.stdout).toContain("templates/upper.YML:16:9 error ports[0]: must be at least 1, got 0");
    expect(result.stdout).toContain("templates/mixed.Yaml: error: the extension .Yaml is not in lower case: template files end in .yml or .yaml\n    → rename the file to mixed.yaml\n");
    // An id that is no id says that, with the whole new name.
    expect(result.stdout).toContain(`templates/Shout.YAML: error: "Shout" is not a valid template id: ${RULE}\n    → rename the file to shout.yaml:`);
    expect(result.stdout).toContain("4 templates checked");
    for (const name of ["upper", "upper.YML"]) {
      const named = runCli(["ami", "lint", name], { cwd: dir });
      expect(named.stdout, name).toContain("templates/upper.YML: error: the extension .YML is not in lower case");
      expect(named.status, name).toBe(2);
    }
  });

  it("build refuses a template whose file name is not an id, before anything is launched", () => {
    const dir = workspace({ "templates/Bad Name.yml": VALID_TEMPLATE });
    const result = runCli(["ami", "build", "Bad Name", "--dry-run", "--region", "us-east-1", "--architecture", "x86_64"], { cwd: dir });
    expect(result.stderr).toContain(`templates/Bad Name.yml: error: "Bad Name" is not a valid template id: ${RULE}\n`);
    expect(result.stderr).toContain("error: template Bad Name has 1 problem(s); nothing was built");
    expect(result.status).toBe(2);
  });

  it("rollback checks the id against the rule, then the registry", () => {
    const registry = { version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: {} };
    const dir = workspace({ "amis.json": JSON.stringify(registry) });
    const result = runCli(["--registry", "amis.json", "ami", "rollback", "Bad Name", "--region", "us-east-1", "--architecture", "x86_64"], { cwd: dir });
    expect(result.stderr.split("\n")[0]).toBe(`error: "Bad Name" is not a valid template id: ${RULE}`);
    expect(result.status).toBe(2);
  });

  it("a registry keyed by something that is not an id is invalid, on list's quick path and in the schema alike", () => {
    const entry = { version: "v1", description: "d", amis: {}, ports: [22], estimated_cost_per_hour: {} };
    const dir = workspace({});
    writeFileSync(join(dir, "amis.json"), JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: { "r-research": entry, "Bad Name": entry } }, null, 2));
    const result = runCli(["--registry", "amis.json", "ami", "list"], { cwd: dir });
    // One problem is one line: `error: file:line:col path: message`.
    expect(result.stderr).toMatch(new RegExp(`^error: amis\\.json:14:\\d+ templates\\.Bad Name: not a valid template id: ${RULE.replace(/[()]/g, "\\$&")}\n`));
    expect(result.status).toBe(2);
  });
});
