import { ApiError, invalidParameterValue } from "./errors.js";

/**
 * Form parameters of an EC2 query or awsQuery request, flattened as they come
 * on the wire: `InstanceId.1`, `Filter.1.Name`, `Filter.1.Value.1`,
 * `Tags.member.1.Key` ...
 */
export type Params = ReadonlyMap<string, string>;

export function parseForm(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(body)) out.set(k, v);
  return out;
}

export function str(p: Params, key: string): string | undefined {
  return p.get(key);
}

export function required(p: Params, key: string): string {
  const v = p.get(key);
  if (v === undefined || v === "") throw new ApiError("MissingParameter", `The request must contain the parameter ${key}`);
  return v;
}

export function bool(p: Params, key: string): boolean | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw invalidParameterValue(`Invalid value '${v}' for ${key}. Expected a boolean.`);
}

export function int(p: Params, key: string): number | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidParameterValue(`Invalid value '${v}' for ${key}. Expected an integer.`);
  return Number(v);
}

/** `prefix.1`, `prefix.2`, ... in index order. */
export function list(p: Params, prefix: string): string[] {
  const found: Array<[number, string]> = [];
  const re = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)$`);
  for (const [k, v] of p) {
    const m = re.exec(k);
    if (m) found.push([Number(m[1]), v]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** Groups `prefix.N.rest=value` into one map per N (keys are `rest`), in index order. */
export function structs(p: Params, prefix: string): Map<string, string>[] {
  const groups = new Map<number, Map<string, string>>();
  const re = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)\\.(.+)$`);
  for (const [k, v] of p) {
    const m = re.exec(k);
    if (!m) continue;
    const n = Number(m[1]);
    let g = groups.get(n);
    if (!g) groups.set(n, (g = new Map()));
    g.set(m[2] as string, v);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

/** Keys `prefix.rest` as a map of `rest` (for nested structures such as `IamInstanceProfile.Name`). */
export function sub(p: Params, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  const start = `${prefix}.`;
  for (const [k, v] of p) if (k.startsWith(start)) out.set(k.slice(start.length), v);
  return out;
}

export interface Filter {
  name: string;
  values: string[];
}

export function filters(p: Params): Filter[] {
  return structs(p, "Filter").map((s) => {
    const name = s.get("Name");
    if (!name) throw new ApiError("InvalidParameterValue", "The filter 'null' is invalid");
    return { name, values: list(s, "Value") };
  });
}

export interface Tag {
  key: string;
  value: string;
}

export function tags(p: Params, prefix: string): Tag[] {
  return structs(p, prefix).map((s) => {
    const key = s.get("Key");
    if (key === undefined) throw new ApiError("InvalidParameterValue", "Tag key must be present");
    return { key, value: s.get("Value") ?? "" };
  });
}

export interface TagSpecification {
  resourceType: string;
  tags: Tag[];
}

export function tagSpecifications(p: Params): TagSpecification[] {
  return structs(p, "TagSpecification").map((s) => ({
    resourceType: s.get("ResourceType") ?? "",
    tags: tags(s, "Tag"),
  }));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
