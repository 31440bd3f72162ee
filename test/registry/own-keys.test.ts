import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../../src/aws/ports.js";
import { toTagRecord } from "../../src/aws/call.js";
import { ownSlot, ownValue, setOwn } from "../../src/own-keys.js";
import { applyDrift, buildRows } from "../../src/registry/list.js";
import { mergeRegistries } from "../../src/registry/merge.js";
import { entryAt, rollbackEntry, templateAt } from "../../src/registry/operations.js";
import { resolveAmi } from "../../src/registry/resolve.js";
import { emptyRegistry } from "../../src/registry/schema.js";
import { parseRegistry, recordAmi, serializeRegistry } from "../../src/registry/store.js";
import { diffAmis } from "../../src/template/update-amis.js";
import { valueAt } from "../../src/template/rules.js";
import { record, registryWith, TEMPLATE_META } from "./fixtures.js";

/**
 * Keys a user or AWS names (template ids, regions, architectures, tag keys,
 * profiles) that are also names every JavaScript object has: a lookup must
 * find only what the map itself holds. `constructor` is a valid template id;
 * the others reach cws through tags, files and flags.
 */
const INHERITED = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "toLocaleString", "__defineGetter__"];

describe("own keys only (own-keys.ts)", () => {
  it.each(INHERITED)("finds nothing under %s in an empty map, and stores and finds a value there", (key) => {
    const map: Record<string, number> = {};
    expect(ownValue(map, key)).toBeUndefined();
    expect(ownSlot(map, key, () => 1)).toBe(1);
    expect(ownValue(map, key)).toBe(1);
    expect(Object.keys(map)).toEqual([key]);
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    setOwn(map, key, 2);
    expect(ownValue(map, key)).toBe(2);
    expect(JSON.parse(JSON.stringify(map))).toEqual(JSON.parse(`{${JSON.stringify(key)}: 2}`));
  });

  it.each(INHERITED)("a registry answers for %s only with what it records", (key) => {
    const registry = registryWith({ t: { "us-east-1": { x86_64: record("ami-00000001", "2026-01-01T00:00:00Z") } } });
    expect(templateAt(registry, key)).toBeUndefined();
    expect(entryAt(registry, key, "us-east-1", "x86_64")).toBeUndefined();
    expect(entryAt(registry, "t", key, "x86_64")).toBeUndefined();
    expect(entryAt(registry, "t", "us-east-1", key)).toBeUndefined();
    expect(() => rollbackEntry(registry, key, "us-east-1", "x86_64", undefined, "2026-02-01T00:00:00Z")).toThrow(`the registry has no AMI for ${key}.us-east-1.x86_64`);
    expect(valueAt(registry, ["templates", key, "amis"])).toBeUndefined();
  });

  it("records, rolls back, serializes, parses and merges a template called constructor like any other", async () => {
    const registry = emptyRegistry(new Date("2026-01-01T00:00:00Z"));
    recordAmi(registry, "constructor", TEMPLATE_META, "us-east-1", "x86_64", record("ami-00000001", "2026-01-01T00:00:00Z"));
    recordAmi(registry, "constructor", TEMPLATE_META, "us-east-1", "x86_64", record("ami-00000002", "2026-01-02T00:00:00Z"));
    expect(entryAt(registry, "constructor", "us-east-1", "x86_64")?.ami_id).toBe("ami-00000002");
    rollbackEntry(registry, "constructor", "us-east-1", "x86_64", undefined, "2026-02-01T00:00:00Z");
    expect(entryAt(registry, "constructor", "us-east-1", "x86_64")?.ami_id).toBe("ami-00000001");

    const text = serializeRegistry(registry);
    const read = await parseRegistry(text, "amis.json");
    expect(serializeRegistry(read)).toBe(text);
    // Merged with a registry that lacks it, in either order: the other file's `templates.constructor` is Object, not a template.
    const other = registryWith({ t: { "us-east-1": { x86_64: record("ami-00000003", "2026-01-03T00:00:00Z") } } });
    const ab = serializeRegistry(mergeRegistries([read, other]));
    expect(serializeRegistry(mergeRegistries([other, read]))).toBe(ab);
    const merged = await parseRegistry(ab, "merged.json");
    expect(Object.keys(merged.templates)).toEqual(["constructor", "t"]);
    expect(entryAt(merged, "constructor", "us-east-1", "x86_64")?.ami_id).toBe("ami-00000001");

    const resolved = await resolveAmi("constructor", "us-east-1", "x86_64", { registry: merged });
    expect(resolved.amiId).toBe("ami-00000001");
    await expect(resolveAmi("toString", "us-east-1", "x86_64", { registry: merged, legacy: {} })).rejects.toThrow("no AMI for toString.us-east-1.x86_64: the registry has no entry for that template, region and architecture");
  });

  it("update-templates' diff sees no AMI under an inherited name", () => {
    expect(diffAmis("t", "t.yml", {}, {})).toEqual({ changes: [], unchanged: [] });
    const desired = { "us-east-1": { x86_64: "ami-00000001" } };
    expect(diffAmis("t", "t.yml", {}, desired).changes).toEqual([{ template: "t", file: "t.yml", region: "us-east-1", architecture: "x86_64", ami_id: "ami-00000001", previous: null }]);
  });

  it.each(INHERITED)("an image tag called %s is a tag, and that text as a cws:template value names no registry template", async (key) => {
    const tags = toTagRecord([
      { Key: key, Value: "x" },
      { Key: "cws:managed-by", Value: "cws" },
    ]);
    expect(Object.keys(tags)).toEqual([key, "cws:managed-by"]);
    expect(ownValue(tags, key)).toBe("x");
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);

    const registry = registryWith({ t: { "us-east-1": { x86_64: record("ami-00000001", "2026-01-01T00:00:00Z") } } });
    const stray: ImageInfo = {
      imageId: "ami-0000000f",
      name: "made by hand",
      architecture: "x86_64",
      state: "available",
      creationDate: "2026-02-01T00:00:00.000Z",
      ownerId: "123456789012",
      rootDeviceName: "/dev/sda1",
      rootVolumeSizeGb: 8,
      snapshotIds: [],
      tags: { "cws:managed-by": "cws", "cws:validated": "true", "cws:template": key, "cws:arch": key },
    };
    const rows = await applyDrift(registry, buildRows(registry), {}, new Map([["us-east-1", [stray]]]));
    expect(rows.map((row) => `${row.template} ${row.architecture} ${row.drift?.map((d) => d.kind).join(",")}`)).toEqual([`${key} ${key} untracked`, "t x86_64 gone"].sort());
  });
});
