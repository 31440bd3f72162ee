/** Templates and targets for build-all's unit tests (targets, dry run, orchestrator). */
import { fleetTargets, type FleetTemplate, type TargetSelection } from "../../src/fleet/targets.js";
import { parseTemplate } from "../../src/template/load.js";
import type { Architecture } from "../../src/template/schema.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

export interface TemplateShape {
  regions?: string[];
  architectures?: Architecture[];
  /** base_ami.template: built on this template instead of a base image. */
  parent?: string;
  /** Appended to the setup script: another template content. */
  edit?: string;
}

/** A valid template of this shape, as the CLI loads it (VALID_TEMPLATE with its regions, architectures and base changed). */
export function fleetTemplate(id: string, shape: TemplateShape = {}): FleetTemplate {
  const { regions = ["us-east-1", "us-west-2"], architectures = ["x86_64", "arm64"], parent, edit } = shape;
  let source = VALID_TEMPLATE.replace("architecture: [x86_64, arm64]", `architecture: [${architectures.join(", ")}]`).replace(
    "regions: [us-east-1, us-west-2]",
    `regions: [${regions.join(", ")}]`,
  );
  if (parent !== undefined) source = source.replace("  source: ubuntu-22.04-lts\n", `  template: ${parent}\n`);
  // A cost for an architecture the template does not build is refused.
  if (!architectures.includes("x86_64")) source = source.replace("  x86_64: 0.0416\n", "");
  if (!architectures.includes("arm64")) source = source.replace("  arm64: 0.0336\n", "");
  if (edit !== undefined) source = source.replace("echo ready > /var/tmp/ready\n", `echo ready > /var/tmp/ready\n  ${edit}\n`);
  const file = `templates/${id}.yml`;
  const parsed = parseTemplate(source, file);
  if (!parsed.template) throw new Error(`fleetTemplate ${id}: ${parsed.problems.map((p) => p.message).join("; ")}`);
  return { id, file, template: parsed.template };
}

/** The templates directory as the CLI hands it to fleetTargets: `{ id: shape }`, in the order given. */
export function templatesOf(shapes: Record<string, TemplateShape>): Map<string, FleetTemplate> {
  return new Map(Object.entries(shapes).map(([id, shape]) => [id, fleetTemplate(id, shape)]));
}

/** fleetTargets over `shapes` with the copy strategy and nothing asked for, unless `selection` says otherwise. */
export function targetsOf(shapes: Record<string, TemplateShape>, selection: Partial<Omit<TargetSelection, "templates">> = {}) {
  return fleetTargets({ templates: templatesOf(shapes), requested: [], strategy: "copy", ...selection });
}
