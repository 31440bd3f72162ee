import { describe, expect, it } from "vitest";
import { durationFlag, parseDuration } from "../src/duration.js";

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
