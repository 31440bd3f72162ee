/**
 * What every adapter shares: turning SDK exceptions into `AwsCallError`, walking
 * token-paged results, and the small conversions between the project's tag
 * records and AWS tag lists.
 */
import { setOwn } from "../own-keys.js";
import { AwsCallError, type Tags } from "./ports.js";

/**
 * The AWS error code of an SDK exception, for a service whose SDK names
 * exceptions differently from the codes AWS documents; undefined for the
 * default (the exception's name).
 */
export type CodeOf = (error: Error) => string | undefined;

function httpStatusOf(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === "number" ? metadata.httpStatusCode : undefined;
}

/**
 * Any thrown value as an `AwsCallError` named after the AWS error code. SDK
 * service exceptions carry the code as `name`; a Node network error is named
 * plain "Error" with the useful part in `code` (ECONNREFUSED, ENOTFOUND), so
 * that is used instead.
 */
export function toAwsCallError(error: unknown, action: string, codeOf?: CodeOf): AwsCallError {
  if (error instanceof AwsCallError) return error;
  if (!(error instanceof Error)) return new AwsCallError("UnknownError", action, String(error));
  const systemCode = (error as { code?: unknown }).code;
  const code = codeOf?.(error) ?? (error.name === "Error" && typeof systemCode === "string" ? systemCode : error.name);
  const converted = new AwsCallError(code || "UnknownError", action, error.message, httpStatusOf(error));
  // Kept so the CLI can still reach the SDK exception (its service class, request id) for advice and debugging.
  converted.cause = error;
  return converted;
}

/** Runs one SDK call; whatever it throws comes out as an `AwsCallError` for `action`. */
export async function awsCall<T>(action: string, run: () => Promise<T>, codeOf?: CodeOf): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toAwsCallError(error, action, codeOf);
  }
}

export interface Page<T> {
  items: readonly T[] | undefined;
  /** Token for the next page; undefined or empty when this was the last one. */
  next: string | undefined;
}

/**
 * Every item of a token-paged listing. Each page is requested with a fresh
 * input (unlike the SDK's paginators, which mutate one input object), and a
 * token that comes back twice stops the walk with an error instead of looping
 * for ever.
 */
export async function collectPages<T>(action: string, fetchPage: (token: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    all.push(...(page.items ?? []));
    token = page.next || undefined;
    if (token !== undefined) {
      if (seen.has(token)) throw new AwsCallError("RepeatedPageToken", action, "the service returned the same page token twice");
      seen.add(token);
    }
  } while (token !== undefined);
  return all;
}

/** A field AWS documents as always present; its absence is a broken response, not a missing resource. */
export function required<T>(value: T | undefined | null, action: string, field: string): T {
  if (value === undefined || value === null) {
    throw new AwsCallError("IncompleteResponse", action, `the response has no ${field}`);
  }
  return value;
}

export function toTagList(tags: Tags): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function toTagRecord(list: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): Tags {
  const tags: Tags = {};
  for (const { Key, Value } of list ?? []) {
    // Defined, not assigned: a tag called __proto__ is a tag, and a lookup of a tag (own-keys.ts) finds only real ones.
    if (Key !== undefined) setOwn(tags, Key, Value ?? "");
  }
  return tags;
}
