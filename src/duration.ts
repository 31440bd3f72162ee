/**
 * Durations, both ways, in one place. Imports nothing.
 *
 * Typed (`--max-age 7d`): a whole number and one unit, s, m, h, d or w. One
 * rule for every flag and setting that takes one, so each accepts the same
 * spellings; ages and limits are described back in the same words (`describeAge`, `describeLimit`).
 *
 * Read (`formatDuration`): a duration as people read it in progress lines and
 * results: `42s`, `3m 5s`, `1h 2m`. One formatter for the build's output, the
 * fleet's live lines and tables and the cost details, so the same time reads
 * the same everywhere.
 */
const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const UNIT_NAMES: Record<keyof typeof UNITS, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week" };

export const DURATION_PATTERN = /^([1-9][0-9]{0,5})([smhdw])$/;

export const DURATION_EXAMPLES = "90s, 30m, 12h, 7d or 2w";

/** A duration's number is more than zero: `0d` is a duration the pattern refuses for that reason alone. */
export const ZERO_DURATION_PATTERN = /^0+[smhdw]$/;

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

/**
 * An age in its largest unit and the one below, rounded down: "9 days 5
 * hours", "1 minute 30 seconds", "40 seconds". Two units, so an age just past
 * a limit does not read as the limit (one unit read 95 seconds as "1 minute").
 * From two years on, in years to a tenth, rounded down ("6.9 years"): the
 * days of such an age are a number nobody reads.
 */
export function describeAge(ms: number): string {
  const years = Math.floor(ms / UNITS.d / 365.25 * 10) / 10;
  if (years >= 2) return `${years.toFixed(1)} years`;
  const counts = unitCounts(ms);
  const first = counts.findIndex(([, count]) => count > 0);
  return first === -1 ? "0 seconds" : inWords(counts.slice(first, first + 2));
}

/**
 * A limit (`--max-age 90s`) exactly, in every unit it has: "90s" reads "1
 * minute 30 seconds", "36h" "1 day 12 hours", "2w" "14 days". Never rounded:
 * a message that says what a limit allows must say the limit given.
 */
export function describeLimit(ms: number): string {
  return inWords(unitCounts(ms)) || "0 seconds";
}

/** Whole days, hours, minutes and seconds in `ms`. Not weeks: "2 weeks" of age hides whether it is 14 or 20 days. */
function unitCounts(ms: number): [keyof typeof UNITS, number][] {
  let rest = Math.max(0, Math.floor(ms / UNITS.s)) * UNITS.s;
  return (["d", "h", "m", "s"] as const).map((unit) => {
    const count = Math.floor(rest / UNITS[unit]);
    rest -= count * UNITS[unit];
    return [unit, count];
  });
}

function inWords(counts: readonly [keyof typeof UNITS, number][]): string {
  return counts
    .filter(([, count]) => count > 0)
    .map(([unit, count]) => `${count} ${UNIT_NAMES[unit]}${count === 1 ? "" : "s"}`)
    .join(" ");
}

/** Seconds as people read them in output: `42s`, `3m 5s`, `1h 2m`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${total % 60}s`;
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
