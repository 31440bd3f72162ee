/**
 * A tiny XML writer for the EC2 query and awsQuery protocols. Values are
 * plain objects whose keys are the wire element names; arrays become a
 * wrapper element holding one `<item>` (EC2) or `<member>` (awsQuery)
 * element per entry. `undefined` and `null` are left out.
 */
export type XmlValue = string | number | boolean | Date | null | undefined | XmlNode | readonly XmlValue[];
export interface XmlNode {
  readonly [key: string]: XmlValue;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\r": "&#13;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => ESCAPES[c] ?? c);
}

export function renderElement(name: string, value: XmlValue, itemName: string): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) {
    const items = (value as readonly XmlValue[]).map((v) => renderElement(itemName, v, itemName)).join("");
    return `<${name}>${items}</${name}>`;
  }
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === "object") return `<${name}>${renderChildren(value as XmlNode, itemName)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function renderChildren(node: XmlNode, itemName: string): string {
  let out = "";
  for (const [key, value] of Object.entries(node)) out += renderElement(key, value, itemName);
  return out;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
