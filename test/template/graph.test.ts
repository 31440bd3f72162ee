import { describe, expect, it } from "vitest";
import { dependencyGraph, graphTemplateOf, type GraphTemplate } from "../../src/template/graph.js";
import { parseTemplate } from "../../src/template/load.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

const BOTH = ["x86_64", "arm64"];
const REGIONS = ["us-east-1", "us-west-2"];

/** `{ a: "b" }`: a builds on b; a template not named as a key is not in the directory. Every template builds both architectures in both regions. */
function graphOf(parents: Record<string, string | undefined>, overrides: Record<string, Partial<GraphTemplate>> = {}) {
  const templates = new Map<string, GraphTemplate>(
    Object.entries(parents).map(([id, parent]) => [
      id,
      { base_ami: { ...(parent === undefined ? {} : { template: parent }), architecture: BOTH }, regions: REGIONS, ...overrides[id] },
    ]),
  );
  return dependencyGraph(templates);
}

describe("dependencyGraph: the order", () => {
  it("puts parents first, and takes the smallest ready id first", () => {
    const graph = graphOf({ "ml-research": "python-research", "python-research": undefined, "basic-ubuntu": undefined, "deep-learning": "ml-research", "r-research": undefined });
    expect(graph.order).toEqual(["basic-ubuntu", "python-research", "ml-research", "deep-learning", "r-research"]);
    expect(graph.problems).toEqual([]);
  });

  it("is the same whatever order the templates come in", () => {
    const entries: [string, string | undefined][] = [
      ["a", undefined],
      ["b", "a"],
      ["c", "a"],
      ["d", "c"],
      ["e", undefined],
      ["f", "e"],
    ];
    const orders = new Set<string>();
    for (let shift = 0; shift < entries.length; shift++) {
      const rotated = [...entries.slice(shift), ...entries.slice(0, shift)];
      orders.add(graphOf(Object.fromEntries(rotated)).order.join(" "));
      orders.add(graphOf(Object.fromEntries([...rotated].reverse())).order.join(" "));
    }
    expect([...orders]).toEqual(["a b c d e f"]);
  });

  it("leaves out a template with a missing parent, one in a cycle, and everything built on them", () => {
    const graph = graphOf({ base: undefined, orphan: "gone", "on-orphan": "orphan", x: "y", y: "x", "on-cycle": "x", fine: "base" });
    expect(graph.order).toEqual(["base", "fine"]);
  });
});

describe("dependencyGraph: relations", () => {
  // A diamond's top: one parent with two children, each with a child of its own. (A template has one parent, so no bottom.)
  const graph = graphOf({ top: undefined, left: "top", right: "top", "left-leaf": "left", "right-leaf": "right", other: undefined });

  it("names each template's parent and children", () => {
    expect(graph.parentOf("left-leaf")).toBe("left");
    expect(graph.parentOf("top")).toBeUndefined();
    expect(graph.childrenOf("top")).toEqual(["left", "right"]);
    expect(graph.childrenOf("other")).toEqual([]);
  });

  it("finds every dependent, directly or through others, once", () => {
    expect([...graph.dependentsOf(["top"])].sort()).toEqual(["left", "left-leaf", "right", "right-leaf"]);
    expect([...graph.dependentsOf(["left", "right"])].sort()).toEqual(["left-leaf", "right-leaf"]);
    // A template of the set built on another of the set is a dependent too (its parent changed).
    expect([...graph.dependentsOf(["top", "left"])].sort()).toEqual(["left", "left-leaf", "right", "right-leaf"]);
    expect(graph.dependentsOf(["other"]).size).toBe(0);
    expect(graph.dependentsOf([]).size).toBe(0);
  });

  it("lists ancestors nearest first, and ends at a cycle", () => {
    expect(graph.ancestorsOf("left-leaf")).toEqual(["left", "top"]);
    expect(graph.ancestorsOf("top")).toEqual([]);
    expect(graphOf({ a: "b", b: "c", c: "a" }).ancestorsOf("a")).toEqual(["b", "c"]);
    expect(graphOf({ a: "gone" }).ancestorsOf("a")).toEqual(["gone"]);
  });

  it("finds dependents through a cycle without going round forever", () => {
    expect([...graphOf({ a: "b", b: "a", c: "a" }).dependentsOf(["a"])].sort()).toEqual(["a", "b", "c"]);
  });
});

describe("dependencyGraph: problems", () => {
  it.each([
    [1, { a: "a" }, [["a", "a"]]],
    [2, { a: "b", b: "a" }, [["a", "b", "a"], ["b", "a", "b"]]],
    [3, { a: "b", b: "c", c: "a" }, [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]],
  ] as const)("a cycle of %i: one problem per template, each naming every template of the cycle in order from itself", (_length, parents, expected) => {
    const graph = graphOf(parents as Record<string, string>);
    expect(graph.problems.map((p) => (p.kind === "cycle" ? p.cycle : p.kind))).toEqual(expected);
    expect(graph.order).toEqual([]);
  });

  it("words a cycle with arrows, and a template built on itself plainly", () => {
    expect(graphOf({ a: "b", b: "c", c: "a" }).problems[0]!.message).toBe(
      "templates built on each other in a cycle: a -> b -> c -> a (each builds on the next), so none of them can be built first",
    );
    expect(graphOf({ a: "a" }).problems[0]!.message).toBe("a builds on itself");
  });

  it("reports a cycle once per template, however many templates lead into it", () => {
    const graph = graphOf({ x: "y", y: "x", p: "x", q: "p", r: "y" });
    expect(graph.problems.map((p) => `${p.kind} ${p.template}`)).toEqual(["cycle x", "cycle y"]);
  });

  it("names a missing parent, with the template probably meant", () => {
    const [problem, ...rest] = graphOf({ "python-research": undefined, "ml-research": "pyton-research" }).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({
      kind: "missing-parent",
      template: "ml-research",
      parent: "pyton-research",
      message: 'no template "pyton-research" to build on in the templates directory (did you mean "python-research"?)',
    });
  });

  it("refuses a child that builds an architecture its parent does not", () => {
    const graph = graphOf({ parent: undefined, child: "parent" }, { parent: { base_ami: { architecture: ["x86_64"] } } });
    expect(graph.problems).toEqual([
      expect.objectContaining({
        kind: "architecture",
        template: "child",
        parent: "parent",
        missing: ["arm64"],
        message: "parent does not build arm64, so there is no parent image to build this template's arm64 image on (parent builds x86_64)",
      }),
    ]);
    // A child that builds fewer architectures is fine.
    expect(graphOf({ parent: undefined, child: "parent" }, { child: { base_ami: { template: "parent", architecture: ["arm64"] } } }).problems).toEqual([]);
  });

  it("refuses a child built in a region its parent is not built in", () => {
    const graph = graphOf({ parent: undefined, child: "parent" }, { child: { regions: ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"] } });
    expect(graph.problems).toEqual([
      expect.objectContaining({
        kind: "region",
        template: "child",
        missing: ["eu-west-1", "ap-south-1"],
        message: "parent is not built in eu-west-1, ap-south-1, so there is no parent image to build on there (parent's regions: us-east-1, us-west-2)",
      }),
    ]);
    expect(graphOf({ parent: undefined, child: "parent" }, { child: { regions: ["us-west-2"] } }).problems).toEqual([]);
  });

  it("does not check a list it could not read, on either side", () => {
    const unknownLists = { base_ami: {} } as GraphTemplate;
    expect(graphOf({ parent: undefined, child: "parent" }, { parent: unknownLists }).problems).toEqual([]);
    expect(graphOf({ parent: undefined, child: "parent" }, { child: { base_ami: { template: "parent" } } }).problems).toEqual([]);
  });

  it("takes a validated template as it is", () => {
    const parent = parseTemplate(VALID_TEMPLATE, "parent.yml").template!;
    const child = parseTemplate(VALID_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", "  template: parent\n"), "child.yml").template!;
    const graph = dependencyGraph(new Map([["child", child], ["parent", parent]]));
    expect(graph.order).toEqual(["parent", "child"]);
    expect(graph.problems).toEqual([]);
  });
});

describe("graphTemplateOf: what the graph can use of a template as written", () => {
  const facts = (text: string) => {
    const parsed = parseTemplate(text, "t.yml");
    return graphTemplateOf(parsed.data, parsed.problems);
  };

  it("takes the parent and both lists of a valid template", () => {
    expect(facts(VALID_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", "  template: python-research\n"))).toEqual({
      base_ami: { template: "python-research", architecture: ["x86_64", "arm64"] },
      regions: ["us-east-1", "us-west-2"],
    });
  });

  it("takes what is right of a template with errors elsewhere", () => {
    expect(facts(VALID_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", "  template: python-research\n").replace('version: "1.0.0"', "version: 1.10"))).toEqual({
      base_ami: { template: "python-research", architecture: ["x86_64", "arm64"] },
      regions: ["us-east-1", "us-west-2"],
    });
  });

  it.each([
    ["a parent that is not a template id", "  template: Python_Research\n", { base_ami: { architecture: ["x86_64", "arm64"] }, regions: ["us-east-1", "us-west-2"] }],
    ["a parent with a source too", "  template: python-research\n  source: ubuntu-22.04-lts\n", { base_ami: { architecture: ["x86_64", "arm64"] }, regions: ["us-east-1", "us-west-2"] }],
  ])("leaves out a parent that is wrong: %s", (_name, replacement, expected) => {
    expect(facts(VALID_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", replacement))).toEqual(expected);
  });

  it.each([
    ["an architecture list with amd64", ["architecture: [x86_64, arm64]", "architecture: [amd64]"], { base_ami: {}, regions: ["us-east-1", "us-west-2"] }],
    ["a region list with a typo", ["regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-esat-1]"], { base_ami: { architecture: ["x86_64", "arm64"] } }],
    ["a region listed twice", ["regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-east-1]"], { base_ami: { architecture: ["x86_64", "arm64"] } }],
  ])("leaves out a list that is wrong: %s", (_name, [from, to], expected) => {
    expect(facts(VALID_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", "  template: python-research\n").replace(from!, to!))).toEqual({
      ...expected,
      base_ami: { template: "python-research", ...expected.base_ami },
    });
  });

  it("has nothing of a file that is not a YAML mapping", () => {
    expect(graphTemplateOf(undefined, [])).toEqual({ base_ami: {} });
    expect(facts("- just\n- a list\n")).toEqual({ base_ami: {} });
  });
});
