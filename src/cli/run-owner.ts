import { BUILD_OWNERS_DIR, type BuildOwnerOptions } from "../builder/build-owner.js";
import type { CliIO } from "./io.js";

/**
 * What every command that launches an instance (build, build-all, validate) passes its runs, so
 * that each records this process as its owner in `.cws/builds/<build-id>.json` while it runs and
 * `cws ami reap` can tell at once what a killed one left; nothing when there is no process to name.
 */
export function runOwner(io: Pick<CliIO, "processes">): { owner?: BuildOwnerOptions } {
  return io.processes ? { owner: { dir: BUILD_OWNERS_DIR, processes: io.processes } } : {};
}
