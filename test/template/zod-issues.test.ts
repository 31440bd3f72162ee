import type * as z from "zod";
import { describe, expect, it } from "vitest";
import { AWS_REGIONS } from "../../src/template/regions.js";
import { reporter } from "../../src/template/yaml-document.js";
import { issueRules, rewriteIssue } from "../../src/template/zod-issues.js";

const report = reporter("t.yml", () => ({ line: 1, column: 1, exact: true }));
const messages = (issue: z.core.$ZodIssue, data: unknown) => rewriteIssue(issue, data, report).map((p) => `${p.path}: ${p.message}`);
const invalidValue = (path: PropertyKey[], values: readonly string[], input: string) =>
  ({ code: "invalid_value", path, values: [...values], input, message: "Invalid option" }) as z.core.$ZodIssue;

describe("rewriteIssue", () => {
  it("knows the region enum by the schema at the issue's path, not by how many values it lists", () => {
    // Another enum as long as the region list, naming us-east-1: not a region question.
    const architecture = invalidValue(["base_ami", "architecture", 0], AWS_REGIONS, "us-esat-1");
    expect(messages(architecture, { base_ami: { architecture: ["us-esat-1"] } })).toEqual([
      `base_ami.architecture[0]: expected one of ${AWS_REGIONS.join(", ")}, got a string ("us-esat-1") (did you mean "us-east-1"?)`,
    ]);
    // The region enum, whatever its issue lists.
    const region = invalidValue(["regions", 0], ["us-east-1"], "us-esat-1");
    expect(messages(region, { regions: ["us-esat-1"] })).toEqual([`regions[0]: "us-esat-1" is not an AWS region (did you mean "us-east-1"?)`]);
  });

  it("keeps zod's message for an issue no rule recognises", () => {
    const custom = { code: "custom", path: ["name"], message: "a message of the schema's own", input: "x" } as z.core.$ZodIssue;
    expect(messages(custom, { name: "x" })).toEqual(["name: a message of the schema's own"]);
  });

  it("names each rule once", () => {
    const names = issueRules.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
