import { join } from "node:path";
import { TEMPLATES_DIR_ROLE } from "../config/defaults.js";
import { CwsError } from "../errors.js";
import { isFileAccessError, readDirectoryNames, readRegularFile } from "../file-access.js";
import type { ParsedTemplate } from "./load.js";
import { fileProblem, type Problem } from "./problems.js";
import { MAX_TEMPLATE_BYTES } from "./text.js";
import { didYouMean } from "./suggest.js";
import { suggestTemplateId, templateIdProblem } from "./template-id.js";

export interface TemplateFile {
  /** What commands take, e.g. `r-research`: the file name without .yml or .yaml. */
  id: string;
  /** The path as shown to the user (joined onto the templates directory as given). */
  file: string;
}


/**
 * Every `<id>.yml` / `<id>.yaml` entry in the directory, sorted by id, whatever
 * it is: an entry that is not a readable template, or whose name is not a
 * template id, is listed so that it can be reported. Names starting with a
 * dot are skipped (editor and tool files: `.#r-research.yml`, `.hidden.yml`).
 */
export async function listTemplateFiles(templatesDir: string): Promise<TemplateFile[]> {
  const names = readDirectoryNames(templatesDir, TEMPLATES_DIR_ROLE);
  const byId = new Map<string, string[]>();
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const match = /^(.*)\.ya?ml$/.exec(name);
    if (!match) continue;
    const id = match[1]!;
    byId.set(id, [...(byId.get(id) ?? []), name]);
  }
  const files: TemplateFile[] = [];
  for (const [id, found] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (found.length > 1) {
      throw new CwsError("TEMPLATE_AMBIGUOUS", `template ${id} exists as both ${found.sort().join(" and ")}`, {
        value: id,
        suggestion: `keep one of ${found.map((f) => join(templatesDir, f)).join(" and ")}`,
      });
    }
    files.push({ id, file: join(templatesDir, found[0]!) });
  }
  return files;
}

/** The problem with a template file's name, when it is not a template id (the id rule is in template-id.ts). */
export function templateNameProblem(template: TemplateFile): Problem | undefined {
  const problem = templateIdProblem(template.id);
  if (problem === undefined) return undefined;
  const id = suggestTemplateId(template.id);
  const extension = /\.ya?ml$/.exec(template.file)?.[0] ?? ".yml";
  return fileProblem(template.file, problem, `rename the file${id ? ` to ${id}${extension}` : ""}: the id is part of image names, tags and SSM parameters`);
}

/**
 * The template files, or none when there is no templates directory: for
 * commands that also know templates from the registry (list, rollback), which
 * work in a checkout that holds the registry only.
 */
export async function listTemplateFilesIfAny(templatesDir: string): Promise<TemplateFile[]> {
  try {
    return await listTemplateFiles(templatesDir);
  } catch (error) {
    if (isFileAccessError(error) && error.code === "NOT_FOUND" && error.path === templatesDir) return [];
    throw error;
  }
}

/** The named templates (all of them when `ids` is empty); an unknown id is a usage error with a suggestion. */
export async function selectTemplateFiles(templatesDir: string, ids: readonly string[]): Promise<TemplateFile[]> {
  const all = await listTemplateFiles(templatesDir);
  if (ids.length === 0) return all;
  const known = new Map(all.map((t) => [t.id, t]));
  return ids.map((id) => {
    const found = known.get(id.replace(/\.ya?ml$/, ""));
    if (!found) throw templateNotFound(id, templatesDir, [...known.keys()], all.length === 0 ? `create ${join(templatesDir, `${id}.yml`)}` : undefined);
    return found;
  });
}

/**
 * An unknown template id (exit 2), with the nearest known one: every command
 * that takes a template id says it the same way. `where` is what was looked
 * in (the templates directory, and the registry for commands that read it).
 * An id that cannot be one (template-id.ts) says the rule instead, and the
 * known id it was probably meant to be.
 */
export function templateNotFound(id: string, where: string, known: readonly string[], suggestion?: string): CwsError {
  const bare = id.replace(/\.ya?ml$/, "");
  const invalid = templateIdProblem(bare);
  if (invalid !== undefined) {
    const meant = suggestTemplateId(bare);
    const hint = meant !== undefined && known.includes(meant) ? ` (did you mean "${meant}"?)` : didYouMean(bare, known);
    return new CwsError("TEMPLATE_ID_INVALID", `${invalid}${hint}`, { value: id, suggestion: "a template id is its file name in the templates directory, without .yml" });
  }
  return new CwsError("TEMPLATE_NOT_FOUND", `no template "${id}" in ${where}${didYouMean(id, known)}`, {
    value: id,
    suggestion: suggestion ?? (known.length === 0 ? `no templates in ${where}` : `templates here: ${[...known].sort().join(", ")}`),
  });
}

/**
 * Read at most MAX_TEMPLATE_BYTES + 1 bytes: a multi-gigabyte file saved by
 * mistake is reported as too large without being read into memory. An entry
 * that is not a readable regular file is a FileAccessError (exit 2).
 */
export function readTemplateBytes(file: string): { bytes: Uint8Array; size: number } {
  // Synchronous on purpose: a handful of small files, read faster than promise round trips.
  const { bytes, size } = readRegularFile(file, { expected: "file", maxBytes: MAX_TEMPLATE_BYTES });
  return { bytes, size };
}

/** A template's bytes, or the problem with its file (unreadable, not a regular file) as a problem of the file as a whole. */
export function readTemplate(template: TemplateFile): { bytes: Uint8Array; size: number } | { problem: Problem } {
  try {
    return readTemplateBytes(template.file);
  } catch (error) {
    if (!isFileAccessError(error)) throw error;
    return { problem: fileProblem(template.file, error.problem, error.suggestion) };
  }
}

/**
 * Load and validate one template. A valid template takes the quick path (no
 * syntax tree); an invalid one is parsed again with positions so every
 * problem gets its line and column. `withPositions` forces the full parse.
 * A file that cannot be read, or whose name is not a template id, is invalid
 * with that problem (and the name's problem comes with the content's).
 */
export async function loadTemplateFile(
  template: TemplateFile,
  /** `bytes`: what readTemplate returned, when the caller has read the file already. */
  options: { withPositions?: boolean; bytes?: ReturnType<typeof readTemplate> } = {},
): Promise<ParsedTemplate & { id: string }> {
  const nameProblem = templateNameProblem(template);
  const read = options.bytes ?? readTemplate(template);
  if ("problem" in read) {
    const problems = nameProblem ? [nameProblem, read.problem] : [read.problem];
    return { id: template.id, file: template.file, template: undefined, data: undefined, problems, document: undefined, lineCounter: undefined, source: "" };
  }
  const { bytes, size } = read;
  // Loaded on first use: a lint whose every file is in the cache needs neither zod nor a YAML parser.
  const { quickParse, parseTemplateLazily } = await import("./parsing.js");
  const quick = options.withPositions || nameProblem ? undefined : quickParse(bytes, template.file, { size });
  if (quick) return { id: template.id, ...quick };
  // Only now the YAML syntax tree, which places every problem at its line and column.
  const parsed = await parseTemplateLazily(bytes, template.file, { size });
  if (!nameProblem) return { id: template.id, ...parsed };
  return { id: template.id, ...parsed, template: undefined, problems: [nameProblem, ...parsed.problems] };
}

export async function loadTemplates(templatesDir: string, ids: readonly string[]): Promise<(ParsedTemplate & { id: string })[]> {
  const files = await selectTemplateFiles(templatesDir, ids);
  return Promise.all(files.map((file) => loadTemplateFile(file)));
}
