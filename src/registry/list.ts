import type { Ec2Port, ImageInfo } from "../aws/ports.js";
import type { Architecture } from "../template/schema.js";
import { REGISTRY_FIELDS } from "./fields.js";
import { compileQuickCheck } from "./quick-check.js";
import type { Registry } from "./schema.js";

/**
 * `cws ami list`: the registry as rows, and (with --live) how AWS differs from
 * it. Everything here is pure except `liveImagesInRegion`, which talks to one
 * region's EC2 port; the CLI layer prints, and maps errors to exit codes.
 *
 * What only --live needs (aws-images.ts, ports.ts) is imported when --live
 * runs: every module file costs a plain `cws ami list` start-up time.
 */

/**
 * The quick path for reading the registry (docs/decisions.md §8 does the same
 * for templates): `cws ami list` reads the whole file on every run, and
 * loading zod (with the template schema it imports) and running it cold over
 * 800 AMIs takes longer than Node's own start-up. So a plain check compiled
 * from the registry's field list runs first (quick-check.ts); anything it does
 * not accept goes to the zod schema, which either accepts it too or names
 * every problem with its line.
 */
let quickCheck: ((data: unknown) => boolean) | undefined;

/** The parsed JSON as a registry when it plainly is one; undefined means "ask the zod schema". */
export function quickRegistry(data: unknown): Registry | undefined {
  quickCheck ??= compileQuickCheck(REGISTRY_FIELDS);
  return quickCheck(data) ? (data as Registry) : undefined;
}

export interface ListFilter {
  template?: string | undefined;
  region?: string | undefined;
  architecture?: Architecture | undefined;
}

/** How AWS disagrees with one row (a registry entry, or AMIs the registry lacks). */
export type Drift =
  /** The registry's AMI does not exist in AWS. */
  | { kind: "gone" }
  /** It exists but is not `available` (pending, failed, ...). */
  | { kind: "not-available"; state: string }
  /** A validated, available cws AMI newer than the registry's exists, and the registry does not name it. */
  | { kind: "newer"; ami_id: string; name: string; version?: string; created: string }
  /** cws AMIs for a template, region and architecture the registry has no entry for (newest first). */
  | { kind: "untracked"; ami_ids: string[] };

export type DriftKind = Drift["kind"];

export interface ListRow {
  template: string;
  version: string;
  region: string;
  architecture: string;
  ami_id: string;
  created: string;
  validated: boolean;
  size_gb: number;
  name?: string;
  /** For a copy build-all made from another region's image: that region and AMI. */
  copied_from?: { region: string; ami_id: string };
  /** Only with --live: empty when AWS agrees with the registry. */
  drift?: Drift[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type SortKey = Pick<ListRow, "template" | "region" | "architecture" | "ami_id">;
const byKey = (a: SortKey, b: SortKey) =>
  compare(a.template, b.template) || compare(a.region, b.region) || compare(a.architecture, b.architecture) || compare(a.ami_id, b.ami_id);

/** Template, region, architecture (then AMI id, so the order is total). */
export function sortRows<T extends SortKey>(rows: T[]): T[] {
  // A registry written by cws is already in this order (except arm64 before x86_64 — also this order): one pass checks.
  for (let i = 1; i < rows.length; i++) if (byKey(rows[i - 1]!, rows[i]!) > 0) return rows.sort(byKey);
  return rows;
}

function matches(filter: ListFilter, template: string, region: string, architecture: string): boolean {
  return (
    (filter.template === undefined || filter.template === template) &&
    (filter.region === undefined || filter.region === region) &&
    (filter.architecture === undefined || filter.architecture === architecture)
  );
}

/** One row per template, region and architecture in the registry that passes the filter, sorted. */
export function buildRows(registry: Registry, filter: ListFilter = {}): ListRow[] {
  const rows: ListRow[] = [];
  // for...in rather than Object.entries: no [key, value] arrays to allocate and collect (800 rows, cold code).
  const templates = registry.templates;
  for (const templateId in templates) {
    const template = templates[templateId]!;
    if (filter.template !== undefined && filter.template !== templateId) continue;
    const amis = template.amis;
    for (const region in amis) {
      const byArch = amis[region]!;
      for (const key in byArch) {
        const architecture = key as Architecture;
        const entry = byArch[architecture];
        if (entry === undefined || !matches(filter, templateId, region, architecture)) continue;
        const row: ListRow = {
          template: templateId,
          version: entry.version ?? template.version,
          region,
          architecture,
          ami_id: entry.ami_id,
          created: entry.created,
          validated: entry.validated,
          size_gb: entry.size_gb,
        };
        if (entry.name !== undefined) row.name = entry.name;
        if (entry.copied_from !== undefined) row.copied_from = entry.copied_from;
        rows.push(row);
      }
    }
  }
  return sortRows(rows);
}

/**
 * The regions --live asks: every region that appears in the registry (any
 * template, so that untracked AMIs of a filtered template are found wherever
 * the registry has AMIs), restricted by --region; a region named with --region
 * is asked even when the registry has nothing there.
 */
export function liveRegions(registry: Registry, filter: ListFilter = {}): string[] {
  if (filter.region !== undefined) return [filter.region];
  const regions = new Set<string>();
  for (const template of Object.values(registry.templates)) for (const region of Object.keys(template.amis)) regions.add(region);
  return [...regions].sort(compare);
}

/** AMI ids the registry names in a region (current and history, every template), by region. */
export function registryIdsByRegion(registry: Registry): Map<string, Set<string>> {
  const byRegion = new Map<string, Set<string>>();
  for (const template of Object.values(registry.templates)) {
    for (const [region, byArch] of Object.entries(template.amis)) {
      const ids = byRegion.get(region) ?? new Set<string>();
      byRegion.set(region, ids);
      for (const entry of Object.values(byArch)) {
        if (entry === undefined) continue;
        ids.add(entry.ami_id);
        for (const old of entry.history ?? []) ids.add(old.ami_id);
      }
    }
  }
  return byRegion;
}

/**
 * What one region holds: every cws image (all pages), plus the registry's
 * AMIs that the cws listing lacks, looked up by id. An image whose cws tags
 * were removed (or that was recorded by hand) still exists, and must not be
 * called gone; only "not found" from EC2 makes an AMI gone.
 */
export async function liveImagesInRegion(ec2: Ec2Port, registryIds: ReadonlySet<string>, templateId?: string): Promise<ImageInfo[]> {
  const { listCwsImages } = await import("./aws-images.js");
  const images = await listCwsImages(ec2, templateId);
  const seen = new Set(images.map((image) => image.imageId));
  const missing = [...registryIds].filter((id) => !seen.has(id)).sort(compare);
  // One call per 200 ids (EC2's limit on a filter's values): the image-id filter leaves out
  // ids that do not exist instead of failing, so whatever does not come back is gone.
  const batches: string[][] = [];
  for (let i = 0; i < missing.length; i += 200) batches.push(missing.slice(i, i + 200));
  const found = await Promise.all(batches.map((ids) => ec2.describeImages({ anyOfImageIds: ids })));
  return [...images, ...found.flat().filter((image) => image.imageId !== "" && !seen.has(image.imageId))];
}

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/** The template and architecture an image says it belongs to, from its cws tags. */
function imageKey(image: ImageInfo): { template: string; architecture: string } | undefined {
  const template = image.tags["cws:template"];
  if (template === undefined || template === "") return undefined;
  return { template, architecture: image.tags["cws:arch"] ?? image.architecture };
}

/**
 * The rows with drift marked, plus one row per template/region/architecture
 * that has cws AMIs in AWS but no registry entry (showing the newest of them).
 * Only regions in `live` are judged; rows in other regions are returned as
 * they are, without a `drift` field.
 */
export async function applyDrift(registry: Registry, rows: readonly ListRow[], filter: ListFilter, live: ReadonlyMap<string, readonly ImageInfo[]>): Promise<ListRow[]> {
  const [{ newestValidated, normalizeDate, recordFromImage }, { entryAt }] = await Promise.all([import("./aws-images.js"), import("./lookup.js")]);
  const out: ListRow[] = [];
  for (const row of rows) {
    const images = live.get(row.region);
    if (images === undefined) {
      out.push({ ...row });
      continue;
    }
    const entry = entryAt(registry, row.template, row.region, row.architecture);
    const named = new Set([row.ami_id, ...(entry?.history ?? []).map((h) => h.ami_id)]);
    const drift: Drift[] = [];
    const current = images.find((image) => image.imageId === row.ami_id);
    if (current === undefined) drift.push({ kind: "gone" });
    else if (current.state !== "available") drift.push({ kind: "not-available", state: current.state || "unknown" });
    // Newer than the current AMI as AWS dates it (the registry's date when it is gone).
    const since = current ? time(current.creationDate) : time(row.created);
    const candidates = images.filter((image) => !named.has(image.imageId) && time(image.creationDate) > since);
    const newer = newestValidated(candidates, row.template, row.architecture as Architecture);
    if (newer) {
      const version = newer.tags["cws:version"];
      drift.push({ kind: "newer", ami_id: newer.imageId, name: newer.name, ...(version ? { version } : {}), created: normalizeDate(newer.creationDate) });
    }
    out.push({ ...row, drift });
  }
  out.push(...untrackedRows(registry, filter, live, recordFromImage, entryAt));
  return sortRows(out);
}

function untrackedRows(
  registry: Registry,
  filter: ListFilter,
  live: ReadonlyMap<string, readonly ImageInfo[]>,
  recordFromImage: (image: ImageInfo) => ReturnType<typeof import("./aws-images.js").recordFromImage>,
  entryAt: typeof import("./lookup.js").entryAt,
): ListRow[] {
  const namedIds = registryIdsByRegion(registry);
  const rows: ListRow[] = [];
  for (const [region, images] of live) {
    const named = namedIds.get(region) ?? new Set<string>();
    const groups = new Map<string, { template: string; architecture: string; images: ImageInfo[] }>();
    for (const image of images) {
      const key = imageKey(image);
      if (key === undefined || named.has(image.imageId)) continue;
      if (!matches(filter, key.template, region, key.architecture)) continue;
      // Tag values are anyone's text (cws:template=constructor, =toString): looked up as the registry's own keys only.
      if (entryAt(registry, key.template, region, key.architecture) !== undefined) continue;
      const id = `${key.template}\u0000${key.architecture}`;
      const group = groups.get(id) ?? { ...key, images: [] };
      groups.set(id, group);
      group.images.push(image);
    }
    for (const group of groups.values()) {
      const newestFirst = group.images.sort((a, b) => time(b.creationDate) - time(a.creationDate) || compare(b.imageId, a.imageId));
      const record = recordFromImage(newestFirst[0]!);
      rows.push({
        template: group.template,
        version: record.version ?? "",
        region,
        architecture: group.architecture,
        ami_id: record.ami_id,
        created: record.created,
        validated: record.validated,
        size_gb: record.size_gb,
        ...(record.name ? { name: record.name } : {}),
        drift: [{ kind: "untracked", ami_ids: newestFirst.map((image) => image.imageId) }],
      });
    }
  }
  return rows;
}

export interface DriftSummary {
  gone: number;
  notAvailable: number;
  newer: number;
  /** Template/region/architecture combinations with untracked AMIs. */
  untracked: number;
  /** The AMIs in them. */
  untrackedAmis: number;
  /** Rows with any drift. */
  rows: number;
}

export function summarizeDrift(rows: readonly ListRow[]): DriftSummary {
  const summary: DriftSummary = { gone: 0, notAvailable: 0, newer: 0, untracked: 0, untrackedAmis: 0, rows: 0 };
  for (const row of rows) {
    if (row.drift?.length) summary.rows++;
    for (const drift of row.drift ?? []) {
      if (drift.kind === "gone") summary.gone++;
      else if (drift.kind === "not-available") summary.notAvailable++;
      else if (drift.kind === "newer") summary.newer++;
      else {
        summary.untracked++;
        summary.untrackedAmis += drift.ami_ids.length;
      }
    }
  }
  return summary;
}

export function hasDrift(summary: DriftSummary): boolean {
  return summary.rows > 0;
}

/** The DRIFT cell: `ok`, or every finding, comma-separated. */
export function driftText(drift: readonly Drift[] | undefined): string {
  if (drift === undefined) return "";
  if (drift.length === 0) return "ok";
  return drift
    .map((d) => {
      switch (d.kind) {
        case "gone":
          return "gone";
        case "not-available":
          return `not-available (${d.state})`;
        case "newer":
          return `newer: ${d.ami_id}${d.version ? ` (${d.version})` : ""}`;
        case "untracked":
          return d.ami_ids.length === 1 ? "untracked" : `untracked (${d.ami_ids.length} AMIs)`;
      }
    })
    .join(", ");
}
