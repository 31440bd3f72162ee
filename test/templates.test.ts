import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runLint } from "../src/template/check.js";
import { ROOT } from "./helpers/cli.js";

const TEMPLATES_DIR = join(ROOT, "templates");
const SHIPPED = ["basic-ubuntu", "bioinformatics", "python-research", "r-research", "scientific-computing"];

describe("shipped templates", () => {
  it("include the five the design names", () => {
    const ids = readdirSync(TEMPLATES_DIR)
      .filter((name) => name.endsWith(".yml"))
      .map((name) => name.replace(/\.yml$/, ""));
    expect(ids).toEqual(expect.arrayContaining(SHIPPED));
  });

  it("lint clean with --strict", async () => {
    const report = await runLint(TEMPLATES_DIR, [], { strict: true });
    expect(report.problems).toEqual([]);
    expect(report.exitCode).toBe(0);
  });

  it.each(SHIPPED)("%s points editors at the JSON Schema and bakes in no password", (id) => {
    const text = readFileSync(join(TEMPLATES_DIR, `${id}.yml`), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=../schemas/template.schema.json");
    expect(text).not.toMatch(/chpasswd|--password|cloudworkstation"? *\|/);
    expect(text).toMatch(/first boot|first-boot|firstboot/i);
  });
});
