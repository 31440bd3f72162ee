import { CwsError } from "../errors.js";
import { describeCycle, dependencyGraph, type DependencyGraph } from "../template/graph.js";
import type { Architecture, Template } from "../template/schema.js";

/**
 * build-all's targets: which images to make, where, and in which order. Pure:
 * the CLI loads the templates and hands them over; the orchestrator
 * (src/fleet/orchestrator.ts) and the dry run (src/fleet/dry-run.ts) read the
 * same targets.
 *
 * A target is a template for one architecture. With the default strategy
 * ("copy") it is built once, in its home region (`--build-region`, else the
 * first region the template lists), and copied to each other region it lists:
 * every region runs the same tested image. With "per-region" it is a template
 * for one architecture in one region, built there (the design's matrix).
 *
 * `--region` narrows the regions that get an image. With the copy strategy the
 * build stays in the home region, which therefore always gets one: an image
 * built somewhere else would start from another region's base AMI and so have
 * another content hash, and the next full run would build it again instead of
 * finding it up to date. `--architecture` narrows the architectures.
 *
 * A template built on another (`base_ami.template`) needs its parent's image
 * in its home region: the parent's target is included even when not asked for
 * (then only for the regions its children build in), and runs first.
 */

export type FleetStrategy = "copy" | "per-region";
export const FLEET_STRATEGIES: readonly FleetStrategy[] = ["copy", "per-region"];

export interface FleetTemplate {
  id: string;
  /** Its file, for messages. */
  file: string;
  template: Template;
}

export interface TargetSelection {
  /** Every valid template of the templates directory (a parent may be one that was not asked for). */
  templates: ReadonlyMap<string, FleetTemplate>;
  /** Asked for, in the order given; empty: every template. */
  requested: readonly string[];
  strategy: FleetStrategy;
  buildRegion?: string | undefined;
  region?: string | undefined;
  architecture?: Architecture | undefined;
}

export interface FleetTarget {
  /** `r-research/x86_64`, or with per-region `r-research/x86_64@us-west-2`: the scheduler's and the reporter's id. */
  key: string;
  templateId: string;
  file: string;
  template: Template;
  architecture: Architecture;
  /** Where it is built. */
  home: string;
  /** Where the build's image is copied (copy strategy); empty with per-region. */
  copyTo: string[];
  /** The template it is built on. */
  parent?: string;
  /** Asked for; false for a parent included for its children. */
  requested: boolean;
}

export interface FleetTargets {
  /** Parents before children; within that, in the order asked (all templates: by id), each template's architectures and regions in its own order. */
  targets: FleetTarget[];
  graph: DependencyGraph;
  /** Templates asked for implicitly (no ids) that --region or --architecture leave out, with why: said, not an error. */
  leftOut: string[];
}

/** The target of `templateId`'s `architecture` whose image in `region` a child builds on. */
export function targetKey(templateId: string, architecture: string, region?: string): string {
  return region === undefined ? `${templateId}/${architecture}` : `${templateId}/${architecture}@${region}`;
}

/**
 * The targets, or a usage error (exit 2) naming what is at fault: a cycle or a
 * missing parent among the templates involved, a template asked for that does
 * not build the region or architecture asked for, a build region a template
 * does not list, nothing to build at all.
 */
export function fleetTargets(selection: TargetSelection): FleetTargets {
  const { templates, strategy, buildRegion, region, architecture } = selection;
  const graph = dependencyGraph(new Map([...templates].map(([id, t]) => [id, t.template])));
  const explicit = selection.requested.length > 0;
  const requested = explicit ? [...new Set(selection.requested)] : [...templates.keys()].sort();
  for (const id of requested) if (!templates.has(id)) throw new Error(`fleetTargets: ${id} was not loaded`);

  // Everything involved: what was asked for and every ancestor of it.
  const involved = new Set<string>();
  for (const id of requested) {
    involved.add(id);
    for (const ancestor of graph.ancestorsOf(id)) involved.add(ancestor);
  }
  refuseGraphProblems(graph, involved);

  const leftOut: string[] = [];
  /** What each asked-for template builds after the filters. */
  const wanted = new Map<string, { architectures: Architecture[]; regions: string[] }>();
  for (const id of requested) {
    const { template, file } = templates.get(id)!;
    const architectures = template.base_ami.architecture.filter((a) => architecture === undefined || a === architecture);
    const regions = template.regions.filter((r) => region === undefined || r === region);
    const missing = architectures.length === 0 ? `architecture ${architecture}` : regions.length === 0 ? `region ${region}` : undefined;
    if (missing !== undefined) {
      const builds = architectures.length === 0 ? template.base_ami.architecture.join(", ") : template.regions.join(", ");
      if (explicit) {
        throw new CwsError("TARGET_NOT_BUILT", `${id} does not build ${missing} (it builds ${builds}; ${file})`, {
          value: missing.split(" ")[1]!,
          suggestion: `leave ${id} out, or add ${missing.split(" ")[1]} to ${architectures.length === 0 ? "base_ami.architecture" : "regions"} in ${file}`,
        });
      }
      leftOut.push(`${id} (does not build ${missing})`);
      continue;
    }
    if (buildRegion !== undefined && strategy === "copy" && !(template.regions as readonly string[]).includes(buildRegion)) {
      throw new CwsError("BUILD_REGION_NOT_LISTED", `${id} is not built in ${buildRegion}, so its image cannot be built there (${id}'s regions: ${template.regions.join(", ")}; ${file})`, {
        value: buildRegion,
        suggestion: `add ${buildRegion} to regions in ${file}, or leave --build-region out (each template is then built in its first region)`,
      });
    }
    wanted.set(id, { architectures, regions });
  }
  if (wanted.size === 0) {
    throw new CwsError("NOTHING_TO_BUILD", `no template builds ${[architecture && `architecture ${architecture}`, region && `region ${region}`].filter(Boolean).join(" in ")}`, {
      value: [architecture, region].filter(Boolean).join(" "),
      suggestion: "check --region and --architecture against the templates' regions and base_ami.architecture",
    });
  }

  // Regions and architectures per template, children first, so a parent learns where its children need it.
  const plan = new Map<string, { requested: boolean; regions: Map<Architecture, Set<string>> }>();
  const homeOf = (id: string, regions: readonly string[]): string => {
    if (strategy === "per-region") return regions[0]!;
    return buildRegion ?? templates.get(id)!.template.regions[0]!;
  };
  const order = graph.order.filter((id) => involved.has(id));
  for (const id of [...order].reverse()) {
    const entry = wanted.get(id);
    const needs = plan.get(id)?.regions ?? new Map<Architecture, Set<string>>();
    if (entry) {
      for (const a of entry.architectures) {
        const set = needs.get(a) ?? new Set<string>();
        for (const r of entry.regions) set.add(r);
        needs.set(a, set);
      }
    }
    if (needs.size === 0) continue;
    plan.set(id, { requested: entry !== undefined, regions: needs });
    const parent = graph.parentOf(id);
    if (parent === undefined) continue;
    // The child builds in its home (copy) or in each of its regions (per-region): the parent's image must be there.
    const parentNeeds = plan.get(parent)?.regions ?? new Map<Architecture, Set<string>>();
    for (const [a, regions] of needs) {
      const set = parentNeeds.get(a) ?? new Set<string>();
      if (strategy === "per-region") for (const r of regions) set.add(r);
      else set.add(homeOf(id, [...regions]));
      parentNeeds.set(a, set);
    }
    plan.set(parent, { requested: plan.get(parent)?.requested ?? false, regions: parentNeeds });
  }

  const position = new Map(requested.map((id, index) => [id, index]));
  const targets: FleetTarget[] = [];
  // Parents before children (graph order); among templates at the same depth, in the order asked.
  const depth = (id: string) => graph.ancestorsOf(id).length;
  const sorted = order.filter((id) => plan.has(id)).sort((a, b) => depth(a) - depth(b) || (position.get(a) ?? Infinity) - (position.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0));
  for (const id of sorted) {
    const { template, file } = templates.get(id)!;
    const entry = plan.get(id)!;
    const parent = graph.parentOf(id);
    for (const a of template.base_ami.architecture) {
      const needed = entry.regions.get(a);
      if (!needed) continue;
      // In the template's own order.
      const regions = template.regions.filter((r) => needed.has(r));
      const common = { templateId: id, file, template, architecture: a, requested: entry.requested, ...(parent === undefined ? {} : { parent }) };
      if (strategy === "per-region") {
        for (const r of regions) targets.push({ ...common, key: targetKey(id, a, r), home: r, copyTo: [] });
      } else {
        const home = homeOf(id, regions);
        targets.push({ ...common, key: targetKey(id, a), home, copyTo: regions.filter((r) => r !== home) });
      }
    }
  }
  return { targets, graph, leftOut };
}

/** A cycle, a missing parent, or a parent that does not build a child's architecture or region, among the templates involved: exit 2 naming them. */
export function refuseGraphProblems(graph: DependencyGraph, involved: ReadonlySet<string>): void {
  const problems = graph.problems.filter((p) => involved.has(p.template));
  if (problems.length === 0) return;
  const cycle = problems.find((p) => p.kind === "cycle");
  const first = cycle ?? problems[0]!;
  const others = problems.filter((p) => p !== first && !(p.kind === "cycle" && cycle?.kind === "cycle" && p.cycle.every((id) => cycle.cycle.includes(id))));
  const value = first.kind === "cycle" ? describeCycle(first.cycle) : first.kind === "missing-parent" ? first.parent : first.template;
  throw new CwsError(
    first.kind === "cycle" ? "TEMPLATE_CYCLE" : first.kind === "missing-parent" ? "TEMPLATE_PARENT_MISSING" : "TEMPLATE_PARENT_MISMATCH",
    `${first.template}: ${first.message}${others.length > 0 ? `; and ${others.map((p) => `${p.template}: ${p.message}`).join("; ")}` : ""}`,
    { value, suggestion: `${first.suggestion} (cws ami lint shows each at its file, line and column)` },
  );
}
