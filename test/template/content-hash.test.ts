import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { templateContentHash, templateImageHash } from "../../src/template/content-hash.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * Two hashes of a template: what it means (templateContentHash: update-templates checks a rewritten
 * file still means the same) and what goes into its image (templateImageHash: the build cache), which
 * leaves out where the image goes and what only the registry reads.
 */
const hashes = (text: string) => {
  const template = parseTemplate(Buffer.from(text), "t.yml").template;
  if (!template) throw new Error(`invalid: ${text}`);
  return { meaning: templateContentHash(template), image: templateImageHash(template) };
};

describe("a template's hashes", () => {
  const base = hashes(VALID_TEMPLATE);

  it.each([
    ["regions in another order", VALID_TEMPLATE.replace("regions: [us-east-1, us-west-2]", "regions: [us-west-2, us-east-1]")],
    ["a region more", VALID_TEMPLATE.replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-west-2, eu-central-1]")],
    ["other ports", VALID_TEMPLATE.replace("ports: [22]", "ports: [22, 8787]")],
    ["another estimated cost", VALID_TEMPLATE.replace("x86_64: 0.0416", "x86_64: 0.05")],
  ])("%s: the same image, another meaning", (_what, text) => {
    const changed = hashes(text);
    expect(changed.image).toBe(base.image);
    expect(changed.meaning).not.toBe(base.meaning);
  });

  it.each([
    ["a script", VALID_TEMPLATE.replace("echo ready >", "echo ready now >")],
    ["a test", VALID_TEMPLATE.replace('expected: "ready"', 'expected_contains: "ready"')],
    ["an architecture less", VALID_TEMPLATE.replace("architecture: [x86_64, arm64]", "architecture: [x86_64]").replace("  arm64: 0.0336\n", "")],
    ["the version", VALID_TEMPLATE.replace('version: "1.0.0"', 'version: "1.0.1"')],
  ])("%s: another image", (_what, text) => {
    expect(hashes(text).image).not.toBe(base.image);
  });

  it("comments, formatting and key order change neither", () => {
    const same = hashes(`# a comment\n${VALID_TEMPLATE.replace('name: "Test Environment"\ndescription: "A template for tests"', 'description:   "A template for tests"\nname: "Test Environment"   # inline')}`);
    expect(same).toEqual(base);
  });
});
