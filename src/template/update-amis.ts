import { CwsError, type ExitCode } from "../errors.js";
import { ownSlot, ownValue, setOwn } from "../own-keys.js";
import { templateAt, usableRecord } from "../registry/operations.js";
import { readRegistry } from "../registry/store.js";
import type { RegistryTemplate } from "../registry/schema.js";
import { renderAmisBlock, spliceAmisBlock, writeTemplateAtomically, type AmiMap } from "./amis-block.js";
import { templateContentHash } from "./content-hash.js";
import { parseTemplate, type ParsedTemplate } from "./load.js";
import { formatProblem } from "./problems.js";
import { readTemplate, selectTemplateFiles, templateNameProblems, type TemplateFile } from "./repository.js";
import type { Architecture, Template } from "./schema.js";

/**
 * `cws ami update-templates`: write each template's current AMIs (registry
 * `templates[id].amis[region][arch].ami_id`) into an `amis:` block of its YAML.
 * The block is edited as text (amis-block.ts); the result is parsed and
 * validated again before anything is written, and must have the intended AMIs
 * and the same content hash.
 *
 * What a user would expect, decided:
 * - The block mirrors the registry for what the template builds now: only the
 *   template's `regions` × `base_ami.architecture`. Registry AMIs for other
 *   regions or architectures are skipped (and mentioned); block entries the
 *   registry no longer has, or that the template no longer builds, are removed.
 * - Only validated AMIs are written: for each region and architecture, the AMI
 *   `resolveAmi` returns (`usableRecord`: the current AMI when validated, else
 *   the newest validated one in its history). An entry with no validated AMI
 *   is skipped (and mentioned) as if the registry had none.
 * - A template the registry has never heard of (no `templates[id]`) is left
 *   exactly as it is, block or not: the registry says nothing about it (a
 *   registry from another account, a renamed template, a hand-written block),
 *   and deleting data on no evidence would surprise. It is reported as
 *   unregistered, and `--check` does not count it as stale.
 * - A template the registry knows but with no AMI for anything the template
 *   builds loses its block: the registry positively says there is no current
 *   AMI. The header comment this command wrote with the block goes with it.
 * - The file is rewritten only when an AMI differs. A block that already holds
 *   the registry's AMIs is left as written (flow style, comments, key order), so
 *   a second run, and `--check` after a run, find nothing to do; `--check`
 *   reports stale exactly when a run without it would write.
 */

/** One AMI of one template, region and architecture. */
export interface AmiRef {
  template: string;
  region: string;
  architecture: Architecture;
  ami_id: string;
}

/** One difference between a template's `amis` block and the registry. */
export interface AmiChange {
  template: string;
  file: string;
  region: string;
  architecture: Architecture;
  /** What the registry has (and is written); null: nothing, so the entry is removed. */
  ami_id: string | null;
  /** What the template had; null: nothing (missing). */
  previous: string | null;
}

export interface SkippedAmi extends AmiRef {
  /** The template no longer builds this region, or this architecture; or the registry's AMI did not pass validation (and none before it did). */
  reason: "region" | "architecture" | "unvalidated";
  /** For "unvalidated": the newest validated AMI before it, written instead (none: nothing is written). */
  instead?: string;
}

export interface TemplateAmisUpdate {
  id: string;
  file: string;
  /** The registry has an entry for the template. */
  registered: boolean;
  /** The template has an `amis` key. */
  hadBlock: boolean;
  changes: AmiChange[];
  unchanged: AmiRef[];
  skipped: SkippedAmi[];
  /** The template's text before. */
  before: string;
  /** Its text after: the same string when nothing changes. */
  after: string;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The `amis` map the registry implies for a template: its AMIs for the
 * regions and architectures the template builds. Undefined when the registry
 * has no entry for the template.
 */
export function desiredAmis(id: string, template: Template, entry: RegistryTemplate | undefined): { amis: AmiMap | undefined; skipped: SkippedAmi[] } {
  if (!entry) return { amis: undefined, skipped: [] };
  const amis: AmiMap = {};
  const skipped: SkippedAmi[] = [];
  const regions = new Set<string>(template.regions);
  const architectures = new Set<string>(template.base_ami.architecture);
  for (const region of Object.keys(entry.amis).sort(compare)) {
    const byArch = ownValue(entry.amis, region) ?? {};
    for (const architecture of (Object.keys(byArch) as Architecture[]).sort(compare)) {
      const entry = ownValue(byArch, architecture);
      if (entry === undefined) continue;
      const usable = usableRecord(entry);
      const ref = { template: id, region, architecture, ami_id: entry.ami_id };
      if (!regions.has(region)) skipped.push({ ...ref, reason: "region" });
      else if (!architectures.has(architecture)) skipped.push({ ...ref, reason: "architecture" });
      else {
        if (usable?.ami_id !== entry.ami_id) skipped.push({ ...ref, reason: "unvalidated", ...(usable ? { instead: usable.ami_id } : {}) });
        if (usable) setOwn(ownSlot(amis, region, () => ({})), architecture, usable.ami_id);
      }
    }
  }
  return { amis, skipped };
}

/** Every region and architecture where `current` (the template) and `desired` (the registry) differ, sorted. */
export function diffAmis(id: string, file: string, current: AmiMap | undefined, desired: AmiMap): { changes: AmiChange[]; unchanged: AmiRef[] } {
  const changes: AmiChange[] = [];
  const unchanged: AmiRef[] = [];
  const regions = [...new Set([...Object.keys(current ?? {}), ...Object.keys(desired)])].sort(compare);
  for (const region of regions) {
    const have = ownValue(current, region) ?? {};
    const want = ownValue(desired, region) ?? {};
    const archs = [...new Set([...Object.keys(have), ...Object.keys(want)] as Architecture[])].sort(compare);
    for (const architecture of archs) {
      const previous = ownValue(have, architecture) ?? null;
      const amiId = ownValue(want, architecture) ?? null;
      if (previous === amiId) {
        if (amiId !== null) unchanged.push({ template: id, region, architecture, ami_id: amiId });
      } else {
        changes.push({ template: id, file, region, architecture, ami_id: amiId, previous });
      }
    }
  }
  return { changes, unchanged };
}

function invalidTemplate(parsed: ParsedTemplate): CwsError {
  const errors = parsed.problems.filter((p) => p.severity === "error");
  return new CwsError("TEMPLATE_INVALID", errors.map(formatProblem).join("\n"), {
    value: parsed.file,
    suggestion: "fix the template (cws ami lint shows every problem); nothing was written",
  });
}

/**
 * Work out a template's `amis:` update from its text and its registry entry.
 * Pure: reads and writes nothing. Throws a CwsError (exit 2) listing every
 * problem as `file:line:col error …` when the template is invalid.
 */
export function updateTemplateAmis(
  input: string | Uint8Array,
  file: string,
  id: string,
  entry: RegistryTemplate | undefined,
  /** The file's real size, when only its first bytes were read (readTemplate). */
  options: { size?: number } = {},
): TemplateAmisUpdate {
  const parsed = parseTemplate(typeof input === "string" ? Buffer.from(input, "utf8") : input, file, options);
  const template = parsed.template;
  if (!template || !parsed.document) throw invalidTemplate(parsed);
  const current = template.amis as AmiMap | undefined;
  const hadBlock = parsed.document.has("amis");
  const { amis, skipped } = desiredAmis(id, template, entry);
  const result: TemplateAmisUpdate = { id, file, registered: entry !== undefined, hadBlock, changes: [], unchanged: [], skipped, before: parsed.source, after: parsed.source };
  if (amis === undefined) return result;
  const { changes, unchanged } = diffAmis(id, file, current, amis);
  result.changes = changes;
  result.unchanged = unchanged;
  if (changes.length === 0) return result;

  const after = spliceAmisBlock(parsed.source, parsed.document, amis, file);
  // Never write a template that no longer means the same thing.
  const check = parseTemplate(Buffer.from(after, "utf8"), file);
  const written = (check.template?.amis ?? {}) as AmiMap;
  if (!check.template || diffAmis(id, file, written, amis).changes.length > 0 || templateContentHash(check.template) !== templateContentHash(template)) {
    throw new CwsError("TEMPLATE_EDIT_FAILED", `${file}: could not update the amis: block safely; nothing was written`, {
      value: file,
      suggestion: `write it by hand:\n${renderAmisBlock(amis)}`,
      exitCode: 1,
    });
  }
  result.after = after;
  return result;
}

export interface UpdateTemplatesOptions {
  templatesDir: string;
  registry: string;
  /** Template ids; empty: every template in the directory. */
  ids: readonly string[];
  /** Change nothing; report what differs. */
  check: boolean;
}

export interface UpdateTemplatesReport {
  check: boolean;
  /** Written (empty with --check). */
  updated: AmiChange[];
  /** Differences found with --check (empty otherwise). */
  stale: AmiChange[];
  /** AMIs the template already had. */
  unchanged: AmiRef[];
  /** Registry AMIs for regions or architectures the template does not build. */
  skipped: SkippedAmi[];
  /** Templates with no registry entry, left alone. */
  unregistered: string[];
  /** Registry template ids with no template file (only when no ids were named). */
  missing_templates: string[];
  templates: { id: string; file: string; status: "updated" | "stale" | "unchanged" | "unregistered" }[];
  /** For stderr. */
  warnings: string[];
  /** 0, or 1 with --check when something is stale. */
  exitCode: ExitCode;
}

/**
 * Read the registry and the templates, and write each template whose AMIs
 * differ (atomically, only when its text changes), or with `check` only
 * report them. A missing or invalid registry, or any invalid template, is a
 * CwsError (exit 2) and nothing is written.
 */
export async function runUpdateTemplates(options: UpdateTemplatesOptions): Promise<UpdateTemplatesReport> {
  const registry = await readRegistry(options.registry);
  if (!registry) {
    throw new CwsError("REGISTRY_MISSING", `no registry at ${options.registry}: there are no AMIs to write into the templates`, {
      value: options.registry,
      suggestion: "record the AMIs cws built with cws ami update-registry --all (or pass --registry FILE)",
    });
  }
  const files = await selectTemplateFiles(options.templatesDir, options.ids);
  if (files.length === 0) {
    throw new CwsError("NO_TEMPLATES", `no templates (*.yml or *.yaml) in ${options.templatesDir}`, {
      value: options.templatesDir,
      suggestion: "run cws from the repository root, or pass --templates-dir DIR",
    });
  }

  const report: UpdateTemplatesReport = {
    check: options.check,
    updated: [],
    stale: [],
    unchanged: [],
    skipped: [],
    unregistered: [],
    missing_templates: [],
    templates: [],
    warnings: [],
    exitCode: 0,
  };
  if (options.ids.length === 0) {
    const present = new Set(files.map((f) => f.id));
    report.missing_templates = Object.keys(registry.templates).filter((id) => !present.has(id)).sort(compare);
    for (const id of report.missing_templates) {
      report.warnings.push(`warning: the registry has template ${id}, but there is no ${id}.yml in ${options.templatesDir}; skipped`);
    }
  }

  // Everything is read and checked before anything is written.
  const invalid: string[] = [];
  const planned: { file: TemplateFile; bytes: Uint8Array; update: TemplateAmisUpdate }[] = [];
  for (const file of files) {
    // A file that is not a template (its name, or it cannot be read) is one more invalid template.
    const read = readTemplate(file);
    const unusable = [...templateNameProblems(file), "problem" in read ? read.problem : undefined].filter((p) => p !== undefined);
    if (unusable.length > 0 || !("bytes" in read)) {
      invalid.push(unusable.map(formatProblem).join("\n"));
      continue;
    }
    const { bytes, size } = read;
    try {
      planned.push({ file, bytes, update: updateTemplateAmis(bytes, file.file, file.id, templateAt(registry, file.id), { size }) });
    } catch (error) {
      if (error instanceof CwsError && error.code === "TEMPLATE_INVALID") invalid.push(error.message);
      else throw error;
    }
  }
  if (invalid.length > 0) {
    throw new CwsError("TEMPLATE_INVALID", `${invalid.length === 1 ? "a template is" : `${invalid.length} templates are`} invalid; nothing was written:\n  ${invalid.join("\n").split("\n").join("\n  ")}`, {
      suggestion: "fix them (cws ami lint shows them again)",
    });
  }

  for (const { file, bytes, update } of planned) {
    report.unchanged.push(...update.unchanged);
    report.skipped.push(...update.skipped);
    for (const s of update.skipped) {
      const why = {
        region: `the template is not built in ${s.region}`,
        architecture: `the template does not build ${s.architecture}`,
        unvalidated: `it did not pass validation; ${s.instead ? `${s.instead}, the newest validated AMI before it, is written instead` : "nor did any earlier AMI in its history"}`,
      }[s.reason];
      report.warnings.push(`note: ${s.template}: registry AMI ${s.region}.${s.architecture} = ${s.ami_id} not written: ${why}`);
    }
    if (!update.registered) {
      report.unregistered.push(update.id);
      report.templates.push({ id: update.id, file: file.file, status: "unregistered" });
      if (update.hadBlock) report.warnings.push(`note: ${update.id}: the registry has no entry for it; its amis: block is left as it is`);
      continue;
    }
    if (update.changes.length === 0) {
      report.templates.push({ id: update.id, file: file.file, status: "unchanged" });
      continue;
    }
    if (options.check) {
      report.stale.push(...update.changes);
      report.templates.push({ id: update.id, file: file.file, status: "stale" });
      continue;
    }
    if (update.after !== update.before) await writeTemplateAtomically(file.file, bytes, update.after);
    report.updated.push(...update.changes);
    report.templates.push({ id: update.id, file: file.file, status: "updated" });
  }
  report.exitCode = options.check && report.stale.length > 0 ? 1 : 0;
  return report;
}
