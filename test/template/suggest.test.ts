import { describe, expect, it } from "vitest";
import { ARCHITECTURE_SYNONYMS, ARCHITECTURES } from "../../src/template/architectures.js";
import { AWS_REGIONS, regionProblem } from "../../src/template/regions.js";
import { closest, didYouMean, editDistance, synonymOf } from "../../src/template/suggest.js";

describe("did you mean", () => {
  it("counts a transposition as one edit", () => {
    expect(editDistance("validaton_tests", "validation_tests")).toBe(1);
    expect(editDistance("us-esat-1", "us-east-1")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("names the architecture another name means, not the nearest spelling (amd64 is nearer arm64 than x86_64)", () => {
    expect(editDistance("amd64", "arm64")).toBeLessThan(editDistance("amd64", "x86_64"));
    const cases: [string, string][] = [
      ["amd64", "x86_64"],
      ["AMD64", "x86_64"],
      ["x64", "x86_64"],
      ["x86-64", "x86_64"],
      ["aarch64", "arm64"],
      ["arm", "arm64"],
      ["Graviton", "arm64"],
    ];
    for (const [input, meant] of cases) {
      expect(closest(input, ARCHITECTURES), input).toBe(meant);
      expect(didYouMean(input, ARCHITECTURES), input).toBe(` (did you mean "${meant}"? EC2's name for ${input})`);
    }
    // Every synonym means one of the architectures, and none is one itself.
    for (const [synonym, meaning] of Object.entries(ARCHITECTURE_SYNONYMS)) {
      expect(ARCHITECTURES, synonym).toContain(meaning);
      // Worded the right way round for every one: the suggestion is EC2's name, the input the other name.
      expect(didYouMean(synonym, ARCHITECTURES), synonym).toBe(` (did you mean "${meaning}"? EC2's name for ${synonym})`);
      expect(ARCHITECTURES, synonym).not.toContain(synonym);
    }
  });

  it("uses a synonym only where what it means is a candidate", () => {
    expect(synonymOf("amd64", ["arm64"])).toBeUndefined();
    expect(closest("amd64", ["arm64"])).toBe("arm64");
    expect(didYouMean("amd64", ["us-east-1", "eu-west-1"])).toBe("");
    // Names of Object.prototype are not synonyms.
    expect(synonymOf("constructor", ["x86_64"])).toBeUndefined();
    expect(synonymOf("toString", ARCHITECTURES)).toBeUndefined();
  });

  it("suggests a typo's nearest candidate and nothing for what is too far off", () => {
    expect(didYouMean("x86", ["cleanup", "abort"])).toBe("");
    expect(didYouMean("abrt", ["cleanup", "abort"])).toBe(' (did you mean "abort"?)');
    expect(didYouMean("r-reserch", ["r-research", "python-research"])).toBe(' (did you mean "r-research"?)');
    expect(didYouMean("completely-different", ["r-research"])).toBe("");
    expect(didYouMean("anything", [])).toBe("");
  });
});

describe("regionProblem: one rule for a region in a template, a flag, the environment or cws.config.json", () => {
  it("accepts every listed region and refuses anything else, with the nearest for a typo", () => {
    for (const region of AWS_REGIONS) expect(regionProblem(region), region).toBeUndefined();
    expect(regionProblem("us-esat-1")).toBe('not an AWS region (did you mean "us-east-1"?)');
    expect(regionProblem("US-EAST-1")).toBe('not an AWS region (did you mean "us-east-1"?)');
    expect(regionProblem("mars-1")).toBe("not an AWS region");
    expect(regionProblem("")).toBe("not an AWS region");
    expect(regionProblem("us-east-1 ")).toBe('not an AWS region (did you mean "us-east-1"?)');
  });
});
