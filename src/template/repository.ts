import { basename, join } from "node:path";
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
  /** The other files with the same id (`dup.yaml` beside `dup.yml`): each is then a problem, none the template. */
  sameId?: string[];
}


/** A template file's name: its id, then `.yml` or `.yaml` in any case (a wrong case is reported, not passed over). */
const TEMPLATE_FILE_NAME = /^(.*)\.ya?ml$/i;

/**
 * Every `<id>.yml` / `<id>.yaml` entry in the directory (the extension in any
 * case), sorted by id, whatever it is: an entry that is not a readable
 * template, whose name is not a template id, whose extension is not in lower
 * case, or whose id another file has too, is listed so that it can be
 * reported (templateNameProblems). Names starting with a dot are skipped
 * (editor and tool files: `.#r-research.yml`, `.hidden.yml`).
 */
export async function listTemplateFiles(templatesDir: string): Promise<TemplateFile[]> {
  return templateFilesOf(templatesDir, readDirectoryNames(templatesDir, TEMPLATES_DIR_ROLE));
}

/**
 * The template files among a directory's entry names, by the rules of
 * listTemplateFiles: for the directory on disk, and for the same directory
 * at an earlier git revision (`cws ami changed`).
 */
export function templateFilesOf(templatesDir: string, names: readonly string[]): TemplateFile[] {
  const byId = new Map<string, string[]>();
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const match = TEMPLATE_FILE_NAME.exec(name);
    if (!match) continue;
    const id = match[1]!;
    byId.set(id, [...(byId.get(id) ?? []), name]);
  }
  const files: TemplateFile[] = [];
  for (const [id, found] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const name of found.sort()) {
      const others = found.filter((other) => other !== name);
      files.push({ id, file: join(templatesDir, name), ...(others.length > 0 ? { sameId: others } : {}) });
    }
  }
  return files;
}

/**
 * What is wrong with a template file's name: an id that is not one (the rule
 * is in template-id.ts), an extension not in lower case, an id that another
 * file has too. Each is a problem of the file itself; its content is still
 * checked.
 */
export function templateNameProblems(template: TemplateFile): Problem[] {
  const problems: Problem[] = [];
  const extension = /\.ya?ml$/i.exec(template.file)?.[0] ?? ".yml";
  const invalid = templateIdProblem(template.id);
  if (invalid !== undefined) {
    const id = suggestTemplateId(template.id);
    problems.push(fileProblem(template.file, invalid, `rename the file${id ? ` to ${id}${extension.toLowerCase()}` : ""}: the id is part of image names, tags and SSM parameters`));
  } else if (extension !== extension.toLowerCase()) {
    problems.push(
      fileProblem(template.file, `the extension ${extension} is not in lower case: template files end in .yml or .yaml`, `rename the file to ${template.id}${extension.toLowerCase()}`),
    );
  }
  if (template.sameId) {
    const all = [basename(template.file), ...template.sameId].sort();
    problems.push(
      fileProblem(template.file, `template ${template.id} is also ${template.sameId.join(" and ")}: one id, ${all.length} files, so neither is the template`, `keep one of ${all.join(" and ")}: remove or rename the other`),
    );
  }
  return problems;
}

/**
 * The template files, or none when there is no templates directory: for
 * commands that also know templates from the registry (list, rollback), which
 * work in a checkout that holds the registry only. An id held by two files
 * is listed for each.
 */
export async function listTemplateFilesIfAny(templatesDir: string): Promise<TemplateFile[]> {
  try {
    return await listTemplateFiles(templatesDir);
  } catch (error) {
    if (isFileAccessError(error) && error.code === "NOT_FOUND" && error.path === templatesDir) return [];
    throw error;
  }
}

/**
 * The named templates (all of them when `ids` is empty), every file of an id
 * that two files have (each is then invalid: templateNameProblems); an
 * unknown id is a usage error with a suggestion.
 */
export async function selectTemplateFiles(templatesDir: string, ids: readonly string[]): Promise<TemplateFile[]> {
  const all = await listTemplateFiles(templatesDir);
  if (ids.length === 0) return all;
  const known = [...new Set(all.map((t) => t.id))];
  return ids.flatMap((id) => {
    // An id, an id with .yml or .yaml, or a file's own name (`upper.YML`, to lint the file whose extension is wrong).
    const found = all.filter((t) => t.id === id.replace(/\.ya?ml$/, "") || basename(t.file) === id);
    if (found.length === 0) throw templateNotFound(id, templatesDir, known, all.length === 0 ? `create ${join(templatesDir, `${id}.yml`)}` : undefined);
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
  const nameProblems = templateNameProblems(template);
  const read = options.bytes ?? readTemplate(template);
  if ("problem" in read) {
    const problems = [...nameProblems, read.problem];
    return { id: template.id, file: template.file, template: undefined, data: undefined, unread: "the file could not be read", problems, document: undefined, lineCounter: undefined, source: "" };
  }
  const { bytes, size } = read;
  // Loaded on first use: a lint whose every file is in the cache needs neither zod nor a YAML parser.
  const { quickParse, parseTemplateLazily } = await import("./parsing.js");
  const quick = options.withPositions || nameProblems.length > 0 ? undefined : quickParse(bytes, template.file, { size });
  if (quick) return { id: template.id, ...quick };
  // Only now the YAML syntax tree, which places every problem at its line and column.
  const parsed = await parseTemplateLazily(bytes, template.file, { size });
  if (nameProblems.length === 0) return { id: template.id, ...parsed };
  return { id: template.id, ...parsed, template: undefined, problems: [...nameProblems, ...parsed.problems] };
}

export async function loadTemplates(templatesDir: string, ids: readonly string[]): Promise<(ParsedTemplate & { id: string })[]> {
  const files = await selectTemplateFiles(templatesDir, ids);
  return Promise.all(files.map((file) => loadTemplateFile(file)));
}
