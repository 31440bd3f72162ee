import { isAmiId } from "../template/architectures.js";

/**
 * Where a copy came from, said once for the tag on the image and the
 * registry's `copied_from`: build-all tags every copy (and its snapshots)
 * `cws:copied-from=<region>/<AMI id>`, so `update-registry` rebuilds the
 * registry's `copied_from` from AWS as it does every other field.
 */
export const COPIED_FROM_TAG = "cws:copied-from";

export interface CopiedFrom {
  region: string;
  ami_id: string;
}

/** The tag's value: `us-east-1/ami-0abcd1234ef567890`. */
export function copiedFromTagValue(from: CopiedFrom): string {
  return `${from.region}/${from.ami_id}`;
}

/** The tag's value read back; undefined for anything else (a tag written by hand, say). */
export function parseCopiedFromTag(value: string | undefined): CopiedFrom | undefined {
  if (value === undefined) return undefined;
  const slash = value.indexOf("/");
  const region = value.slice(0, slash);
  const amiId = value.slice(slash + 1);
  return slash > 0 && isAmiId(amiId) ? { region, ami_id: amiId } : undefined;
}
