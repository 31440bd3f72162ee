import { stat } from "node:fs/promises";
import { isMap, isPair, isScalar, type Document } from "yaml";
import { CwsError } from "../errors.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import { readTemplateBytes } from "./repository.js";
import type { Architecture } from "./schema.js";

/**
 * A template's `amis:` block (written by `cws ami update-templates`), edited
 * as text, not re-stringified. `yaml`'s `Document#toString()` (even with
 * `lineWidth: 0` and `flowCollectionPadding: false`) rewrites every shipped
 * template well outside the `amis` block: long double-quoted strings are
 * folded, `>-` block scalars are re-folded onto one line, flow lists gain
 * padding. So the `amis:` block's lines (from its key's line to the end of its
 * value) are replaced by a block rendered here (regions sorted, architectures
 * sorted, 2-space indent), or a new block is appended at the end of the file;
 * every other byte stays as it was, and the file keeps its mode and any
 * byte-order mark when it is written back.
 */

export type AmiMap = Record<string, Partial<Record<Architecture, string>>>;

/** The header written above an appended block; removed with the block. */
export const AMIS_HEADER = "# Current AMIs from the registry, written by `cws ami update-templates`.";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `amis:` and its entries, regions then architectures sorted, 2-space indent, each line ending in `eol`. */
export function renderAmisBlock(amis: AmiMap, options: { indent?: string; eol?: string } = {}): string {
  const base = options.indent ?? "";
  const eol = options.eol ?? "\n";
  const lines = [`${base}amis:`];
  for (const region of Object.keys(amis).sort(compare)) {
    const byArch = amis[region] ?? {};
    const archs = (Object.keys(byArch) as Architecture[]).filter((a) => byArch[a] !== undefined).sort(compare);
    if (archs.length === 0) continue;
    lines.push(`${base}  ${region}:`);
    for (const architecture of archs) lines.push(`${base}    ${architecture}: ${byArch[architecture]}`);
  }
  return lines.map((line) => `${line}${eol}`).join("");
}

const isEmpty = (amis: AmiMap) => Object.values(amis).every((byArch) => Object.values(byArch).every((v) => v === undefined));

/**
 * The source with its `amis:` block set to `amis` (removed when `amis` is
 * empty), every byte outside the block unchanged. `document` must be the
 * parse of `source` (parseTemplate's).
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

  const key = pair.key as { range?: [number, number, number] | null };
  const value = pair.value as { range?: [number, number, number] | null } | null;
  const keyStart = key.range?.[0];
  if (keyStart === undefined) throw new CwsError("TEMPLATE_NOT_EDITABLE", `${file}: cannot find the amis: block's position`, { value: file });
  let start = lineStart(source, keyStart);
  const indent = source.slice(start, keyStart);
  if (!/^[ ]*$/.test(indent)) {
    throw new CwsError("TEMPLATE_NOT_EDITABLE", `${file}: the amis: key does not start its own line, so its block cannot be edited in place`, { value: file });
  }
  // The value's content ends at range[1]; a flow value may be followed by a comment on its line, which goes too.
  let end = Math.max(value?.range?.[1] ?? key.range?.[1] ?? keyStart, keyStart);
  if (end > 0 && source[end - 1] !== "\n") {
    const newline = source.indexOf("\n", end);
    end = newline < 0 ? source.length : newline + 1;
  }
  if (!empty) {
    return `${source.slice(0, start)}${renderAmisBlock(amis, { indent, eol })}${source.slice(end)}`;
  }
  // Removing: take this command's header line with it, and the blank line appending added at the end of the file.
  const previousLineStart = start === 0 ? 0 : lineStart(source, start - 1);
  if (start > 0 && source.slice(previousLineStart, start).replace(/\r?\n$/, "").trim() === AMIS_HEADER) start = previousLineStart;
  let head = source.slice(0, start);
  const tail = source.slice(end);
  if (tail.trim() === "" && head.endsWith(`${eol}${eol}`)) head = head.slice(0, -eol.length);
  return `${head}${tail.trim() === "" ? "" : tail}`;
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
