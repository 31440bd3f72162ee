import { didYouMean } from "./suggest.js";

/**
 * Templates built on other templates (`base_ami: { template: python-research }`):
 * the graph of who builds on whom, an order to build them in, and what is wrong
 * with it. Pure: lint checks the templates directory with it (at each child's
 * `base_ami.template`), and build-all orders its targets with it.
 *
 * Each template has at most one parent, so the graph is a forest, or a forest
 * with cycles: following parents from any template either ends at a template
 * built from a `source`, at a template that does not exist, or goes round.
 */

/**
 * What the graph needs of a template. A validated `Template` has this shape; lint
 * also passes what it can read of an invalid one, leaving out what it cannot
 * (an architecture or region list that is itself wrong is not checked against
 * a parent or a child: its own error says what to fix).
 */
export interface GraphTemplate {
  base_ami: { template?: string | undefined; architecture?: readonly string[] | undefined };
  regions?: readonly string[] | undefined;
}

interface ProblemBase {
  /** The template whose `base_ami.template` is at fault: where lint reports it. */
  template: string;
  message: string;
  suggestion: string;
}

/** What can be wrong between a template and its parent. Every kind is an error: the template cannot be built as written. */
export type GraphProblem =
  | (ProblemBase & { kind: "missing-parent"; parent: string })
  /** `cycle` starts and ends with `template`: [a, b, a] for a built on b built on a. Each template of a cycle gets one. */
  | (ProblemBase & { kind: "cycle"; cycle: string[] })
  /** The child builds architectures its parent does not: no parent image to start from. */
  | (ProblemBase & { kind: "architecture"; parent: string; missing: string[] })
  /** The child builds in regions its parent is not built in. */
  | (ProblemBase & { kind: "region"; parent: string; missing: string[] });

export interface DependencyGraph {
  /**
   * Every template whose parents can all be built, parents before their
   * children; among templates that are ready at the same point, by id. A
   * template with a missing parent, in a cycle, or built on one of those is left
   * out (`problems` says why).
   */
  readonly order: readonly string[];
  readonly problems: readonly GraphProblem[];
  /** The template `id` builds on, when it names one. */
  parentOf(id: string): string | undefined;
  /** The templates built directly on `id`, by id. */
  childrenOf(id: string): string[];
  /**
   * Every template built on one of `ids`, directly or through others: what a
   * change to them rebuilds, what their failure leaves unbuildable. One of `ids`
   * is in it only when it is built on another of them.
   */
  dependentsOf(ids: Iterable<string>): Set<string>;
  /** `id`'s parent, its parent's parent, and so on, nearest first; a cycle or a missing template ends it. */
  ancestorsOf(id: string): string[];
}

/** How a cycle reads in a message: `a -> b -> a`, each template built on the next. */
export function describeCycle(cycle: readonly string[]): string {
  return cycle.join(" -> ");
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function dependencyGraph(templates: ReadonlyMap<string, GraphTemplate>): DependencyGraph {
  const ids = [...templates.keys()].sort(byId);
  const parents = new Map<string, string>();
  for (const id of ids) {
    const parent = templates.get(id)!.base_ami.template;
    if (parent !== undefined) parents.set(id, parent);
  }
  const children = new Map<string, string[]>();
  for (const [child, parent] of parents) children.set(parent, [...(children.get(parent) ?? []), child]);

  const problems: GraphProblem[] = [];
  for (const [child, parent] of parents) {
    if (!templates.has(parent)) {
      problems.push({
        kind: "missing-parent",
        template: child,
        parent,
        message: `no template "${parent}" to build on in the templates directory${didYouMean(parent, ids.filter((id) => id !== child))}`,
        suggestion: `base_ami.template names another template by its file name without .yml; create ${parent}.yml, or build from a base image with base_ami.source`,
      });
      continue;
    }
    problems.push(...mismatches(child, templates.get(child)!, parent, templates.get(parent)!));
  }
  problems.push(...cycles(ids, parents));
  problems.sort((a, b) => byId(a.template, b.template) || byId(a.kind, b.kind));

  const order = topologicalOrder(ids, parents, children);
  return {
    order,
    problems,
    parentOf: (id) => parents.get(id),
    childrenOf: (id) => [...(children.get(id) ?? [])].sort(byId),
    dependentsOf(from) {
      const found = new Set<string>();
      const queue = [...from];
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        for (const child of children.get(next) ?? []) {
          if (found.has(child)) continue;
          found.add(child);
          queue.push(child);
        }
      }
      return found;
    },
    ancestorsOf(id) {
      const chain: string[] = [];
      const seen = new Set([id]);
      for (let parent = parents.get(id); parent !== undefined && !seen.has(parent); parent = parents.get(parent)) {
        chain.push(parent);
        seen.add(parent);
      }
      return chain;
    },
  };
}

/** A child that builds an architecture or a region its parent does not: there is no parent image to start from there. */
function mismatches(child: string, of: GraphTemplate, parent: string, parentOf: GraphTemplate): GraphProblem[] {
  const found: GraphProblem[] = [];
  const missing = (want: readonly string[] | undefined, have: readonly string[] | undefined) => (want && have ? want.filter((item) => !have.includes(item)) : []);
  const architectures = missing(of.base_ami.architecture, parentOf.base_ami.architecture);
  if (architectures.length > 0) {
    found.push({
      kind: "architecture",
      template: child,
      parent,
      missing: architectures,
      message: `${parent} does not build ${architectures.join(" or ")}, so there is no ${parent} image to build this template's ${architectures.join(" and ")} image on (${parent} builds ${parentOf.base_ami.architecture!.join(", ") || "nothing"})`,
      suggestion: `add ${architectures.join(", ")} to base_ami.architecture in ${parent}, or remove ${architectures.length === 1 ? "it" : "them"} from this template's`,
    });
  }
  const regions = missing(of.regions, parentOf.regions);
  if (regions.length > 0) {
    found.push({
      kind: "region",
      template: child,
      parent,
      missing: regions,
      message: `${parent} is not built in ${regions.join(", ")}, so there is no ${parent} image to build on there (${parent}'s regions: ${parentOf.regions!.join(", ") || "none"})`,
      suggestion: `add ${regions.join(", ")} to ${parent}'s regions, or remove ${regions.length === 1 ? "it" : "them"} from this template's regions`,
    });
  }
  return found;
}

/**
 * Every cycle, one problem per template in it, each naming the whole cycle
 * from that template round to itself. Each template has one parent, so
 * following parents from a template not yet seen either reaches a template
 * already judged, leaves the graph, or comes back to a template on the current
 * walk: that part of the walk is a cycle.
 */
function cycles(ids: readonly string[], parents: ReadonlyMap<string, string>): GraphProblem[] {
  const found: GraphProblem[] = [];
  const judged = new Set<string>();
  for (const start of ids) {
    const walk: string[] = [];
    const onWalk = new Map<string, number>();
    let at: string | undefined = start;
    while (at !== undefined && !judged.has(at) && !onWalk.has(at)) {
      onWalk.set(at, walk.length);
      walk.push(at);
      at = parents.get(at);
    }
    if (at !== undefined && onWalk.has(at)) {
      const members = walk.slice(onWalk.get(at));
      for (const [index, member] of members.entries()) {
        const cycle = [...members.slice(index), ...members.slice(0, index), member];
        found.push({
          kind: "cycle",
          template: member,
          cycle,
          message:
            cycle.length === 2
              ? `${member} builds on itself`
              : `templates built on each other in a cycle: ${describeCycle(cycle)} (each builds on the next), so none of them can be built first`,
          suggestion: "one template of the cycle must start from a base image: give it base_ami.source instead of base_ami.template",
        });
      }
    }
    for (const id of walk) judged.add(id);
  }
  return found;
}

/** Kahn's algorithm, the smallest ready id first: parents before children, and the same order for the same templates. */
function topologicalOrder(ids: readonly string[], parents: ReadonlyMap<string, string>, children: ReadonlyMap<string, readonly string[]>): string[] {
  const ready = ids.filter((id) => !parents.has(id));
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort(byId);
    const next = ready.shift()!;
    order.push(next);
    // A child has one parent, so it is ready once that parent has its place.
    ready.push(...(children.get(next) ?? []));
  }
  return order;
}

/**
 * What the graph can use of a template's fields as written, valid or not: the
 * parent, and the architecture and region lists, each only when the loader
 * found no error in it (`problems`, from parseTemplate). A field that is wrong
 * is left out, so its own error is not repeated as a problem between
 * templates, and what is valid is decided by the schema alone.
 */
export function graphTemplateOf(data: Readonly<Record<string, unknown>> | undefined, problems: readonly { path: string; severity: string }[]): GraphTemplate {
  const wrong = (path: string) => problems.some((p) => p.severity === "error" && (p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`)));
  const base = data?.base_ami;
  const fields = base !== null && typeof base === "object" && !Array.isArray(base) ? (base as Record<string, unknown>) : {};
  const texts = (value: unknown, path: string) => (Array.isArray(value) && value.every((item) => typeof item === "string") && !wrong(path) ? (value as string[]) : undefined);
  const parent = typeof fields.template === "string" && !wrong("base_ami.template") ? fields.template : undefined;
  const architecture = texts(fields.architecture, "base_ami.architecture");
  const regions = texts(data?.regions, "regions");
  return {
    base_ami: { ...(parent === undefined ? {} : { template: parent }), ...(architecture === undefined ? {} : { architecture }) },
    ...(regions === undefined ? {} : { regions }),
  };
}
