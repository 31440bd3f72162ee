/**
 * Reading the emulator's request log (`requestLog: { file }`, one JSON
 * record a line; packages/aws-emulator README, "Request log"): what AWS
 * would have received, EC2's query parameters flat as they arrived.
 */
import { existsSync, readFileSync } from "node:fs";
import type { RequestRecord } from "@cws/aws-emulator";

export type { RequestRecord };

export function readRequestLog(file: string): RequestRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as RequestRecord);
}

/** A query request's parameters (EC2, STS, IAM: flat strings); fails on anything else (an SSM body, an undecodable one). */
export function queryParams(call: RequestRecord): Record<string, string> {
  const params = call.params;
  if (params === null || Object.values(params).some((value) => typeof value !== "string")) {
    throw new Error(`not a query request's parameters: ${describeCall(call)}`);
  }
  return params as Record<string, string>;
}

/** The call as an assertion shows it: which one, where, and every parameter it carried. */
export function describeCall(call: RequestRecord): string {
  return `request #${call.seq} ${call.service ?? "?"}:${call.action ?? "?"} in ${call.region} (HTTP ${call.status}${call.error ? ` ${call.error}` : ""}) with ${JSON.stringify(call.params, null, 2)}`;
}

/** `<prefix>.M.Key` / `<prefix>.M.Value` as a map (a tag without a value is ""), e.g. CreateTags' `Tag.1.Key`. */
export function tagsAt(params: Record<string, string>, prefix: string): Record<string, string> {
  const keys = new Map<string, string>();
  const values = new Map<string, string>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)\\.(Key|Value)$`);
  for (const [name, value] of Object.entries(params)) {
    const match = pattern.exec(name);
    if (match) (match[2] === "Key" ? keys : values).set(match[1]!, value);
  }
  const tags: Record<string, string> = {};
  for (const [index, key] of keys) tags[key] = values.get(index) ?? "";
  return tags;
}

/**
 * `TagSpecification.N.ResourceType` with its `TagSpecification.N.Tag.M.Key/Value`:
 * the tags each resource type is given at creation. A type named in two
 * specifications gets both's tags.
 */
export function tagSpecifications(params: Record<string, string>): Map<string, Record<string, string>> {
  const byType = new Map<string, Record<string, string>>();
  for (const [name, resourceType] of Object.entries(params)) {
    const match = /^TagSpecification\.(\d+)\.ResourceType$/.exec(name);
    if (!match) continue;
    byType.set(resourceType, { ...byType.get(resourceType), ...tagsAt(params, `TagSpecification.${match[1]!}.Tag`) });
  }
  return byType;
}
