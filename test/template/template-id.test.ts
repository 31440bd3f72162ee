import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageNameFor } from "../../src/builder/context.js";
import { ssmParameterName } from "../../src/registry/operations.js";
import { isTemplateId, suggestTemplateId, TEMPLATE_ID_MAX_LENGTH, templateIdProblem } from "../../src/template/template-id.js";
import { ROOT } from "../helpers/cli.js";

describe("template ids", () => {
  it("accepts lowercase words of letters and digits joined by single hyphens, starting with a letter", () => {
    for (const id of ["r-research", "python-research", "a", "t", "emu-basic", "r2", "cuda12-pytorch2", "x".repeat(TEMPLATE_ID_MAX_LENGTH)]) {
      expect(isTemplateId(id), id).toBe(true);
      expect(templateIdProblem(id), id).toBeUndefined();
    }
  });

  it("refuses every other class of name, saying the rule", () => {
    const refused = [
      "Bad Name", // space, capitals
      "R-Research", // capitals
      "r_research", // underscore
      "r.research", // dot
      "2fa-tools", // starts with a digit
      "-r", // starts with a hyphen
      "r-", // ends with a hyphen
      "r--research", // double hyphen
      "", // empty
      "résumé", // non-ASCII
      "r/research", // a path
      "x".repeat(TEMPLATE_ID_MAX_LENGTH + 1), // too long
      "con\u0000", // control character
    ];
    for (const id of refused) {
      expect(isTemplateId(id), JSON.stringify(id)).toBe(false);
      expect(templateIdProblem(id), JSON.stringify(id)).toContain("lowercase letters, digits and single hyphens, starting with a letter, at most 32 characters");
    }
    expect(templateIdProblem("x".repeat(40))).toContain("(it has 40 characters)");
  });

  it("suggests the id a name was probably meant to be, only when that is one", () => {
    expect(suggestTemplateId("Bad Name")).toBe("bad-name");
    expect(suggestTemplateId("R_Research")).toBe("r-research");
    expect(suggestTemplateId("my--template-")).toBe("my-template");
    expect(suggestTemplateId("2fa tools")).toBeUndefined(); // no id without changing what it says
    expect(suggestTemplateId("r-research")).toBeUndefined();
    expect(suggestTemplateId("123")).toBeUndefined();
    expect(suggestTemplateId("x".repeat(40))).toBe("x".repeat(32));
  });

  it("holds for every shipped template and test fixture", () => {
    for (const dir of ["templates", join("test", "fixtures", "templates")]) {
      for (const name of readdirSync(join(ROOT, dir))) expect(isTemplateId(name.replace(/\.ya?ml$/, "")), name).toBe(true);
    }
  });

  it("keeps the image name within EC2's 128 characters for the longest id and version cws accepts, the build id whole (only the version is cut)", () => {
    const id = "a".repeat(TEMPLATE_ID_MAX_LENGTH);
    const version = "v".repeat(64); // the longest --version build accepts
    const buildId = "20261126t083000z-4f2a1c";
    const name = imageNameFor({ request: { templateId: id, version, architecture: "x86_64" }, buildId });
    expect(name).toBe(`cws-${id}-${"v".repeat(60)}-x86_64-${buildId}`);
    expect(name.length).toBe(128);
    expect(imageNameFor({ request: { templateId: "r-research", version: "v1.2.0", architecture: "arm64" }, buildId })).toBe(`cws-r-research-v1.2.0-arm64-${buildId}`);
    // Builds started in the same second (each region's, two runs) differ in the build id's random suffix, hence in name.
    expect(imageNameFor({ request: { templateId: id, version, architecture: "x86_64" }, buildId: "20261126t083000z-000001" })).not.toBe(name);
    // The SSM parameter path allows letters, digits, _ . - and /.
    expect(ssmParameterName(id, "us-east-1", "x86_64")).toMatch(/^[A-Za-z0-9_.\-/]+$/);
  });
});
