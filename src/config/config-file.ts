import { readFileSync, statSync } from "node:fs";
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

export interface ProjectLocation {
  /** Absolute: the directory of cws.config.json, else the nearest one holding templates/, else the current directory. */
  root: string;
  configFile: string | undefined;
}

/** What the walk asks of the file system; tests count the calls. */
export type StatKind = (path: string) => "file" | "directory" | undefined;

export const statKind: StatKind = (path) => {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? undefined : stats.isDirectory() ? "directory" : "file";
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
    if (stat(configFile) === "file") return { root: dir, configFile };
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
  const text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const { quickCheckConfig } = await import("./fields.js");
  if (data !== undefined && quickCheckConfig(data)) return data as ProjectConfig;
  // The quick check and the schema agree (a test holds them to it); should they not, the schema decides.
  return (await import("./config-problems.js")).validConfigOrThrow(text, shownAs);
}
