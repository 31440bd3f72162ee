/**
 * How many terminal columns text takes, so that a line redrawn in place can be
 * cut to the terminal's width and never wrap (a wrapped line would break the
 * redraw: the cursor would no longer go back to where the block began). When
 * in doubt a character counts as wide: a line cut a column short costs
 * nothing, a line one column too long corrupts the screen.
 */

// Zero width: combining marks; zero-width spaces, joiner and marks, and variation selectors are checked by code point.
const COMBINING = /^[\p{Mn}\p{Me}]$/u;
// Two columns: emoji and other pictographs (some terminals draw them narrow; wide is the safe guess), and East Asian wide and full-width characters.
const WIDE = /^[\p{Extended_Pictographic}\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F000}-\u{1FAFF}\u{20000}-\u{3FFFD}]$/u;

export function charWidth(char: string): 0 | 1 | 2 {
  const code = char.codePointAt(0) ?? 0;
  if ((code >= 0x200b && code <= 0x200f) || code === 0x2060 || (code >= 0xfe00 && code <= 0xfe0f) || COMBINING.test(char)) return 0;
  return WIDE.test(char) ? 2 : 1;
}

export function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** Control characters (escape sequences, line breaks, tabs) replaced by spaces: text from outside (a step name, an error) must not move the cursor. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001F\u007F-\u009F]/g, " ");
}

/** A piece of a line and how to colour it. */
export interface Segment {
  text: string;
  style?: (text: string) => string;
}

/**
 * The segments as one line of at most `width` columns: whatever does not fit
 * is cut, and the cut is marked with "…". Styles are applied after cutting,
 * so an escape sequence is never cut in half.
 */
export function fitSegments(segments: readonly Segment[], width: number): string {
  const total = segments.reduce((sum, segment) => sum + textWidth(segment.text), 0);
  if (total <= width) return segments.map((segment) => (segment.style ? segment.style(segment.text) : segment.text)).join("");
  // Room for the ellipsis.
  let room = Math.max(0, width - 1);
  let line = "";
  for (const segment of segments) {
    let kept = "";
    for (const char of segment.text) {
      const w = charWidth(char);
      if (w > room) {
        room = 0;
        break;
      }
      kept += char;
      room -= w;
    }
    if (kept !== "") line += segment.style ? segment.style(kept) : kept;
    if (room === 0) break;
  }
  return width > 0 ? `${line}…` : "";
}
