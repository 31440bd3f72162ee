import { mkdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileError, readDirectoryNames, readRegularFile } from "../file-access.js";
import type { ProcessProbe } from "../process-probe.js";
import { writeFileAtomic } from "../write-file-atomic.js";

/**
 * Which process runs a build: `.cws/builds/<build-id>.json`, written before
 * the build creates anything and removed when its cleanups are done. A file
 * whose process is gone therefore means the build was killed (SIGKILL, a
 * machine that rebooted, a CI job stopped mid-build), and `cws ami reap`
 * removes what it left at once instead of waiting for its age limit. The
 * resources themselves carry only `cws:build-id`: the host and the process
 * are a fact of this machine, not of the AWS account, and a file here is read
 * without an AWS call and leaves the image's tags as they are.
 */
export const BUILD_OWNERS_DIR = ".cws/builds";

export interface BuildOwner {
  buildId: string;
  pid: number;
  host: string;
  /** When the build started (ISO 8601); the process must have started before it. */
  started: string;
  /** What the process was run as ("cws ami build r-research"). */
  command?: string;
  template: string;
  /** Where the build creates its instance, security group and image. */
  region: string;
}

/** Where a build records its owner, and who that is. */
export interface BuildOwnerOptions {
  /** `.cws/builds`, from the project root. */
  dir: string;
  processes: ProcessProbe;
  /** This host's name (tests pretend to be elsewhere). Default os.hostname(). */
  hostname?: string;
}

const ROLE = { role: "the build owners' directory", suggestion: "make .cws writable: a build says there which process runs it, for cws ami reap" } as const;
const FILE_ROLE = { expected: "file", role: "a build owner file", maxBytes: 64 * 1024 } as const;
const BUILD_ID = /^[0-9a-z][0-9a-z-]{0,63}$/;

export function buildOwnerFile(dir: string, buildId: string): string {
  return join(dir, `${buildId}.json`);
}

/**
 * Records this process as the build's owner, before the build creates
 * anything; the function returned removes the record (call it when every
 * cleanup has run). A record that cannot be written stops the build: without
 * it a killed build's leftovers would wait for their age limit.
 */
export async function claimBuild(options: BuildOwnerOptions, build: { buildId: string; startedAt: Date; template: string; region: string }): Promise<() => Promise<void>> {
  const owner: BuildOwner = {
    buildId: build.buildId,
    pid: options.processes.pid,
    host: options.hostname ?? hostname(),
    started: build.startedAt.toISOString(),
    ...(options.processes.command ? { command: options.processes.command } : {}),
    template: build.template,
    region: build.region,
  };
  await mkdir(options.dir, { recursive: true }).catch((error: unknown) => {
    throw fileError(options.dir, error, { ...ROLE, expected: "directory", action: "write" });
  });
  const file = buildOwnerFile(options.dir, build.buildId);
  await writeFileAtomic(file, `${JSON.stringify(owner, null, 2)}\n`, { fsync: false });
  return () => removeBuildOwner(options.dir, build.buildId);
}

export async function removeBuildOwner(dir: string, buildId: string): Promise<void> {
  await rm(buildOwnerFile(dir, buildId), { force: true });
}

/** What a directory of owner files holds: the owners, and the files that are no owner record (named, so they can be reported). */
export interface BuildOwners {
  owners: Map<string, BuildOwner>;
  ignored: { file: string; why: string }[];
}

/** Every build owner recorded in `dir`; a missing directory holds none. */
export function readBuildOwners(dir: string): BuildOwners {
  const owners = new Map<string, BuildOwner>();
  const ignored: BuildOwners["ignored"] = [];
  let names: string[];
  try {
    names = readDirectoryNames(dir, ROLE);
  } catch (error) {
    // No build has run here yet (or none since .cws was removed).
    if ((error as { code?: unknown }).code === "NOT_FOUND") return { owners, ignored };
    throw error;
  }
  // Hidden names are writeFileAtomic's temporary files.
  for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
    const file = join(dir, name);
    const read = readRegularFile(file, { ...FILE_ROLE, ifMissing: "undefined" });
    if (read === undefined) continue;
    const owner = read.size <= FILE_ROLE.maxBytes ? parseOwner(read.bytes.toString("utf8")) : undefined;
    if (owner === undefined || `${owner.buildId}.json` !== name) {
      ignored.push({ file, why: "not a build owner record cws writes" });
      continue;
    }
    owners.set(owner.buildId, owner);
  }
  return { owners, ignored };
}

function parseOwner(text: string): BuildOwner | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const text_ = (key: string) => (typeof d[key] === "string" && d[key] !== "" ? (d[key] as string) : undefined);
  const [buildId, host, started, template, region] = [text_("buildId"), text_("host"), text_("started"), text_("template"), text_("region")];
  if (buildId === undefined || !BUILD_ID.test(buildId) || host === undefined || started === undefined || Number.isNaN(Date.parse(started))) return undefined;
  if (!Number.isSafeInteger(d.pid) || (d.pid as number) <= 0 || template === undefined || region === undefined) return undefined;
  const command = text_("command");
  return { buildId, pid: d.pid as number, host, started, ...(command ? { command } : {}), template, region };
}
