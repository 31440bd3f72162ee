import { describe, expect, it } from "vitest";
import * as z from "zod";
import { entryFields, optional, REGISTRY_FIELDS, required, type FieldKind, type FieldSpec, type RegistryFields } from "../../src/registry/fields.js";
import { quickRegistry } from "../../src/registry/list.js";
import { compileQuickCheck } from "../../src/registry/quick-check.js";
import { registrySchema, registrySchemasOf, type Registry } from "../../src/registry/schema.js";
import { registrySerializerOf, serializeRegistry } from "../../src/registry/store.js";

/**
 * The registry's fields are listed once (src/registry/fields.ts); the zod
 * schema, the serialization order and `cws ami list`'s quick check are
 * derived from the list. These tests drive the derivations with the list, so
 * a field added to it is covered without touching them.
 */

// Parsed JSON, changed on purpose below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

type Level = keyof RegistryFields;
const LEVELS: Level[] = ["root", "template", "entry", "record"];
/** A level's fields as its objects have them: an entry's start with a record's. */
const levelFields = (fields: RegistryFields, level: Level) => (level === "entry" ? entryFields(fields) : fields[level].fields);

/** A valid value of each kind that holds no other level. */
const VALUES: Record<Exclude<FieldKind, "templates" | "amisByRegion" | "history">, unknown> = {
  string: "s",
  formatVersion: "1.0",
  isoDate: "2026-01-01T00:00:00Z",
  boolean: true,
  amiId: "ami-0abcd1234ef567890",
  nonNegativeNumber: 8,
  intArray: [22, 8787],
  costByArchitecture: { x86_64: 0.04, arm64: 0 },
  copySource: { region: "us-east-1", ami_id: "ami-0fedcba9876543210" },
};

/** A registry with every field of every level present, one template, one entry and one history item. */
function fullRegistry(fields: RegistryFields): Loose {
  const level = (list: readonly FieldSpec[], nested: Partial<Record<FieldKind, unknown>>) =>
    Object.fromEntries(list.map((field) => [field.name, structuredClone(nested[field.kind] ?? VALUES[field.kind as keyof typeof VALUES])]));
  const record = level(fields.record.fields, {});
  const entry = level(entryFields(fields), { history: [record] });
  const template = level(fields.template.fields, { amisByRegion: { "us-east-1": { x86_64: entry } } });
  return level(fields.root.fields, { templates: { t: template } });
}

type Path = (string | number)[];
const ENTRY: Path = ["templates", "t", "amis", "us-east-1", "x86_64"];
/** Each level's object in `fullRegistry`. */
const OBJECT: Record<Level, Path> = { root: [], template: ["templates", "t"], entry: ENTRY, record: [...ENTRY, "history", 0] };
/** The levels whose objects hold a level's fields: an entry holds a record's too. */
const HOLDERS: Record<Level, Level[]> = { root: ["root"], template: ["template"], entry: ["entry"], record: ["entry", "record"] };
const WHERE = (level: Level): Path[] => HOLDERS[level].map((holder) => OBJECT[holder]);
const at = (data: Loose, path: Path): Loose => path.reduce<Loose>((o, key) => o[key], data);

/** The three derivations of one field list. */
function derive(fields: RegistryFields) {
  const schema = registrySchemasOf(fields).root;
  const quick = compileQuickCheck(fields);
  return { accepts: (data: unknown) => schema.safeParse(data).success, quickAccepts: quick, serialize: registrySerializerOf(fields) };
}

/** Each object that holds `level`'s fields: its keys as written, and its level's field names as listed. */
function writtenAndListed(text: string, fields: RegistryFields, level: Level): [string[], string[]][] {
  const written = JSON.parse(text) as Loose;
  return HOLDERS[level].map((holder) => [Object.keys(at(written, OBJECT[holder])), levelFields(fields, holder).map((f) => f.name)]);
}

/** The serializer's input: every object's keys reversed, so that it cannot just keep the input's order. */
function reversed(value: unknown): Registry {
  const reverse = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reverse) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([key, child]) => [key, reverse(child)])) : v;
  return reverse(value) as Registry;
}

describe("the registry's field list", () => {
  it("is what the production schema, serializer and quick check are derived from", () => {
    const data = fullRegistry(REGISTRY_FIELDS);
    expect(registrySchema.safeParse(data).success).toBe(true);
    expect(quickRegistry(data)).toBe(data);
    const written = JSON.parse(serializeRegistry(reversed(data))) as Loose;
    for (const level of LEVELS) expect(Object.keys(at(written, OBJECT[level]))).toEqual(levelFields(REGISTRY_FIELDS, level).map((f) => f.name));
  });

  // For every field of every level: the schema and the quick check both check it.
  for (const level of LEVELS) {
    for (const field of REGISTRY_FIELDS[level].fields) {
      it(`${level}.${field.name}: a wrong value is rejected by the schema and the quick check; ${field.required ? "so is" : "not"} its absence`, () => {
        for (const path of WHERE(level)) {
          const wrong = fullRegistry(REGISTRY_FIELDS);
          at(wrong, path)[field.name] = null;
          expect(registrySchema.safeParse(wrong).success).toBe(false);
          expect(quickRegistry(wrong)).toBeUndefined();

          const absent = fullRegistry(REGISTRY_FIELDS);
          delete at(absent, path)[field.name];
          expect(registrySchema.safeParse(absent).success).toBe(!field.required);
          expect(quickRegistry(absent) !== undefined).toBe(!field.required);
        }
      });
    }
  }
});

describe("copied_from (a copySource)", () => {
  const withCopy = (value: unknown) => {
    const data = fullRegistry(REGISTRY_FIELDS);
    for (const path of WHERE("record")) at(data, path).copied_from = structuredClone(value);
    return data;
  };
  const WRONG: [string, unknown][] = [
    ["a string", "us-east-1/ami-0fedcba9876543210"],
    ["a list", ["us-east-1", "ami-0fedcba9876543210"]],
    ["no region", { ami_id: "ami-0fedcba9876543210" }],
    ["an empty region", { region: "", ami_id: "ami-0fedcba9876543210" }],
    ["a region that is not text", { region: 1, ami_id: "ami-0fedcba9876543210" }],
    ["no AMI", { region: "us-east-1" }],
    ["an AMI id of the wrong shape", { region: "us-east-1", ami_id: "ami-123" }],
    ["a key of its own", { region: "us-east-1", ami_id: "ami-0fedcba9876543210", account: "111122223333" }],
  ];

  it.each(WRONG)("is refused alike by the schema and the quick check when it is %s", (_, value) => {
    const data = withCopy(value);
    expect(registrySchema.safeParse(data).success).toBe(false);
    expect(quickRegistry(data)).toBeUndefined();
  });

  it("is accepted alike when it is a region and an AMI id, and written region first", () => {
    const data = withCopy({ ami_id: "ami-0fedcba9876543210", region: "eu-west-1" });
    expect(registrySchema.safeParse(data).success).toBe(true);
    expect(quickRegistry(data)).toBe(data);
    const written = JSON.parse(serializeRegistry(data as Registry)) as Loose;
    for (const path of WHERE("record")) expect(Object.entries(at(written, path).copied_from)).toEqual([["region", "eu-west-1"], ["ami_id", "ami-0fedcba9876543210"]]);
  });
});

describe("a field added to the list, in one place", () => {
  /** The list with one more field, second in its level. */
  function withField(level: Level, field: FieldSpec): RegistryFields {
    const [first, ...rest] = REGISTRY_FIELDS[level].fields;
    return { ...REGISTRY_FIELDS, [level]: { ...REGISTRY_FIELDS[level], fields: [first, field, ...rest] } };
  }

  for (const level of LEVELS) {
    it(`at the ${level} level, is required by the schema and the quick check and written in its place`, () => {
      // "zz_": without the list, the serializer would write it last, as a field it does not know.
      const fields = withField(level, required("zz_reviewed", "boolean", "greatest", "Someone looked at it."));
      const { accepts, quickAccepts, serialize } = derive(fields);
      const today = derive(REGISTRY_FIELDS);

      const data = fullRegistry(fields);
      expect(accepts(data)).toBe(true);
      expect(quickAccepts(data)).toBe(true);
      for (const path of WHERE(level)) {
        const missing = structuredClone(data);
        delete at(missing, path).zz_reviewed;
        expect(accepts(missing)).toBe(false);
        expect(quickAccepts(missing)).toBe(false);
        // Today's list does not know the field: it is an unknown field, kept.
        expect(today.accepts(missing)).toBe(true);
        expect(today.quickAccepts(missing)).toBe(true);

        const wrongType = structuredClone(data);
        at(wrongType, path).zz_reviewed = "yes";
        expect(accepts(wrongType)).toBe(false);
        expect(quickAccepts(wrongType)).toBe(false);
        expect(today.quickAccepts(wrongType)).toBe(true);
      }

      // Where the list has it; without it in the list, last (after the fields the list knows).
      for (const [keys, listed] of writtenAndListed(serialize(reversed(data)), fields, level)) {
        expect(keys).toEqual(listed);
        expect(keys.indexOf("zz_reviewed")).toBe(listed.indexOf(REGISTRY_FIELDS[level].fields[0]!.name) + 1);
      }
      for (const [keys] of writtenAndListed(today.serialize(reversed(data)), fields, level)) expect(keys.at(-1)).toBe("zz_reviewed");
    });
  }

  it("optional, is checked when present and may be absent", () => {
    const fields = withField("record", optional("zz_reviewed_at", "isoDate", "latest", "When someone looked at it."));
    const { accepts, quickAccepts } = derive(fields);
    const data = fullRegistry(fields);
    for (const path of WHERE("record")) {
      const absent = structuredClone(data);
      delete at(absent, path).zz_reviewed_at;
      expect(accepts(absent)).toBe(true);
      expect(quickAccepts(absent)).toBe(true);
      const wrongType = structuredClone(data);
      at(wrongType, path).zz_reviewed_at = 20260101;
      expect(accepts(wrongType)).toBe(false);
      expect(quickAccepts(wrongType)).toBe(false);
    }
  });

  it("appears in the JSON Schema, in its place, with its description", () => {
    const schema = registrySchemasOf(withField("template", required("zz_owner", "string", "newest", "Who answers for the template."))).template;
    const json = z.toJSONSchema(schema, { io: "output" }) as Loose;
    expect(Object.keys(json.properties)[1]).toBe("zz_owner");
    expect(json.properties.zz_owner).toEqual({ type: "string", description: "Who answers for the template." });
    expect(json.required).toContain("zz_owner");
  });
});
