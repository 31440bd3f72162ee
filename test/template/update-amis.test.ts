import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { CwsError } from "../../src/errors.js";
import { registrySchema, type RegistryTemplate } from "../../src/registry/schema.js";
import { AMIS_HEADER, renderAmisBlock, spliceAmisBlock } from "../../src/template/amis-block.js";
import { templateContentHash } from "../../src/template/content-hash.js";
import { parseTemplate } from "../../src/template/load.js";
import { desiredAmis, diffAmis, updateTemplateAmis } from "../../src/template/update-amis.js";
import { ROOT } from "../helpers/cli.js";

const FILE = "templates/rich.yml";
const A1 = "ami-0aaaaaaaaaaaaaaa1";
const A2 = "ami-0aaaaaaaaaaaaaaa2";
const B1 = "ami-0bbbbbbbbbbbbbbb1";
const B2 = "ami-0bbbbbbbbbbbbbbb2";
const OLD = "ami-00000000000000001";

/** A registry entry (validated by the real schema) with the given AMIs by region and architecture: an id (a validated AMI) or a whole entry. */
function entry(amis: Record<string, Record<string, string | Record<string, unknown>>>): RegistryTemplate {
  const registry = registrySchema.parse({
    version: "1.0",
    last_updated: "2024-05-01T00:00:00Z",
    templates: {
      rich: {
        version: "1.0.0",
        description: "d",
        ports: [22],
        estimated_cost_per_hour: {},
        amis: Object.fromEntries(
          Object.entries(amis).map(([region, byArch]) => [
            region,
            Object.fromEntries(Object.entries(byArch).map(([arch, id]) => [arch, typeof id === "string" ? { ami_id: id, created: "2024-05-01T00:00:00Z", validated: true, size_gb: 8 } : id])),
          ]),
        ),
      },
    },
  });
  return registry.templates.rich!;
}

// Everything an edit could disturb: the language-server line, comments (own-line and trailing),
// blank lines, a long quoted string, a flow list, literal and folded block scalars, blank lines inside one.
const HEAD = `# yaml-language-server: $schema=../schemas/template.schema.json
#
# A template with everything an edit could disturb.

name: "Rich   Template"   # trailing comment
description: "A long description that the yaml library would fold at eighty columns if it re-stringified this document"
version: "1.0.0"

base_ami:
  # a comment inside a mapping
  source: ubuntu-22.04-lts
  architecture: ["x86_64", "arm64"]

regions: [us-east-1, us-west-2]

`;
const TAIL = `# The provisioning script.
setup_script: |
  #!/bin/bash
  set -euo pipefail


  echo "two blank lines above"   # a shell comment, not YAML's
validation_tests:
  - name: "folded command"
    command: >-
      echo one &&
      echo two
    expected_contains: "two"
ports: [22]
`;
const NO_BLOCK = HEAD + TAIL;
const OLD_BLOCK = `amis:
  us-east-1:
    x86_64: ${OLD}
`;
const WITH_BLOCK = HEAD + OLD_BLOCK + TAIL;

describe("updateTemplateAmis", () => {
  it("appends a new amis block at the end, leaving every other byte as it was", () => {
    const update = updateTemplateAmis(NO_BLOCK, FILE, "rich", entry({ "us-west-2": { x86_64: A2, arm64: B2 }, "us-east-1": { x86_64: A1 } }));
    expect(update.after).toBe(`${NO_BLOCK}\n${AMIS_HEADER}\namis:\n  us-east-1:\n    x86_64: ${A1}\n  us-west-2:\n    arm64: ${B2}\n    x86_64: ${A2}\n`);
    expect(update.changes).toEqual([
      { template: "rich", file: FILE, region: "us-east-1", architecture: "x86_64", ami_id: A1, previous: null },
      { template: "rich", file: FILE, region: "us-west-2", architecture: "arm64", ami_id: B2, previous: null },
      { template: "rich", file: FILE, region: "us-west-2", architecture: "x86_64", ami_id: A2, previous: null },
    ]);
    expect(parseTemplate(Buffer.from(update.after), FILE).template?.amis).toEqual({ "us-east-1": { x86_64: A1 }, "us-west-2": { arm64: B2, x86_64: A2 } });
  });

  it("replaces an existing block in place: its lines only, comments and block scalars after it untouched", () => {
    const update = updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "us-east-1": { x86_64: A1, arm64: B1 } }));
    expect(update.after).toBe(`${HEAD}amis:\n  us-east-1:\n    arm64: ${B1}\n    x86_64: ${A1}\n${TAIL}`);
    expect(update.changes).toEqual([
      { template: "rich", file: FILE, region: "us-east-1", architecture: "arm64", ami_id: B1, previous: null },
      { template: "rich", file: FILE, region: "us-east-1", architecture: "x86_64", ami_id: A1, previous: OLD },
    ]);
    // The block scalars mean what they meant.
    const after = parseTemplate(Buffer.from(update.after), FILE).template!;
    expect(after.setup_script).toBe('#!/bin/bash\nset -euo pipefail\n\n\necho "two blank lines above"   # a shell comment, not YAML\'s\n');
    expect(after.validation_tests[0]?.command).toBe("echo one && echo two");
  });

  it("keeps the first line, comments and formatting of every shipped template byte for byte", () => {
    const dir = join(ROOT, "templates");
    const names = readdirSync(dir).filter((n) => n.endsWith(".yml"));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const source = readFileSync(join(dir, name), "utf8");
      const parsed = parseTemplate(Buffer.from(source), name);
      const template = parsed.template!;
      const amis = Object.fromEntries(template.regions.map((r, i) => [r, Object.fromEntries(template.base_ami.architecture.map((a) => [a, `ami-0${String(i).padStart(16, "0")}`]))]));
      const update = updateTemplateAmis(source, name, "rich", entry(amis));
      expect(update.after.startsWith(source), name).toBe(true);
      expect(update.after.split("\n")[0], name).toBe("# yaml-language-server: $schema=../schemas/template.schema.json");
      expect(update.changes.length, name).toBe(template.regions.length * template.base_ami.architecture.length);
      expect(templateContentHash(parseTemplate(Buffer.from(update.after), name).template!), name).toBe(templateContentHash(template));
    }
  });

  it("is idempotent: a second run finds nothing to change and returns the same text", () => {
    const registry = entry({ "us-east-1": { x86_64: A1 }, "us-west-2": { arm64: B2 } });
    for (const start of [NO_BLOCK, WITH_BLOCK]) {
      const first = updateTemplateAmis(start, FILE, "rich", registry);
      expect(first.after).not.toBe(start);
      const second = updateTemplateAmis(first.after, FILE, "rich", registry);
      expect(second.changes).toEqual([]);
      expect(second.after).toBe(first.after);
      expect(second.unchanged.map((u) => `${u.region}.${u.architecture}=${u.ami_id}`)).toEqual([`us-east-1.x86_64=${A1}`, `us-west-2.arm64=${B2}`]);
    }
  });

  it("does not change the template's content hash", () => {
    const before = parseTemplate(Buffer.from(WITH_BLOCK), FILE).template!;
    const update = updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "us-east-1": { x86_64: A1 }, "us-west-2": { x86_64: A2, arm64: B2 } }));
    const after = parseTemplate(Buffer.from(update.after), FILE).template!;
    expect(after.amis).not.toEqual(before.amis);
    expect(templateContentHash(after)).toBe(templateContentHash(before));
  });

  it("detects stale, missing and extra AMIs (what --check reports) without producing new text for a clean template", () => {
    const stale = updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "us-east-1": { x86_64: A1 }, "us-west-2": { arm64: B2 } }));
    expect(stale.changes.map((c) => [c.region, c.architecture, c.previous, c.ami_id])).toEqual([
      ["us-east-1", "x86_64", OLD, A1],
      ["us-west-2", "arm64", null, B2],
    ]);
    // The template has an AMI the registry does not: it is removed.
    const extra = updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "us-west-2": { arm64: B2 } }));
    expect(extra.changes.map((c) => [c.region, c.architecture, c.previous, c.ami_id])).toEqual([
      ["us-east-1", "x86_64", OLD, null],
      ["us-west-2", "arm64", null, B2],
    ]);
    expect(extra.after).toBe(`${HEAD}amis:\n  us-west-2:\n    arm64: ${B2}\n${TAIL}`);
    const clean = updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "us-east-1": { x86_64: OLD } }));
    expect(clean.changes).toEqual([]);
    expect(clean.after).toBe(WITH_BLOCK);
  });

  it("writes only the regions and architectures the template builds, and reports the rest as skipped", () => {
    const source = NO_BLOCK.replace('architecture: ["x86_64", "arm64"]', 'architecture: ["x86_64"]');
    const update = updateTemplateAmis(source, FILE, "rich", entry({ "us-east-1": { x86_64: A1, arm64: B1 }, "eu-west-1": { x86_64: A2 } }));
    expect(parseTemplate(Buffer.from(update.after), FILE).template?.amis).toEqual({ "us-east-1": { x86_64: A1 } });
    expect(update.skipped).toEqual([
      { template: "rich", region: "eu-west-1", architecture: "x86_64", ami_id: A2, reason: "region" },
      { template: "rich", region: "us-east-1", architecture: "arm64", ami_id: B1, reason: "architecture" },
    ]);
  });

  it("leaves a template the registry has no entry for exactly as it is, block or not", () => {
    for (const source of [NO_BLOCK, WITH_BLOCK]) {
      const update = updateTemplateAmis(source, FILE, "rich", undefined);
      expect(update.registered).toBe(false);
      expect(update.changes).toEqual([]);
      expect(update.after).toBe(source);
    }
    expect(updateTemplateAmis(WITH_BLOCK, FILE, "rich", undefined).hadBlock).toBe(true);
  });

  it("removes the block when the registry has the template but no AMI it builds; appending then removing restores the file", () => {
    const appended = updateTemplateAmis(NO_BLOCK, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } })).after;
    const removed = updateTemplateAmis(appended, FILE, "rich", entry({}));
    expect(removed.changes).toEqual([{ template: "rich", file: FILE, region: "us-east-1", architecture: "x86_64", ami_id: null, previous: A1 }]);
    expect(removed.after).toBe(NO_BLOCK);
    // A block in the middle goes with its lines only.
    expect(updateTemplateAmis(WITH_BLOCK, FILE, "rich", entry({ "eu-west-1": { x86_64: A2 } })).after).toBe(HEAD + TAIL);
    // Nothing to remove, nothing to write.
    const none = updateTemplateAmis(NO_BLOCK, FILE, "rich", entry({}));
    expect(none.changes).toEqual([]);
    expect(none.after).toBe(NO_BLOCK);
  });

  it("leaves a hand-formatted block that already matches alone, and replaces a stale flow block keeping its trailing comment", () => {
    const flow = `${HEAD}amis: {us-east-1: {x86_64: ${OLD}}}  # pinned by hand\n${TAIL}`;
    expect(updateTemplateAmis(flow, FILE, "rich", entry({ "us-east-1": { x86_64: OLD } })).after).toBe(flow);
    expect(updateTemplateAmis(flow, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } })).after).toBe(`${HEAD}amis:  # pinned by hand\n  us-east-1:\n    x86_64: ${A1}\n${TAIL}`);
  });

  it("keeps CRLF line endings and a file without a final newline", () => {
    const crlf = WITH_BLOCK.replace(/\n/g, "\r\n");
    const update = updateTemplateAmis(crlf, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } }));
    expect(update.after).toBe(`${HEAD}amis:\n  us-east-1:\n    x86_64: ${A1}\n${TAIL}`.replace(/\n/g, "\r\n"));
    const unterminated = NO_BLOCK.slice(0, -1);
    expect(updateTemplateAmis(unterminated, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } })).after).toBe(
      `${unterminated}\n\n${AMIS_HEADER}\namis:\n  us-east-1:\n    x86_64: ${A1}\n`,
    );
  });

  it("throws a CwsError (exit 2) with file:line:col for an invalid template", () => {
    const source = NO_BLOCK.replace("ports: [22]", "ports: [22]\nportz: [80]");
    const error = (() => {
      try {
        updateTemplateAmis(source, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CwsError);
    expect((error as CwsError).exitCode).toBe(2);
    expect((error as CwsError).message).toBe(`${FILE}:30:1 error portz: unknown field "portz" (did you mean "ports"?)`);
    expect(() => updateTemplateAmis(`${NO_BLOCK}amis: [1]\n`, FILE, "rich", undefined)).toThrow(/templates\/rich\.yml:30:7 error amis: /);
  });

  it("refuses (exit 1) an edit that would not re-read as the same template, instead of producing it", () => {
    // After a document-end marker, appended text would start a second document.
    const ended = `${NO_BLOCK}...\n`;
    expect(parseTemplate(Buffer.from(ended), FILE).template).toBeDefined();
    let caught: unknown;
    try {
      updateTemplateAmis(ended, FILE, "rich", entry({ "us-east-1": { x86_64: A1 } }));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CwsError);
    expect((caught as CwsError).code).toBe("TEMPLATE_EDIT_FAILED");
    expect((caught as CwsError).exitCode).toBe(1);
    expect((caught as CwsError).suggestion).toContain(`    x86_64: ${A1}`);
  });
});

describe("the pieces", () => {
  it("renders regions and architectures sorted, with 2-space indentation", () => {
    expect(renderAmisBlock({ "us-west-2": { x86_64: A2, arm64: B2 }, "ap-south-1": { x86_64: A1 } })).toBe(
      `amis:\n  ap-south-1:\n    x86_64: ${A1}\n  us-west-2:\n    arm64: ${B2}\n    x86_64: ${A2}\n`,
    );
  });

  it("desiredAmis is undefined without a registry entry and empty for an entry with no AMIs", () => {
    const template = parseTemplate(Buffer.from(NO_BLOCK), FILE).template!;
    expect(desiredAmis("rich", template, undefined).amis).toBeUndefined();
    expect(desiredAmis("rich", template, entry({})).amis).toEqual({});
  });

  it("diffAmis lists every difference in a stable order", () => {
    const { changes, unchanged } = diffAmis("t", "t.yml", { "us-west-2": { x86_64: A2 }, "us-east-1": { arm64: B1, x86_64: A1 } }, { "us-east-1": { x86_64: A2, arm64: B1 }, "eu-west-1": { arm64: B2 } });
    expect(changes.map((c) => `${c.region}.${c.architecture}:${c.previous}->${c.ami_id}`)).toEqual([
      `eu-west-1.arm64:null->${B2}`,
      `us-east-1.x86_64:${A1}->${A2}`,
      `us-west-2.x86_64:${A2}->null`,
    ]);
    expect(unchanged).toEqual([{ template: "t", region: "us-east-1", architecture: "arm64", ami_id: B1 }]);
  });

  it("splices with the Document parseTemplate returns, and refuses a top level in flow style", () => {
    const parsed = parseTemplate(Buffer.from(WITH_BLOCK), FILE);
    expect(spliceAmisBlock(parsed.source, parsed.document!, { "us-east-1": { x86_64: A1 } })).toBe(`${HEAD}amis:\n  us-east-1:\n    x86_64: ${A1}\n${TAIL}`);
    const flow = "{name: n, amis: {}}\n";
    expect(() => spliceAmisBlock(flow, parseDocument(flow), { "us-east-1": { x86_64: A1 } })).toThrow(/not a block mapping/);
  });
});

describe("comments and styles of the amis: block", () => {
  const want = { "us-east-1": { x86_64: A1, arm64: B1 }, "us-west-2": { x86_64: A2 } };
  const wantEntry = entry(want);
  /** Every comment in a text: `#` at a line's start or after a blank, outside the block scalars (which HEAD and TAIL keep anyway). */
  const comments = (text: string) => text.split(/\r?\n/).flatMap((line) => line.match(/(?:^|\s)(#.*)$/)?.[1]?.trimEnd() ?? []);

  // A style is placed between HEAD and TAIL, or at the very end (after TAIL).
  const styles: { name: string; block: string; tail?: string; atEnd?: boolean }[] = [
    {
      name: "block style, with comments above, on, inside and after it",
      block: `# above the block\namis:  # on the key\n  # above us-east-1\n  us-east-1:  # on the region\n    # above x86_64\n    x86_64: ${OLD}  # on the AMI\n    # after the last entry, indented\n# after the block\n`,
    },
    { name: "flow style on one line, with a trailing comment", block: `amis: {us-east-1: {x86_64: ${OLD}}}  # pinned by hand\n` },
    {
      name: "flow style over several lines, with comments inside",
      block: `amis: {  # opened\n  # the east\n  us-east-1: {x86_64: ${OLD}},  # east\n  us-west-2: {\n    arm64: ${OLD}  # west arm\n  }\n}  # closed\n`,
    },
    { name: "an empty flow map", block: "amis: {}  # none yet\n" },
    { name: "quoted keys and values", block: `amis:\n  "us-east-1":\n    'x86_64': "${OLD}"  # quoted\n` },
    { name: "followed directly by another key", block: `amis:\n  us-east-1:\n    x86_64: ${OLD}  # tight\n`, tail: TAIL.replace("# The provisioning script.\n", "") },
    { name: "at the end of the file, without a final newline", block: `amis:\n  us-east-1:\n    x86_64: ${OLD}  # last line`, atEnd: true },
    { name: "an entry the registry no longer has (its comment stays, after the entries)", block: `amis:\n  eu-west-1:  # gone\n    x86_64: ${OLD}  # gone too\n  us-east-1:\n    x86_64: ${OLD}\n` },
  ];

  for (const { name, block, tail = TAIL, atEnd = false } of styles) {
    for (const eol of ["\n", "\r\n"]) {
      it(`${name}${eol === "\r\n" ? ", CRLF" : ""}: the right AMIs, every comment kept, nothing else touched, then nothing to do`, () => {
        const source = (atEnd ? `${HEAD}${tail}${block}` : `${HEAD}${block}${tail}`).replace(/\n/g, eol);
        const update = updateTemplateAmis(source, FILE, "rich", wantEntry);
        const parsed = parseTemplate(Buffer.from(update.after), FILE);
        expect(parsed.problems.filter((p) => p.severity === "error")).toEqual([]);
        expect(parsed.template!.amis).toEqual(want);
        expect(comments(update.after).sort()).toEqual(comments(source).sort());
        expect(update.after.startsWith((atEnd ? HEAD + tail : HEAD).replace(/\n/g, eol))).toBe(true);
        if (!atEnd) expect(update.after.endsWith(tail.replace(/\n/g, eol))).toBe(true);
        expect(update.after.includes("\r\n")).toBe(eol === "\r\n");
        if (eol === "\r\n") expect(update.after.replace(/\r\n/g, "")).not.toContain("\n");
        expect(templateContentHash(parsed.template!)).toBe(templateContentHash(parseTemplate(Buffer.from(source), FILE).template!));
        const again = updateTemplateAmis(update.after, FILE, "rich", wantEntry);
        expect(again.changes).toEqual([]);
        expect(again.after).toBe(update.after);
      });
    }
  }

  it("puts each comment with its entry, wherever the sorted block puts the entry", () => {
    const [block] = styles;
    const update = updateTemplateAmis(`${HEAD}${block!.block}${TAIL}`, FILE, "rich", wantEntry);
    // Comments after the last value are outside the block's lines: they stay as they were, after the new block.
    expect(update.after).toBe(
      `${HEAD}# above the block\namis:  # on the key\n  # above us-east-1\n  us-east-1:  # on the region\n    arm64: ${B1}\n    # above x86_64\n    x86_64: ${A1}  # on the AMI\n  us-west-2:\n    x86_64: ${A2}\n    # after the last entry, indented\n# after the block\n${TAIL}`,
    );
    const flow = updateTemplateAmis(`${HEAD}${styles[2]!.block}${TAIL}`, FILE, "rich", wantEntry);
    expect(flow.after).toBe(
      `${HEAD}amis:  # opened\n  # the east\n  us-east-1:  # east\n    arm64: ${B1}\n    x86_64: ${A1}\n  us-west-2:\n    x86_64: ${A2}\n  # west arm\n  # closed\n${TAIL}`,
    );
  });

  it("keeps the block's comments when the registry takes every AMI away", () => {
    const source = `${HEAD}amis:  # on the key\n  us-east-1:  # east\n    x86_64: ${OLD}  # old\n${TAIL}`;
    const update = updateTemplateAmis(source, FILE, "rich", entry({}));
    expect(update.after).toBe(`${HEAD}# on the key\n# east\n# old\n${TAIL}`);
    expect(parseTemplate(Buffer.from(update.after), FILE).template!.amis).toBeUndefined();
  });

  it("refuses `amis:` with no value, as lint does, and writes nothing", () => {
    expect(() => updateTemplateAmis(`${HEAD}amis:  # nothing yet\n${TAIL}`, FILE, "rich", wantEntry)).toThrow(/templates\/rich\.yml:\d+:\d+ error amis: expected a mapping, got nothing \(null\)/);
  });
});

describe("only validated AMIs are written", () => {
  /** A registry entry whose us-east-1 x86_64 AMI is `current`, with `history`, each validated or not. */
  function withHistory(current: { id: string; validated: boolean }, past: { id: string; validated: boolean; created: string }[]): RegistryTemplate {
    const record = (id: string, validated: boolean, created: string) => ({ ami_id: id, created, validated, size_gb: 8 });
    const history = past.map((h) => record(h.id, h.validated, h.created));
    return entry({ "us-east-1": { x86_64: { ...record(current.id, current.validated, "2024-05-03T00:00:00Z"), ...(history.length ? { history } : {}) } } });
  }

  it("writes the current AMI when it passed validation", () => {
    const update = updateTemplateAmis(NO_BLOCK, FILE, "rich", withHistory({ id: A1, validated: true }, [{ id: A2, validated: true, created: "2024-05-02T00:00:00Z" }]));
    expect(parseTemplate(Buffer.from(update.after), FILE).template!.amis).toEqual({ "us-east-1": { x86_64: A1 } });
    expect(update.skipped).toEqual([]);
  });

  it("writes the newest validated AMI of the history when the current one did not pass, as resolveAmi returns, and says so", () => {
    const registryEntry = withHistory({ id: A1, validated: false }, [
      { id: A2, validated: false, created: "2024-05-02T12:00:00Z" },
      { id: B1, validated: true, created: "2024-05-02T00:00:00Z" },
      { id: B2, validated: true, created: "2024-05-01T00:00:00Z" },
    ]);
    const update = updateTemplateAmis(NO_BLOCK, FILE, "rich", registryEntry);
    expect(parseTemplate(Buffer.from(update.after), FILE).template!.amis).toEqual({ "us-east-1": { x86_64: B1 } });
    expect(update.skipped).toEqual([{ template: "rich", region: "us-east-1", architecture: "x86_64", ami_id: A1, reason: "unvalidated", instead: B1 }]);
  });

  it("writes nothing for an entry with no validated AMI at all, and removes what the template had", () => {
    const registryEntry = withHistory({ id: A1, validated: false }, [{ id: A2, validated: false, created: "2024-05-02T00:00:00Z" }]);
    expect(updateTemplateAmis(NO_BLOCK, FILE, "rich", registryEntry).after).toBe(NO_BLOCK);
    const update = updateTemplateAmis(WITH_BLOCK, FILE, "rich", registryEntry);
    expect(update.changes).toEqual([{ template: "rich", file: FILE, region: "us-east-1", architecture: "x86_64", ami_id: null, previous: OLD }]);
    expect(update.skipped).toEqual([{ template: "rich", region: "us-east-1", architecture: "x86_64", ami_id: A1, reason: "unvalidated" }]);
    expect(parseTemplate(Buffer.from(update.after), FILE).template!.amis).toBeUndefined();
  });
});
