import { expect } from "vitest";

/**
 * Each expected line exactly once on the screen (the line starting with
 * `start`, matching `line`), in the order given: what is left after every
 * redraw, with no stale copy. Returns the index of the last.
 */
export function expectOnceInOrder(screen: readonly string[], expected: readonly { start: string; line: RegExp }[]): number {
  let at = -1;
  for (const { start, line } of expected) {
    const found = screen.map((text, i) => [text, i] as const).filter(([text]) => text.startsWith(start));
    expect({ start, lines: found.map(([text]) => text) }).toEqual({ start, lines: [expect.stringMatching(line)] });
    expect(found[0]![1], `${start} comes after the line before it`).toBeGreaterThan(at);
    at = found[0]![1];
  }
  return at;
}
