import { formatBytes } from "../file-access.js";

/** Templates are small; anything larger is a mistake (a log or a binary saved under the wrong name). */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

/** The text, or the problem with it and, in a few words, why it is not read (`larger than 1 MiB, not read`). */
export type DecodedText = { text: string } | { problem: string; line: number; column: number; suggestion?: string; unread: string };

/**
 * Turn a file's bytes into text, or say why it is not a template: too large,
 * binary (a NUL byte) or not UTF-8. `size` is the file's real size when only
 * its first bytes were read.
 */
export function decodeText(
  input: string | Uint8Array,
  /** The file's real size, when only its first bytes were read. */
  size: number | undefined,
): DecodedText {
  if (typeof input === "string") {
    const nul = input.indexOf("\0");
    if (nul >= 0) return { problem: `not a text file: it contains a NUL character at offset ${nul}`, line: 1, column: 1, unread: "not a text file" };
    return lineEndingsChecked(input.replace(/^\uFEFF/, ""));
  }
  const total = size ?? input.byteLength;
  if (total > MAX_TEMPLATE_BYTES) {
    return {
      problem: `the file is ${formatBytes(total)}; a template may be at most ${formatBytes(MAX_TEMPLATE_BYTES)}`,
      line: 1,
      column: 1,
      unread: `larger than ${MAX_TEMPLATE_BYTES / (1024 * 1024)} MiB, not read`,
      // build_steps would not make the file smaller: what is large has to live outside it.
      suggestion: "keep large content out of the template: have the script download it at build time (and check its sha256sum), or install it from a package",
    };
  }
  const nul = input.indexOf(0);
  if (nul >= 0) {
    return { problem: `not a text file: it contains a NUL byte at offset ${nul}`, line: 1, column: 1, suggestion: "templates are UTF-8 YAML", unread: "not a text file" };
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    return lineEndingsChecked(text.replace(/^\uFEFF/, ""));
  } catch {
    // Find the first bad byte so the author can look at it.
    const ok = firstInvalidUtf8(input);
    const prefix = new TextDecoder("utf-8").decode(input.subarray(0, ok));
    const lines = prefix.split("\n");
    return {
      problem: `not valid UTF-8 text (bad byte 0x${input[ok]?.toString(16).padStart(2, "0")} at offset ${ok})`,
      line: lines.length,
      column: (lines.at(-1)?.length ?? 0) + 1,
      suggestion: "save the template as UTF-8",
      unread: "not UTF-8 text",
    };
  }
}

/**
 * LF or CRLF line endings. A carriage return on its own (old Mac OS line
 * endings, or a stray byte) is a line break to one YAML parser and part of a
 * value to the other, so it is refused rather than guessed at.
 */
function lineEndingsChecked(text: string): DecodedText {
  const lone = /\r(?!\n)/.exec(text);
  if (!lone) return { text };
  const lines = text.slice(0, lone.index).split("\n");
  return {
    problem: "a carriage return (\\r) without a line feed: templates use LF or CRLF line endings",
    line: lines.length,
    column: (lines.at(-1)?.length ?? 0) + 1,
    suggestion: "save the file with LF (or CRLF) line endings",
    unread: "a carriage return without a line feed",
  };
}

/**
 * The offset of the first byte of the first ill-formed sequence (the
 * well-formed byte sequences of the Unicode Standard, table 3-7): the byte an
 * author should look at, such as the Latin-1 `é` (0xe9) before a newline,
 * rather than the newline where a decoder gives up.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const continuation = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (continuation === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= continuation; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += continuation + 1;
  }
  return bytes.length;
}
