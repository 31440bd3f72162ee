import { describe, expect, it } from "vitest";
import { describeAge, describeLimit, durationFlag, parseDuration } from "../src/duration.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("describeLimit: a --max-age as given, never rounded", () => {
  it.each([
    ["90s", "1 minute 30 seconds"],
    ["1s", "1 second"],
    ["60s", "1 minute"],
    ["30m", "30 minutes"],
    ["36h", "1 day 12 hours"],
    ["7d", "7 days"],
    ["2w", "14 days"],
    ["100000s", "1 day 3 hours 46 minutes 40 seconds"],
  ])("%s → %s", (text, words) => {
    expect(describeLimit(parseDuration(text)!)).toBe(words);
  });

  it("every limit a flag can give reads back as exactly its milliseconds", () => {
    const units = { second: S, minute: M, hour: H, day: D } as Record<string, number>;
    for (const text of ["1s", "59s", "61s", "3599s", "3601s", "86399s", "1439m", "25h", "999999d", "999999w", "999999s"]) {
      const ms = parseDuration(text)!;
      const back = [...describeLimit(ms).matchAll(/(\d+) (second|minute|hour|day)s?/g)].reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
      expect(back, text).toBe(ms);
    }
  });
});

describe("describeAge: the largest unit and the one below, rounded down", () => {
  it.each([
    [0, "0 seconds"],
    [40 * S + 900, "40 seconds"],
    [95 * S, "1 minute 35 seconds"],
    [3 * M, "3 minutes"],
    [9 * D + M, "9 days"],
    [9 * D + 5 * H + 59 * M, "9 days 5 hours"],
    [2 * H + 30 * S, "2 hours"],
    [729 * D + 23 * H, "729 days 23 hours"],
    [730.5 * D, "2.0 years"],
    [60568 * H + 31 * M, "6.9 years"],
  ])("%s ms → %s", (ms, words) => {
    expect(describeAge(ms)).toBe(words);
  });

  it("an age just past a limit does not read as that limit", () => {
    expect(describeAge(95 * S)).not.toBe(describeLimit(90 * S));
    expect(describeAge(3 * M + 10 * S)).not.toBe(describeLimit(90 * S));
  });
});

describe("durationFlag", () => {
  it("writes a duration as the flags take it, so that parseDuration reads it back", () => {
    for (const text of ["1s", "59s", "30m", "90m", "2h", "36h", "1d", "6d", "1w", "2w"]) {
      expect(durationFlag(parseDuration(text)!), text).toBe(text);
    }
  });

  it("takes the largest unit that divides the duration exactly", () => {
    expect(durationFlag(7_200_000)).toBe("2h");
    expect(durationFlag(5_400_000)).toBe("90m");
    expect(durationFlag(86_400_000)).toBe("1d");
    expect(durationFlag(1_209_600_000)).toBe("2w");
    expect(durationFlag(90_000)).toBe("90s");
  });
});
