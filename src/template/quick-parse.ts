import { boolCoreTag, CORE_SCHEMA, defineScalarTag, floatCoreTag, intCoreTag, load, mergeTag, NOT_RESOLVED, nullCoreTag, type ScalarTagDefinition } from "js-yaml";
import type { ParsedTemplate } from "./load.js";
import { crossFieldProblems, type Report } from "./rules.js";
import { templateSchema } from "./schema.js";
import { decodeText } from "./text.js";

/**
 * The quick path for the common case, a valid template: js-yaml (YAML 1.2
 * core schema, like the full parser) and the zod schema, with no syntax tree
 * and no positions. Returns undefined whenever anything is wrong (or merely
 * unusual: several documents, duplicate keys), and the caller parses again
 * with `parseTemplate`, which reports each problem at its line and column.
 * Measured in docs/decisions.md: it roughly halves `cws ami lint`.
 */
export function quickParse(input: string | Uint8Array, file: string, options: { size?: number } = {}): ParsedTemplate | undefined {
  const decoded = decodeText(input, options.size);
  if (!("text" in decoded) || decoded.text.trim() === "") return undefined;
  const raw = quickLoad(decoded.text);
  if (raw === undefined) return undefined;
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  // Any problem at all sends the file to the full parse, which places it; here it only needs counting.
  const unplaced: Report = (_path, message) => ({ file, line: 0, column: 0, severity: "error", path: "", message });
  if (crossFieldProblems(raw, unplaced).length > 0) return undefined;
  return { file, template: parsed.data, data: raw, problems: [], document: undefined, lineCounter: undefined, source: decoded.text };
}

/**
 * The text as data when it is a plain YAML mapping that both parsers read
 * alike, else undefined (for the full parser to decide). The full parser
 * alone handles what they could disagree on, or what needs its checks
 * (yaml-document.ts): aliases (and so merges of them), explicit tags other
 * than `!!str`, directives (`%YAML 1.1` would change what `yes` means to
 * it), anchors whose name ends in `:`. test/template/yaml-agreement.test.ts
 * holds the two to the same data for everything this accepts.
 */
export function quickLoad(text: string): Record<string, unknown> | undefined {
  if (/^%/m.test(text) || AMBIGUOUS_ANCHOR.test(text)) return undefined;
  let raw: unknown;
  try {
    // No aliases at all (maxAliases 0): they, and the merge keys that use them, go to the full parser.
    raw = load(text, { schema: QUICK_SCHEMA, maxAliases: 0 });
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  // js-yaml turns a key written `1.10` or `null` into the text "1.1" or "null", and zod drops `__proto__`; the full parser refuses such keys.
  if (hasKeyToRefuse(raw)) return undefined;
  return raw as Record<string, unknown>;
}

/**
 * Whether any key, at any depth, is `__proto__`, or text that a plain YAML
 * scalar would read as a number, boolean or null. Such a key may have been
 * written plain (and so be no text at all); only the full parser knows how it
 * was written (yaml-document.ts's keyProblems).
 */
function hasKeyToRefuse(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasKeyToRefuse);
  if (value === null || typeof value !== "object") return false;
  return Object.entries(value).some(
    ([key, inner]) => key === "__proto__" || typeof QUICK_SCHEMA.resolveImplicitScalarTag(key).value !== "string" || hasKeyToRefuse(inner),
  );
}

/** `&name:`, which the full parser warns about (is the colon part of the name?). */
const AMBIGUOUS_ANCHOR = /(?:^|[\s[{,])&[^\s[\]{},]*:(?=[\s[\]{},]|$)/m;

/** YAML 1.2's float form; a value too large for a double is still a float (±Infinity), not a string. */
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** A core scalar tag that resolves only implicitly: an explicit `!!int` or `!!float` goes to the full parser. */
function implicitOnly<T>(tag: ScalarTagDefinition<T>, resolve: ScalarTagDefinition<T>["resolve"] = tag.resolve): ScalarTagDefinition<T> {
  return defineScalarTag<T>(tag.tagName, {
    implicit: tag.implicit,
    implicitFirstChars: tag.implicitFirstChars,
    identify: tag.identify,
    represent: tag.represent,
    resolve: (source, isExplicit, tagName) => (isExplicit ? NOT_RESOLVED : resolve(source, isExplicit, tagName)),
  });
}

const QUICK_SCHEMA = CORE_SCHEMA.withTags(
  // A merge of a mapping written in place (`<<: {…}`); merges of aliases never get here.
  mergeTag,
  implicitOnly(nullCoreTag),
  implicitOnly(boolCoreTag),
  implicitOnly(intCoreTag),
  implicitOnly(floatCoreTag, (source, isExplicit, tagName) => {
    const value = floatCoreTag.resolve(source, isExplicit, tagName);
    // js-yaml reads `1e400` as the string "1e400"; YAML 1.2 (and the full parser) as a float, Infinity.
    return value === NOT_RESOLVED && CORE_FLOAT.test(source) ? Number(source) : value;
  }),
);
