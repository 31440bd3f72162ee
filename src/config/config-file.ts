import { lstatSync, statSync, type Stats } from "node:fs";
import { dirname, join } from "node:path";
import type { ProjectConfig } from "./fields.js";

/**
 * The project root and its cws.config.json: found by walking up from the
 * current directory, read with JSON.parse and a quick check on the hot path.
 * Only a config with problems loads more (config-problems.ts: zod and the
 * position-aware YAML parser), to say what is wrong at file:line:col.
 *
 * This module imports nothing of cws, so that it lands in each program's
 * entry file: without a config file, finding the root costs no module load
 * (every further chunk costs a cold start ~0.3 ms; docs/decisions.md §18).
 */
export const CONFIG_FILE_NAME = "cws.config.json";

/** A config holds a few settings; a larger file is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ProjectLocation {
  /** Absolute: the directory of cws.config.json, else the nearest one holding templates/, else the current directory. */
  root: string;
  configFile: string | undefined;
}

/**
 * What the walk asks of the file system; tests count the calls. "other" is
 * something there that is neither (a pipe, a device, a link leading nowhere
 * or in a circle): a cws.config.json like that is read, and reported.
 */
export type StatKind = (path: string) => "file" | "directory" | "other" | undefined;

export const statKind: StatKind = (path) => {
  let stats: Stats | undefined;
  try {
    // lstat, then stat only for a link: one call for what is usually there (nothing, or a real directory).
    stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats?.isSymbolicLink()) stats = statSync(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOTDIR" ? undefined : "other";
  }
  return stats === undefined ? undefined : stats.isDirectory() ? "directory" : stats.isFile() ? "file" : "other";
};

/**
 * Up from `cwd` to the nearest directory holding cws.config.json; failing
 * that, the nearest one holding templates/. The walk stops at the repository
 * root (the first directory with a `.git`, a directory or a worktree's file)
 * and at the file system root. At most three stat calls a level; at a
 * repository root without a config, exactly three.
 */
export function findProjectRoot(cwd: string, stat: StatKind = statKind): ProjectLocation {
  let templatesRoot: string | undefined;
  for (let dir = cwd; ; ) {
    const configFile = join(dir, CONFIG_FILE_NAME);
    // Anything by that name is the config: one that is not a readable file is reported, not passed over.
    if (stat(configFile) !== undefined) return { root: dir, configFile };
    if (templatesRoot === undefined && stat(join(dir, "templates")) === "directory") templatesRoot = dir;
    const parent = dirname(dir);
    if (parent === dir || stat(join(dir, ".git")) !== undefined) break;
    dir = parent;
  }
  return { root: templatesRoot ?? cwd, configFile: undefined };
}

/**
 * The config in `file` (absolute); `shownAs` is how problems name it. A
 * config the quick check accepts is returned as parsed; anything else exits 2
 * with every problem at its line and column, as a template's do.
 */
export async function readProjectConfig(file: string, shownAs: string): Promise<ProjectConfig> {
  // Loaded only when there is a config: finding the root stays free of module loads.
  const { FileAccessError, formatBytes, readRegularFile } = await import("../file-access.js");
  const read = readRegularFile(file, { expected: "file", role: "the config file", shownAs, maxBytes: MAX_CONFIG_BYTES });
  if (read.size > MAX_CONFIG_BYTES) {
    throw new FileAccessError("FILE_TOO_LARGE", shownAs, `the config file is ${formatBytes(read.size)}; a cws.config.json may be at most ${formatBytes(MAX_CONFIG_BYTES)}`, {
      suggestion: "it holds a few settings: check that it is the right file",
    });
  }
  const { parseJsonText, stripBom } = await import("../registry/json-text.js");
  const text = stripBom(read.bytes.toString("utf8"));
  // JSON.parse keeps the last of a key written twice; parseJsonText refuses it, as it does in the registry.
  const json = parseJsonText(text);
  const { quickCheckConfig } = await import("./fields.js");
  if (!json.problem && quickCheckConfig(json.value)) return json.value as ProjectConfig;
  // The quick check and the schema agree (a test holds them to it); should they not, the schema decides.
  return (await import("./config-problems.js")).validConfigOrThrow(text, shownAs);
}
