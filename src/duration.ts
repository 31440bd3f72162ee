/**
 * Durations, both ways, in one place. Imports nothing.
 *
 * Typed (`--max-age 7d`): a whole number and one unit, s, m, h, d or w. One
 * rule for every flag and setting that takes one, so each accepts the same
 * spellings; ages are described back in the same words (`describeAge`).
 *
 * Read (`formatDuration`): a duration as people read it in progress lines and
 * results: `42s`, `3m 5s`, `1h 2m`. One formatter for the build's output, the
 * fleet's live lines and tables and the cost details, so the same time reads
 * the same everywhere.
 */
const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const UNIT_NAMES: Record<keyof typeof UNITS, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week" };

export const DURATION_PATTERN = /^([1-9][0-9]{0,5})([smhdw])$/;

export const DURATION_EXAMPLES = "30m, 12h, 7d or 2w";

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  return match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : undefined;
}

/** A duration as the flags take it, in the largest unit that divides it exactly: 7200000 ms is `2h`, 5400000 ms `90m` (parseDuration's inverse). */
export function durationFlag(ms: number): string {
  const units = Object.entries(UNITS).reverse() as [keyof typeof UNITS, number][];
  const [unit, size] = units.find(([, size]) => ms >= size && ms % size === 0) ?? ["s", UNITS.s];
  return `${Math.round(ms / size)}${unit}`;
}

/** An age in the largest unit that fits at least once, rounded down: "9 days", "1 hour", "40 seconds". */
export function describeAge(ms: number): string {
  const units = Object.entries(UNITS).reverse() as [keyof typeof UNITS, number][];
  for (const [unit, size] of units) {
    const count = Math.floor(ms / size);
    // Weeks read badly for ages: "2 weeks" hides whether it is 14 or 20 days.
    if (count >= 1 && unit !== "w") return `${count} ${UNIT_NAMES[unit]}${count === 1 ? "" : "s"}`;
  }
  return "0 seconds";
}

/** Seconds as people read them in output: `42s`, `3m 5s`, `1h 2m`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${total % 60}s`;
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
