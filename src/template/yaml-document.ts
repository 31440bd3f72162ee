import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import { compareProblems, describeValue, formatPath, type Problem } from "./problems.js";
import type { Path, Report } from "./rules.js";
import { decodeText } from "./text.js";

/**
 * Parsing, the first step of loading a template: the file's bytes to text,
 * the text to a YAML document whose every node has a position, the document
 * to data. Problems here are about the file and its YAML, not the template's
 * fields.
 */
export interface TemplateYaml {
  source: string;
  /** Absent when there is no document: an unreadable, empty or comment-only file. */
  document: Document | undefined;
  lineCounter: LineCounter;
  /**
   * The template's fields, still unchecked. Undefined when the file cannot
   * be a template (not text, empty, a YAML syntax error, not a mapping):
   * then `problems` says why and is all there is to say.
   */
  data: Record<string, unknown> | undefined;
  problems: Problem[];
}

const REQUIRED_FIELDS_HINT = "a template needs at least name, description, base_ami, regions and setup_script";

export function readTemplateYaml(input: string | Uint8Array, file: string, options: { size?: number } = {}): TemplateYaml {
  const lineCounter = new LineCounter();
  const result: TemplateYaml = { source: "", document: undefined, lineCounter, data: undefined, problems: [] };
  const problem = (line: number, column: number, message: string, suggestion?: string) => errorAt(file, line, column, "", message, suggestion);

  const decoded = decodeText(input, options.size);
  if ("problem" in decoded) {
    result.problems.push(problem(decoded.line, decoded.column, decoded.problem, decoded.suggestion));
    return result;
  }
  const source = decoded.text;
  result.source = source;
  if (source.trim() === "") {
    result.problems.push(problem(1, 1, "the file is empty", REQUIRED_FIELDS_HINT));
    return result;
  }

  const documents = parseAllDocuments(source, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  // toJS needs a document without fatal errors; with duplicate keys it keeps the last value.
  const docs = Array.isArray(documents) ? documents : [];
  const first = docs[0];
  if (!first) {
    result.problems.push(problem(1, 1, "the template is empty (only comments)", REQUIRED_FIELDS_HINT));
    return result;
  }
  result.document = first;
  const position = (offset: number) => lineCounter.linePos(offset);

  for (const error of docs.flatMap((doc) => doc.errors)) {
    const { line, col } = position(error.pos[0]);
    if (error.code === "DUPLICATE_KEY") {
      const key = (/^[^:\n]*/.exec(source.slice(error.pos[0]))?.[0] ?? "").trim();
      result.problems.push(problem(line, col, `duplicate key ${JSON.stringify(key)}: it is already set in this mapping, and only one value can win`, "remove one of the two"));
    } else {
      result.problems.push(problem(line, col, yamlMessage(error.code, error.message)));
    }
  }
  for (const extra of docs.slice(1)) {
    const { line, col } = position(extra.range[0]);
    result.problems.push(problem(line, col, "a template file holds one YAML document; this is a second one", "remove the `---` line, or split the file"));
  }
  // Duplicate keys leave a usable document (the last value wins), so carry on
  // and report the rest too; any other syntax error makes the data meaningless.
  const fatal = docs.some((doc) => doc.errors.some((error) => error.code !== "DUPLICATE_KEY")) || docs.length > 1;
  if (fatal) {
    result.problems.sort(compareProblems);
    return result;
  }
  for (const warning of first.warnings) {
    const { line, col } = position(warning.pos[0]);
    result.problems.push({ ...problem(line, col, yamlMessage(warning.code, warning.message)), severity: "warning" });
  }

  let data: unknown;
  try {
    data = first.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    result.problems.push(problem(1, 1, `cannot read the YAML: ${(error as Error).message}`));
    return result;
  }
  if (data === null || data === undefined) {
    result.problems.push(problem(1, 1, "the template is empty (only comments)", REQUIRED_FIELDS_HINT));
    return result;
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    const { line, col } = position(first.contents?.range[0] ?? 0);
    result.problems.push(problem(line, col, `a template must be a mapping of fields, got ${describeValue(data)}`));
    return result;
  }
  result.data = data as Record<string, unknown>;
  return result;
}

function yamlMessage(code: string, message: string): string {
  // The yaml library appends " at line N, column M" and a code frame; we print our own position.
  const text = message.replace(/ at line \d+, column \d+:?[\s\S]*$/, "").trim();
  if (code === "TAB_AS_INDENT") return `${text} (YAML indents with spaces, not tabs)`;
  return text;
}

/**
 * Where a path is in the file: the node's line and column, or its nearest
 * ancestor's when it does not exist (`exact: false`).
 */
export type Locate = (path: Path, onKey?: boolean) => { line: number; column: number; exact: boolean };

/** Where each path of the data is in the file, from the document's node positions. */
export function locator(document: Document, lineCounter: LineCounter): Locate {
  return (path, onKey = false) => {
    const { node, exact } = nodeAt(document, path, onKey);
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { line, column: col, exact };
  };
}

/** Problems about paths of the data, placed in the file by `locate`. */
export function reporter(file: string, locate: Locate): Report {
  return (path, message, options = {}) => {
    const { line, column } = locate(options.place ?? path, options.onKey);
    return errorAt(file, line, column, formatPath(path), message, options.suggestion);
  };
}

function errorAt(file: string, line: number, column: number, path: string, message: string, suggestion: string | undefined): Problem {
  return { file, line, column, severity: "error", path, message, ...(suggestion === undefined ? {} : { suggestion }) };
}

/** The node at `path` (its key's node with `onKey`), or the nearest ancestor's when the path does not exist. */
function nodeAt(doc: Document, path: Path, onKey: boolean): { node: Node | undefined; exact: boolean } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let lastGood: Node | undefined = doc.contents ?? undefined;
  let exact = true;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && scalarKey(item.key) === String(segment));
      if (!pair) {
        exact = false;
        break;
      }
      keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : undefined;
      node = pair.value;
      lastGood = (pair.value as Node | null) ?? keyNode ?? lastGood;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) {
        exact = false;
        break;
      }
      node = item;
      lastGood = item as Node;
    } else {
      exact = false;
      break;
    }
  }
  return { node: onKey && exact && keyNode ? keyNode : lastGood, exact };
}

function scalarKey(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === "string" || typeof key === "number") return String(key);
  return undefined;
}
