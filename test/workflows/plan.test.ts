import { describe, expect, it } from "vitest";
import { isCwsError } from "../../src/errors.js";
import {
  buildAllCommand,
  MAX_MATRIX_JOBS,
  parseChangedDocument,
  parseForceInput,
  parseTemplatesInput,
  planBuilds,
  planLogLines,
  planSummaryMarkdown,
  type ChangedDocument,
  type PlanRequest,
} from "../../src/pipeline/plan.js";

const BOTH = ["x86_64", "arm64"];

/** The shipped templates' shape: ml-research built on python-research, r-research x86_64 only. */
const TEMPLATES: ChangedDocument["templates"] = [
  { id: "basic-ubuntu", architectures: BOTH, parent: null },
  { id: "ml-research", architectures: BOTH, parent: "python-research" },
  { id: "python-research", architectures: BOTH, parent: null },
  { id: "r-research", architectures: ["x86_64"], parent: null },
];

function changes(changed: ChangedDocument["changed"] = [], extra: Partial<ChangedDocument> = {}): ChangedDocument {
  return {
    since: { rev: "HEAD^", commit: "a".repeat(40) },
    head: "b".repeat(40),
    templatesDir: "templates",
    changed,
    deleted: [],
    templates: TEMPLATES,
    ...extra,
  };
}

function edited(id: string, reason: "edited" | "new" | "renamed" | "dependent" = "edited", more: Partial<ChangedDocument["changed"][number]> = {}) {
  const t = TEMPLATES.find((template) => template.id === id)!;
  return { id, file: `templates/${id}.yml`, reason, architectures: t.architectures, parent: t.parent, ...more };
}

function plan(request: Partial<PlanRequest>) {
  return planBuilds({ event: "push", beforeUsable: true, changes: changes(), ...request });
}

/** Every entry as `name: templates @ architecture`, for compact expectations. */
function entries(request: Partial<PlanRequest>): string[] {
  return plan(request).matrix.include.map((e) => `${e.name}: ${e.templates} @ ${e.architecture}`);
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

const ALL_ENTRIES = [
  "basic-ubuntu-x86_64: basic-ubuntu @ x86_64",
  "basic-ubuntu-arm64: basic-ubuntu @ arm64",
  "python-research+ml-research-x86_64: python-research ml-research @ x86_64",
  "python-research+ml-research-arm64: python-research ml-research @ arm64",
  "r-research-x86_64: r-research @ x86_64",
];

describe("the push plan", () => {
  it("builds what changed, a parent with its dependent in one job per architecture", () => {
    const result = plan({ changes: changes([edited("python-research"), edited("ml-research", "dependent", { dependsOn: "python-research" })]) });
    expect(result.matrix.include.map((e) => `${e.name}: ${e.templates} @ ${e.architecture}`)).toEqual([
      "python-research+ml-research-x86_64: python-research ml-research @ x86_64",
      "python-research+ml-research-arm64: python-research ml-research @ arm64",
    ]);
    expect(result.maxAge).toBeNull();
    expect(result.force).toBe(false);
    expect(result.templates).toEqual([
      { id: "python-research", reason: { kind: "edited" } },
      { id: "ml-research", reason: { kind: "dependent", of: "python-research" } },
    ]);
  });

  it("an amis-only push (the registry pull request's merge) plans nothing: no build, no registry job, no loop", () => {
    const result = plan({ changes: changes([]) });
    expect(result.matrix.include).toEqual([]);
    expect(result.headline).toMatch(/^Nothing to build: .*amis: block/);
  });

  it("a template with one architecture gets only that architecture's entry", () => {
    expect(entries({ changes: changes([edited("r-research")]) })).toEqual(["r-research-x86_64: r-research @ x86_64"]);
  });

  it("a child alone is its own group (build-all includes its parent where it needs it)", () => {
    expect(entries({ changes: changes([edited("ml-research")]) })).toEqual(["ml-research-x86_64: ml-research @ x86_64", "ml-research-arm64: ml-research @ arm64"]);
  });

  it("a renamed template is built under its new id; a deleted one is named and not built", () => {
    const result = plan({
      changes: changes([edited("basic-ubuntu", "renamed", { renamedFrom: "plain-ubuntu" })], { deleted: [{ id: "old-thing", file: "templates/old-thing.yml" }] }),
    });
    expect(result.matrix.include.map((e) => e.templates)).toEqual(["basic-ubuntu", "basic-ubuntu"]);
    expect(result.templates).toEqual([{ id: "basic-ubuntu", reason: { kind: "renamed", from: "plain-ubuntu" } }]);
    expect(result.deleted).toEqual(["old-thing"]);
    expect(planSummaryMarkdown(result).join("\n")).toContain("Deleted, so not built: old-thing.");
  });

  it("a push that only deletes a template builds nothing", () => {
    const result = plan({ changes: changes([], { deleted: [{ id: "old-thing", file: "templates/old-thing.yml" }] }) });
    expect(result.matrix.include).toEqual([]);
    expect(result.deleted).toEqual(["old-thing"]);
  });

  it("a push whose previous commit is not usable builds every template", () => {
    const result = plan({ beforeUsable: false, changes: changes([edited("r-research")]) });
    expect(result.matrix.include.map((e) => `${e.name}: ${e.templates} @ ${e.architecture}`)).toEqual(ALL_ENTRIES);
    expect(result.headline).toContain("all 4 templates in 5 jobs: the push's previous commit is not in the clone");
    expect(result.maxAge).toBeNull();
  });

  it("orders parents first, then by id, whatever order changed lists them in", () => {
    expect(entries({ changes: changes([edited("r-research"), edited("ml-research", "dependent"), edited("basic-ubuntu", "new"), edited("python-research")]) })).toEqual(ALL_ENTRIES);
  });

  it("ignores the dispatch inputs", () => {
    const result = plan({ templatesInput: "no-such-template", force: true, changes: changes([edited("r-research")]) });
    expect(result.force).toBe(false);
    expect(result.matrix.include).toHaveLength(1);
  });
});

describe("the schedule plan", () => {
  it("builds every template with --max-age 6d (last week's images are a little younger than 7 days)", () => {
    const result = plan({ event: "schedule", changes: changes([]) });
    expect(result.matrix.include.map((e) => `${e.name}: ${e.templates} @ ${e.architecture}`)).toEqual(ALL_ENTRIES);
    expect(result.maxAge).toBe("6d");
    expect(buildAllCommand(result, result.matrix.include[2]!)).toBe("cws ami build-all python-research ml-research --architecture x86_64 --max-age 6d");
    expect(result.headline).toBe("Building all 4 templates in 5 jobs with --max-age 6d: the weekly rebuild.");
  });

  it("with no templates plans nothing", () => {
    expect(plan({ event: "schedule", changes: changes([], { templates: [] }) }).matrix.include).toEqual([]);
  });
});

describe("the workflow_dispatch plan", () => {
  it.each([
    ["r-research, python-research"],
    ["r-research,python-research"],
    ["r-research  python-research"],
    ["  r-research ,\tpython-research , "],
    ["python-research\nr-research"],
    ["r-research, python-research, r-research"],
  ])("%j names r-research and python-research, and python-research's dependent", (input) => {
    const result = plan({ event: "workflow_dispatch", templatesInput: input });
    expect(result.matrix.include.map((e) => `${e.name}: ${e.templates} @ ${e.architecture}`)).toEqual([
      "python-research+ml-research-x86_64: python-research ml-research @ x86_64",
      "python-research+ml-research-arm64: python-research ml-research @ arm64",
      "r-research-x86_64: r-research @ x86_64",
    ]);
    expect(result.templates.find((t) => t.id === "ml-research")?.reason).toEqual({ kind: "dependent", of: "python-research" });
    expect(result.templates.find((t) => t.id === "r-research")?.reason).toEqual({ kind: "named" });
  });

  it.each([[""], ["   "], ["all"], ["ALL"], [" All "], [undefined], ["all, r-research"]])("%j means every template", (input) => {
    expect(entries({ event: "workflow_dispatch", ...(input === undefined ? {} : { templatesInput: input }) })).toEqual(ALL_ENTRIES);
  });

  it("force adds --force; max-age stays off", () => {
    const result = plan({ event: "workflow_dispatch", templatesInput: "r-research", force: true });
    expect(result.force).toBe(true);
    expect(result.maxAge).toBeNull();
    expect(buildAllCommand(result, result.matrix.include[0]!)).toBe("cws ami build-all r-research --architecture x86_64 --force");
    expect(plan({ event: "workflow_dispatch", templatesInput: "r-research", force: false }).force).toBe(false);
  });

  it("an unknown id is a user error naming it, the known ids and the nearest one", () => {
    const error = thrown(() => plan({ event: "workflow_dispatch", templatesInput: "r-reserch, python-research" }));
    expect(isCwsError(error)).toBe(true);
    expect(error).toMatchObject({
      code: "TEMPLATE_NOT_FOUND",
      exitCode: 2,
      value: "r-reserch",
      message: 'no template "r-reserch" (did you mean "r-research"?) in templates',
    });
    expect((error as { suggestion: string }).suggestion).toContain("templates here: basic-ubuntu, ml-research, python-research, r-research");
  });

  it("every unknown id is named at once", () => {
    const error = thrown(() => plan({ event: "workflow_dispatch", templatesInput: "nope zzz-unrelated r-research" }));
    expect(error).toMatchObject({ value: "nope, zzz-unrelated" });
    expect((error as Error).message).toBe('no template "nope", "zzz-unrelated" in templates');
  });

  it("naming a child alone builds it alone", () => {
    expect(entries({ event: "workflow_dispatch", templatesInput: "ml-research" })).toEqual(["ml-research-x86_64: ml-research @ x86_64", "ml-research-arm64: ml-research @ arm64"]);
  });
});

describe("groups", () => {
  const FAMILY: ChangedDocument["templates"] = [
    { id: "base", architectures: BOTH, parent: null },
    { id: "kid-a", architectures: BOTH, parent: "base" },
    { id: "kid-b", architectures: ["arm64"], parent: "base" },
    { id: "grandkid", architectures: BOTH, parent: "kid-a" },
    { id: "loner", architectures: BOTH, parent: null },
  ];
  const family = (input: string) => planBuilds({ event: "workflow_dispatch", templatesInput: input, beforeUsable: true, changes: changes([], { templates: FAMILY }) });

  it("a whole family is one job per architecture, the build-all call given only who builds that architecture", () => {
    expect(family("base").matrix.include).toEqual([
      { name: "base+kid-a+grandkid-x86_64", templates: "base kid-a grandkid", architecture: "x86_64" },
      { name: "base+3-arm64", templates: "base kid-a grandkid kid-b", architecture: "arm64" },
    ]);
  });

  it("two children of a parent that is not rebuilt go to one job, so --force cannot build the parent twice", () => {
    expect(family("kid-b, grandkid").matrix.include.map((e) => `${e.templates} @ ${e.architecture}`)).toEqual(["grandkid @ x86_64", "grandkid kid-b @ arm64"]);
  });

  it("names are unique and safe in an artifact's name", () => {
    for (const input of ["all", "base", "kid-b, loner"]) {
      const names = family(input).matrix.include.map((e) => e.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name).not.toMatch(/[/:<>|*?\\"\r\n]/);
    }
  });

  it(`past GitHub's ${MAX_MATRIX_JOBS} jobs a run, packs groups of one architecture into fewer jobs, every template built once per architecture`, () => {
    const many = Array.from({ length: 131 }, (_, i) => ({ id: `t${String(i).padStart(3, "0")}`, architectures: BOTH, parent: null }));
    const run = () => planBuilds({ event: "schedule", beforeUsable: true, changes: changes([], { templates: many }) }).matrix.include;
    const include = run();
    expect(include.length).toBeGreaterThan(1);
    expect(include.length).toBeLessThanOrEqual(256);
    for (const architecture of BOTH) {
      const built = include.filter((e) => e.architecture === architecture).flatMap((e) => e.templates.split(" "));
      expect(built.sort()).toEqual(many.map((t) => t.id));
    }
    const names = include.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(run()).toEqual(include);
    // Below the limit nothing is packed: 128 templates are 256 jobs of one template each.
    const atLimit = planBuilds({ event: "schedule", beforeUsable: true, changes: changes([], { templates: many.slice(0, 128) }) }).matrix.include;
    expect(atLimit).toHaveLength(256);
    expect(atLimit.every((e) => !e.templates.includes(" "))).toBe(true);
  });

  it("packing keeps a family in one job, parents before children", () => {
    // 130 families of both architectures and 40 x86_64 templates: 300 entries before packing.
    const families = Array.from({ length: 130 }, (_, i) => [
      { id: `p${String(i).padStart(3, "0")}`, architectures: BOTH, parent: null },
      { id: `p${String(i).padStart(3, "0")}-kid`, architectures: BOTH, parent: `p${String(i).padStart(3, "0")}` },
    ]).flat();
    const loners = Array.from({ length: 40 }, (_, i) => ({ id: `z${String(i).padStart(2, "0")}`, architectures: ["x86_64"], parent: null }));
    const include = planBuilds({ event: "schedule", beforeUsable: true, changes: changes([], { templates: [...families, ...loners] }) }).matrix.include;
    expect(include.length).toBeLessThanOrEqual(256);
    expect(include.some((e) => e.templates.split(" ").length > 2)).toBe(true);
    for (const entry of include) {
      const ids = entry.templates.split(" ");
      for (const id of ids.filter((x) => x.endsWith("-kid"))) expect(ids.indexOf(id.replace("-kid", ""))).toBe(ids.indexOf(id) - 1);
    }
    expect(include.filter((e) => e.architecture === "x86_64").flatMap((e) => e.templates.split(" "))).toHaveLength(300);
    expect(include.filter((e) => e.architecture === "arm64").flatMap((e) => e.templates.split(" "))).toHaveLength(260);
  });

  it("a cycle (which lint refuses) does not hang the plan", () => {
    const cycle = [
      { id: "a", architectures: BOTH, parent: "b" },
      { id: "b", architectures: BOTH, parent: "a" },
    ];
    const result = planBuilds({ event: "schedule", beforeUsable: true, changes: changes([], { templates: cycle }) });
    expect(result.templates.map((t) => t.id).sort()).toEqual(["a", "b"]);
  });
});

describe("the plan in words", () => {
  it("the summary is a Markdown table with each entry's command and why", () => {
    const result = plan({ changes: changes([edited("python-research"), edited("ml-research", "dependent", { dependsOn: "python-research" })]) });
    expect(planSummaryMarkdown(result)).toEqual([
      "### AMI build plan",
      "",
      "Building 2 templates in 2 jobs.",
      "",
      "| Job | Architecture | build-all | Why |",
      "| --- | --- | --- | --- |",
      "| python-research+ml-research-x86_64 | x86_64 | `cws ami build-all python-research ml-research --architecture x86_64` | python-research: edited; ml-research: built on python-research, which is rebuilt |",
      "| python-research+ml-research-arm64 | arm64 | `cws ami build-all python-research ml-research --architecture arm64` | python-research: edited; ml-research: built on python-research, which is rebuilt |",
    ]);
    expect(planLogLines(result)[0]).toBe("Building 2 templates in 2 jobs.");
  });
});

describe("parseForceInput", () => {
  it.each([["true", true], ["TRUE", true], [" True ", true], ["1", true], ["false", false], ["FALSE", false], ["0", false], ["", false], [undefined, false]])("%j is %s", (input, expected) => {
    expect(parseForceInput(input)).toBe(expected);
  });

  it.each([["yes"], ["ture"], ["2"]])("%j is refused: a typo must not quietly build without --force", (input) => {
    const error = thrown(() => parseForceInput(input));
    expect(isCwsError(error) && error.code).toBe("FORCE_INPUT_INVALID");
    expect(isCwsError(error) && error.suggestion).toContain("true or false");
  });
});

describe("a push's comparison", () => {
  it("is said in the summary and the log, and only for a push", () => {
    const comparison = "Compared with abc, the commit of the last successful push or weekly run of this workflow.";
    const result = plan({ comparison, changes: changes([edited("r-research")]) });
    expect(planSummaryMarkdown(result).slice(0, 5)).toEqual(["### AMI build plan", "", "Building 1 template in 1 job.", "", comparison]);
    expect(planLogLines(result)[1]).toBe(`  ${comparison}`);
    expect(plan({ event: "schedule", comparison }).comparison).toBeUndefined();
  });
});

describe("parseTemplatesInput", () => {
  it("splits on commas and whitespace, drops duplicates and empties", () => {
    expect(parseTemplatesInput(" a,, b c ,a ")).toEqual(["a", "b", "c"]);
    expect(parseTemplatesInput(",")).toBeUndefined();
  });
});

describe("parseChangedDocument", () => {
  it("accepts the changed document and refuses another shape, saying where", () => {
    const document = changes([edited("r-research")]);
    expect(parseChangedDocument(JSON.parse(JSON.stringify(document)))).toEqual(document);
    const error = thrown(() => parseChangedDocument({ ...document, templates: [{ id: "x" }] }));
    expect(error).toMatchObject({ code: "CHANGED_DOCUMENT_INVALID", exitCode: 1 });
    expect((error as Error).message).toContain("templates.0.architectures");
  });
});
