import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { exec } from "../../src/cli/main.js";
import { CwsError } from "../../src/errors.js";
import { entryFields, REGISTRY_FIELDS, REGISTRY_FORMAT_VERSIONS } from "../../src/registry/fields.js";
import { quickRegistry } from "../../src/registry/list.js";
import { registrySchema, type Registry } from "../../src/registry/schema.js";
import { parseRegistry, writeRegistryAtomically } from "../../src/registry/store.js";
import { isIsoTimestamp } from "../../src/registry/timestamps.js";
import { AMI_ID_PATTERN, isAmiId } from "../../src/template/architectures.js";
import { parseTemplate } from "../../src/template/load.js";
import { scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { registryWith } from "./fixtures.js";

/**
 * Registry data cws refuses, whoever reads it: the zod schema (every command
 * but list), the quick check (`cws ami list`), and parseRegistry's message,
 * which names file:line:col and the value at fault.
 */

// Parsed JSON, broken on purpose below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const AMI = "ami-0abcd1234ef567890";

/** A registry with every date field of every level present once: last_updated, created, validated_at, rolled_back_at, and a history record's. */
function registry(): Loose {
  const record = { ami_id: "ami-0123456789abcdef0", created: "2026-01-01T00:00:00Z", validated: true, size_gb: 8, validated_at: "2026-01-01T00:10:00Z" };
  const entry = { ...record, ami_id: AMI, pinned: true, rolled_back_at: "2026-01-02T00:00:00Z", history: [record] };
  return registryWith({ t: { "us-east-1": { x86_64: entry } } }, "2026-01-02T00:00:00Z");
}

/** Where each date field of `registry()` is: every isoDate field of the field list, at every level that has it. */
const DATE_PATHS: (string | number)[][] = (() => {
  const entry = ["templates", "t", "amis", "us-east-1", "x86_64"];
  const paths: (string | number)[][] = [];
  for (const field of REGISTRY_FIELDS.root.fields) if (field.kind === "isoDate") paths.push([field.name]);
  for (const field of entryFields(REGISTRY_FIELDS)) if (field.kind === "isoDate") paths.push([...entry, field.name]);
  for (const field of REGISTRY_FIELDS.record.fields) if (field.kind === "isoDate") paths.push([...entry, "history", 0, field.name]);
  return paths;
})();

const setAt = (data: Loose, path: (string | number)[], value: unknown) => {
  const parent = path.slice(0, -1).reduce<Loose>((o, key) => o[key], data);
  parent[path.at(-1)!] = value;
};

async function refusal(text: string, file = "registry/amis.json"): Promise<CwsError> {
  const error = await parseRegistry(text, file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CwsError);
  expect((error as CwsError).exitCode).toBe(2);
  return error as CwsError;
}

describe("times: ISO 8601 in UTC, as Date.toISOString writes them", () => {
  const accepted = ["2026-11-26T10:30:00Z", "2026-11-26T10:30:00.000Z", "2026-11-26T10:30:00.123Z", "2024-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "1999-12-31T23:59:59Z"];
  const refused: [string, unknown][] = [
    ["text", "not a date"],
    ["a date alone", "2026-11-26"],
    ["no time zone", "2026-11-26T10:30:00"],
    ["an offset instead of Z", "2026-11-26T10:30:00+02:00"],
    ["a space for the T", "2026-11-26 10:30:00Z"],
    ["lower-case t and z", "2026-11-26t10:30:00z"],
    ["no seconds", "2026-11-26T10:30Z"],
    ["one digit of milliseconds", "2026-11-26T10:30:00.5Z"],
    ["microseconds", "2026-11-26T10:30:00.123456Z"],
    ["a leap second", "2016-12-31T23:59:60Z"],
    ["February 29th of a common year", "2026-02-29T00:00:00Z"],
    ["February 29th of a century that is not a leap year", "1900-02-29T00:00:00Z"],
    ["the 31st of a 30-day month", "2026-04-31T00:00:00Z"],
    ["month 13", "2026-13-01T00:00:00Z"],
    ["day 0", "2026-01-00T00:00:00Z"],
    ["hour 24", "2026-01-01T24:00:00Z"],
    ["a six-digit year", "+020260-01-01T00:00:00Z"],
    ["an epoch number", 1764153000],
    ["an empty string", ""],
    ["null", null],
  ];

  it("accepts a time with or without milliseconds, in every date field, in the schema and the quick check", () => {
    for (const value of accepted) {
      expect(isIsoTimestamp(value), value).toBe(true);
      for (const path of DATE_PATHS) {
        const data = registry();
        setAt(data, path, value);
        expect(registrySchema.safeParse(data).success, `${path.join(".")} = ${value}`).toBe(true);
        expect(quickRegistry(data), `${path.join(".")} = ${value}`).toBe(data);
      }
    }
  });

  for (const [name, value] of refused) {
    it(`refuses ${name} (${JSON.stringify(value)}) in every date field, at its line and column`, async () => {
      expect(isIsoTimestamp(value)).toBe(false);
      for (const path of DATE_PATHS) {
        const data = registry();
        setAt(data, path, value);
        expect(registrySchema.safeParse(data).success, path.join(".")).toBe(false);
        expect(quickRegistry(data), path.join(".")).toBeUndefined();
        const text = JSON.stringify(data, null, 2);
        const error = await refusal(text);
        const shown = JSON.stringify(value);
        const line = text.split("\n").findIndex((l) => l.includes(`"${String(path.at(-1))}": ${shown}`)) + 1;
        expect(line).toBeGreaterThan(0);
        expect(error.message).toMatch(new RegExp(`^registry/amis\\.json:${line}:\\d+ ${path.join(".").replace(/\.(\d+)\./g, "[$1].").replace(/\./g, "\\.").replace(/\[/g, "\\[").replace(/\]/g, "\\]")}: `));
        expect(error.message).toMatch(typeof value === "string" && value.includes("-02-29T") ? /no such day: \d{4} is not a leap year/ : /expected (an ISO 8601 UTC time|a string)/);
      }
    });
  }
});

describe("the format version: the ones this cws reads, and a newer one named as such", () => {
  const cases: [string, unknown, RegExp][] = [
    ["a newer format", "9.9", /registry format "9\.9" is newer than this cws reads \(1\.0\).*upgrade cws/],
    ["the next major format", "2.0", /"2\.0" is newer than this cws reads/],
    ["a newer minor format", "1.1", /"1\.1" is newer than this cws reads/],
    ["an older, unknown format", "0.9", /"0\.9" is not a registry format; this cws reads format 1\.0/],
    ["a version without its minor part", "1", /"1" is not a registry format/],
    ["a version with a patch part", "1.0.0", /"1\.0\.0" is not a registry format/],
    ["a number", 1, /expected a registry format such as "1\.0", got a number \(1\)/],
    ["null", null, /got nothing \(null\)/],
  ];
  it(`reads ${REGISTRY_FORMAT_VERSIONS.join(", ")}`, () => {
    expect(registrySchema.safeParse(registry()).success).toBe(true);
    expect(quickRegistry(registry())).toBeDefined();
  });
  for (const [name, value, message] of cases) {
    it(`refuses ${name} (${JSON.stringify(value)}) at the version's position, and says what to do`, async () => {
      const data = registry();
      data.version = value;
      expect(quickRegistry(data)).toBeUndefined();
      const error = await refusal(JSON.stringify(data, null, 2));
      expect(error.message).toMatch(/^registry\/amis\.json:2:14 version: /);
      expect(error.message).toMatch(message);
      expect(error.suggestion).toMatch(/this cws reads registry format 1\.0; if a newer cws wrote the file, upgrade cws/);
    });
  }
  it("refuses the JSON number 1.0, which is the number 1, quoting it as the file has it", async () => {
    for (const written of ["1.0", "1.00", "1e0", "10E-1"]) {
      const error = await refusal(JSON.stringify(registry(), null, 2).replace('"version": "1.0"', `"version": ${written}`));
      expect(error.message).toBe(`registry/amis.json:2:14 version: expected a registry format such as "1.0", got a number (${written}); this cws reads format 1.0`);
    }
  });
});

describe("one AMI id rule: templates, the registry, its quick check and flags agree", () => {
  const ids: [string, boolean][] = [
    ["ami-12345678", true],
    ["ami-0abcd1234ef567890", true],
    ["ami-abc", false],
    ["ami-", false],
    ["ami-1234567", false],
    ["ami-123456789", false],
    ["ami-0abcd1234ef56789", false],
    ["ami-0abcd1234ef5678901", false],
    ["ami-0ABCD1234EF567890", false],
    ["AMI-12345678", false],
    ["ami-1234567g", false],
    [" ami-12345678", false],
    ["ami-12345678 ", false],
  ];
  for (const [id, valid] of ids) {
    it(`${JSON.stringify(id)} is ${valid ? "an AMI id" : "refused"} everywhere`, async () => {
      expect(AMI_ID_PATTERN.test(id)).toBe(valid);
      expect(isAmiId(id)).toBe(valid);
      // A template: a literal base image, and its amis: block.
      const asBase = parseTemplate(Buffer.from(VALID_TEMPLATE.replace("source: ubuntu-22.04-lts", `source: "${id}"`)), "t.yml");
      expect(asBase.template !== undefined, "base_ami.source").toBe(valid);
      const asBlock = parseTemplate(Buffer.from(`${VALID_TEMPLATE}amis:\n  us-east-1:\n    x86_64: "${id}"\n`), "t.yml");
      expect(asBlock.template !== undefined, "amis").toBe(valid);
      if (!valid) expect(asBlock.problems[0]?.message).toMatch(/expected an AMI id: ami- and 8 or 17 lowercase hex digits/);
      // The registry, current and in history.
      for (const where of ["current", "history"] as const) {
        const data = registry();
        const entry = data.templates.t.amis["us-east-1"].x86_64;
        if (where === "current") entry.ami_id = id;
        else entry.history[0].ami_id = id;
        expect(registrySchema.safeParse(data).success, where).toBe(valid);
        expect(quickRegistry(data) !== undefined, where).toBe(valid);
      }
      // A flag: rollback --to takes an AMI id (anything else starting with ami- is refused before AWS is asked).
      if (id.startsWith("ami-")) {
        const { dir, cleanup } = scratchDir({ "registry/amis.json": JSON.stringify(registry()) });
        try {
          let stderr = "";
          const io: CliIO = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: dir };
          const status = await exec(["--registry", join(dir, "registry/amis.json"), "ami", "rollback", "t", "--region", "us-east-1", "--architecture", "x86_64", "--to", id], io);
          expect(status).toBe(2);
          // A valid id gets as far as the registry: not in the entry's history, or already current.
          expect(stderr).toMatch(valid ? /is (not in the history of|already the current AMI of) t\.us-east-1\.x86_64/ : /--to ".*": expected an AMI id: ami- and 8 or 17 lowercase hex digits/);
        } finally {
          cleanup();
        }
      }
    });
  }
});

describe("a byte-order mark", () => {
  const text = JSON.stringify(registry(), null, 2);

  it("is ignored: a registry with one reads as without", async () => {
    expect(await parseRegistry(`\uFEFF${text}`, "f.json")).toEqual(await parseRegistry(text, "f.json"));
  });

  it("does not move a problem: the same line and column with and without it, on the first line and later ones", async () => {
    const onLine3 = text.replace('"last_updated": "2026-01-02T00:00:00Z"', '"last_updated": "soon"');
    const onLine3Syntax = text.replace('"last_updated": "2026-01-02T00:00:00Z"', '"last_updated": soon');
    const onLine1 = JSON.stringify({ ...registry(), version: "9.9" });
    for (const broken of [onLine3, onLine3Syntax, onLine1]) {
      const plain = (await refusal(broken)).message.split(" ")[0];
      const withBom = (await refusal(`\uFEFF${broken}`)).message.split(" ")[0];
      expect(withBom).toBe(plain);
    }
    expect((await refusal(`\uFEFF${onLine3}`)).message).toMatch(/^registry\/amis\.json:3:19 last_updated: /);
    expect((await refusal(`\uFEFF${onLine3Syntax}`)).message).toMatch(/^registry\/amis\.json:3:19 the registry is not valid JSON: unexpected "s"/);
    expect((await refusal(`\uFEFF${onLine1}`)).message).toMatch(/^registry\/amis\.json:1:12 version: /);
  });
});

describe("several problems", () => {
  it("are listed in the order of the file, each with its position", async () => {
    const data = registry();
    data.version = 2;
    data.templates.t.amis["us-east-1"].x86_64.history[0].created = "yesterday";
    data.templates.t.amis["us-east-1"].x86_64.ami_id = "ami-abc";
    delete data.templates.t.ports;
    const error = await refusal(JSON.stringify(data, null, 2));
    const lines = error.message.split("\n").slice(1).map((l) => l.trim().replace(/ .*/, ""));
    expect(lines).toHaveLength(4);
    const positions = lines.map((l) => l.split(":").slice(1).map(Number) as [number, number]);
    expect([...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1])).toEqual(positions);
    expect(error.message).toContain("templates.t.ports: required field is missing");
  });
});

describe("writing", () => {
  it("never writes a registry cws would refuse to read, and leaves the file as it was", async () => {
    const { dir, cleanup } = scratchDir({ "amis.json": `${JSON.stringify(registry(), null, 2)}\n` });
    try {
      const file = join(dir, "amis.json");
      const before = readFileSync(file, "utf8");
      const bad = registry() as Registry;
      (bad.templates.t!.amis["us-east-1"]!.x86_64! as Loose).created = "not a date";
      const error = await writeRegistryAtomically(file, bad).then(
        () => undefined,
        (e: unknown) => e as CwsError,
      );
      expect(error).toBeInstanceOf(CwsError);
      expect(error!.code).toBe("REGISTRY_WRITE_REFUSED");
      expect(error!.message).toContain('templates.t.amis.us-east-1.x86_64.created: expected an ISO 8601 UTC time such as 2026-11-26T10:30:00Z (Date.toISOString\'s form, milliseconds optional; a day and time that exist, no leap second) (got a string ("not a date"))');
      expect(readFileSync(file, "utf8")).toBe(before);
      expect(existsSync(join(dir, "amis.json.lock"))).toBe(false);
    } finally {
      cleanup();
    }
  });
});
