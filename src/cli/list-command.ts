import type { ImageInfo } from "../aws/ports.js";
import type { ProjectAwsConfig } from "../config/aws-context.js";
import { projectAwsConfig } from "../config/settings.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import {
  applyDrift,
  buildRows,
  driftText,
  hasDrift,
  liveImagesInRegion,
  liveRegions,
  quickRegistry,
  summarizeDrift,
  type ListFilter,
  type ListRow,
} from "../registry/list.js";
import { parseJsonText, stripBom } from "../registry/json-text.js";
import { readRegistryText } from "../registry/registry-file.js";
import type { Registry } from "../registry/schema.js";
import type { Architecture } from "../template/schema.js";
import { colorLevel, type CliIO, type GlobalOptions } from "./io.js";

/**
 * `cws ami list`. Without --live this reads one JSON file: no AWS SDK, no YAML
 * parser and, for a valid registry, not even zod, so it starts about as fast
 * as the CLI can. With --live the SDK is loaded and every region is asked at once.
 */

/**
 * What `readRegistry` returns, faster: JSON.parse and the quick check, and
 * only for a registry the quick check does not accept, the zod schema
 * (`parseRegistry`), which names what is wrong (exit 2) or accepts it.
 */
export async function loadRegistry(file: string): Promise<Registry | undefined> {
  // Synchronous on purpose: one file, and nothing else to do meanwhile (fs/promises reads a large file in several round trips).
  const text = readRegistryText(file);
  if (text === undefined) return undefined;
  // The same reading as every other command's (a byte-order mark ignored, repeated keys refused); parseRegistry places any problem.
  const json = parseJsonText(stripBom(text));
  const quick = json.problem ? undefined : quickRegistry(json.value);
  if (quick !== undefined) return quick;
  const { parseRegistry } = await import("../registry/store.js");
  return parseRegistry(text, file);
}

export interface ListOptions {
  filter: ListFilter;
  live: boolean;
  profile: string | undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Commander's options → a filter (their values were checked against the command table before this module was loaded). */
export async function resolveListOptions(raw: Record<string, unknown>, env: CliIO["env"], project?: ProjectAwsConfig): Promise<ListOptions> {
  // --live asks every registry region (--region only narrows them): only the profile is needed, and only then
  // (loaded only then, too: the value checks of a --profile load it lazily, so in the entry it would be a chunk of its own).
  const live = raw.live === true;
  let profile: string | undefined;
  if (live) {
    const { awsClientProfile, resolveAwsContext } = await import("../config/aws-context.js");
    profile = awsClientProfile(await resolveAwsContext({ profile: text(raw.profile), project }, env)).profile;
  }
  return { filter: { template: text(raw.template), region: text(raw.region), architecture: text(raw.architecture) as Architecture | undefined }, live, profile };
}

/** The few styles the table uses; a chalk instance is one, and so is `PLAIN`. */
export interface Styles {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const same = (text: string) => text;
export const PLAIN: Styles = { bold: same, dim: same, red: same, green: same, yellow: same };

/** chalk only when colour is on: without it, nothing to load. */
async function stylesFor(level: 0 | 1 | 2 | 3): Promise<Styles> {
  if (level === 0) return PLAIN;
  const { Chalk } = await import("chalk");
  return new Chalk({ level });
}

const HEADERS = ["TEMPLATE", "VERSION", "REGION", "ARCH", "AMI", "CREATED", "VALIDATED", "SIZE"];
const VALIDATED_COLUMN = 6;
const SIZE_COLUMN = 7;
const COPIED_FROM = "COPIED FROM";

/**
 * Plain aligned columns, two spaces apart, no trailing blanks; COPIED FROM
 * (the region a copy came from, `-` for an image built where it is) when any
 * row is a copy; DRIFT last with --live.
 */
export function formatTable(rows: readonly ListRow[], options: { live: boolean; chalk: Styles }): string {
  const { chalk, live } = options;
  const copies = rows.some((row) => row.copied_from !== undefined);
  const headers = [...HEADERS, ...(copies ? [COPIED_FROM] : []), ...(live ? ["DRIFT"] : [])];
  const last = headers.length - 1;
  // The cells that are not plain fields, then the widths: one pass each, no per-cell arrays (cold code, 800 rows).
  const versions = rows.map((row) => row.version || "-");
  const sizes = rows.map((row) => `${row.size_gb} GiB`);
  const sources = copies ? rows.map((row) => row.copied_from?.region ?? "-") : [];
  const drifts = live ? rows.map((row) => driftText(row.drift) || "-") : [];
  const width = (values: readonly string[], header: string) => values.reduce((max, value) => (value.length > max ? value.length : max), header.length);
  const widths = [
    width(rows.map((row) => row.template), "TEMPLATE"),
    width(versions, "VERSION"),
    width(rows.map((row) => row.region), "REGION"),
    width(rows.map((row) => row.architecture), "ARCH"),
    width(rows.map((row) => row.ami_id), "AMI"),
    width(rows.map((row) => row.created), "CREATED"),
    "VALIDATED".length,
    width(sizes, "SIZE"),
    ...(copies ? [width(sources, COPIED_FROM)] : []),
  ];
  const pad = (value: string, column: number) => (column === last ? value : value + " ".repeat(widths[column]! - value.length));
  const lines = [headers.map((header, column) => chalk.bold(pad(header, column))).join("  ")];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const validated = pad(row.validated ? "yes" : "no", VALIDATED_COLUMN);
    let line =
      `${pad(row.template, 0)}  ${pad(versions[i]!, 1)}  ${pad(row.region, 2)}  ${pad(row.architecture, 3)}  ${pad(row.ami_id, 4)}  ` +
      `${pad(row.created, 5)}  ${row.validated ? validated : chalk.yellow(validated)}  ${pad(sizes[i]!, SIZE_COLUMN)}`;
    if (copies) line += `  ${pad(sources[i]!, SIZE_COLUMN + 1)}`;
    if (live) {
      const cell = drifts[i]!;
      const drift = row.drift;
      if (drift === undefined) line += `  ${cell}`;
      else if (drift.length === 0) line += `  ${chalk.green(cell)}`;
      else line += `  ${drift.some((d) => d.kind === "gone" || d.kind === "not-available") ? chalk.red(cell) : chalk.yellow(cell)}`;
    }
    lines.push(line);
  }
  return `${lines.join("\n")}\n`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** The --live verdict: one line, and what to do when AWS and the registry disagree. */
export function formatDriftSummary(rows: readonly ListRow[], regions: readonly string[], chalk: Styles): string {
  const summary = summarizeDrift(rows);
  const where = `${plural(regions.length, "region")}${regions.length ? ` (${regions.join(", ")})` : ""}`;
  if (!hasDrift(summary)) {
    const checked = rows.filter((row) => row.drift !== undefined).length;
    return `${chalk.green("✔")} no drift: ${plural(checked, "registry AMI")} checked against AWS in ${where}\n`;
  }
  const parts = [
    summary.gone ? `${summary.gone} gone` : "",
    summary.notAvailable ? `${summary.notAvailable} not available` : "",
    summary.newer ? `${summary.newer} newer` : "",
    summary.untracked ? `${summary.untracked} untracked (${plural(summary.untrackedAmis, "AMI")})` : "",
  ].filter(Boolean);
  return (
    `${chalk.red("✖")} drift: ${parts.join(", ")} in ${where}\n` +
    chalk.dim("  → cws ami update-registry brings the registry in line with AWS; cws ami build replaces a gone AMI\n")
  );
}

/** Every region at once; credential and permission problems become their CwsError (exit 2), anything else exit 1 naming the region. */
async function fetchLiveImages(regions: readonly string[], rows: readonly ListRow[], options: ListOptions): Promise<Map<string, ImageInfo[]>> {
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws = createAwsPorts(options.profile !== undefined ? { profile: options.profile } : {});
  const results = await Promise.allSettled(
    regions.map((region) =>
      liveImagesInRegion(aws.ec2(region), new Set(rows.filter((row) => row.region === region).map((row) => row.ami_id)), options.filter.template),
    ),
  );
  const live = new Map<string, ImageInfo[]>();
  const failures: { region: string; error: unknown }[] = [];
  results.forEach((result, index) => {
    const region = regions[index]!;
    if (result.status === "fulfilled") live.set(region, result.value);
    else failures.push({ region, error: result.reason });
  });
  for (const failure of failures) {
    const described = describeAwsError(failure.error);
    if (described) throw described;
  }
  const first = failures[0];
  if (first) {
    const message = first.error instanceof Error ? first.error.message : String(first.error);
    throw new CwsError("AWS_LIST_FAILED", `could not list the cws images in ${failures.map((f) => f.region).join(", ")}: ${message}`, {
      value: first.region,
      exitCode: EXIT.failed,
      cause: first.error,
    });
  }
  return live;
}

function describeFilter(filter: ListFilter): string {
  const parts = [
    filter.template !== undefined ? `--template ${filter.template}` : "",
    filter.region !== undefined ? `--region ${filter.region}` : "",
    filter.architecture !== undefined ? `--architecture ${filter.architecture}` : "",
  ].filter(Boolean);
  return parts.length ? ` match ${parts.join(" ")}` : "";
}

/**
 * `--template` names a template the registry has no entry for: fine for one
 * in the templates directory (nothing built yet), else a usage error with the
 * nearest id, as for every command that takes one.
 */
async function checkTemplateKnown(id: string, registry: Registry, globals: GlobalOptions): Promise<void> {
  const { listTemplateFilesIfAny, templateNotFound } = await import("../template/repository.js");
  const templates = (await listTemplateFilesIfAny(globals.templatesDir)).map((file) => file.id);
  if (!templates.includes(id)) throw templateNotFound(id, `${globals.templatesDir} or ${globals.registry}`, [...new Set([...templates, ...Object.keys(registry.templates)])]);
}

export async function runListCommand(raw: Record<string, unknown>, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  const options = await resolveListOptions(raw, io.env, projectAwsConfig(globals.project));
  const { filter, live } = options;
  const found = await loadRegistry(globals.registry);
  if (found === undefined) {
    io.stderr.write(
      `no registry at ${globals.registry}: no AMIs have been recorded yet\n` +
        "  → build one with cws ami build <template>, or record the AMIs already in AWS with cws ami update-registry --all\n",
    );
  }
  const registry: Registry = found ?? { version: "1.0", last_updated: "", templates: {} };

  if (filter.template !== undefined && !Object.hasOwn(registry.templates, filter.template)) await checkTemplateKnown(filter.template, registry, globals);

  let rows = buildRows(registry, filter);
  const regions = live ? liveRegions(registry, filter) : [];
  if (regions.length) rows = await applyDrift(registry, rows, filter, await fetchLiveImages(regions, rows, options));
  if (live && !regions.length) io.stderr.write("--live: the registry has no regions to check; pass --region to check one\n");

  if (found !== undefined && rows.length === 0) io.stderr.write(`no AMIs in ${globals.registry}${describeFilter(filter)}\n`);

  const drift = regions.length > 0 && hasDrift(summarizeDrift(rows));
  if (globals.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    if (regions.length) io.stderr.write(formatDriftSummary(rows, regions, await stylesFor(colorLevel({ ...io, stdout: io.stderr }, globals.color))));
  } else {
    const chalk = await stylesFor(colorLevel(io, globals.color));
    if (rows.length) io.stdout.write(formatTable(rows, { live: regions.length > 0, chalk }));
    if (regions.length) io.stdout.write(formatDriftSummary(rows, regions, chalk));
  }
  return drift ? EXIT.failed : EXIT.ok;
}
