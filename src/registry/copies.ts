import type { Architecture } from "../template/schema.js";
import type { CopiedFrom } from "./copied-from.js";
import { REGISTRY_FIELDS } from "./fields.js";
import type { AmiRecord, Registry } from "./schema.js";
import { isoSeconds, recordAmi } from "./store.js";

/**
 * Copies in the registry: build-all builds an image once per architecture and
 * copies it to the template's other regions (src/fleet/copy.ts). Each copy is
 * an AMI of its own in its region, recorded like a build's, with `copied_from`
 * naming the region and AMI it came from.
 */

/** A record's own fields, from the field list: an entry's pin and history are not the copy's. */
const RECORD_FIELD_NAMES: readonly string[] = REGISTRY_FIELDS.record.fields.map((field) => field.name);

/** What is known of a copy once it is available (src/fleet/copy.ts's `CopyResult` is one). */
export interface RecordedCopy {
  imageId: string;
  /** EC2's creation time of the copy; `now` when not known. */
  created?: string | undefined;
  sizeGb: number;
  copiedFrom: CopiedFrom;
}

/**
 * The record of a copy: the source's record for everything about the build
 * (version, build id, base AMI, content hash, commit, validation: the copy is
 * the same image), and the copy's own AMI id, creation time and size, with
 * where it came from.
 */
export function copyRecord(source: AmiRecord, copy: RecordedCopy, now: Date): AmiRecord {
  const record: Record<string, unknown> = {};
  const fields = source as Record<string, unknown>;
  for (const name of RECORD_FIELD_NAMES) if (fields[name] !== undefined) record[name] = fields[name];
  const created = copy.created !== undefined && Number.isFinite(Date.parse(copy.created)) ? new Date(copy.created) : now;
  return {
    ...(record as AmiRecord),
    ami_id: copy.imageId,
    created: isoSeconds(created),
    size_gb: copy.sizeGb,
    copied_from: { region: copy.copiedFrom.region, ami_id: copy.copiedFrom.ami_id },
  };
}

/**
 * Make a copy the current AMI for its template, region and architecture
 * (`recordAmi`: the previous one goes to history). `record` must say where it
 * was copied from, and from another region.
 */
export function recordCopy(
  registry: Registry,
  templateId: string,
  template: Parameters<typeof recordAmi>[2],
  region: string,
  architecture: Architecture,
  record: AmiRecord,
): void {
  const from = record.copied_from;
  if (from === undefined) throw new Error(`recordCopy: ${record.ami_id} has no copied_from; record a build with recordAmi`);
  if (from.region === region) throw new Error(`recordCopy: ${record.ami_id} is said to be copied from ${from.region}, its own region`);
  recordAmi(registry, templateId, template, region, architecture, record);
}
