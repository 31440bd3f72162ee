import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AmiEntry } from "../../src/registry/schema.js";
import { runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * The built CLI, given registry data it must refuse: every command that reads
 * the registry says where (file:line:col), exits 2, prints no stack trace and
 * changes no file. And registry merge gives the same bytes in any order.
 */

const AMI = "ami-0abcd1234ef567890";
const OLDER = "ami-0123456789abcdef0";

function registryText(entry: Record<string, unknown> = {}, root: Record<string, unknown> = {}): string {
  const current = { ...record(AMI, "2026-01-02T00:00:00Z"), history: [record(OLDER, "2026-01-01T00:00:00Z")], ...entry } as AmiEntry;
  return `${JSON.stringify({ ...registryWith({ t: { "us-east-1": { x86_64: current } } }, "2026-01-02T00:00:00Z"), ...root }, null, 2)}\n`;
}

const lineOf = (text: string, needle: string) => text.split("\n").findIndex((line) => line.includes(needle)) + 1;

/** Each class of registry data to refuse: the text, and the start of the one-line message (after `error: <file>:`). */
const BROKEN: Record<string, { text: string; at: (text: string) => RegExp; encoding?: BufferEncoding }> = {
  "a date that is not one": { text: registryText({ created: "not a date" }), at: (t) => new RegExp(`^${lineOf(t, "not a date")}:\\d+ templates\\.t\\.amis\\.us-east-1\\.x86_64\\.created: expected an ISO 8601 UTC time`) },
  "a date without a time zone": { text: registryText({ validated_at: "2026-01-02T00:00:00" }), at: (t) => new RegExp(`^${lineOf(t, '"validated_at"')}:\\d+ .*validated_at: expected an ISO 8601 UTC time`) },
  "a leap second": { text: registryText({}, { last_updated: "2016-12-31T23:59:60Z" }), at: () => /^3:19 last_updated: expected an ISO 8601 UTC time .*no leap second/ },
  "a newer format": { text: registryText().replace('"version": "1.0"', '"version": "9.9"'), at: () => /^2:14 version: registry format "9\.9" is newer than this cws reads \(1\.0\)/ },
  "a repeated key": { text: registryText().replace('"validated": true,', '"validated": true,\n            "validated": false,'), at: (t) => new RegExp(`^${lineOf(t, '"validated": false')}:13 templates\\.t\\.amis\\.us-east-1\\.x86_64: the key "validated" appears twice`) },
  "a repeated key written with an escape": { text: registryText().replace('"t": {', '"t": {},\n    "\\u0074": {'), at: () => /^6:5 templates: the key "t" appears twice/ },
  "an AMI id of the wrong length": { text: registryText({ ami_id: "ami-abc" }), at: (t) => new RegExp(`^${lineOf(t, "ami-abc")}:\\d+ .*ami_id: expected an AMI id: ami- and 8 or 17 lowercase hex digits`) },
  // Keys: a region or architecture that is not one, a key JavaScript cannot keep.
  "a region that is not one": { text: registryText().replace('"us-east-1": {', '"mars-1": {'), at: (t) => new RegExp(`^${lineOf(t, "mars-1")}:9 templates\\.t\\.amis\\.mars-1: unknown field "mars-1"; expected a region$`) },
  "a region with a typo": { text: registryText().replace('"us-east-1": {', '"us-est-1": {'), at: () => /templates\.t\.amis\.us-est-1: unknown field "us-est-1" \(did you mean "us-east-1"\?\)/ },
  "an architecture by another name": { text: registryText().replace('"x86_64": {', '"aarch64": {'), at: () => /us-east-1\.aarch64: unknown field "aarch64" \(did you mean "arm64"\?/ },
  "a __proto__ key in an entry": { text: registryText().replace('"validated": true,', '"validated": true,\n            "__proto__": {},'), at: (t) => new RegExp(`^${lineOf(t, "__proto__")}:13 templates\\.t\\.amis\\.us-east-1\\.x86_64: a key named "__proto__" cannot be read`) },
  "a __proto__ template": { text: registryText().replace('"t": {', '"__proto__": {'), at: () => /^5:5 templates: a key named "__proto__" cannot be read/ },
  // Values, worded as a template's are and quoted as the file has them.
  "a negative size": { text: registryText({ size_gb: -1 }), at: () => /size_gb: must be at least 0, got -1$/ },
  "a size too large for a number": { text: registryText().replace('"size_gb": 8,', '"size_gb": 1e400,'), at: () => /size_gb: expected a number, got 1e400, which is beyond the largest number/ },
  "a history of 11": { text: registryText({ history: Array.from({ length: 11 }, (_, i) => record(`ami-${String(i).padStart(8, "0")}`, "2026-01-01T00:00:00Z")) }), at: () => /history: must list at most 10 items$/ },
  "the format as the number 1.0": { text: registryText().replace('"version": "1.0"', '"version": 1.0'), at: () => /^2:14 version: expected a registry format such as "1\.0", got a number \(1\.0\)/ },
  "a template id that is not one": { text: registryText().replace('"t": {', '"Bad Id": {'), at: () => /^5:5 templates\.Bad Id: not a valid template id: use lowercase letters/ },
  // Text: empty, cut short, not UTF-8.
  "an empty file": { text: "", at: () => /^1:1 the registry is not valid JSON: the file is empty; a registry is a JSON object$/ },
  "a file cut short": { text: registryText().slice(0, 40), at: () => /the registry is not valid JSON: unexpected end of the file; expected/ },
  "bytes that are not UTF-8 (a Latin-1 é)": { text: registryText().replace('"description": "Test"', '"description": "caf\u00e9"'), encoding: "latin1", at: (t) => new RegExp(`^${lineOf(t, "caf")}:\\d+ (the registry|the file to merge) is not valid UTF-8 text \\(bad byte 0xe9 at offset \\d+\\)$`) },
  "a byte-order mark, then an error on line 3": { text: `\uFEFF${registryText().replace('"last_updated": "2026-01-02T00:00:00Z"', '"last_updated": 2026')}`, at: () => /^3:19 last_updated: expected a string, got a number \(2026\)/ },
};

/** The commands that read the registry, each run so that it gets that far without AWS. */
const COMMANDS: Record<string, (dir: string) => string[]> = {
  list: () => ["ami", "list"],
  "list --json": () => ["ami", "list", "--json"],
  "registry merge (as an input)": (dir) => ["ami", "registry", "merge", join(dir, "registry", "amis.json"), "--output", "-"],
  "registry merge (as the registry merged into)": (dir) => ["ami", "registry", "merge", join(dir, "good.json")],
  "update-templates": () => ["ami", "update-templates"],
  "update-templates --check": () => ["ami", "update-templates", "--check"],
  rollback: () => ["ami", "rollback", "t", "--region", "us-east-1", "--architecture", "x86_64"],
};

describe("registry data that is refused, by every command that reads it (built CLI)", () => {
  for (const [name, { text, at, encoding }] of Object.entries(BROKEN)) {
    it(`${name}: exit 2, one line at file:line:col, no stack trace, nothing written`, () => {
      const { dir, cleanup } = scratchDir({ "registry/amis.json": Buffer.from(text, encoding ?? "utf8"), "templates/t.yml": VALID_TEMPLATE, "good.json": registryText() });
      try {
        for (const [command, args] of Object.entries(COMMANDS)) {
          const result = runCli(args(dir), { cwd: dir, env: { AWS_ACCESS_KEY_ID: undefined } });
          expect(result.status, `${command}\n${result.stderr}`).toBe(2);
          const [first, ...rest] = result.stderr.split("\n");
          expect(first, command).toMatch(/^error: (\.\/|\/.*\/)?registry\/amis\.json:\d+:\d+ /);
          expect(first!.replace(/^error: .*?amis\.json:/, ""), command).toMatch(at(text));
          expect(rest.filter((line) => line !== "" && !line.startsWith("  → ")), command).toEqual([]);
          expect(result.stderr, command).not.toMatch(/\n\s+at /);
          if (command.includes("--json")) {
            // --json: the same error as one JSON document on stdout.
            const document = JSON.parse(result.stdout) as { error: { code: string; message: string }; exitCode: number };
            expect(document.error.code, command).toBe("REGISTRY_INVALID");
            expect(document.error.message.replace(/^.*?amis\.json:/, ""), command).toMatch(at(text));
            expect(document.exitCode, command).toBe(2);
          } else {
            expect(result.stdout, command).toBe("");
          }
          expect(readFileSync(join(dir, "registry", "amis.json"), encoding ?? "utf8"), command).toBe(text);
          expect(readFileSync(join(dir, "templates", "t.yml"), "utf8"), command).toBe(VALID_TEMPLATE);
        }
      } finally {
        cleanup();
      }
    });
  }
});

describe("a registry with a byte-order mark (built CLI)", () => {
  it("is read by every command, and a merge writes it back without the mark", () => {
    const text = registryText();
    const { dir, cleanup } = scratchDir({ "registry/amis.json": `\uFEFF${text}`, "templates/t.yml": VALID_TEMPLATE, "other.json": registryText() });
    try {
      const list = runCli(["ami", "list", "--json"], { cwd: dir });
      expect(list.status, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ template: "t", ami_id: AMI })]);
      const check = runCli(["ami", "update-templates", "--check"], { cwd: dir });
      expect(check.stderr).not.toContain("error");
      const merge = runCli(["ami", "registry", "merge", "other.json"], { cwd: dir });
      expect(merge.status, merge.stderr).toBe(0);
      expect(readFileSync(join(dir, "registry", "amis.json"), "utf8")).toBe(text);
    } finally {
      cleanup();
    }
  });
});

describe("cws ami registry merge (built CLI)", () => {
  it("gives the same bytes in any order of the files, taking template metadata from the newest build", () => {
    const newer = registryText({ ami_id: "ami-0fffffffffffffff1", created: "2026-02-01T00:00:00Z", history: [{ ami_id: AMI, created: "2026-01-02T00:00:00Z", validated: true, size_gb: 8 }] })
      .replace('"description": "Test"', '"description": "from the newest build"')
      .replace('"ports": [\n        22\n      ]', '"ports": [\n        22,\n        8787\n      ]');
    // Written later, but about older builds: last_updated does not decide.
    const older = registryText({}, { last_updated: "2026-03-01T00:00:00Z" }).replace('"description": "Test"', '"description": "older"');
    const { dir, cleanup } = scratchDir({ "a.json": newer, "b.json": older });
    try {
      const ab = runCli(["ami", "registry", "merge", "a.json", "b.json", "--output", "-"], { cwd: dir });
      const ba = runCli(["ami", "registry", "merge", "b.json", "a.json", "--output", "-"], { cwd: dir });
      expect(ab.status, ab.stderr).toBe(0);
      expect(ba.stdout).toBe(ab.stdout);
      const merged = JSON.parse(ab.stdout);
      expect(merged.templates.t.description).toBe("from the newest build");
      expect(merged.templates.t.ports).toEqual([22, 8787]);
      expect(merged.last_updated).toBe("2026-03-01T00:00:00Z");
      expect(merged.templates.t.amis["us-east-1"].x86_64.ami_id).toBe("ami-0fffffffffffffff1");
      expect(merged.templates.t.amis["us-east-1"].x86_64.history.map((h: { ami_id: string }) => h.ami_id)).toEqual([AMI, OLDER]);
      // Merged with itself, a file is unchanged.
      const self = runCli(["ami", "registry", "merge", "a.json", "a.json", "--output", "-"], { cwd: dir });
      expect(self.stdout).toBe(JSON.stringify(JSON.parse(newer), null, 2) + "\n");
    } finally {
      cleanup();
    }
  });
});
