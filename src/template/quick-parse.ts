import { CORE_SCHEMA, load } from "js-yaml";
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
  let raw: unknown;
  try {
    raw = load(decoded.text, { schema: CORE_SCHEMA });
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  // Any problem at all sends the file to the full parse, which places it; here it only needs counting.
  const unplaced: Report = (_path, message) => ({ file, line: 0, column: 0, severity: "error", path: "", message });
  if (crossFieldProblems(raw as Record<string, unknown>, unplaced).length > 0) return undefined;
  return { file, template: parsed.data, problems: [], document: undefined, lineCounter: undefined, source: decoded.text };
}
