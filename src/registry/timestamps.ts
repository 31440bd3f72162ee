/**
 * The registry's times (`created`, `validated_at`, `rolled_back_at`,
 * `last_updated`): ISO 8601 in UTC, as `Date.prototype.toISOString` writes
 * them, with or without the milliseconds (cws writes whole seconds):
 * `2026-11-26T10:30:00Z` or `2026-11-26T10:30:00.000Z`. Only UTC (`Z`): an
 * offset or a date alone would make two ways of writing one time, and the
 * registry orders AMIs by time. No imports: `cws ami list`'s quick check uses it.
 */
export const TIMESTAMP_EXAMPLE = "2026-11-26T10:30:00Z";

export const TIMESTAMP_RULE = `expected an ISO 8601 UTC time such as ${TIMESTAMP_EXAMPLE} (Date.toISOString's form, milliseconds optional; a day and time that exist, no leap second)`;

/**
 * The form, with the calendar as far as a pattern can say it: months 01-12,
 * the days each month has, hours 00-23, no leap second (JavaScript's Date has
 * none). February 29th matches; `isIsoTimestamp` checks its year.
 */
export const TIMESTAMP =
  /^\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31|02-29)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{3})?Z$/;

/**
 * A real time in that form: no 2026-02-30, no 24:00:00, no leap second.
 * `cws ami list` checks every time in the registry with it: one regular
 * expression test, and a look at the year only for February 29th.
 */
export function isIsoTimestamp(value: unknown): value is string {
  if (typeof value !== "string" || !TIMESTAMP.test(value)) return false;
  if (!value.startsWith("02-29", 5)) return true;
  const year = Number(value.slice(0, 4));
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Earlier first, by the time itself (`…:00Z` and `…:00.000Z` are one time), then by the text, so that the order is total. */
export function compareTimestamps(a: string, b: string): number {
  return Date.parse(a) - Date.parse(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The form cws writes: whole seconds, UTC. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
