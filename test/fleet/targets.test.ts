import { describe, expect, it } from "vitest";
import { CwsError, EXIT } from "../../src/errors.js";
import { fleetJobs } from "../../src/fleet/orchestrator.js";
import type { FleetTarget } from "../../src/fleet/targets.js";
import { targetsOf, type TemplateShape } from "./fleet-fixtures.js";

/** A target in one line: key, home, copies; `*` marks a parent included for its children only. */
function line(target: FleetTarget): string {
  return `${target.key}${target.requested ? "" : "*"} ${target.home}${target.copyTo.length > 0 ? ` -> ${target.copyTo.join(",")}` : ""}`;
}

function lines(shapes: Record<string, TemplateShape>, selection: Parameters<typeof targetsOf>[1] = {}): string[] {
  return targetsOf(shapes, selection).targets.map(line);
}

/** The usage error fleetTargets refuses with (exit 2). */
function refusal(shapes: Record<string, TemplateShape>, selection: Parameters<typeof targetsOf>[1] = {}): CwsError {
  try {
    targetsOf(shapes, selection);
  } catch (error) {
    expect(error).toBeInstanceOf(CwsError);
    expect((error as CwsError).exitCode).toBe(EXIT.usage);
    return error as CwsError;
  }
  throw new Error("fleetTargets accepted it");
}

const THREE = ["us-east-1", "us-west-2", "eu-west-1"];

describe("fleetTargets: which templates", () => {
  it("with no ids takes every template, by id, each architecture in the template's order, built in its first region and copied to the others", () => {
    expect(lines({ zeta: { architectures: ["arm64", "x86_64"] }, alpha: { regions: THREE }, mid: { architectures: ["x86_64"], regions: ["eu-west-1"] } })).toEqual([
      "alpha/x86_64 us-east-1 -> us-west-2,eu-west-1",
      "alpha/arm64 us-east-1 -> us-west-2,eu-west-1",
      "mid/x86_64 eu-west-1",
      "zeta/arm64 us-east-1 -> us-west-2",
      "zeta/x86_64 us-east-1 -> us-west-2",
    ]);
  });

  it("takes the ids asked for in the order given, each once, and no other template", () => {
    const shapes = { a: { architectures: ["x86_64"] }, b: { architectures: ["x86_64"] }, c: { architectures: ["x86_64"] } } satisfies Record<string, TemplateShape>;
    expect(lines(shapes, { requested: ["c", "a"] })).toEqual(["c/x86_64 us-east-1 -> us-west-2", "a/x86_64 us-east-1 -> us-west-2"]);
    expect(lines(shapes, { requested: ["b", "a", "b", "a"] })).toEqual(["b/x86_64 us-east-1 -> us-west-2", "a/x86_64 us-east-1 -> us-west-2"]);
  });
});

describe("fleetTargets: templates built on templates", () => {
  it("includes the parent of a child named alone, only for the architectures it needs and only where the child is built", () => {
    const { targets } = targetsOf(
      { parent: { regions: THREE }, child: { parent: "parent", architectures: ["arm64"], regions: ["us-east-1", "eu-west-1"] }, other: {} },
      { requested: ["child"] },
    );
    expect(targets.map(line)).toEqual(["parent/arm64* us-east-1", "child/arm64 us-east-1 -> eu-west-1"]);
    expect(targets[0]).toMatchObject({ templateId: "parent", requested: false });
    expect(targets[1]).toMatchObject({ templateId: "child", parent: "parent", requested: true });
  });

  it("builds grandparents, then parents, then children, whatever order they were asked in", () => {
    const shapes = { base: {}, mid: { parent: "base" }, leaf: { parent: "mid" }, solo: {} } satisfies Record<string, TemplateShape>;
    expect(lines(shapes, { requested: ["leaf"], architecture: "x86_64" })).toEqual(["base/x86_64* us-east-1", "mid/x86_64* us-east-1", "leaf/x86_64 us-east-1 -> us-west-2"]);
    expect(lines(shapes, { requested: ["leaf", "solo", "base"], architecture: "x86_64" })).toEqual([
      "solo/x86_64 us-east-1 -> us-west-2",
      "base/x86_64 us-east-1 -> us-west-2",
      "mid/x86_64* us-east-1",
      "leaf/x86_64 us-east-1 -> us-west-2",
    ]);
    // Every template: by depth, then by id.
    expect(lines(shapes, { architecture: "x86_64" }).map((l) => l.split("/")[0])).toEqual(["base", "solo", "mid", "leaf"]);
  });

  it("copies the parent to a child's home first when the two are built in different regions, and the child's build waits for that copy", () => {
    const { targets } = targetsOf({ parent: { regions: THREE, architectures: ["x86_64"] }, child: { parent: "parent", regions: ["eu-west-1"], architectures: ["x86_64"] } }, { requested: ["child"] });
    expect(targets.map(line)).toEqual(["parent/x86_64* us-east-1 -> eu-west-1", "child/x86_64 eu-west-1"]);
    const jobs = fleetJobs(targets);
    expect(jobs.map((j) => `${j.kind} ${j.id} needs ${j.needs.join(",") || "-"}`)).toEqual([
      "build parent/x86_64@us-east-1 needs -",
      "copy parent/x86_64@eu-west-1 needs parent/x86_64@us-east-1",
      "build child/x86_64@eu-west-1 needs parent/x86_64@eu-west-1",
    ]);
  });

  it("a parent asked for too gets every region of its own plus where its children are built", () => {
    expect(
      lines({ parent: { regions: THREE }, child: { parent: "parent", regions: ["us-west-2"] } }, { requested: ["parent", "child"], architecture: "x86_64" }),
    ).toEqual(["parent/x86_64 us-east-1 -> us-west-2,eu-west-1", "child/x86_64 us-west-2"]);
  });

  it.each([
    ["of one template", { a: { parent: "a" } }, ["a"], "a -> a"],
    ["of two", { a: { parent: "b" }, b: { parent: "a" } }, ["a", "b"], "a -> b -> a"],
    ["of three", { a: { parent: "b" }, b: { parent: "c" }, c: { parent: "a" } }, ["a", "b", "c"], "a -> b -> c -> a"],
  ] satisfies [string, Record<string, TemplateShape>, string[], string][])("refuses a cycle %s, naming every template in it", (_, cycle, members, described) => {
    const shapes = { ...cycle, "on-cycle": { parent: "a" }, fine: {} };
    for (const requested of [[], ["a"], [members.at(-1)!], ["on-cycle"], ["fine", "on-cycle"]]) {
      const error = refusal(shapes, { requested });
      expect(error.code, requested.join()).toBe("TEMPLATE_CYCLE");
      expect(error.value).toBe(described);
      for (const id of members) expect(error.message).toContain(id);
      expect(error.suggestion).toMatch(/base_ami\.source/);
    }
  });

  it("refuses a missing parent of any template involved, grandparents included, naming it", () => {
    const shapes = { orphan: { parent: "gone" }, leaf: { parent: "orphan" }, fine: {} } satisfies Record<string, TemplateShape>;
    for (const requested of [[], ["orphan"], ["leaf"]]) {
      const error = refusal(shapes, { requested });
      expect(error.code).toBe("TEMPLATE_PARENT_MISSING");
      expect(error.value).toBe("gone");
      expect(error.message).toMatch(/^orphan: .*"gone"/);
    }
  });

  it("lets a cycle or a missing parent among templates not involved be", () => {
    const shapes = { a: { parent: "b" }, b: { parent: "a" }, orphan: { parent: "gone" }, base: {}, child: { parent: "base" } } satisfies Record<string, TemplateShape>;
    expect(lines(shapes, { requested: ["child"], architecture: "x86_64" })).toEqual(["base/x86_64* us-east-1", "child/x86_64 us-east-1 -> us-west-2"]);
  });

  it.each([
    ["an architecture", { parent: { architectures: ["x86_64"] }, child: { parent: "parent" } }, /parent does not build arm64/],
    ["a region", { parent: { regions: ["us-east-1"] }, child: { parent: "parent", regions: ["us-east-1", "eu-west-1"] } }, /parent is not built in eu-west-1/],
  ] satisfies [string, Record<string, TemplateShape>, RegExp][])("refuses a child that builds %s its parent does not", (_, shapes, message) => {
    const error = refusal(shapes, { requested: ["child"] });
    expect(error.code).toBe("TEMPLATE_PARENT_MISMATCH");
    expect(error.value).toBe("child");
    expect(error.message).toMatch(message);
  });
});

describe("fleetTargets: --build-region, --region, --architecture, --strategy", () => {
  it("--build-region builds every target there, parents included, and copies from there", () => {
    expect(
      lines({ parent: { regions: THREE }, child: { parent: "parent", regions: ["us-west-2", "eu-west-1"] } }, { buildRegion: "eu-west-1", architecture: "x86_64" }),
    ).toEqual(["parent/x86_64 eu-west-1 -> us-east-1,us-west-2", "child/x86_64 eu-west-1 -> us-west-2"]);
  });

  it("refuses a --build-region a template asked for does not list, naming the template, its regions and file", () => {
    const error = refusal({ a: { regions: THREE }, b: { regions: ["us-east-1", "us-west-2"] } }, { requested: ["a", "b"], buildRegion: "eu-west-1" });
    expect(error.code).toBe("BUILD_REGION_NOT_LISTED");
    expect(error.value).toBe("eu-west-1");
    expect(error.message).toContain("b is not built in eu-west-1");
    expect(error.message).toContain("us-east-1, us-west-2");
    expect(error.message).toContain("templates/b.yml");
  });

  it("--region narrows where images go; the copy strategy still builds in the home region, which gets one too", () => {
    const shapes = { a: { regions: THREE, architectures: ["x86_64"] } } satisfies Record<string, TemplateShape>;
    expect(lines(shapes, { region: "eu-west-1" })).toEqual(["a/x86_64 us-east-1 -> eu-west-1"]);
    expect(lines(shapes, { region: "us-east-1" })).toEqual(["a/x86_64 us-east-1"]);
    expect(lines(shapes, { region: "eu-west-1", buildRegion: "us-west-2" })).toEqual(["a/x86_64 us-west-2 -> eu-west-1"]);
  });

  it("per-region builds each region on its own, a child's build in each region after its parent's there", () => {
    const shapes = { parent: { regions: THREE, architectures: ["x86_64"] }, child: { parent: "parent", regions: ["us-west-2", "eu-west-1"], architectures: ["x86_64"] } } satisfies Record<
      string,
      TemplateShape
    >;
    const { targets } = targetsOf(shapes, { strategy: "per-region", requested: ["child"] });
    expect(targets.map(line)).toEqual(["parent/x86_64@us-west-2* us-west-2", "parent/x86_64@eu-west-1* eu-west-1", "child/x86_64@us-west-2 us-west-2", "child/x86_64@eu-west-1 eu-west-1"]);
    expect(fleetJobs(targets).map((j) => `${j.id} needs ${j.needs.join(",") || "-"}`)).toEqual([
      "parent/x86_64@us-west-2 needs -",
      "parent/x86_64@eu-west-1 needs -",
      "child/x86_64@us-west-2 needs parent/x86_64@us-west-2",
      "child/x86_64@eu-west-1 needs parent/x86_64@eu-west-1",
    ]);
    expect(lines(shapes, { strategy: "per-region", region: "eu-west-1" })).toEqual(["parent/x86_64@eu-west-1 eu-west-1", "child/x86_64@eu-west-1 eu-west-1"]);
  });

  it("--architecture narrows to that architecture", () => {
    expect(lines({ a: {}, b: { architectures: ["arm64", "x86_64"] } }, { architecture: "arm64" })).toEqual(["a/arm64 us-east-1 -> us-west-2", "b/arm64 us-east-1 -> us-west-2"]);
  });

  it.each([
    ["architecture", { architecture: "arm64" as const }, "arm64", /a does not build architecture arm64 \(it builds x86_64; templates\/a\.yml\)/, /base_ami\.architecture in templates\/a\.yml/],
    ["region", { region: "eu-west-1" }, "eu-west-1", /a does not build region eu-west-1 \(it builds us-east-1, us-west-2; templates\/a\.yml\)/, /regions in templates\/a\.yml/],
  ])("a template asked for that does not build the %s asked for is refused; one not asked for is left out, said why", (_, narrow, value, message, suggestion) => {
    const shapes = { a: { architectures: ["x86_64"] }, b: { regions: THREE, architectures: ["x86_64", "arm64"] } } satisfies Record<string, TemplateShape>;
    const error = refusal(shapes, { requested: ["b", "a"], ...narrow });
    expect(error.code).toBe("TARGET_NOT_BUILT");
    expect(error.value).toBe(value);
    expect(error.message).toMatch(message);
    expect(error.suggestion).toMatch(suggestion);

    const implicit = targetsOf(shapes, narrow);
    expect(new Set(implicit.targets.map((t) => t.templateId))).toEqual(new Set(["b"]));
    expect(implicit.leftOut).toEqual([`a (does not build ${_} ${value})`]);
  });

  it("refuses a run with nothing to build, naming what narrowed it away", () => {
    const error = refusal({ a: { architectures: ["x86_64"] }, b: { architectures: ["x86_64"], regions: ["us-east-1"] } }, { architecture: "arm64" });
    expect(error.code).toBe("NOTHING_TO_BUILD");
    expect(error.message).toBe("no template builds architecture arm64");
    const both = refusal({ a: { architectures: ["x86_64"] } }, { architecture: "x86_64", region: "eu-west-1" });
    expect(both.code).toBe("NOTHING_TO_BUILD");
    expect(both.value).toBe("x86_64 eu-west-1");
  });
});
