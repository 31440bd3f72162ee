import { createHash, randomBytes, randomUUID } from "node:crypto";

/** A fresh resource id such as `i-0a1b2c3d4e5f60718` (17 hex digits, like AWS). */
export function randomId(prefix: string): string {
  return `${prefix}-0${randomBytes(8).toString("hex")}`;
}

/** A resource id derived from a seed, so seeded resources keep their ids. */
export function stableId(prefix: string, seed: string): string {
  return `${prefix}-0${createHash("sha256").update(seed).digest("hex").slice(0, 16)}`;
}

export function requestId(): string {
  return randomUUID();
}

/** An IAM unique id such as `AROA` + 17 upper-case characters. */
export function iamUniqueId(prefix: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = randomBytes(17);
  let out = prefix;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
