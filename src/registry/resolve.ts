import { CwsError } from "../errors.js";
import type { Architecture } from "../template/schema.js";
import { ownValue } from "../own-keys.js";
import { entryAt, usableRecord } from "./operations.js";
import type { AmiRecord, Registry } from "./schema.js";
import { readRegistry } from "./store.js";

/**
 * The lookup the rest of CloudWorkstation uses: which AMI to launch for a
 * template, region and architecture.
 *
 * Migration (design doc §8): while the registry is rolled out, callers pass
 * their old hard-coded map as `legacy`; it is used, with a warning, when the
 * registry file is missing or unreadable, or has no usable entry.
 */
export type LegacyAmiMap = Readonly<Record<string, Readonly<Record<string, Readonly<Partial<Record<Architecture, string>>>>>>>;

export interface ResolveAmiOptions {
  /** Path of registry/amis.json. Ignored when `registry` is given. */
  registryFile?: string;
  /** An already loaded registry. */
  registry?: Registry;
  /** The old hard-coded AMI ids: template → region → architecture → AMI id. */
  legacy?: LegacyAmiMap;
  /** Return an AMI that did not pass validation (never by default). */
  allowUnvalidated?: boolean;
  /** Where warnings go (default: nowhere). */
  warn?: (message: string) => void;
}

export interface ResolvedAmi {
  amiId: string;
  source: "registry" | "legacy";
  /** False only for a legacy id (not validated by cws) or with allowUnvalidated. */
  validated: boolean;
  record?: AmiRecord;
}

export async function resolveAmi(templateId: string, region: string, architecture: Architecture, options: ResolveAmiOptions = {}): Promise<ResolvedAmi> {
  const where = `${templateId}.${region}.${architecture}`;
  const warn = options.warn ?? (() => {});
  let registry = options.registry;
  let why: string;
  if (!registry) {
    const file = options.registryFile ?? "registry/amis.json";
    try {
      registry = await readRegistry(file);
      why = `the registry ${file} does not exist`;
    } catch (error) {
      why = `the registry ${file} cannot be used (${(error as Error).message.split("\n")[0]})`;
    }
  } else {
    why = "";
  }
  if (registry) {
    const entry = entryAt(registry, templateId, region, architecture);
    if (entry) {
      const chosen = usableRecord(entry, options);
      if (chosen) {
        if (chosen.ami_id !== entry.ami_id) warn(`${where}: the current AMI ${entry.ami_id} is not validated; using ${chosen.ami_id} from its history`);
        return { amiId: chosen.ami_id, source: "registry", validated: chosen.validated, record: chosen };
      }
      why = "the registry's entry has no validated AMI";
    } else {
      why = "the registry has no entry for that template, region and architecture";
    }
  }
  const legacy = ownValue(ownValue(ownValue(options.legacy, templateId), region), architecture);
  if (legacy) {
    warn(`${where}: ${why}; falling back to the hard-coded AMI ${legacy}`);
    return { amiId: legacy, source: "legacy", validated: false };
  }
  throw new CwsError("AMI_NOT_FOUND", `no AMI for ${where}: ${why}`, {
    value: where,
    suggestion: `build one (cws ami build ${templateId} --region ${region} --architecture ${architecture}) or record an existing one (cws ami update-registry ${templateId} --region ${region} --architecture ${architecture})`,
  });
}
