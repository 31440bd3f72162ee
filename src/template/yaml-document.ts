import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar, visit, type Alias, type Document, type Node, type ParsedNode } from "yaml";
import { compareProblems, describeValue, formatPath, type Problem } from "./problems.js";
import type { Path, Report } from "./rules.js";
import { decodeText } from "./text.js";

/**
 * Parsing, the first step of loading a template: the file's bytes to text,
 * the text to a YAML document whose every node has a position, the document
 * to data. Problems here are about the file and its YAML, not the template's
 * fields.
 *
 * Templates are YAML 1.2 (core schema: `yes`, `on` and `2024-01-01` are
 * strings, `010` is ten) with merge keys (`<<: *defaults`). Anchors and
 * aliases work as YAML defines them; tags other than YAML's own core ones
 * (`!Ref`, `!!binary`, `!!timestamp`, …) and a `%YAML 1.1` directive are
 * refused, since they would give a template a meaning this tool does not
 * give it (docs/decisions.md §30).
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
  /**
   * The fields as far as they can be read, for the lint rules, which look at
   * one field at a time: `data`, or, when YAML a template does not use stops
   * it (a `!Ref` tag, an unknown alias, `%YAML 1.1`, a second document, a list
   * as a key), the first document read anyway. Undefined only when there are
   * no fields to read; `unread` then says why.
   */
  fields: Record<string, unknown> | undefined;
  /** Why there are no fields, in a few words (`a YAML syntax error`, `larger than 1 MiB, not read`). */
  unread?: string;
  problems: Problem[];
}

const REQUIRED_FIELDS_HINT = "a template needs at least name, description, base_ami, regions and setup_script";

/**
 * How many times aliases may be expanded when the document becomes data (the
 * `yaml` library's measure: uses × the aliases inside what is used). A
 * template's merge keys stay far below it; an alias bomb ("billion laughs")
 * reaches it in a few levels instead of exhausting memory.
 */
export const MAX_ALIAS_EXPANSION = 1000;

/** The tags of YAML's core schema, plus merge keys: the only ones a template may name. */
const CORE_TAGS = new Set(["str", "int", "float", "bool", "null", "seq", "map", "merge"].map((name) => `tag:yaml.org,2002:${name}`));

export function readTemplateYaml(input: string | Uint8Array, file: string, options: { size?: number } = {}): TemplateYaml {
  const lineCounter = new LineCounter();
  const result: TemplateYaml = { source: "", document: undefined, lineCounter, data: undefined, fields: undefined, problems: [] };
  const problem = (line: number, column: number, message: string, suggestion?: string) => errorAt(file, line, column, "", message, suggestion);

  const decoded = decodeText(input, options.size);
  if ("problem" in decoded) {
    result.problems.push(problem(decoded.line, decoded.column, decoded.problem, decoded.suggestion));
    result.unread = decoded.unread;
    return result;
  }
  const source = decoded.text;
  result.source = source;
  if (source.trim() === "") {
    result.problems.push(problem(1, 1, "the file is empty", REQUIRED_FIELDS_HINT));
    result.unread = "empty";
    return result;
  }

  // logLevel "error": the library's own warnings become problems here, never lines on the process's stderr.
  const documents = parseAllDocuments(source, { lineCounter, uniqueKeys: sameKey, prettyErrors: false, strict: true, merge: true, logLevel: "error" });
  // toJS needs a document without fatal errors; with duplicate keys it keeps the last value.
  const docs = Array.isArray(documents) ? documents : [];
  const first = docs[0];
  if (!first) {
    result.problems.push(problem(1, 1, "the template is empty (only comments)", REQUIRED_FIELDS_HINT));
    result.unread = "empty";
    return result;
  }
  result.document = first;
  const position = (offset: number) => lineCounter.linePos(offset);
  const errorAtOffset = ({ offset, message, suggestion }: FeatureProblem) => {
    const { line, col } = position(offset);
    return problem(line, col, message, suggestion);
  };
  const at = (offset: number, message: string, suggestion?: string) => {
    const { line, col } = position(offset);
    result.problems.push(problem(line, col, message, suggestion));
  };

  let tooDeep = false;
  for (const error of docs.flatMap((doc) => doc.errors)) {
    if (error.code === "RESOURCE_EXHAUSTION") {
      // Once is enough: the parser reports its stack overflow at every level it unwinds through.
      if (tooDeep) continue;
      tooDeep = true;
    }
    if (error.code === "DUPLICATE_KEY") {
      at(error.pos[0], `duplicate key ${keyAsWritten(docs, source, error.pos[0])}: it is already set in this mapping, and only one value can win`, "remove one of the two");
    } else {
      at(error.pos[0], yamlMessage(error.code, error.message));
    }
  }
  for (const extra of docs.slice(1)) {
    at(extra.range[0], "a template file holds one YAML document; this is a second one", "remove the `---` line, or split the file");
  }
  // Duplicate keys leave a usable document (the last value wins), so carry on
  // and report the rest too; any other syntax error makes the data meaningless.
  const syntaxError = (doc: Document) => doc.errors.some((error) => error.code !== "DUPLICATE_KEY");
  if (syntaxError(first)) {
    result.problems.sort(compareProblems);
    result.unread = tooDeep ? "nested too deeply to read" : "a YAML syntax error";
    return result;
  }
  if (docs.length > 1) {
    // The first document is whole, whatever the others hold: its fields are what an author sees first.
    result.problems.push(...(deepWalk(() => keyProblems(first, source)) ?? []).map((key) => errorAtOffset(key)));
    salvageFields(result, first);
    result.problems.sort(compareProblems);
    return result;
  }
  // A key written as a number, boolean or null, or __proto__: reported, and read as written or left out, so the other checks go on.
  const keys = deepWalk(() => keyProblems(first, source));
  result.problems.push(...(keys ?? []).map((key) => errorAtOffset(key)));
  // What YAML can express but a template does not use: another YAML version,
  // foreign tags, aliases that lead nowhere or into themselves, merges of
  // something other than mappings. Each makes the data mean something other
  // than what its author meant, so none of it is turned into data.
  const features = (keys && deepWalk(() => yamlFeatureProblems(first, source))) ?? [{ offset: 0, message: TOO_DEEP }];
  for (const warning of first.warnings) {
    if (warning.code === "TAG_RESOLVE_FAILED" || warning.code === "BAD_COLLECTION_TYPE") {
      // A tag of YAML's own that does not fit its value (`!!float abc`); any other tag is reported above.
      const core = /tag:yaml\.org,2002:(\w+)/.exec(warning.message)?.[1];
      if (core !== undefined) features.push({ offset: warning.pos[0], message: `the value does not fit its tag !!${core}`, suggestion: "remove the tag, or write a value of that type" });
    } else {
      const { line, col } = position(warning.pos[0]);
      result.problems.push({ ...problem(line, col, yamlMessage(warning.code, warning.message)), severity: "warning" });
    }
  }
  if (features.length > 0) {
    for (const feature of features) at(feature.offset, feature.message, feature.suggestion);
    salvageFields(result, first);
    result.problems.sort(compareProblems);
    return result;
  }

  let data: unknown;
  try {
    data = first.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof RangeError && !/alias count/i.test(message)) {
      at(0, TOO_DEEP);
      result.unread = "nested too deeply to read";
    } else if (/alias count/i.test(message)) {
      at(firstAlias(first)?.range?.[0] ?? 0, `the aliases in this file expand to too much data (more than ${MAX_ALIAS_EXPANSION} copies of aliased values)`, "write the values out, or alias fewer levels deep");
      result.unread = "its aliases expand to too much data";
    } else {
      at(0, `cannot read the YAML: ${message}`);
      result.unread = "the YAML could not be read";
    }
    result.problems.sort(compareProblems);
    return result;
  }
  if (data === null || data === undefined) {
    result.problems.push(problem(1, 1, "the template is empty (only comments)", REQUIRED_FIELDS_HINT));
    result.unread = "empty";
    return result;
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    const { line, col } = position(first.contents?.range[0] ?? 0);
    result.problems.push(problem(line, col, `a template must be a mapping of fields, got ${describeValue(data)}`));
    result.unread = "not a YAML mapping";
    return result;
  }
  result.data = data as Record<string, unknown>;
  result.fields = result.data;
  return result;
}

/**
 * The fields of a document that is refused as data (its problems are
 * reported), read anyway for the lint rules: an alias that leads nowhere or
 * into its own value reads as null, a tag as its text, a key that is a list
 * as its text. Scripts are text however the rest is written, so their
 * warnings come with the errors (docs/decisions.md §30).
 */
function salvageFields(result: TemplateYaml, doc: Document): void {
  let fields: unknown;
  try {
    const copy = doc.clone();
    visit(copy, {
      Alias: (_key, alias, path) => {
        const target = alias.resolve(copy);
        return target === undefined || path.includes(target) ? new Scalar(null) : undefined;
      },
    });
    fields = copy.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch {
    // Too deep for the stack, or aliases expanding past the limit: the problems already say why.
    fields = undefined;
  }
  if (fields !== null && typeof fields === "object" && !Array.isArray(fields)) result.fields = fields as Record<string, unknown>;
  else result.unread = fields === undefined ? "the YAML could not be read" : "not a YAML mapping";
}

/**
 * Keys are the same when their values read the same (`1` and `"1"` both
 * become the field "1"), as in the data they turn into; merge keys (`<<`) may
 * repeat, each merging more.
 */
function sameKey(a: ParsedNode, b: ParsedNode): boolean {
  if (a === b) return true;
  if (!isScalar(a) || !isScalar(b) || isMergeKey(a) || isMergeKey(b)) return false;
  return String(a.value) === String(b.value);
}

/**
 * The key at `offset` as data (`"a"`), and as written when that differs
 * (`"a" (written "\u0061")`, `"1" (written '1')`).
 */
function keyAsWritten(docs: readonly Document[], source: string, offset: number): string {
  let found: Node | undefined;
  for (const doc of docs) {
    visit(doc, {
      Pair: (_key, pair) => {
        if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
          found = pair.key;
          return visit.BREAK;
        }
        return undefined;
      },
    });
  }
  if (!isScalar(found) || !found.range) return JSON.stringify((/^[^:\n]*/.exec(source.slice(offset))?.[0] ?? "").trim());
  const read = JSON.stringify(String(found.value));
  const written = source.slice(found.range[0], found.range[1]);
  return written === read || written === String(found.value) ? read : `${read} (written ${written})`;
}

/** A `<<` key, which the parser (with `merge: true`) resolves to a symbol. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol" && key.value.description === "<<";
}

/**
 * The checks of how the YAML is written that JSON Schema cannot say, since it
 * sees only the data (listed in the README with crossFieldRules' own).
 */
export const YAML_CHECKS_NOT_IN_JSON_SCHEMA: readonly { name: string; notInJsonSchema: string }[] = [
  {
    name: "keys-are-text",
    notInJsonSchema: "JSON Schema sees the data, where every key is text: whether a key was written as text (\"1.10\") or as a number (1.10) is YAML's to know",
  },
];

/**
 * Keys that cannot become data as written. Every key of a template is text
 * (a field, a region, an architecture, a tag): a plain key that YAML reads as
 * a number, boolean or null (`1.10:`, `0x1F:`, `null:`, `true:`) would become
 * the text of what was read ("1.1", "31", "" or "true"), not what was
 * written, so it is refused with the advice to quote it as written; the key
 * then reads as written (it is changed in the document), so it is not
 * reported again as unknown, empty or a duplicate of another spelling. And
 * `__proto__`, which a JavaScript object does not keep as data: zod drops it
 * from a map without a word (a tag that would never reach the image), so it is
 * refused here, wherever it is, and left out of the data.
 */
function keyProblems(doc: Document, source: string): FeatureProblem[] {
  const problems: FeatureProblem[] = [];
  visit(doc, {
    Pair: (_key, pair) => {
      const key = pair.key;
      if (!isScalar(key) || isMergeKey(key) || !key.range) return undefined;
      if (key.value === "__proto__") {
        problems.push({ offset: key.range[0], message: "__proto__ cannot be a key in a template: JavaScript gives the name a meaning of its own, so the value would be lost" });
        return visit.REMOVE;
      }
      if (typeof key.value === "string") return undefined;
      const written = source.slice(key.range[0], key.range[1]);
      const advice = written === "" ? "; write the key before the colon" : `; put it in quotes: ${JSON.stringify(written)}`;
      problems.push({ offset: key.range[0], message: `a key must be text, got ${describeValue(key.value, written)}${advice}` });
      key.value = written;
      return undefined;
    },
  });
  return problems;
}

interface FeatureProblem {
  offset: number;
  message: string;
  suggestion?: string;
}

function yamlFeatureProblems(doc: Document, source: string): FeatureProblem[] {
  const problems: FeatureProblem[] = [];
  if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== "1.2") {
    const offset = /^%YAML\b/m.exec(source)?.index ?? 0;
    problems.push({
      offset,
      message: `templates are YAML 1.2; this file asks for YAML ${doc.directives.yaml.version}, where yes, on and 010 mean other things`,
      suggestion: "remove the %YAML line",
    });
  }
  const anchors = new Map<string, Node>();
  visit(doc, {
    Pair: (_key, pair) => {
      const key = isAlias(pair.key) ? anchors.get(pair.key.source) : pair.key;
      if (isMap(key) || isSeq(key)) {
        problems.push({ offset: (pair.key as Node).range?.[0] ?? 0, message: `a key must be text, not ${isMap(key) ? "a mapping" : "a list"}` });
      }
      if (!isMergeKey(pair.key)) return;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const item of sources) {
        const target = isAlias(item) ? anchors.get(item.source) : item;
        // An unknown alias is reported where it is visited.
        if (isAlias(item) && target === undefined) continue;
        if (!isMap(target)) {
          const node = (item ?? pair.key) as Node;
          problems.push({
            offset: node.range?.[0] ?? 0,
            message: `<< merges a mapping into this one: expected a mapping, an alias of one (*name) or a list of them, got ${describeNode(target)}`,
          });
        }
      }
    },
    Node: (_key, node, path) => {
      if (node.tag !== undefined && node.tag !== "!" && !CORE_TAGS.has(node.tag)) {
        problems.push({
          offset: tagOffset(source, node.range?.[0] ?? 0),
          message: `unsupported YAML tag ${shortTag(node.tag)}: a template holds plain strings, numbers, lists and mappings`,
          suggestion: node.tag.startsWith("!") ? "remove the tag (cws does not evaluate CloudFormation functions such as !Ref or !Sub)" : "remove the tag and write the value as text",
        });
      }
      if (node.anchor) anchors.set(node.anchor, node);
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target === undefined) {
          problems.push({ offset: node.range?.[0] ?? 0, message: `unknown alias *${node.source}: no anchor &${node.source} is set before it`, suggestion: `set &${node.source} on the value it stands for, above this line` });
        } else if (path.includes(target)) {
          problems.push({ offset: node.range?.[0] ?? 0, message: `the alias *${node.source} is inside the value it stands for (&${node.source}), which would make it endless` });
        }
      }
    },
  });
  return problems;
}

/**
 * A walk of the document, or undefined when it is nested deeper than the
 * stack allows (the walks are recursive, like the parser, which catches its
 * own overflow the same way).
 */
function deepWalk<T>(walk: () => T): T | undefined {
  try {
    return walk();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return undefined;
  }
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return describeValue(node.value);
  return "nothing (null)";
}

/** Where the tag written before the value at `valueOffset` starts (`!Ref` in `!Ref x`, maybe with an anchor between). */
function tagOffset(source: string, valueOffset: number): number {
  const before = source.slice(Math.max(0, valueOffset - 300), valueOffset);
  let last = -1;
  for (const match of before.matchAll(/(?:^|[\s[{,])(!\S*)/g)) last = match.index + match[0].length - match[1]!.length;
  return last < 0 ? valueOffset : valueOffset - before.length + last;
}

function shortTag(tag: string): string {
  return tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice("tag:yaml.org,2002:".length)}` : tag;
}

function firstAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias: (_key, alias) => {
      found = alias;
      return visit.BREAK;
    },
  });
  return found;
}

const TOO_DEEP = "the YAML is nested too deeply to read (lists or mappings inside each other hundreds of levels deep)";

function yamlMessage(code: string, message: string): string {
  // The yaml library appends " at line N, column M" and a code frame; we print our own position.
  const text = message.replace(/ at line \d+, column \d+:?[\s\S]*$/, "").trim();
  if (code === "TAB_AS_INDENT") return `${text} (YAML indents with spaces, not tabs)`;
  // The parser catches its own stack overflow and names it by the JavaScript error.
  if (code === "RESOURCE_EXHAUSTION") return TOO_DEEP;
  return text;
}

/**
 * Where a path is in the file: the node's line and column, or its nearest
 * ancestor's when it does not exist (`exact: false`). A value that comes
 * through an alias or a merge key (`<<: *defaults`) is where it is written,
 * at its anchor; `via` is then the first alias on the way.
 */
export type Locate = (path: Path, onKey?: boolean) => { line: number; column: number; exact: boolean; via?: { alias: string; line: number; column: number } };

/** Where each path of the data is in the file, from the document's node positions. */
export function locator(document: Document, lineCounter: LineCounter): Locate {
  return (path, onKey = false) => {
    const { node, exact, via } = nodeAt(document, path, onKey);
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    if (!via) return { line, column: col, exact };
    const where = lineCounter.linePos(via.range?.[0] ?? 0);
    return { line, column: col, exact, via: { alias: via.source, line: where.line, column: where.col } };
  };
}

/**
 * The source text of the plain scalar at `path`, as written: `1.10` where the
 * data holds the number 1.1, `~` where it holds null. Undefined for anything
 * else (a quoted or block string, a collection, a missing path).
 */
export type WrittenAt = (path: Path) => string | undefined;

export function writtenAt(document: Document, source: string): WrittenAt {
  return (path) => {
    const { node, exact } = nodeAt(document, path, false);
    if (!exact || !isScalar(node) || node.type !== Scalar.PLAIN || !node.range) return undefined;
    return source.slice(node.range[0], node.range[1]);
  };
}

/** Problems about paths of the data, placed in the file by `locate`. */
export function reporter(file: string, locate: Locate): Report {
  return (path, message, options = {}) => {
    const { line, column, via } = locate(options.place ?? path, options.onKey);
    return errorAt(file, line, column, formatPath(path), `${message}${throughAlias(via)}`, options.suggestion);
  };
}

/** ` (reached through *defaults at line 14)`, for a problem placed at an anchor that another line uses. */
export function throughAlias(via: { alias: string; line: number } | undefined): string {
  return via ? ` (reached through *${via.alias} at line ${via.line})` : "";
}

function errorAt(file: string, line: number, column: number, path: string, message: string, suggestion: string | undefined): Problem {
  return { file, line, column, severity: "error", path, message, ...(suggestion === undefined ? {} : { suggestion }) };
}

/**
 * The node at `path` (its key's node with `onKey`), or the nearest ancestor's
 * when the path does not exist. Aliases are followed to their anchors, and a
 * mapping's merge keys are searched after its own keys, first source first,
 * as YAML merges them; `via` is the first alias followed.
 */
export function nodeAt(doc: Document, path: Path, onKey = false): { node: Node | undefined; exact: boolean; via?: Alias } {
  let via: Alias | undefined;
  const follow = (node: unknown): unknown => {
    if (!isAlias(node)) return node;
    via ??= node;
    return node.resolve(doc);
  };
  let node: unknown = follow(doc.contents);
  let keyNode: Node | undefined;
  let lastGood: Node | undefined = (node as Node | null) ?? undefined;
  let exact = true;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const found = pairIn(doc, node, String(segment));
      if (!found) {
        exact = false;
        break;
      }
      if (found.via) via ??= found.via;
      const pair = found.pair;
      keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : undefined;
      node = follow(pair.value);
      lastGood = (node as Node | null) ?? keyNode ?? lastGood;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined) {
        exact = false;
        break;
      }
      node = follow(item);
      lastGood = node as Node;
    } else {
      exact = false;
      break;
    }
  }
  return { node: onKey && exact && keyNode ? keyNode : lastGood, exact, ...(via ? { via } : {}) };
}

/** The pair that gives `key` its value in `map`: its own, else the first merge source's that has it. */
function pairIn(doc: Document, map: { items: unknown[] }, key: string, depth = 0): { pair: { key: unknown; value: unknown }; via?: Alias } | undefined {
  for (const item of map.items) {
    if (isPair(item) && !isMergeKey(item.key) && scalarKey(item.key) === key) return { pair: item };
  }
  if (depth > 50) return undefined;
  for (const item of map.items) {
    if (!isPair(item) || !isMergeKey(item.key)) continue;
    for (const source of isSeq(item.value) ? item.value.items : [item.value]) {
      const target = isAlias(source) ? source.resolve(doc) : source;
      if (!isMap(target)) continue;
      const found = pairIn(doc, target, key, depth + 1);
      if (!found) continue;
      const alias = isAlias(source) ? source : found.via;
      return alias ? { pair: found.pair, via: alias } : { pair: found.pair };
    }
  }
  return undefined;
}

function scalarKey(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === "string" || typeof key === "number") return String(key);
  return undefined;
}
