import * as z from "zod";
import { registrySchema } from "../registry/schema.js";
import { templateSchema } from "./schema.js";

/**
 * The JSON Schema editors use (through the `# yaml-language-server: $schema=`
 * line of each template). Generated from the input side of the zod schema, so
 * fields with defaults are optional, as an author writes them.
 */
export function templateJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(templateSchema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as Record<string, unknown>;
  return { $schema: schema.$schema, title: "CloudWorkstation AMI template", ...schema };
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
