import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema, configSchema } from "../src/config/config-schema.js";
import { quickCheckConfig } from "../src/config/fields.js";
import { priceFileJsonSchema } from "../src/fleet/price-file.js";
import { formatJson, registryJsonSchema, templateJsonSchema, templateReferenceMarkdown } from "../src/template/json-schema.js";
import { ROOT } from "./helpers/cli.js";

describe("generated files (run `npm run schemas` when these fail)", () => {
  it("schemas/template.schema.json matches the zod schema", () => {
    const committed = readFileSync(join(ROOT, "schemas", "template.schema.json"), "utf8");
    expect(committed).toBe(formatJson(templateJsonSchema()));
  });

  it("schemas/registry.schema.json matches the zod schema", () => {
    const committed = readFileSync(join(ROOT, "schemas", "registry.schema.json"), "utf8");
    expect(committed).toBe(formatJson(registryJsonSchema()));
  });

  it("schemas/config.schema.json matches the zod schema of cws.config.json", () => {
    const committed = readFileSync(join(ROOT, "schemas", "config.schema.json"), "utf8");
    expect(committed).toBe(formatJson(configJsonSchema()));
  });

  it("schemas/prices.schema.json matches the zod schema of a price file", () => {
    const committed = readFileSync(join(ROOT, "schemas", "prices.schema.json"), "utf8");
    expect(committed).toBe(formatJson(priceFileJsonSchema()));
  });

  it("the README's example cws.config.json is a valid config, with every key", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration"));
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as Record<string, unknown>;
    expect(configSchema.safeParse(example).success).toBe(true);
    expect(quickCheckConfig(example)).toBe(true);
    expect(Object.keys(example).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("the README's template reference matches the zod schema", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("<!-- template-reference:start");
    const end = readme.indexOf("<!-- template-reference:end -->");
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(readme.indexOf("\n", start) + 1, end);
    expect(section).toBe(templateReferenceMarkdown());
  });

  it("describes every field, so editors can show help for each", () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [name, child] of Object.entries(properties ?? {})) {
        const where = path === "" ? name : `${path}.${name}`;
        if (typeof child.description !== "string" || child.description === "") missing.push(where);
        walk(child, where);
        const items = child.items as Record<string, unknown> | undefined;
        if (items) walk(items, `${where}[]`);
        for (const branch of (child.anyOf as Record<string, unknown>[] | undefined) ?? []) walk(branch, where);
      }
    };
    walk(templateJsonSchema(), "");
    walk(configJsonSchema(), "config:");
    walk(priceFileJsonSchema(), "prices:");
    expect(missing).toEqual([]);
  });
});
