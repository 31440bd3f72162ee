import { CWS_IMAGE_TAG_KEYS, EC2_MAX_TAGS_PER_RESOURCE, MAX_TEMPLATE_TAGS } from "../builder/context.js";
import { ownValue } from "../own-keys.js";
import { ARCHITECTURES } from "./schema.js";
import type { Problem } from "./problems.js";

export type Path = readonly PropertyKey[];

export interface ReportOptions {
  /** Place the problem at this path rather than at its own (a missing field at the mapping that lacks it). */
  place?: Path;
  /** At the key rather than at its value (an unknown field, a field that should not be there). */
  onKey?: boolean;
  suggestion?: string;
}
/** An error about `path`, placed in the file (yaml-document.ts's `reporter`). */
export type Report = (path: Path, message: string, options?: ReportOptions) => Problem;

export function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = ownValue(value as Record<string, unknown>, String(segment));
  }
  return value;
}

/** What a rule across fields sees: the template as written (any field may be missing or of the wrong type). */
export interface RuleContext {
  data: Record<string, unknown>;
  report: (path: Path, message: string, options?: ReportOptions) => void;
}

/** A JSON Schema (draft 2020-12) object, or a fragment of one. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * Keywords that say a rule in JSON Schema, added to the generated schema
 * (json-schema.ts) at a template path; `"*"` stands for every item of a list.
 */
export interface JsonSchemaFragment {
  at: Path;
  schema: JsonSchema;
}

/**
 * A check that needs more than one field, or a whole list; each reports every
 * problem it finds. Each says itself in JSON Schema too, so that editors flag
 * what the CLI rejects (`jsonSchema`), or says why JSON Schema cannot
 * (`notInJsonSchema`, listed in the README).
 */
export type Rule = {
  name: string;
  check: (context: RuleContext) => void;
} & ({ jsonSchema: () => JsonSchemaFragment[]; notInJsonSchema?: never } | { notInJsonSchema: string; jsonSchema?: never });

/** The fields with an entry per architecture; an entry is allowed only for an architecture the template builds. */
export const PER_ARCHITECTURE_FIELDS = ["estimated_cost_per_hour", "instance_type"] as const;

/** The lists whose items must differ, and what an item is called. */
const UNIQUE_LISTS: readonly [Path, string][] = [
  [["base_ami", "architecture"], "architecture"],
  [["regions"], "region"],
  [["ports"], "port"],
];

/** Why a name's uniqueness within a list is checked by cws alone. */
const UNIQUE_BY_FIELD = "JSON Schema's uniqueItems compares whole items; it cannot compare one field of each";

/**
 * `\A`, `\Z` and `\z` (their backslash not itself escaped): anchors in PCRE,
 * Python or Ruby, but in a JavaScript regular expression the letter itself, so
 * a test written with them fails only on the build instance.
 */
export const FOREIGN_ANCHOR_PATTERN = /(?:^|[^\\])(?:\\\\)*\\([AZz])/;

/**
 * The rules across fields, run on the raw data so they are reported even
 * when other fields are wrong (zod does not run an object's refinements once
 * a field inside it has failed, and an author must see every problem at once).
 */
export const crossFieldRules: readonly Rule[] = [
  {
    name: "setup-script-or-build-steps",
    check: ({ data, report }) => {
      const hasSetup = data.setup_script !== undefined;
      const hasSteps = data.build_steps !== undefined;
      if (hasSetup && hasSteps) {
        report(["build_steps"], "use setup_script or build_steps, not both", { onKey: true, suggestion: "move setup_script into a build step, or drop build_steps" });
      } else if (!hasSetup && !hasSteps) {
        report([], "a template needs setup_script or build_steps", { suggestion: "add a setup_script: | block with the commands that provision the image" });
      }
    },
    jsonSchema: () => [{ at: [], schema: { oneOf: [{ required: ["setup_script"] }, { required: ["build_steps"] }] } }],
  },
  {
    name: "base-image-source-or-template",
    check: ({ data, report }) => {
      const base = data.base_ami;
      // A missing or malformed base_ami has an error of its own.
      if (base === null || typeof base !== "object" || Array.isArray(base)) return;
      const fields = base as Record<string, unknown>;
      const hasSource = fields.source !== undefined;
      const hasTemplate = fields.template !== undefined;
      if (hasSource && hasTemplate) {
        report(["base_ami", "template"], "use base_ami.source or base_ami.template, not both", {
          onKey: true,
          suggestion: "template builds on another template's image, source on a distribution's: keep one",
        });
      } else if (!hasSource && !hasTemplate) {
        report(["base_ami"], "needs source (a distribution's image) or template (another template's image)", {
          suggestion: "add source: ubuntu-24.04-lts, or template: <id of the template to build on>",
        });
      }
    },
    jsonSchema: () => [{ at: ["base_ami"], schema: { oneOf: [{ required: ["source"] }, { required: ["template"] }] } }],
  },
  {
    name: "setup-timeout-needs-setup-script",
    check: ({ data, report }) => {
      if (data.setup_script === undefined && data.setup_timeout_seconds !== undefined && data.build_steps !== undefined) {
        report(["setup_timeout_seconds"], "setup_timeout_seconds applies to setup_script; with build_steps give each step its own timeout_seconds", { onKey: true });
      }
    },
    // Without build_steps either, the rule above already rejects the template; so "needs setup_script" says the same.
    jsonSchema: () => [{ at: [], schema: { dependentRequired: { setup_timeout_seconds: ["setup_script"] } } }],
  },
  {
    name: "entries-only-for-built-architectures",
    check: ({ data, report }) => {
      const listed = valueAt(data, ["base_ami", "architecture"]);
      // Only when the architecture list itself is valid; otherwise its own error says enough.
      if (!Array.isArray(listed) || !listed.every((a) => (ARCHITECTURES as readonly unknown[]).includes(a))) return;
      const archs = listed as string[];
      for (const field of PER_ARCHITECTURE_FIELDS) {
        const map = data[field];
        if (map === null || typeof map !== "object" || Array.isArray(map)) continue;
        for (const key of Object.keys(map)) {
          if ((ARCHITECTURES as readonly string[]).includes(key) && !archs.includes(key)) {
            report([field, key], `${field} has an entry for ${key}, but base_ami.architecture builds only ${archs.join(", ") || "nothing"}`, {
              onKey: true,
              suggestion: `add ${key} to base_ami.architecture or remove this entry`,
            });
          }
        }
      }
    },
    // Per architecture: if the (valid) list lacks it, no field may have an entry for it.
    jsonSchema: () => [
      {
        at: [],
        schema: {
          allOf: ARCHITECTURES.map((arch) => ({
            if: {
              required: ["base_ami"],
              properties: {
                base_ami: {
                  type: "object",
                  required: ["architecture"],
                  properties: { architecture: { type: "array", items: { enum: [...ARCHITECTURES] }, not: { contains: { const: arch } } } },
                },
              },
            },
            then: { properties: Object.fromEntries(PER_ARCHITECTURE_FIELDS.map((field) => [field, { type: "object", properties: { [arch]: false } }])) },
          })),
        },
      },
    ],
  },
  {
    name: "no-duplicate-list-items",
    check: ({ data, report }) => {
      for (const [listPath, label] of UNIQUE_LISTS) {
        const list = valueAt(data, listPath);
        if (!Array.isArray(list)) continue;
        for (const [index, first] of repeats(list, (item) => JSON.stringify(item))) {
          report([...listPath, index], duplicateMessage(label, list[index], first));
        }
      }
    },
    jsonSchema: () => UNIQUE_LISTS.map(([at]) => ({ at, schema: { uniqueItems: true } })),
  },
  {
    name: "valid-expected-regex",
    check: ({ data, report }) => {
      const tests = data.validation_tests;
      if (!Array.isArray(tests)) return;
      tests.forEach((test: unknown, index) => {
        const pattern = test !== null && typeof test === "object" ? (test as Record<string, unknown>).expected_regex : undefined;
        if (typeof pattern !== "string") return;
        const path = ["validation_tests", index, "expected_regex"];
        try {
          new RegExp(pattern);
        } catch (error) {
          report(path, `not a valid regular expression: ${(error as Error).message}`);
          return;
        }
        const anchor = FOREIGN_ANCHOR_PATTERN.exec(pattern)?.[1];
        if (anchor !== undefined) {
          report(path, `\\${anchor} is not an anchor in a JavaScript regular expression: it matches the letter ${anchor}`, {
            suggestion: anchor === "A" ? "use ^ for the start of the output" : "use $ for the end of the output",
          });
        }
      });
    },
    // `format: "regex"` is ECMA-262 syntax, which is what `new RegExp` compiles; validators that assert formats check it.
    jsonSchema: () => [
      { at: ["validation_tests", "*", "expected_regex"], schema: { format: "regex", not: { type: "string", pattern: FOREIGN_ANCHOR_PATTERN.source } } },
    ],
  },
  {
    // EC2 refuses an image with more than 50 tags only at CreateImage, after the whole build; cws's own take their share.
    name: "tags-fit-on-an-image",
    check: ({ data, report }) => {
      const tags = data.tags;
      if (tags === null || typeof tags !== "object" || Array.isArray(tags)) return;
      const count = Object.keys(tags).length;
      if (count <= MAX_TEMPLATE_TAGS) return;
      report(["tags"], `${count} tags; a template may set at most ${MAX_TEMPLATE_TAGS}: EC2 allows ${EC2_MAX_TAGS_PER_RESOURCE} per image and cws sets ${CWS_IMAGE_TAG_KEYS.length} of its own`, {
        onKey: true,
        suggestion: `remove ${count - MAX_TEMPLATE_TAGS} of them, or combine related values into one tag`,
      });
    },
    jsonSchema: () => [{ at: ["tags"], schema: { maxProperties: MAX_TEMPLATE_TAGS } }],
  },
  // Validation tests and build steps are reported by name, so a name may appear once.
  { name: "unique-test-names", check: (context) => uniqueNames(context, "validation_tests", "test"), notInJsonSchema: UNIQUE_BY_FIELD },
  { name: "unique-step-names", check: (context) => uniqueNames(context, "build_steps", "step"), notInJsonSchema: UNIQUE_BY_FIELD },
];

export function crossFieldProblems(data: Record<string, unknown>, report: Report): Problem[] {
  const problems: Problem[] = [];
  const context: RuleContext = { data, report: (path, message, options) => void problems.push(report(path, message, options)) };
  for (const rule of crossFieldRules) rule.check(context);
  return problems;
}

/** [index, index of its first occurrence] for every item whose key was seen before; items without a key are skipped. */
function repeats(items: readonly unknown[], keyOf: (item: unknown) => string | undefined): [number, number][] {
  const seen = new Map<string, number>();
  const found: [number, number][] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else found.push([index, first]);
  });
  return found;
}

function uniqueNames({ data, report }: RuleContext, field: "validation_tests" | "build_steps", label: string): void {
  const items = data[field];
  if (!Array.isArray(items)) return;
  const nameOf = (item: unknown) => {
    const name = item !== null && typeof item === "object" ? (item as Record<string, unknown>).name : undefined;
    return typeof name === "string" ? name : undefined;
  };
  for (const [index, first] of repeats(items, nameOf)) {
    report([field, index, "name"], `duplicate ${label} name "${nameOf(items[index])}" (also ${field}[${first}])`);
  }
}

export function duplicateMessage(label: string, item: unknown, firstIndex: number): string {
  return `duplicate ${label} ${JSON.stringify(item)} (already listed at index ${firstIndex})`;
}
