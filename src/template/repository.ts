import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { CwsError } from "../errors.js";
import type { ParsedTemplate } from "./load.js";
import { MAX_TEMPLATE_BYTES } from "./text.js";
import { didYouMean } from "./suggest.js";

export const TEMPLATE_ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export interface TemplateFile {
  /** What commands take, e.g. `r-research`. */
  id: string;
  /** The path as shown to the user (joined onto the templates directory as given). */
  file: string;
}

/** Every `<id>.yml` / `<id>.yaml` in the directory, sorted by id. */
export async function listTemplateFiles(templatesDir: string): Promise<TemplateFile[]> {
  let names: string[];
  try {
    names = readdirSync(templatesDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") {
      throw new CwsError("TEMPLATES_DIR_NOT_A_DIRECTORY", `templates directory ${templatesDir} is not a directory`, {
        value: templatesDir,
        suggestion: "pass --templates-dir DIR (or set CWS_TEMPLATES_DIR) naming the directory that holds the *.yml templates",
      });
    }
    if (code === "ENOENT") {
      throw new CwsError("TEMPLATES_DIR_NOT_FOUND", `templates directory ${templatesDir} not found`, {
        value: templatesDir,
        suggestion: "run cws from the repository root, or pass --templates-dir DIR (or set CWS_TEMPLATES_DIR)",
      });
    }
    throw error;
  }
  const byId = new Map<string, string[]>();
  for (const name of names) {
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

/**
 * The template files, or none when there is no templates directory: for
 * commands that also know templates from the registry (list, rollback), which
 * work in a checkout that holds the registry only.
 */
export async function listTemplateFilesIfAny(templatesDir: string): Promise<TemplateFile[]> {
  try {
    return await listTemplateFiles(templatesDir);
  } catch (error) {
    if (error instanceof CwsError && error.code === "TEMPLATES_DIR_NOT_FOUND") return [];
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
 */
export function templateNotFound(id: string, where: string, known: readonly string[], suggestion?: string): CwsError {
  return new CwsError("TEMPLATE_NOT_FOUND", `no template "${id}" in ${where}${didYouMean(id, known)}`, {
    value: id,
    suggestion: suggestion ?? (known.length === 0 ? `no templates in ${where}` : `templates here: ${[...known].sort().join(", ")}`),
  });
}

/**
 * Read at most MAX_TEMPLATE_BYTES + 1 bytes: a multi-gigabyte file saved by
 * mistake is reported as too large without being read into memory.
 */
export async function readTemplateBytes(file: string): Promise<{ bytes: Uint8Array; size: number }> {
  // Synchronous on purpose: a handful of small files, read faster than promise round trips.
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, MAX_TEMPLATE_BYTES + 1);
    const bytes = Buffer.alloc(length);
    let offset = 0;
    while (offset < length) {
      const bytesRead = readSync(fd, bytes, offset, length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return { bytes: bytes.subarray(0, offset), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Load and validate one template. A valid template takes the quick path (no
 * syntax tree); an invalid one is parsed again with positions so every
 * problem gets its line and column. `withPositions` forces the full parse.
 */
export async function loadTemplateFile(
  template: TemplateFile,
  options: { withPositions?: boolean; bytes?: { bytes: Uint8Array; size: number } } = {},
): Promise<ParsedTemplate & { id: string }> {
  const { bytes, size } = options.bytes ?? (await readTemplateBytes(template.file));
  // Loaded on first use: a lint whose every file is in the cache needs neither zod nor a YAML parser.
  const { quickParse, parseTemplateLazily } = await import("./parsing.js");
  const quick = options.withPositions ? undefined : quickParse(bytes, template.file, { size });
  if (quick) return { id: template.id, ...quick };
  // Only now the YAML syntax tree, which places every problem at its line and column.
  return { id: template.id, ...(await parseTemplateLazily(bytes, template.file, { size })) };
}

export async function loadTemplates(templatesDir: string, ids: readonly string[]): Promise<(ParsedTemplate & { id: string })[]> {
  const files = await selectTemplateFiles(templatesDir, ids);
  return Promise.all(files.map((file) => loadTemplateFile(file)));
}
