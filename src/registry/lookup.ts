import { ownSlot, ownValue, setOwn } from "../own-keys.js";
import type { Architecture } from "../template/architectures.js";
import type { AmiEntry, Registry, RegistryTemplate } from "./schema.js";

/**
 * The one way into a registry's maps (template ids, regions, architectures):
 * by own keys only (own-keys.ts), so a template called `constructor`, or a
 * tag value `toString` looked up by `list --live`, finds what the registry
 * records and nothing else. No zod (types only): `list --live` loads it.
 */

/** A template's record in the registry. */
export function templateAt(registry: Registry, templateId: string): RegistryTemplate | undefined {
  return ownValue(registry.templates, templateId);
}

/** The entry for a template, region and architecture, or undefined. */
export function entryAt(registry: Registry, templateId: string, region: string, architecture: Architecture | string): AmiEntry | undefined {
  return ownValue(ownValue(templateAt(registry, templateId)?.amis, region), architecture);
}

/** The map of architectures of a template's region, created (with the template's record made by `make`) when missing. */
export function entriesFor(registry: Registry, templateId: string, region: string, make: () => RegistryTemplate): Partial<Record<Architecture, AmiEntry>> {
  return ownSlot(ownSlot(registry.templates, templateId, make).amis, region, () => ({}));
}

/** Make `entry` the one for an architecture in the map `entriesFor` returned. */
export function setEntry(byArchitecture: Partial<Record<Architecture, AmiEntry>>, architecture: Architecture, entry: AmiEntry): void {
  setOwn(byArchitecture, architecture, entry);
}
