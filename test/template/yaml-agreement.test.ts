import { describe, expect, it } from "vitest";
import { quickLoad } from "../../src/template/quick-parse.js";
import { decodeText } from "../../src/template/text.js";
import { readTemplateYaml } from "../../src/template/yaml-document.js";

// The quick path (js-yaml, no positions) answers for a clean template, the full parser (`yaml`,
// with positions) for anything else, and the lint cache remembers whichever answered. So whatever
// the quick path accepts, the full parser must read as the same data, with no problem at all;
// otherwise a template would be valid or not depending on which path, or the cache, answered.

/** Plain scalars whose type YAML 1.1 and 1.2 (and parsers) disagree on, and their neighbours. */
const SCALARS = [
  ...["1.10", "1.0", "1e3", "1E3", "1e+3", "0x1F", "0X1F", "0o17", "0O17", "010", "08", ".5", "-.5", "+.5", "-0", "+0", "-0.0", "0.", "1.", "+1", "00"],
  ...["1_000", "0b101", "1:20", "0x_1F", "+0x1F", "-0o17", "12e", "0x", "0o8", ".e1", "1e", "0.1e1", "1.e1", "1.5e-3", "0e0"],
  ...["0xFFFFFFFFFFFFFFFFFF", `1${"0".repeat(400)}`, "1e400", "-1e400", "123456789012345678901234567890"],
  ...[".inf", "-.Inf", "+.INF", ".nan", ".NaN", "NaN", "inf"],
  ...["true", "True", "TRUE", "tRUE", "false", "yes", "no", "on", "off", "y", "n", "Yes", "ON"],
  ...["2024-01-01", "2024-01-01T10:00:00Z", "2024-1-1", "12:30:00"],
  ...["null", "Null", "NULL", "nUll", "~", ""],
  ...["'1.0'", '"1.10"', "!!str 1.10", "!!int '5'", "!!float 1", "!!bool yes", "!!null ''", "! 5"],
  ...["&a 1", "*a", "<<", "'<<'", "1 # comment", "a#b", "@x", "`x", "%x", "!x", "? x", "-", "- a", "[a, b]", "{a: 1}", '"a\\tb"', "'it''s'"],
];

/** Whole documents: layout, line endings, keys, anchors, merges, tags, directives. */
const DOCUMENTS = [
  "a: 1\r\nb: |\r\n  x\r\n  y\r\n",
  "\uFEFFa: 1\n",
  "a:\n\t- x\n",
  "a: 1\n---\n",
  "---\na: 1\n...\n",
  "%YAML 1.2\n---\na: yes\n",
  "%YAML 1.1\n---\na: yes\nb: 010\n",
  "%FOO bar\n---\na: 1\n",
  "a: 1\na: 2\n",
  "1: a\n'1': b\n",
  "? a\n: b\n",
  "? [a]\n: b\n",
  "a: multi\n  line\n  plain\n",
  'a: "multi\n  line"\n',
  'a: "\\x41\\u263A\\t\\U0001F600"\n',
  "a: >\n  folded\n  lines\n\n  para\n",
  "a: |-\n  strip\n",
  "a: |+\n  keep\n\n",
  "a: |2\n    indented\n",
  "a: {b: [1, 2, {c: d}], e: f}\n",
  "a: [x,\n  y\n]\n",
  "a:\n  b: [x,\n    y\n  ]\n",
  "a: &x: 1\n",
  "a: &x 1\nb: 2\n",
  "a: &x 1\nb: *x\n",
  "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n",
  "<<: {a: 1}\nb: 2\n",
  "a: {<<: {b: 1}, b: 2}\n",
  "a: &x\n  b: *x\n",
  "a: !Ref x\n",
  "a: !!binary aGVsbG8=\n",
  "a: 1 #c\n#d\nb: 2\n",
  "a: b#c\n",
  "a: 'x' y\n",
  "a: b: c\n",
  "a:\n- x\n-\n- z\n",
  "a: ''\nb: \"\"\nc:\n",
  "'a b': 1\n\"c\\nd\": 2\n",
  "a: |\n  line with %\n  %percent at start\n",
  "a: [1,2,]\n",
  "a: {b, c}\n",
  "a: [b: c]\n",
  `a: ${"[".repeat(150)}${"]".repeat(150)}\n`,
];

/** What the quick path reads, or undefined when it leaves the file to the full parser. */
function quick(text: string): Record<string, unknown> | undefined {
  const decoded = decodeText(text, undefined);
  return "text" in decoded ? quickLoad(decoded.text) : undefined;
}

function agreement(text: string): { quick: unknown; full: unknown; problems: string[] } {
  const full = readTemplateYaml(text, "t.yml");
  return { quick: quick(text), full: full.data, problems: full.problems.map((p) => `${p.line}:${p.column} ${p.message}`) };
}

const inContexts = (scalar: string) => [`v: ${scalar}\n`, `v: [${scalar}]\n`, `v:\n  - ${scalar}\n`, `k:\n  v: ${scalar}\n`, `v: {k: ${scalar}}\n`];

describe("the quick path and the full parser", () => {
  it.each(SCALARS.flatMap(inContexts))("read %j alike, or the quick path leaves it to the full parser", (text) => {
    const { quick, full, problems } = agreement(text);
    if (quick !== undefined) {
      expect(problems).toEqual([]);
      expect(quick).toStrictEqual(full);
    }
  });

  it.each(DOCUMENTS)("read the document %j alike, or the quick path leaves it to the full parser", (text) => {
    const { quick, full, problems } = agreement(text);
    if (quick !== undefined) {
      expect(problems).toEqual([]);
      expect(quick).toStrictEqual(full);
    }
  });

  it("share YAML 1.2's reading of the scalars YAML 1.1 reads otherwise", () => {
    const read = (scalar: string) => quick(`v: ${scalar}\n`)?.v;
    expect(["1.10", "010", "0x1F", "0o17", "1e3", ".5", "-0", "+1", ".inf"].map(read)).toEqual([1.1, 10, 31, 15, 1000, 0.5, -0, 1, Infinity]);
    expect(["yes", "on", "off", "y", "1_000", "0b101", "1:20", "2024-01-01", "Yes"].map(read)).toEqual(["yes", "on", "off", "y", "1_000", "0b101", "1:20", "2024-01-01", "Yes"]);
    expect(["true", "True", "false"].map(read)).toEqual([true, true, false]);
    expect(["null", "~", ""].map(read)).toEqual([null, null, null]);
    // A float too large for a double is still a number to both, not the string js-yaml makes of it.
    expect(read("1e400")).toBe(Infinity);
    expect(readTemplateYaml("v: 1e400\n", "t.yml").data?.v).toBe(Infinity);
  });

  it("leave to the full parser what it alone checks: aliases, tags other than !!str, directives, ambiguous anchors", () => {
    for (const text of ["a: &x 1\nb: *x\n", "a: &x {b: 1}\nc:\n  <<: *x\n", "a: !!int '5'\n", "a: !Ref x\n", "%YAML 1.2\n---\na: 1\n", "a: &x: 1\n"]) {
      expect(quick(text), text).toBeUndefined();
    }
    // Anchors that are never used, and merges written in place, need nothing the full parser alone does.
    expect(quick("a: &x 1\nb: 2\n")).toEqual({ a: 1, b: 2 });
    expect(quick("<<: {a: 1}\nb: 2\n")).toEqual({ a: 1, b: 2 });
    expect(quick("a: 1 # %YAML 1.1\n")).toEqual({ a: 1 });
    expect(quick("a: !!str 5\n")).toEqual({ a: "5" });
  });
});
