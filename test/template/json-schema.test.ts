import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { addRuleKeywords, templateJsonSchema } from "../../src/template/json-schema.js";
import { parseTemplate } from "../../src/template/load.js";
import { crossFieldRules, type JsonSchemaFragment, type Rule } from "../../src/template/rules.js";
import { YAML_CHECKS_NOT_IN_JSON_SCHEMA } from "../../src/template/yaml-document.js";
import { ROOT, runCli, scratchDir } from "../helpers/cli.js";
import { INVALID, templateText, VALID } from "./schema-corpus.js";

/**
 * The committed JSON Schema, read by an independent validator (ajv, draft
 * 2020-12, formats asserted as validators that check them do), must refuse
 * every template the CLI refuses and accept every template it accepts. The
 * only exceptions are the rules JSON Schema cannot say (`notInJsonSchema` in
 * rules.ts, listed in the README): the schema accepts those templates and the
 * CLI refuses them.
 */
const committed = JSON.parse(readFileSync(join(ROOT, "schemas", "template.schema.json"), "utf8")) as Record<string, unknown>;
// strictRequired is ajv's own taste (it wants `required` names declared beside it); `oneOf: [{ required }]` is plain JSON Schema.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(committed);

/** An editor's YAML language server hands the schema the YAML 1.2 data, as the CLI reads it. */
function schemaErrors(text: string): string[] {
  return validate(parseYaml(text)) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ""}`);
}

/** The paths the library's loader reports errors at (warnings are lint's, not the schema's). */
function cliErrorPaths(text: string): string[] {
  const problems = parseTemplate(text, "templates/case.yml").problems.filter((problem) => problem.severity === "error");
  return [...new Set(problems.map((problem) => problem.path))].sort();
}

/** The rules across fields JSON Schema cannot say, and the checks of how the YAML is written (it sees only the data). */
const notInJsonSchema = new Map(
  [...crossFieldRules, ...YAML_CHECKS_NOT_IN_JSON_SCHEMA].flatMap((rule) => (rule.notInJsonSchema === undefined ? [] : [[rule.name, rule.notInJsonSchema] as const])),
);
const expressed = INVALID.filter((c) => !notInJsonSchema.has(c.rule));
const exceptions = INVALID.filter((c) => notInJsonSchema.has(c.rule));

const shipped = (dir: string) =>
  readdirSync(join(ROOT, dir))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => ({ name: `${dir}/${name}`, text: readFileSync(join(ROOT, dir, name), "utf8") }));
const VALID_TEXTS = [...VALID.map((v) => ({ name: v.name, text: templateText(v) })), ...shipped("templates"), ...shipped("test/fixtures/templates"), ...shipped("test/fixtures/fleet-templates")];

describe("each rule across fields in the generated schema", () => {
  const ruleSaying = (...fragments: JsonSchemaFragment[]): Rule => ({ name: "test-rule", check: () => undefined, jsonSchema: () => fragments });

  it("adds its keywords at its path: a field, every item (*), inside the { name, owners } form", () => {
    const schema = templateJsonSchema();
    addRuleKeywords(schema, [
      ruleSaying(
        { at: ["validation_tests", "*", "name"], schema: { maxLength: 1 } },
        { at: ["base_ami", "source", "owners"], schema: { maxItems: 1 } },
        { at: ["tags", "*"], schema: { minLength: 2 } },
      ),
    ]);
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(JSON.stringify(properties.validation_tests!.items)).toContain('"maxLength":1');
    expect(JSON.stringify(properties.base_ami!.properties)).toContain('"maxItems":1');
    expect(properties.tags!.additionalProperties).toMatchObject({ type: "string", minLength: 2 });
  });

  it("refuses a path the schema lacks, and a keyword already there, naming the rule", () => {
    expect(() => addRuleKeywords(templateJsonSchema(), [ruleSaying({ at: ["validaton_tests"], schema: { uniqueItems: true } })])).toThrow(
      "rule test-rule: the template schema has no validaton_tests",
    );
    expect(() => addRuleKeywords(templateJsonSchema(), [ruleSaying({ at: ["regions"], schema: { uniqueItems: false } })])).toThrow(
      "rule test-rule: the template schema already has uniqueItems there",
    );
  });
});

describe("the corpus", () => {
  it("has over 40 invalid templates, named once each, and a case for every rule across fields", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
    expect(new Set(INVALID.map((c) => c.name)).size).toBe(INVALID.length);
    const rules = [...crossFieldRules, ...YAML_CHECKS_NOT_IN_JSON_SCHEMA].map((rule) => rule.name);
    expect(rules.filter((rule) => !INVALID.some((c) => c.rule === rule))).toEqual([]);
    expect(INVALID.map((c) => c.rule).filter((rule) => rule !== "field" && !rules.includes(rule))).toEqual([]);
  });

  it("has an invalid case for every field of the template", () => {
    const fields = Object.keys(committed.properties as object);
    expect(fields.filter((field) => !INVALID.some((c) => c.at.some((path) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`))))).toEqual([]);
  });
});

describe("the committed JSON Schema and the CLI agree", () => {
  it("the schema compiles under ajv's strict mode (no unknown keyword or format, no keyword on a type it cannot apply to)", () => {
    const strict = new Ajv2020({ strict: true, strictRequired: false });
    addFormats.default(strict);
    expect(() => strict.compile(committed)).not.toThrow();
  });

  it.each(expressed.map((c) => [c.name, c] as const))("both refuse: %s", (_name, c) => {
    const text = templateText(c);
    expect(cliErrorPaths(text)).toEqual([...c.at].sort());
    expect(schemaErrors(text)).not.toEqual([]);
  });

  it.each(exceptions.map((c) => [c.name, c] as const))("only the CLI refuses (JSON Schema cannot say it): %s", (_name, c) => {
    const text = templateText(c);
    expect(cliErrorPaths(text)).toEqual([...c.at].sort());
    // When this fails the schema has learnt to say the rule: drop its notInJsonSchema, give it jsonSchema, and move the README's line.
    expect(schemaErrors(text), notInJsonSchema.get(c.rule)).toEqual([]);
  });

  it.each(VALID_TEXTS.map((v) => [v.name, v.text] as const))("both accept: %s", (_name, text) => {
    expect(cliErrorPaths(text)).toEqual([]);
    expect(schemaErrors(text)).toEqual([]);
  });

  it("the README names every rule that JSON Schema cannot say, where it tells editors flag mistakes", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("flag mistakes as you type"), readme.indexOf("### Credentials"));
    expect([...notInJsonSchema.keys()].filter((rule) => !section.includes(`\`${rule}\``))).toEqual([]);
  });
});

describe("the built CLI agrees with the schema on the whole corpus", () => {
  type Verdict = "accepts" | "refuses";
  const cases = [
    ...INVALID.map((c, i) => ({ id: `invalid-${i + 1}`, name: c.name, text: templateText(c), cli: "refuses", schema: notInJsonSchema.has(c.rule) ? "accepts" : "refuses" })),
    ...VALID.map((v, i) => ({ id: `valid-${i + 1}`, name: v.name, text: templateText(v), cli: "accepts", schema: "accepts" })),
  ];
  let dir: ReturnType<typeof scratchDir>;
  let status: number;
  let report: { templates: { id: string; valid: boolean }[]; exitCode: number };
  beforeAll(() => {
    dir = scratchDir(Object.fromEntries(cases.map((c) => [`templates/${c.id}.yml`, c.text])));
    const result = runCli(["ami", "lint", "--json", "--no-cache"], { cwd: dir.dir });
    status = result.status;
    report = JSON.parse(result.stdout) as typeof report;
  });
  afterAll(() => dir.cleanup());

  it("checks every template, exits 2 and writes one JSON document", () => {
    expect(status).toBe(2);
    expect(report.exitCode).toBe(2);
    expect(report.templates.map((t) => t.id).sort()).toEqual(cases.map((c) => c.id).sort());
  });

  it("refuses every invalid template and accepts every valid one, as the schema does but for the rules it cannot say", () => {
    const cli = new Map(report.templates.map((t): [string, Verdict] => [t.id, t.valid ? "accepts" : "refuses"]));
    const schema = (text: string): Verdict => (schemaErrors(text).length === 0 ? "accepts" : "refuses");
    const wrong = cases.filter((c) => cli.get(c.id) !== c.cli || schema(c.text) !== c.schema).map((c) => `${c.name}: the CLI ${cli.get(c.id)}, the schema ${schema(c.text)}`);
    expect(wrong).toEqual([]);
  });
});
