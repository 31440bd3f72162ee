import { createHash } from "node:crypto";
import type { Template } from "./schema.js";

/**
 * A hash of what the template means, not how it is written: the validated
 * template (defaults applied) without the `amis` block that
 * `update-templates` writes, serialised with sorted keys. Comments,
 * formatting and key order do not change it; any change to a script, test or
 * setting does.
 */
export function templateContentHash(template: Template): string {
  const { amis: _amis, ...meaningful } = template;
  return createHash("sha256").update(stableStringify(meaningful)).digest("hex");
}

/**
 * What of a template goes into its image: everything but where it is built and
 * what the registry says about it. `regions` (where the image goes: a new
 * region needs a copy, not a build), `ports` and `estimated_cost_per_hour`
 * (registry metadata the builder never reads) leave it unchanged, so changing
 * them rebuilds nothing; `templateContentHash` still sees them (update-templates
 * checks a template still means the same with it).
 */
export function templateImageHash(template: Template): string {
  const { amis: _amis, regions: _regions, ports: _ports, estimated_cost_per_hour: _cost, ...image } = template;
  return createHash("sha256").update(stableStringify(image)).digest("hex");
}

/**
 * The hash of what determines an image, tagged `cws:content-hash` and recorded
 * as the registry's `content_hash`: the template's content hash and the id of
 * the image it is built on. A new Ubuntu release behind an alias, or a new
 * image of a parent template (for a template built on another, the parent's
 * image is its base image), changes the hash as surely as an edited script.
 */
export function imageContentHash(templateHash: string, baseAmiId: string): string {
  return createHash("sha256").update(stableStringify({ base_ami: baseAmiId, template: templateHash })).digest("hex");
}

export function stableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}
