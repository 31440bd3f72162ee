import { describe, expect, it } from "vitest";
import { jsonTextProblem, lineColumn, parseJsonText, stripBom } from "../../src/registry/json-text.js";

/** Where a problem is, as line:column, and what it says. */
function problemAt(text: string): { where: string; kind: string; message: string } | undefined {
  const result = parseJsonText(text);
  if (!result.problem) return undefined;
  const { line, column } = lineColumn(text, result.problem.offset);
  return { where: `${line}:${column}`, kind: result.problem.kind, message: result.problem.message };
}

describe("parseJsonText: repeated keys", () => {
  const cases: { name: string; text: string; where: string; message: RegExp }[] = [
    { name: "at the top level", text: '{\n  "version": "1.0",\n  "version": "2.0"\n}', where: "3:3", message: /^the key "version" appears twice in one object \(first at line 2, column 3\)/ },
    { name: "in a nested object, named by its path", text: '{"templates": {"t": {"amis": {\n"us-east-1": {},\n"us-east-1": {}}}}}', where: "3:1", message: /^templates\.t\.amis: the key "us-east-1" appears twice/ },
    { name: "inside an array item", text: '{"h": [{"a": 1}, {"a": 1, "b": 2, "a": 3}]}', where: "1:35", message: /^h\[1\]: the key "a" appears twice/ },
    { name: "written with a \\u escape", text: '{"a": 1, "\\u0061": 2}', where: "1:10", message: /the key "a" appears twice/ },
    { name: "written with an escaped slash", text: '{"a/b": 1, "a\\/b": 2}', where: "1:12", message: /the key "a\/b" appears twice/ },
    { name: "an empty key", text: '{"": 1, "": 2}', where: "1:9", message: /the key "" appears twice/ },
    { name: "after a CRLF line", text: '{\r\n  "a": 1,\r\n  "a": 2\r\n}', where: "3:3", message: /first at line 2, column 3/ },
  ];
  for (const { name, text, where, message } of cases) {
    it(`is refused ${name}`, () => {
      // JSON.parse alone keeps the last silently.
      expect(() => JSON.parse(text)).not.toThrow();
      const problem = problemAt(text);
      expect(problem?.kind).toBe("duplicate-key");
      expect(problem?.where).toBe(where);
      expect(problem?.message).toMatch(message);
    });
  }

  it("is not claimed for keys in different objects, keys differing in case, or a key equal to a value", () => {
    for (const text of ['{"a": {"b": 1}, "c": {"b": 2}}', '{"a": 1, "A": 2}', '{"a": "a", "b": {"a": "b"}}', '[{"a": 1}, {"a": 2}]', '{"a\\u0062": 1, "a": 2}']) {
      expect(parseJsonText(text)).toEqual({ value: JSON.parse(text) });
    }
  });
});

describe("parseJsonText: a key named __proto__", () => {
  // JSON.parse makes it an own key; zod, a spread or an assignment then drops it or makes it the prototype.
  const cases: { name: string; text: string; where: string; message: RegExp }[] = [
    { name: "at the top level", text: '{"__proto__": {"polluted": 1}}', where: "1:2", message: /^a key named "__proto__" cannot be read/ },
    { name: "in a nested object, named by its path", text: '{"templates": {"t": {\n  "__proto__": 1}}}', where: "2:3", message: /^templates\.t: a key named "__proto__"/ },
    { name: "written with escapes", text: '{"a": 1, "\\u005f_proto__": 2}', where: "1:10", message: /"__proto__"/ },
    { name: "twice", text: '{"__proto__": 1, "__proto__": 2}', where: "1:2", message: /"__proto__" cannot be read/ },
    { name: "inside an array", text: '[1, {"__proto__": null}]', where: "1:6", message: /^\[1\]: a key named "__proto__"/ },
  ];
  for (const { name, text, where, message } of cases) {
    it(`is refused ${name}`, () => {
      expect(() => JSON.parse(text)).not.toThrow();
      const problem = problemAt(text);
      expect(problem?.kind).toBe("proto-key");
      expect(problem?.where).toBe(where);
      expect(problem?.message).toMatch(message);
    });
  }

  it("is a key like any other in a value or inside a longer key", () => {
    for (const text of ['{"a": "__proto__"}', '{"__proto__x": 1}', '{"x__proto__": 1}', '["__proto__"]']) expect(parseJsonText(text)).toEqual({ value: JSON.parse(text) });
  });
});

describe("parseJsonText: syntax errors, each at its own position, in the same words on every Node version", () => {
  const cases: { name: string; text: string; where: string; message: RegExp }[] = [
    { name: "a trailing comma", text: '{\n  "a": 1,\n}', where: "3:1", message: /^unexpected "}"; expected a property name in double quotes/ },
    { name: "a missing comma", text: '{\n  "a": 1\n  "b": 2\n}', where: "3:3", message: /^unexpected "\\""; expected "," or "}"/ },
    { name: "merge conflict markers", text: '{\n  "templates": {\n<<<<<<< HEAD\n', where: "3:1", message: /^unexpected "<"/ },
    { name: "an unterminated string", text: '{"a": "abc', where: "1:7", message: /string is not closed/ },
    { name: "a raw tab in a string", text: '{"a": "x\ty"}', where: "1:9", message: /U\+0009 inside a string/ },
    { name: "a bad escape", text: '{"a": "\\x41"}', where: "1:8", message: /"\\x" is not a JSON escape/ },
    { name: "a short \\u escape", text: '{"a": "\\u12"}', where: "1:8", message: /four hex digits/ },
    { name: "a leading zero", text: '{"a": 01}', where: "1:8", message: /^unexpected "1"; expected "," or "}"/ },
    { name: "a number without digits after the point", text: '{"a": 1.}', where: "1:8", message: /^unexpected "\."; expected "," or "}"/ },
    { name: "a lone minus", text: "[-]", where: "1:3", message: /expected a digit/ },
    { name: "a misspelt literal", text: '{"a": tru}', where: "1:7", message: /^unexpected "t"; expected a value/ },
    { name: "single quotes", text: "{'a': 1}", where: "1:2", message: /^unexpected "'"; expected a property name in double quotes/ },
    { name: "a comment", text: '{\n  // note\n  "a": 1\n}', where: "2:3", message: /^unexpected "\/"/ },
    { name: "text after the value", text: '{"a": 1}\n}', where: "2:1", message: /expected the end of the file/ },
    { name: "an empty file", text: "", where: "1:1", message: /^the file is empty; a registry is a JSON object$/ },
    { name: "only white space", text: "  \n ", where: "2:2", message: /^the file is empty/ },
    { name: "a byte-order mark after the start", text: '\n\uFEFF{"a": 1}', where: "2:1", message: /U\+FEFF/ },
    { name: "an object that is never closed", text: '{"a": [1, 2', where: "1:12", message: /^unexpected end of the file; expected "," or "]"/ },
    { name: "a file cut after a key", text: '{"a": ', where: "1:7", message: /^unexpected end of the file; expected a value/ },
  ];
  for (const { name, text, where, message } of cases) {
    it(`places ${name}`, () => {
      expect(() => JSON.parse(text)).toThrow();
      const problem = problemAt(text);
      expect(problem?.kind).toBe("syntax");
      expect(problem?.where).toBe(where);
      expect(problem?.message).toMatch(message);
    });
  }

  it("reads deeply nested input without overflowing the stack, and names a deep place briefly", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    expect(jsonTextProblem(deep)).toBeUndefined();
    expect(parseJsonText(deep).problem).toBeUndefined();
    expect(jsonTextProblem(`${"[".repeat(200_000)}x`)?.message).toMatch(/^unexpected "x"/);
    const repeated = `${"[".repeat(100_000)}{"a": 1, "a": 2}${"]".repeat(100_000)}`;
    expect(parseJsonText(repeated).problem?.message).toBe(`…${"[0]".repeat(10)}: the key "a" appears twice in one object (first at line 1, column 100002), and JSON keeps only the last`);
  });

  it("counts keys right in texts whose strings hold quotes, colons and backslashes, and in large ones", () => {
    for (const text of [String.raw`{"a\\": ":", "b": "\":", "c\"": {"d": "\\\\"}}`, `{"x" :1,"y"\n:\t"z:"}`, String.raw`[":", {"::": "\u003a"}]`]) {
      expect(parseJsonText(text), text).toEqual({ value: JSON.parse(text) });
    }
    const big = `{"a": [${Array.from({ length: 200_000 }, (_, i) => `"v${i}:"`).join(",")}], "b": {"c": 1}}`;
    expect(parseJsonText(big).problem).toBeUndefined();
    expect(parseJsonText(big.replace('"c": 1', '"c": 1, "c": 2')).problem?.kind).toBe("duplicate-key");
  });
});

describe("parseJsonText on text laid out as JSON.stringify(value, null, 2) writes it (the registry's layout), and variations", () => {
  const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const value = { version: "1.0", templates: { t: { amis: { "us-east-1": { x86_64: { ami_id: "ami-12345678", size_gb: 8 } } }, ports: [22] } } };
  const withDuplicate = (text: string) => text.replace('"size_gb": 8', '"size_gb": 8,\n            "ami_id": "ami-87654321"');

  it("accepts it, and finds a key repeated on a line of its own", () => {
    expect(parseJsonText(pretty(value))).toEqual({ value });
    const problem = problemAt(withDuplicate(pretty(value)));
    expect(problem).toMatchObject({ kind: "duplicate-key", message: expect.stringMatching(/^templates\.t\.amis\.us-east-1\.x86_64: the key "ami_id" appears twice/) });
  });

  it("with lists of strings (lines that start with a string but are no key), accepts it and still finds a repeated key", () => {
    const listed = { ...value, tags: ["a", "b", "c"] };
    expect(parseJsonText(pretty(listed))).toEqual({ value: listed });
    expect(problemAt(withDuplicate(pretty(listed)))?.kind).toBe("duplicate-key");
  });

  it("with a string that ends in a comma (which looks like a key inside a line), accepts it and still finds a repeated key", () => {
    const comma = { ...value, description: "one, two," };
    expect(parseJsonText(pretty(comma))).toEqual({ value: comma });
    expect(problemAt(withDuplicate(pretty(comma)))?.kind).toBe("duplicate-key");
  });

  it("with keys inside lines too, finds a repeated key wherever it is", () => {
    const mixed = pretty(value).replace('"ports": [\n        22\n      ]', '"ports": [22], "x": {"a": 1, "a": 2}');
    expect(problemAt(mixed)).toMatchObject({ kind: "duplicate-key", message: expect.stringMatching(/^templates\.t\.x: the key "a" appears twice/) });
  });
});

describe("parseJsonText agrees with JSON.parse", () => {
  /** Random texts from pieces of JSON, valid and not (a small LCG: the same texts every run). */
  it("accepts exactly what JSON.parse accepts, apart from repeated keys, over 50,000 random texts", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pieces = ["{", "}", "[", "]", ",", ":", '"a"', '"b"', '"\\u0061"', '"\\n"', '"\\q"', "1", "-", "0", "01", "1.5", "1e5", "1e", "true", "tru", "null", " ", "\n", '"', "\\", "\t", "\uFEFF", "x"];
    let agreed = 0;
    for (let k = 0; k < 50_000; k++) {
      let text = "";
      for (let j = 1 + Math.floor(next() * 10); j > 0; j--) text += pieces[Math.floor(next() * pieces.length)];
      let parsed: { value: unknown } | undefined;
      try {
        parsed = { value: JSON.parse(text) };
      } catch {
        parsed = undefined;
      }
      const ours = parseJsonText(text);
      if (ours.problem?.kind === "duplicate-key") {
        expect(parsed, text).toBeDefined();
        continue;
      }
      expect(ours.problem === undefined, JSON.stringify(text)).toBe(parsed !== undefined);
      if (parsed) expect(ours).toEqual(parsed);
      agreed++;
    }
    expect(agreed).toBeGreaterThan(45_000);
  });
});

describe("the byte-order mark and positions", () => {
  it("is ignored, and a position after it is counted as an editor shows it", () => {
    const text = '{\n  "a": 1,\n  "b": x\n}';
    const withBom = stripBom(`\uFEFF${text}`);
    expect(withBom).toBe(text);
    expect(problemAt(withBom)?.where).toBe("3:8");
    // On the first line too: the mark is not a column.
    expect(problemAt(stripBom('\uFEFF{"a": x}'))?.where).toBe("1:7");
  });

  it("lineColumn counts lines by LF (CRLF included) and columns from 1", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn("ab\r\ncd", 4)).toEqual({ line: 2, column: 1 });
    expect(lineColumn("ab", 2)).toEqual({ line: 1, column: 3 });
  });
});
