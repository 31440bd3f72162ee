import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { jsonLines, problemLines, type JsonProblem } from "../helpers/lint-output.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * `cws ami lint` checks templates built on other templates across the whole
 * directory (the built CLI, as users run it): a missing parent, a cycle (every
 * template of it named in order), a parent that does not build an architecture
 * or region its child does. Each is an error at the child's
 * `base_ami.template` value (line 5, column 13 in these templates), exit 2.
 */
const on = (parent: string, text = VALID_TEMPLATE) => text.replace("  source: ubuntu-22.04-lts\n", `  template: ${parent}\n`);
const ARM_ONLY = VALID_TEMPLATE.replace("architecture: [x86_64, arm64]", "architecture: [arm64]").replace("  x86_64: 0.0416\n", "");

const CYCLE = "templates built on each other in a cycle";
const LINES = [
  `templates/a.yml:5:13 error base_ami.template: ${CYCLE}: a -> b -> c -> a (each builds on the next), so none of them can be built first`,
  `templates/b.yml:5:13 error base_ami.template: ${CYCLE}: b -> c -> a -> b (each builds on the next), so none of them can be built first`,
  `templates/c.yml:5:13 error base_ami.template: ${CYCLE}: c -> a -> b -> c (each builds on the next), so none of them can be built first`,
  "templates/far.yml:5:13 error base_ami.template: base is not built in eu-west-1, so there is no base image to build on there (base's regions: us-east-1, us-west-2)",
  'templates/orphan.yml:5:13 error base_ami.template: no template "basr" to build on in the templates directory (did you mean "base"?)',
  "templates/self.yml:5:13 error base_ami.template: self builds on itself",
  "templates/wide.yml:5:13 error base_ami.template: arm-only does not build x86_64, so there is no arm-only image to build this template's x86_64 image on (arm-only builds arm64)",
];

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = scratchDir({
    "templates/base.yml": VALID_TEMPLATE,
    "templates/child.yml": on("base"),
    "templates/grandchild.yml": on("child"),
    "templates/a.yml": on("b"),
    "templates/b.yml": on("c"),
    "templates/c.yml": on("a"),
    "templates/self.yml": on("self"),
    "templates/orphan.yml": on("basr"),
    "templates/arm-only.yml": ARM_ONLY,
    "templates/wide.yml": on("arm-only"),
    "templates/far.yml": on("base").replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, eu-west-1]"),
    // A parent that cannot be read is its own problem: its children are not told it is missing.
    "templates/broken.yml": "name: [unclosed\n",
    "templates/on-broken.yml": on("broken"),
  }));
});
afterAll(() => cleanup());

const lint = (...args: string[]) => runCli(["ami", "lint", ...args], { cwd: dir });
const brokenOnly = (lines: string[]) => lines.filter((line) => !line.startsWith("templates/broken.yml"));

describe("cws ami lint: templates built on other templates", () => {
  it("reports each problem at the child's base_ami.template, names every template of a cycle in order, exits 2", () => {
    const text = lint("--no-cache");
    expect(text.status).toBe(2);
    expect(brokenOnly(problemLines(text.stdout))).toEqual(LINES);
    expect(text.stdout).toContain("    → one template of the cycle must start from a base image: give it base_ami.source instead of base_ami.template\n");
    expect(text.stdout).toContain("    → add eu-west-1 to base's regions, or remove it from this template's regions\n");

    const json = lint("--json", "--no-cache");
    const report = JSON.parse(json.stdout) as { problems: JsonProblem[]; templates: { id: string; valid: boolean }[]; exitCode: number };
    expect(json.status).toBe(2);
    expect(jsonLines(report.problems)).toEqual(problemLines(text.stdout));
    const valid = Object.fromEntries(report.templates.map((t) => [t.id, t.valid]));
    expect(valid).toEqual({ a: false, "arm-only": true, b: false, base: true, broken: false, c: false, child: true, far: false, grandchild: true, "on-broken": true, orphan: false, self: false, wide: false });

    // From the cache: the same (each file's own problems are cached, the problems between files are found afresh).
    expect(lint()).toEqual(lint("--no-cache"));
    expect(lint()).toEqual(text);
  });

  it("checks a template named alone against its whole chain of parents, and reports only it", () => {
    expect(problemLines(lint("c").stdout)).toEqual([LINES[2]]);
    expect(problemLines(lint("far").stdout)).toEqual([LINES[3]]);
    const grandchild = lint("grandchild");
    expect(grandchild.status).toBe(0);
    expect(grandchild.stdout).toBe("✔ 1 template checked: no problems\n");
  });

  it("finds a problem a parent's edit causes, though the child's own file is unchanged (and cached)", () => {
    const { dir: edited, cleanup: remove } = scratchDir({ "templates/base.yml": VALID_TEMPLATE, "templates/child.yml": on("base") });
    try {
      const run = (...args: string[]) => runCli(["ami", "lint", ...args], { cwd: edited });
      expect(run().status).toBe(0);
      writeFileSync(join(edited, "templates", "base.yml"), ARM_ONLY);
      const after = run();
      expect(after.status).toBe(2);
      expect(problemLines(after.stdout)).toEqual([
        "templates/child.yml:5:13 error base_ami.template: base does not build x86_64, so there is no base image to build this template's x86_64 image on (base builds arm64)",
      ]);
      // The child alone, its file still answered from the cache, says the same.
      expect(problemLines(run("child").stdout)).toEqual(problemLines(after.stdout));
    } finally {
      remove();
    }
  });
});
