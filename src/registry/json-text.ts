/**
 * What `JSON.parse` does not say about a JSON text: where a syntax error is
 * (V8 names a position for some errors and not others, and words them
 * differently in each Node version) and whether an object repeats a key (it
 * silently keeps the last one, so a key written twice by a bad merge loses an
 * AMI without a word). No imports: `cws ami list` reads every registry
 * through `parseJsonText`.
 */

export interface JsonTextProblem {
  /**
   * Not JSON at all; JSON that repeats a key in an object (valid for the
   * grammar, but JSON.parse loses data); or a key `__proto__`, which no
   * registry field has and which a JavaScript reader drops or takes for the
   * object's prototype.
   */
  kind: "syntax" | "duplicate-key" | "proto-key";
  /** Offset in the text (UTF-16 code units) of the character at fault. */
  offset: number;
  message: string;
}

/** A UTF-8 byte-order mark read as text. RFC 8259 lets a parser ignore one; cws does, and never writes one. */
const BOM = "\uFEFF";

/** The text without a leading byte-order mark: positions are then the editor's (the mark is not a column). */
export function stripBom(text: string): string {
  return text.startsWith(BOM) ? text.slice(1) : text;
}

/** 1-based line and column of an offset (columns in UTF-16 code units, as editors count them). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const syntax = (offset: number, message: string): JsonTextProblem => ({ kind: "syntax", offset, message });

const QUOTE = 34;
const BACKSLASH = 92;

/** A container being read: an object's keys so far (and their offsets), or an array's next index. */
interface Frame {
  keys: Map<string, number> | undefined;
  /** The key or index of this container in its parent, for messages. */
  at: string | number | undefined;
  /** The current key (objects) or index (arrays). */
  current: string | number | undefined;
}

function describeChar(text: string, offset: number): string {
  if (offset >= text.length) return "end of the file";
  const char = String.fromCodePoint(text.codePointAt(offset)!);
  return char.trim() === "" || char.charCodeAt(0) < 0x20 ? `character U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : JSON.stringify(char);
}

/** `templates.r-research.amis["a key"]`, from the open containers (the last ten of a deeper path, after "…"). */
function pathOf(stack: readonly Frame[]): string {
  const frames = stack.slice(1);
  let out = frames.length > 10 ? "…" : "";
  for (const frame of frames.slice(-10)) out += typeof frame.at === "number" ? `[${frame.at}]` : /^[A-Za-z_][\w-]*$/.test(String(frame.at)) ? `.${String(frame.at)}` : `[${JSON.stringify(frame.at)}]`;
  return out.replace(/^(…?)\./, "$1");
}

/**
 * The value of a JSON text (without its byte-order mark), or its first
 * problem. A valid text costs `JSON.parse` and two counts of its keys, in the
 * text and in the value: a text with more keys than its value repeats one.
 * Only a text whose counts differ is read again by `jsonTextProblem`, which
 * places the problem (or finds none). docs/decisions.md §32 has the costs.
 */
export function parseJsonText(text: string): { value: unknown; problem?: undefined } | { problem: JsonTextProblem } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: jsonTextProblem(text) ?? { kind: "syntax", offset: 0, message: "not valid JSON" } };
  }
  // -1 from either count means "could not count" (or a __proto__ key): read the text in full.
  const inText = keysInText(text);
  if (inText < 0 || inText !== keysInValue(value)) {
    const problem = jsonTextProblem(text);
    if (problem) return { problem };
  }
  return { value };
}

const STRING = String.raw`"[^"\\]*(?:\\.[^"\\]*)*"`;
/**
 * From where the last match ended (outside any string) to the end of the next
 * key: other text and whole value strings, then a string followed by a colon.
 * Strings are matched whole, so a quote or colon inside one is never mistaken
 * for structure. Sticky, so a failure is one linear attempt, not one per offset.
 */
const NEXT_KEY = new RegExp(String.raw`[^"]*(?:${STRING}(?!\s*:)[^"]*)*${STRING}\s*:`, "y");

/** How many keys a text that JSON.parse accepted has; -1 if the count could not be made (the caller then reads the text in full). */
function keysInText(text: string): number {
  let count = 0;
  NEXT_KEY.lastIndex = 0;
  try {
    while (NEXT_KEY.test(text)) count++;
  } catch {
    // The regular expression engine's backtracking stack ran out on a huge text.
    return -1;
  }
  return count;
}

/** How many keys the objects in a parsed JSON value have; -1 if it is nested too deeply to count by recursion. */
function keysInValue(value: unknown): number {
  const count = (item: object): number => {
    let n = 0;
    if (Array.isArray(item)) {
      for (const child of item) if (typeof child === "object" && child !== null) n += count(child);
      return n;
    }
    for (const key in item) {
      // JSON.parse makes it an own key; every later copy ({...x}, zod) drops it or sets the prototype.
      if (key === "__proto__") throw new Error("a __proto__ key");
      n++;
      const child = (item as Record<string, unknown>)[key];
      if (typeof child === "object" && child !== null) n += count(child);
    }
    return n;
  };
  try {
    return typeof value === "object" && value !== null ? count(value) : 0;
  } catch {
    return -1;
  }
}

/**
 * The first syntax error or repeated key in `text` (without a byte-order
 * mark), or undefined when `JSON.parse` reads it and every object's keys are
 * distinct. Keys are compared as JSON.parse decodes them, so `"a"` and
 * `"\u0061"` are the same key.
 */
export function jsonTextProblem(text: string): JsonTextProblem | undefined {
  const n = text.length;
  let i = 0;
  const stack: Frame[] = [];
  const fail = (offset: number, expected: string): JsonTextProblem =>
    text.trim() === "" ? syntax(offset, "the file is empty; a registry is a JSON object") : syntax(offset, `unexpected ${describeChar(text, offset)}; expected ${expected}`);

  const skipSpace = () => {
    for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  };
  /** Past the string starting at `i` (a quote); a problem, or the offset after its closing quote. */
  const readString = (): JsonTextProblem | number => {
    let j = i + 1;
    for (;;) {
      if (j >= n) return syntax(i, "a string is not closed before the end of the file");
      const c = text.charCodeAt(j);
      if (c === QUOTE) return j + 1;
      if (c < 0x20) return syntax(j, `${describeChar(text, j)} inside a string; write it as an escape such as \\n`);
      if (c === BACKSLASH) {
        const e = text.charCodeAt(j + 1);
        if (e === 117 /* u */) {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(j + 2, j + 6))) return syntax(j, "\\u must be followed by four hex digits");
          j += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
          j += 2;
        } else {
          return syntax(j, `${j + 1 < n ? `"\\${text[j + 1]}"` : "\\"} is not a JSON escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`);
        }
      } else {
        j++;
      }
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  // Expecting a value at i; then, after it, a separator or the end of its container.
  for (;;) {
    skipSpace();
    const c = text.charCodeAt(i);
    let afterValue = true;
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const parent = stack.at(-1);
      stack.push({ keys: c === 123 ? new Map() : undefined, at: parent?.current, current: c === 91 ? 0 : undefined });
      i++;
      skipSpace();
      if (text.charCodeAt(i) === (c === 123 ? 125 : 93)) {
        stack.pop();
        i++;
      } else if (c === 123) {
        const problem = readKey();
        if (problem) return problem;
        afterValue = false;
      } else {
        afterValue = false;
      }
    } else if (c === QUOTE) {
      const end = readString();
      if (typeof end !== "number") return end;
      i = end;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return fail(i + 1, "a digit");
      i = NUMBER.lastIndex;
    } else if (text.startsWith("true", i)) i += 4;
    else if (text.startsWith("false", i)) i += 5;
    else if (text.startsWith("null", i)) i += 4;
    else return fail(i, "a value (a string, number, object, array, true, false or null)");
    if (!afterValue) continue;

    // After a value: a comma and the next item, the end of containers, or the end of the text.
    for (;;) {
      skipSpace();
      const frame = stack.at(-1);
      if (!frame) return i < n ? fail(i, "the end of the file (the JSON value is complete)") : undefined;
      const c2 = text.charCodeAt(i);
      const isObject = frame.keys !== undefined;
      if (c2 === 44 /* , */) {
        i++;
        if (isObject) {
          skipSpace();
          const problem = readKey();
          if (problem) return problem;
        } else {
          frame.current = (frame.current as number) + 1;
        }
        break;
      }
      if (c2 === (isObject ? 125 : 93)) {
        stack.pop();
        i++;
        continue;
      }
      return fail(i, isObject ? `"," or "}"` : `"," or "]"`);
    }
  }

  /** A key, its colon, and i at its value. */
  function readKey(): JsonTextProblem | undefined {
    const frame = stack.at(-1)!;
    if (text.charCodeAt(i) !== QUOTE) return fail(i, "a property name in double quotes");
    const start = i;
    const end = readString();
    if (typeof end !== "number") return end;
    const raw = text.slice(start + 1, end - 1);
    const key = raw.includes("\\") ? (JSON.parse(text.slice(start, end)) as string) : raw;
    const first = frame.keys!.get(key);
    frame.current = key;
    if (first !== undefined) {
      const { line, column } = lineColumn(text, first);
      const where = pathOf(stack);
      return {
        kind: "duplicate-key",
        offset: start,
        message: `${where ? `${where}: ` : ""}the key ${JSON.stringify(key)} appears twice in one object (first at line ${line}, column ${column}), and JSON keeps only the last`,
      };
    }
    frame.keys!.set(key, start);
    if (key === "__proto__") {
      const where = pathOf(stack);
      return {
        kind: "proto-key",
        offset: start,
        message: `${where ? `${where}: ` : ""}a key named "__proto__" cannot be read: JavaScript takes it for the object's prototype and drops it, and no registry field has this name`,
      };
    }
    i = end;
    skipSpace();
    if (text.charCodeAt(i) !== 58 /* : */) return fail(i, `":" after the property name`);
    i++;
    return undefined;
  }
}
