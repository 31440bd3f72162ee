import { describe, expect, it } from "vitest";
import { REGISTRY_FIELDS, HISTORY_LIMIT, optional, required, type FieldSpec, type RegistryFields } from "../../src/registry/fields.js";
import { mergeRegistries, registryMergerOf } from "../../src/registry/merge.js";
import { rollbackEntry } from "../../src/registry/operations.js";
import { emptyRegistry, registrySchema, type AmiEntry, type AmiRecord, type Registry } from "../../src/registry/schema.js";
import { recordAmi, serializeRegistry } from "../../src/registry/store.js";
import { record, registryWith } from "./fixtures.js";

/**
 * `cws ami registry merge` takes each field's value by the rule the field
 * list gives it (fields.ts), so the result cannot depend on the order of the
 * files. The property tests below run the merge over random registries from a
 * small seeded generator (written here rather than taken from fast-check: the
 * registries are a few nested maps, the interesting inputs are overlaps and
 * ties that a generator of our own makes on purpose, and a failure names its
 * seed, which reproduces it).
 */

const bytes = (registry: Registry) => serializeRegistry(registry);
const id = (n: number) => `ami-${n.toString(16).padStart(17, "0")}`;
const at = (day: number, hour = 0) => `2026-01-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00Z`;

/** mulberry32: a small PRNG whose sequence is the same on every machine. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  const subset = <T>(items: readonly T[], p: number) => items.filter(() => chance(p));
  const shuffle = <T>(items: readonly T[]) => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { int, pick, chance, subset, shuffle };
}
type Random = ReturnType<typeof random>;

const TEMPLATES = ["alpha", "beta", "gamma"];
const REGIONS = ["us-east-1", "eu-west-1"];
const ARCHS = ["x86_64", "arm64"] as const;
// Few times, so that AMIs, rollbacks and templates tie on them.
const TIMES = [at(1), at(2), at(2, 12), at(3), "2026-01-03T00:00:00.000Z", at(4)];

/** One AMI as one copy of a registry has it: the fields a build records, some varying between copies. */
function amiCopy(r: Random, n: number): AmiRecord {
  return {
    ami_id: id(n),
    created: r.pick(TIMES),
    validated: r.chance(0.8),
    size_gb: r.pick([8, 30]),
    ...(r.chance(0.7) ? { version: r.pick(["v1.0.0", "v1.1.0"]) } : {}),
    ...(r.chance(0.5) ? { name: `cws-t-${n}` } : {}),
    ...(r.chance(0.3) ? { validated_at: r.pick(TIMES) } : {}),
    ...(r.chance(0.1) ? { note_from_a_newer_cws: r.pick(["x", "y"]) } : {}),
  } as AmiRecord;
}

function templateMeta(r: Random) {
  return { description: r.pick(["R tools", "R + RStudio", "Python"]), ports: r.pick([[22], [22, 8787], [8787, 22]]), estimated_cost_per_hour: r.pick([{}, { x86_64: 0.04 }, { arm64: 0.03, x86_64: 0.04 }]), version: r.pick(["1.0.0", "1.1.0"]) };
}

/** Any registry the schema accepts: entries, histories in any order, pins, unknown fields, overlapping AMIs between calls. */
function arbitraryRegistry(r: Random, amisPerTarget = 12): Registry {
  const registry: Registry = { version: "1.0", last_updated: r.pick(TIMES), templates: {} };
  for (const template of r.subset(TEMPLATES, 0.7)) {
    const amis: Registry["templates"][string]["amis"] = {};
    for (const region of r.subset(REGIONS, 0.7)) {
      for (const arch of r.subset(ARCHS, 0.7)) {
        // The same dozen AMI numbers per target in every registry: copies overlap.
        const base = (TEMPLATES.indexOf(template) * 4 + REGIONS.indexOf(region) * 2 + ARCHS.indexOf(arch)) * 16;
        const ids = r.shuffle(Array.from({ length: amisPerTarget }, (_, i) => base + i)).slice(0, 1 + r.int(Math.min(HISTORY_LIMIT, amisPerTarget)));
        const [current, ...history] = ids.map((n) => amiCopy(r, n));
        const pinned = r.chance(0.25);
        (amis[region] ??= {})[arch] = {
          ...current!,
          ...(pinned ? { pinned: true, rolled_back_at: r.pick(TIMES) } : {}),
          ...(history.length ? { history } : {}),
        } as AmiEntry;
      }
    }
    registry.templates[template] = { ...templateMeta(r), amis, ...(r.chance(0.1) ? { owner: r.pick(["ops", "research"]) } : {}) };
  }
  return registry;
}

/** A registry as cws itself writes one: builds recorded and rollbacks made, in a random sequence. */
function writtenRegistry(r: Random, steps = 25): Registry {
  const registry = emptyRegistry(new Date(at(1)));
  let clock = 0;
  for (let step = 0; step < steps; step++) {
    const template = r.pick(TEMPLATES);
    const region = r.pick(REGIONS);
    const arch = r.pick(ARCHS);
    clock++;
    const now = `2026-02-${String(1 + Math.floor(clock / 24)).padStart(2, "0")}T${String(clock % 24).padStart(2, "0")}:00:00Z`;
    if (r.chance(0.2) && registry.templates[template]?.amis[region]?.[arch]?.history?.length) {
      rollbackEntry(registry, template, region, arch, undefined, now);
    } else {
      recordAmi(registry, template, templateMeta(r), region, arch, { ...amiCopy(r, 1000 + clock), created: now });
    }
    registry.last_updated = now;
  }
  return registry;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe("mergeRegistries: properties over random registries", () => {
  it("gives identical bytes for every order of two or three files", () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = random(seed);
      const inputs = Array.from({ length: 2 + r.int(2) }, () => (r.chance(0.5) ? arbitraryRegistry(r) : writtenRegistry(r)));
      const results = new Set(permutations(inputs).map((order) => bytes(mergeRegistries(order))));
      expect(results.size, `seed ${seed}`).toBe(1);
      // And it is a registry cws reads.
      expect(registrySchema.safeParse(JSON.parse([...results][0]!)).success, `seed ${seed}`).toBe(true);
    }
  });

  it("is idempotent: merging a file with itself changes nothing, and a registry cws wrote merges into itself", () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = random(seed);
      const arbitrary = arbitraryRegistry(r);
      const once = bytes(mergeRegistries([arbitrary]));
      expect(bytes(mergeRegistries([arbitrary, arbitrary])), `seed ${seed}`).toBe(once);
      expect(bytes(mergeRegistries([mergeRegistries([arbitrary])])), `seed ${seed}`).toBe(once);
      // What cws writes is already in merge's order (history newest first): merge a a == a.
      const written = writtenRegistry(r);
      expect(bytes(mergeRegistries([written, written])), `seed ${seed}`).toBe(bytes(written));
    }
  });

  it("is associative while no entry has more than HISTORY_LIMIT + 1 AMIs in all (beyond that, an AMI dropped in an earlier merge stays dropped)", () => {
    let checked = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = random(seed);
      // Eight AMI numbers per target, and a few more from the builds: no entry needs truncating.
      const [a, b, c] = [arbitraryRegistry(r, 8), writtenRegistry(r, 10), arbitraryRegistry(r, 8)] as const;
      const all = mergeRegistries([a, b, c]);
      const fits = Object.values(all.templates).every((t) => Object.values(t.amis).every((byArch) => Object.values(byArch).every((e) => (e?.history?.length ?? 0) < HISTORY_LIMIT)));
      if (!fits) continue;
      checked++;
      expect(bytes(mergeRegistries([mergeRegistries([a, b]), c])), `seed ${seed}`).toBe(bytes(all));
      expect(bytes(mergeRegistries([a, mergeRegistries([b, c])])), `seed ${seed}`).toBe(bytes(all));
    }
    expect(checked).toBeGreaterThan(120);
  });

  it("loses no AMI: every AMI of every input is current or in history (up to the limit, the newest kept)", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const r = random(seed);
      const inputs = [arbitraryRegistry(r), arbitraryRegistry(r)];
      const merged = mergeRegistries(inputs);
      for (const input of inputs) {
        for (const [template, t] of Object.entries(input.templates)) {
          for (const [region, byArch] of Object.entries(t.amis)) {
            for (const [arch, entry] of Object.entries(byArch ?? {})) {
              const out = merged.templates[template]!.amis[region]![arch as "x86_64"]!;
              const kept = new Set([out.ami_id, ...(out.history ?? []).map((h) => h.ami_id)]);
              const dropped = [entry!, ...(entry!.history ?? [])].filter((x) => !kept.has(x.ami_id));
              if (dropped.length > 0) expect(out.history, `seed ${seed}`).toHaveLength(HISTORY_LIMIT);
            }
          }
        }
      }
    }
  });
});

describe("mergeRegistries: each field's rule", () => {
  const jobA = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), at(2)) } } }, at(2));
  const jobB = registryWith({ t: { "us-east-1": { x86_64: record(id(0xb), at(3)), arm64: record(id(0xc), at(1)) } } }, at(3));
  const base = registryWith({ t: { "us-east-1": { x86_64: { ...record(id(0x1), "2025-12-01T00:00:00Z"), history: [record(id(0x2), "2025-11-01T00:00:00Z")] } } } }, "2025-12-01T00:00:00Z");

  it("keeps the newest per region and architecture, the rest in history, newest first; last_updated is the latest", () => {
    const merged = mergeRegistries([base, jobA, jobB]);
    const x86 = merged.templates.t!.amis["us-east-1"]!.x86_64!;
    expect(x86.ami_id).toBe(id(0xb));
    expect(x86.history!.map((h) => h.ami_id)).toEqual([id(0xa), id(0x1), id(0x2)]);
    expect(merged.templates.t!.amis["us-east-1"]!.arm64!.ami_id).toBe(id(0xc));
    expect(merged.last_updated).toBe(at(3));
  });

  it("takes template metadata from the copy with the newest AMI, not from the file updated last or listed last", () => {
    // b's file was written last (a later last_updated), but a has the template's newest build.
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), at(4)) } } }, at(1));
    a.templates.t = { ...a.templates.t!, description: "from the newest build", ports: [22, 8787] };
    const b = registryWith({ t: { "us-east-1": { x86_64: record(id(0xb), at(2)) } } }, at(9));
    b.templates.t = { ...b.templates.t!, description: "older", ports: [22] };
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const merged = mergeRegistries(order);
      expect(merged.templates.t!.description).toBe("from the newest build");
      expect(merged.templates.t!.ports).toEqual([22, 8787]);
    }
  });

  it("breaks a tie between copies with the same newest AMI by the greatest value, the same in every order", () => {
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), at(4)) } } });
    const b = structuredClone(a);
    a.templates.t!.description = "Alpha";
    b.templates.t!.description = "Beta";
    a.templates.t!.estimated_cost_per_hour = { x86_64: 0.04, arm64: 0.03 };
    b.templates.t!.estimated_cost_per_hour = { arm64: 0.03, x86_64: 0.04 };
    expect(mergeRegistries([a, b]).templates.t!.description).toBe("Beta");
    expect(mergeRegistries([b, a]).templates.t!.description).toBe("Beta");
    // The same map with its keys in another order is one value.
    expect(bytes(mergeRegistries([a, b]))).toBe(bytes(mergeRegistries([b, a])));
  });

  it("merges the copies of one AMI field by field: a later time, validated over not, a field only one copy has", () => {
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), at(2), { validated: false, name: "n" }) } } });
    const b = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), at(2), { validated_at: at(3), build_id: "b-1" }) } } });
    const merged = mergeRegistries([a, b]).templates.t!.amis["us-east-1"]!.x86_64!;
    expect(merged).toEqual({ ...record(id(0xa), at(2)), validated: true, name: "n", validated_at: at(3), build_id: "b-1" });
  });

  it("orders times by the instant, not the text: …00.500Z is after …00Z", () => {
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(0xa), "2026-01-01T00:00:00.500Z") } } });
    const b = registryWith({ t: { "us-east-1": { x86_64: record(id(0xb), "2026-01-01T00:00:00Z") } } });
    expect(mergeRegistries([a, b]).templates.t!.amis["us-east-1"]!.x86_64!.ami_id).toBe(id(0xa));
    expect(mergeRegistries([b, a]).templates.t!.amis["us-east-1"]!.x86_64!.ami_id).toBe(id(0xa));
  });

  it("keeps a rollback's pin against the AMIs it rolled back from, and lets a build after it win", () => {
    const rolledBack = registryWith({ t: { "us-east-1": { x86_64: { ...record(id(2), at(2)), history: [record(id(1), at(1))] } } } });
    rollbackEntry(rolledBack, "t", "us-east-1", "x86_64", undefined, at(3));
    expect(rolledBack.templates.t!.amis["us-east-1"]!.x86_64!).toMatchObject({ ami_id: id(1), pinned: true, rolled_back_at: at(3) });
    // A CI job that started before the rollback built id(3), newer than both, but before the rollback was made.
    const before = registryWith({ t: { "us-east-1": { x86_64: { ...record(id(3), at(2, 12)), history: [record(id(2), at(2)), record(id(1), at(1))] } } } });
    for (const order of [
      [rolledBack, before],
      [before, rolledBack],
    ]) {
      const entry = mergeRegistries(order).templates.t!.amis["us-east-1"]!.x86_64! as AmiEntry & { pinned?: boolean };
      expect(entry.ami_id).toBe(id(1));
      expect(entry.pinned).toBe(true);
      expect(entry.history!.map((h) => h.ami_id)).toEqual([id(3), id(2)]);
    }
    // A build after the rollback ends the pin, as recording it in one registry would.
    const after = registryWith({ t: { "us-east-1": { x86_64: record(id(4), at(4)) } } });
    for (const order of [
      [rolledBack, after],
      [after, rolledBack],
    ]) {
      const entry = mergeRegistries(order).templates.t!.amis["us-east-1"]!.x86_64! as AmiEntry & { pinned?: boolean };
      expect(entry.ami_id).toBe(id(4));
      expect(entry.pinned).toBeUndefined();
      expect(entry.history!.map((h) => h.ami_id)).toEqual([id(2), id(1)]);
    }
  });

  it("keeps at most HISTORY_LIMIT earlier AMIs, the newest", () => {
    const many = Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => registryWith({ t: { "us-east-1": { x86_64: record(id(i + 1), at(1 + i)) } } }));
    const entry = mergeRegistries(many).templates.t!.amis["us-east-1"]!.x86_64!;
    expect(entry.ami_id).toBe(id(HISTORY_LIMIT + 5));
    expect(entry.history!.map((h) => h.ami_id)).toEqual(Array.from({ length: HISTORY_LIMIT }, (_, i) => id(HISTORY_LIMIT + 4 - i)));
  });

  it("keeps templates, regions and fields that only one file has", () => {
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(1), at(1)) } } });
    const b = registryWith({ u: { "eu-west-1": { arm64: record(id(2), at(1)) } } });
    (b as Record<string, unknown>).written_by = "a newer cws";
    const merged = mergeRegistries([a, b]);
    expect(Object.keys(merged.templates)).toEqual(["t", "u"]);
    expect((merged as Record<string, unknown>).written_by).toBe("a newer cws");
  });
});

describe("merge rules in the field list", () => {
  const withField = (level: keyof RegistryFields, field: FieldSpec): RegistryFields => ({
    ...REGISTRY_FIELDS,
    [level]: { ...REGISTRY_FIELDS[level], fields: [...REGISTRY_FIELDS[level].fields, field] },
  });

  it("every field declares one, and a field's rule is what the merge follows", () => {
    for (const level of ["root", "template", "record", "entry"] as const) for (const field of REGISTRY_FIELDS[level].fields) expect(field.merge, `${level}.${field.name}`).toBeTruthy();
    // A template field merged by "newest" follows the newest build; the same field by "greatest" follows its value.
    const a = registryWith({ t: { "us-east-1": { x86_64: record(id(1), at(4)) } } });
    const b = registryWith({ t: { "us-east-1": { x86_64: record(id(2), at(1)) } } });
    (a.templates.t as Record<string, unknown>).zz_owner = "alice";
    (b.templates.t as Record<string, unknown>).zz_owner = "bob";
    const byNewest = registryMergerOf(withField("template", required("zz_owner", "string", "newest", "Who answers for it.")));
    const byGreatest = registryMergerOf(withField("template", required("zz_owner", "string", "greatest", "Who answers for it.")));
    expect((byNewest([a, b]).templates.t as Record<string, unknown>).zz_owner).toBe("alice");
    expect((byNewest([b, a]).templates.t as Record<string, unknown>).zz_owner).toBe("alice");
    expect((byGreatest([a, b]).templates.t as Record<string, unknown>).zz_owner).toBe("bob");
    // A time merged by "latest" is the latest instant.
    const latest = registryMergerOf(withField("root", optional("zz_reviewed_at", "isoDate", "latest", "When.")));
    (a as Record<string, unknown>).zz_reviewed_at = "2026-01-01T00:00:00.900Z";
    (b as Record<string, unknown>).zz_reviewed_at = "2026-01-01T00:00:00Z";
    expect((latest([a, b]) as Record<string, unknown>).zz_reviewed_at).toBe("2026-01-01T00:00:00.900Z");
  });

  it("refuses a rule that cannot apply to its field", () => {
    expect(() => registryMergerOf(withField("template", required("zz_amis", "amisByRegion", "greatest", "More AMIs.")))).toThrow(/cannot be merged by "greatest"/);
    expect(() => registryMergerOf(withField("root", required("zz_history", "history", "history", "Old.")))).toThrow(/cannot be merged by "history"/);
    expect(() => registryMergerOf(withField("template", required("zz_pin", "boolean", "winner", "Pin.")))).toThrow(/cannot be merged by "winner"/);
    expect(() => registryMergerOf(withField("record", required("zz_id", "amiId", "identity", "Another id.")))).toThrow(/exactly one record field/);
  });
});

describe("mergeRegistries and what cws writes", () => {
  it("a registry written by builds and rollbacks is in merge's order already", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const written = writtenRegistry(random(seed));
      expect(bytes(mergeRegistries([written])), `seed ${seed}`).toBe(bytes(written));
    }
  });

  it("with no inputs, is an empty registry", () => {
    expect(mergeRegistries([])).toEqual({ version: "1.0", last_updated: "1970-01-01T00:00:00Z", templates: {} });
  });
});
