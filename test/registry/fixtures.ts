import type { ImageInfo } from "../../src/aws/ports.js";
import type { AmiRecord, Registry } from "../../src/registry/schema.js";

export function record(id: string, created: string, extra: Partial<AmiRecord> = {}): AmiRecord {
  return { ami_id: id, created, validated: true, size_gb: 8, ...extra };
}

export const TEMPLATE_META = { description: "Test", ports: [22], estimated_cost_per_hour: { x86_64: 0.04 }, version: "1.0.0" };

export function registryWith(entries: Record<string, Record<string, Record<string, AmiRecord & { history?: AmiRecord[] }>>>, lastUpdated = "2026-01-01T00:00:00Z"): Registry {
  const templates: Registry["templates"] = {};
  for (const [id, amis] of Object.entries(entries)) {
    templates[id] = { version: "v1.0.0", description: "Test", amis, ports: [22], estimated_cost_per_hour: { x86_64: 0.04 } };
  }
  return { version: "1.0", last_updated: lastUpdated, templates };
}

/** An available, validated x86_64 cws image of `template`, with more tags (or others) from `tags`. */
export function cwsImage(imageId: string, template: string, created: string, tags: Record<string, string> = {}): ImageInfo {
  return {
    imageId,
    name: `cws-${template}-${imageId}`,
    architecture: "x86_64",
    state: "available",
    creationDate: created,
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [],
    tags: { "cws:managed-by": "cws", "cws:template": template, "cws:arch": "x86_64", "cws:validated": "true", ...tags },
  };
}
