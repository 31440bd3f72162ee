import { stat } from "node:fs/promises";
import { isMap, isPair, isScalar, isSeq, type Document } from "yaml";
import { CwsError } from "../errors.js";
import { ownValue } from "../own-keys.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import { readTemplateBytes } from "./repository.js";
import type { Architecture } from "./schema.js";

/**
 * A template's `amis:` block (written by `cws ami update-templates`), edited
 * as text, not re-stringified. `yaml`'s `Document#toString()` (even with
 * `lineWidth: 0` and `flowCollectionPadding: false`) rewrites every shipped
 * template well outside the `amis` block: long double-quoted strings are
 * folded, `>-` block scalars are re-folded onto one line, flow lists gain
 * padding. So the `amis:` block's lines (from its key's line to the end of
 * the line its last value ends on) are replaced by a block rendered here
 * (regions sorted, architectures sorted, 2-space indent), or a new block is
 * appended at the end of the file; every other byte stays as it was, and the
 * file keeps its mode and any byte-order mark when it is written back.
 *
 * Comments inside those lines are kept: each goes with the entry it was
 * written on (trailing) or above (on a line of its own), wherever the sorted
 * block puts that entry; one on the `amis:` line stays there; one whose entry
 * is gone, or that follows the last entry, goes after the new block's last
 * entry. Comments and blank lines after the last value (which `yaml` counts
 * into a block mapping's range when another key follows) are not touched.
 */

export type AmiMap = Record<string, Partial<Record<Architecture, string>>>;

/** The header written above an appended block; removed with the block. */
export const AMIS_HEADER = "# Current AMIs from the registry, written by `cws ami update-templates`.";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The comments of an `amis:` block, by where they go: see `blockComments`. */
export interface AmisComments {
  /** On the `amis:` line. */
  header: string[];
  /** On their own lines above an entry (`region`, or `region.arch`). */
  above: Map<string, string[]>;
  /** At the end of an entry's line. */
  trailing: Map<string, string[]>;
  /** After the last entry, in their order. */
  after: string[];
  /** Every comment, in the order written. */
  all: string[];
}

const noComments = (): AmisComments => ({ header: [], above: new Map(), trailing: new Map(), after: [], all: [] });

/** `amis:` and its entries, regions then architectures sorted, 2-space indent, each line ending in `eol`, with the old block's comments. */
export function renderAmisBlock(amis: AmiMap, options: { indent?: string; eol?: string; comments?: AmisComments } = {}): string {
  const base = options.indent ?? "";
  const eol = options.eol ?? "\n";
  const comments = options.comments ?? noComments();
  const placed = new Set<string>();
  const lines: string[] = [];
  /** A line with the first of its trailing comments; a line has room for one, so the others go on lines of their own after it. */
  const line = (indent: string, text: string, trailing: readonly string[], indentAfter: string) => {
    const [first, ...others] = trailing;
    lines.push(`${indent}${text}${first === undefined ? "" : `  ${first}`}`);
    for (const comment of others) lines.push(`${indentAfter}${comment}`);
  };
  /** An entry's line, with the comments above it and at its end. */
  const entry = (key: string, indent: string, text: string) => {
    placed.add(key);
    for (const comment of comments.above.get(key) ?? []) lines.push(`${indent}${comment}`);
    line(indent, text, comments.trailing.get(key) ?? [], indent);
  };
  line(base, "amis:", comments.header, `${base}  `);
  for (const region of Object.keys(amis).sort(compare)) {
    const byArch = ownValue(amis, region) ?? {};
    const archs = (Object.keys(byArch) as Architecture[]).filter((a) => ownValue(byArch, a) !== undefined).sort(compare);
    if (archs.length === 0) continue;
    entry(region, `${base}  `, `${region}:`);
    for (const architecture of archs) entry(`${region}.${architecture}`, `${base}    `, `${architecture}: ${ownValue(byArch, architecture)}`);
  }
  // Comments of entries that are gone, then those that followed the last entry.
  const orphans = [...comments.above, ...comments.trailing].filter(([key]) => !placed.has(key)).flatMap(([, list]) => list);
  for (const comment of [...orphans, ...comments.after]) lines.push(`${base}  ${comment}`);
  return lines.map((line) => `${line}${eol}`).join("");
}

const isEmpty = (amis: AmiMap) => Object.values(amis).every((byArch) => Object.values(byArch).every((v) => v === undefined));

type Ranged = { range?: [number, number, number] | null } | null | undefined;

/** Where the text of a node ends, comments not included: a block mapping's last value, a flow collection's bracket, a scalar's end. */
function contentEnd(node: unknown, fallback: number): number {
  if (isMap(node) || isSeq(node)) {
    if (node.flow) return (node as Ranged)?.range?.[1] ?? fallback;
    let end = fallback;
    for (const item of node.items) {
      end = Math.max(end, isPair(item) ? contentEnd(item.value, contentEnd(item.key, end)) : contentEnd(item, end));
    }
    return end;
  }
  return Math.max(fallback, (node as Ranged)?.range?.[1] ?? fallback);
}

/** Offset of the `#` that starts a comment on the line `text` (quotes skipped), or -1. */
function commentStart(text: string): number {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || text[i - 1] === " " || text[i - 1] === "\t")) return i;
  }
  return -1;
}

/**
 * The comments in `source[start, end)`, the lines of an `amis:` block, by the
 * entry they belong to: `keys` are the offsets of its region and architecture
 * keys, in order. A comment at the end of a line belongs to the first entry on
 * that line (or to `amis:` itself); one on a line with no entry, to the next
 * entry, or after the block when none follows.
 */
function blockComments(source: string, start: number, end: number, keys: readonly { offset: number; key: string }[]): AmisComments {
  const comments = noComments();
  const add = (map: Map<string, string[]>, key: string, comment: string) => map.set(key, [...(map.get(key) ?? []), comment]);
  let lineBegin = start;
  let first = true;
  while (lineBegin < end) {
    const newline = source.indexOf("\n", lineBegin);
    const lineEnd = newline < 0 || newline >= end ? end : newline;
    const line = source.slice(lineBegin, lineEnd).replace(/\r$/, "");
    const at = commentStart(line);
    if (at >= 0) {
      const comment = line.slice(at).trimEnd();
      comments.all.push(comment);
      const onLine = keys.find((k) => k.offset >= lineBegin && k.offset < lineEnd);
      const next = keys.find((k) => k.offset >= lineEnd);
      if (first) comments.header.push(comment);
      else if (onLine && line.slice(0, at).trim() !== "") add(comments.trailing, onLine.key, comment);
      else if (next) add(comments.above, next.key, comment);
      else comments.after.push(comment);
    }
    first = false;
    lineBegin = lineEnd + 1;
  }
  return comments;
}

/** The offsets of the region and architecture keys of an `amis` value, in the order they are written. */
function entryKeys(value: unknown): { offset: number; key: string }[] {
  const keys: { offset: number; key: string }[] = [];
  if (!isMap(value)) return keys;
  for (const region of value.items) {
    if (!isScalar(region.key) || !region.key.range) continue;
    const name = String(region.key.value);
    keys.push({ offset: region.key.range[0], key: name });
    if (!isMap(region.value)) continue;
    for (const arch of region.value.items) {
      if (isScalar(arch.key) && arch.key.range) keys.push({ offset: arch.key.range[0], key: `${name}.${String(arch.key.value)}` });
    }
  }
  return keys.sort((a, b) => a.offset - b.offset);
}

/**
 * The source with its `amis:` block set to `amis` (removed when `amis` is
 * empty), every byte outside the block unchanged and every comment inside it
 * kept. `document` must be the parse of `source` (parseTemplate's).
 */
export function spliceAmisBlock(source: string, document: Document, amis: AmiMap, file = "template"): string {
  const root = document.contents;
  if (!isMap(root) || root.flow) {
    throw new CwsError("TEMPLATE_NOT_EDITABLE", `${file}: the template's top level is not a block mapping, so its amis: block cannot be edited in place`, {
      value: file,
      suggestion: "write the template as `key: value` lines (block style)",
    });
  }
  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  const pair = root.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === "amis");
  const firstKey = root.items[0]?.key;
  const empty = isEmpty(amis);

  if (!pair) {
    if (empty) return source;
    // Append at the end of the file, after a blank line, at the mapping's own indentation.
    const indent = isScalar(firstKey) && firstKey.range ? indentAt(source, firstKey.range[0]) : "";
    let head = source;
    if (head !== "" && !head.endsWith("\n")) head += eol;
    if (head !== "" && !head.endsWith(`${eol}${eol}`)) head += eol;
    return `${head}${indent}${AMIS_HEADER}${eol}${renderAmisBlock(amis, { indent, eol })}`;
  }

  const key = pair.key as Ranged;
  const keyStart = key?.range?.[0];
  if (keyStart === undefined) throw new CwsError("TEMPLATE_NOT_EDITABLE", `${file}: cannot find the amis: block's position`, { value: file });
  let start = lineStart(source, keyStart);
  const indent = source.slice(start, keyStart);
  if (!/^[ ]*$/.test(indent)) {
    throw new CwsError("TEMPLATE_NOT_EDITABLE", `${file}: the amis: key does not start its own line, so its block cannot be edited in place`, { value: file });
  }
  // To the end of the line the block's last value (or a flow collection's bracket) ends on, with that line's comment.
  const last = contentEnd(pair.value, key?.range?.[1] ?? keyStart);
  const newline = source.indexOf("\n", Math.max(last - 1, keyStart));
  const end = newline < 0 ? source.length : newline + 1;
  const comments = blockComments(source, start, end, entryKeys(pair.value));
  if (!empty) {
    return `${source.slice(0, start)}${renderAmisBlock(amis, { indent, eol, comments })}${source.slice(end)}`;
  }
  // Removing: the block's own comments stay, on their own lines where the block was.
  const keptText = comments.all.map((comment) => `${indent}${comment}${eol}`).join("");
  // Take this command's header line with it, and the blank line appending added at the end of the file.
  const previousLineStart = start === 0 ? 0 : lineStart(source, start - 1);
  if (start > 0 && source.slice(previousLineStart, start).replace(/\r?\n$/, "").trim() === AMIS_HEADER) start = previousLineStart;
  let head = source.slice(0, start);
  const tail = source.slice(end);
  if (tail.trim() === "" && keptText === "" && head.endsWith(`${eol}${eol}`)) head = head.slice(0, -eol.length);
  return `${head}${keptText}${tail.trim() === "" ? "" : tail}`;
}

function lineStart(source: string, offset: number): number {
  return source.lastIndexOf("\n", offset - 1) + 1;
}

function indentAt(source: string, offset: number): string {
  const text = source.slice(lineStart(source, offset), offset);
  return /^[ ]*$/.test(text) ? text : "";
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * Temp file in the same directory, then rename over the template: a reader
 * (or a crash) sees the old file or the new one. The file's mode and a
 * leading byte-order mark are kept; if the file changed since it was read, it
 * is left alone.
 */
export async function writeTemplateAtomically(file: string, original: Uint8Array, text: string): Promise<void> {
  const hasBom = BOM.every((byte, i) => original[i] === byte);
  const bytes = Buffer.concat([hasBom ? Buffer.from(BOM) : Buffer.alloc(0), Buffer.from(text, "utf8")]);
  const { mode } = await stat(file);
  await writeFileAtomic(file, bytes, {
    mode: mode & 0o777,
    beforeRename: async () => {
      const { bytes: now } = await readTemplateBytes(file);
      if (!Buffer.from(now).equals(Buffer.from(original))) {
        throw new CwsError("TEMPLATE_CHANGED", `${file} changed while cws was updating it; it was left alone`, { value: file, suggestion: "run the command again", exitCode: 1 });
      }
    },
  });
}
