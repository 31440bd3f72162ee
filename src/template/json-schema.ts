import * as z from "zod";
import { registrySchema } from "../registry/schema.js";
import { crossFieldRules, type JsonSchema, type Path, type Rule } from "./rules.js";
import { templateSchema } from "./schema.js";

/**
 * The JSON Schema editors use (through the `# yaml-language-server: $schema=`
 * line of each template). Generated from the input side of the zod schema, so
 * fields with defaults are optional, as an author writes them; then each rule
 * across fields adds the keywords that say it (rules.ts), so that the schema
 * refuses what the CLI refuses wherever JSON Schema can say it.
 */
export function templateJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(templateSchema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema;
  addRuleKeywords(schema, crossFieldRules);
  return { $schema: schema.$schema, title: "CloudWorkstation AMI template", ...schema };
}

/** Adds to a template's JSON Schema the keywords each rule says itself in. */
export function addRuleKeywords(schema: JsonSchema, rules: readonly Rule[]): void {
  for (const rule of rules) {
    for (const fragment of rule.jsonSchema?.() ?? []) addKeywords(schemaNodeAt(schema, fragment.at, rule.name), fragment.schema, rule.name);
  }
}

/** The node that validates the value at a template path: a field's, every item's (`"*"`), or the `{ name, owners }` branch's. */
function schemaNodeAt(root: JsonSchema, path: Path, rule: string): JsonSchema {
  let node = root;
  for (const segment of path) {
    const object = (node.anyOf as JsonSchema[] | undefined)?.find((branch) => branch.properties) ?? node;
    const next = segment === "*" ? (object.items ?? object.additionalProperties) : (object.properties as Record<string, JsonSchema> | undefined)?.[String(segment)];
    if (next === null || typeof next !== "object") throw new Error(`rule ${rule}: the template schema has no ${path.map(String).join(".") || "root"}`);
    node = next as JsonSchema;
  }
  return node;
}

/** Adds a rule's keywords to a node; a keyword the node already has would change its meaning, so that is a bug. */
function addKeywords(node: JsonSchema, keywords: JsonSchema, rule: string): void {
  for (const [keyword, value] of Object.entries(keywords)) {
    if (keyword in node) throw new Error(`rule ${rule}: the template schema already has ${keyword} there`);
    node[keyword] = value;
  }
}

/** The JSON Schema of registry/amis.json (output side: what cws writes). */
export function registryJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(registrySchema, { io: "output", target: "draft-2020-12", unrepresentable: "any" }) as Record<string, unknown>;
  return { $schema: schema.$schema, title: "CloudWorkstation AMI registry", ...schema };
}

/** Stable text for the committed file: 2-space indent and a trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  default?: unknown;
  additionalProperties?: JsonSchemaNode | boolean;
  propertyNames?: JsonSchemaNode;
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

/**
 * The README's template reference: one row per field, generated from the same
 * schema (a test fails when the README's copy drifts).
 */
export function templateReferenceMarkdown(): string {
  const root = templateJsonSchema() as JsonSchemaNode;
  const rows: string[] = ["| Field | Type | Required | Description |", "| --- | --- | --- | --- |"];
  const walk = (node: JsonSchemaNode, prefix: string, required: boolean) => {
    rows.push(`| \`${prefix}\` | ${typeName(node)} | ${required ? "yes" : "no"} | ${describe(node)} |`);
    if (node.properties) walkProperties(node, prefix);
    if (node.items?.properties) walkProperties(node.items, `${prefix}[]`);
    const objectBranch = node.anyOf?.find((branch) => branch.properties);
    if (objectBranch) walkProperties(objectBranch, prefix);
  };
  const walkProperties = (node: JsonSchemaNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      walk(child, prefix === "" ? name : `${prefix}.${name}`, node.required?.includes(name) ?? false);
    }
  };
  walkProperties(root, "");
  return `${rows.join("\n")}\n`;
}

function typeName(node: JsonSchemaNode): string {
  if (node.anyOf) return node.anyOf.map(typeName).join(" or ");
  if (node.enum) return node.enum.length > 6 ? "string (enum)" : node.enum.map((v) => `\`${String(v)}\``).join(" / ");
  if (node.type === "array") return `list of ${node.items ? typeName(node.items) : "any"}`;
  if (node.type === "object") {
    if (node.properties) return "mapping";
    const value = typeof node.additionalProperties === "object" ? typeName(node.additionalProperties) : "any";
    return `map of ${value}`;
  }
  if (node.type === "integer") return "integer";
  return Array.isArray(node.type) ? node.type.join(" / ") : (node.type ?? "any");
}

function describe(node: JsonSchemaNode): string {
  const parts = [node.description ?? ""];
  if (node.default !== undefined && (typeof node.default !== "object" || (Array.isArray(node.default) && node.default.length > 0))) {
    parts.push(`Default: \`${JSON.stringify(node.default)}\`.`);
  }
  return parts.join(" ").replace(/\|/g, "\\|").trim();
}
