import { CwsError } from "../errors.js";
import type { Architecture } from "../template/architectures.js";

/**
 * Which architecture and region a command about one template works on, the
 * same way for every such command (build, rollback, update-registry): an
 * architecture may be left out when there is only one, and a region or an
 * architecture the template does not build is refused with the ones it does.
 */

/** What the architectures were read from, for messages. */
export interface ArchitectureSource {
  /** "r-research builds" or "the registry has r-research in us-east-1 for". */
  subject: string;
  /** The command line to suggest, without the flag: "cws ami build r-research". */
  command: string;
  /** Where to add one, when the list comes from a file: "base_ami.architecture in templates/r-research.yml". */
  addTo?: string;
}

/** The architecture asked for, or the only one available; exit 2 when it is not available or there is a choice to make. */
export function chooseArchitecture(given: Architecture | undefined, available: readonly Architecture[], source: ArchitectureSource): Architecture {
  if (given === undefined) {
    if (available.length === 1) return available[0]!;
    throw new CwsError("ARCHITECTURE_REQUIRED", `${source.subject} ${available.join(" and ")}: say which with --architecture`, {
      suggestion: `e.g. ${source.command} --architecture ${available[0] ?? "x86_64"}`,
    });
  }
  if (!available.includes(given)) {
    throw new CwsError("ARCHITECTURE_NOT_IN_TEMPLATE", `${source.subject} ${available.join(" and ") || "no architecture"}, not ${given}`, {
      value: given,
      suggestion: `${source.addTo ? `add ${given} to ${source.addTo}, or ` : ""}pick ${available.join(" or ")}`,
    });
  }
  return given;
}

/** Exit 2 unless the template builds in `region`; `from` says where the region came from, when not from --region. */
export function checkRegionBuilt(templateId: string, regions: readonly string[], region: string, options: { from?: string; file?: string } = {}): void {
  if (regions.includes(region)) return;
  throw new CwsError("REGION_NOT_IN_TEMPLATE", `${templateId} is not built in ${region} (${options.from ? `from ${options.from}; ` : ""}regions: ${regions.join(", ")})`, {
    value: region,
    suggestion: `${options.file ? `add ${region} to regions in ${options.file}, or ` : ""}pick one of ${regions.join(", ")}`,
  });
}
