import { rootVolumeSizeGb } from "../builder/context.js";
import { describeAge, describeLimit } from "../duration.js";
import { entryAt } from "../registry/operations.js";
import type { AmiEntry, Registry } from "../registry/schema.js";
import { imageContentHash, templateImageHash } from "../template/content-hash.js";
import type { PlannedTarget } from "./plan-report.js";
import type { FleetTarget } from "./targets.js";

/**
 * `build-all --dry-run`, offline: what the run would build, copy and find up
 * to date, judged from the registry alone (no AWS call, no credentials). A
 * target counts as up to date when its home region's current image was built
 * there (not a copy from another region, whose hash is of that region's base)
 * from this very template content on the base the registry names, and, for a
 * template built on another, that base is its parent's current image there;
 * with `--max-age` also young enough. What only AWS knows (a newer base image
 * published since, an image deleted behind the registry's back) the real run's
 * cache check finds, and the plan says so.
 */
export interface DryRunOptions {
  force: boolean;
  maxAgeMs?: number | undefined;
  now: Date;
  /** The build instance type of a target (as the run would resolve it). */
  instanceType(target: FleetTarget): string;
}

/**
 * A template's image for one architecture in one region, as its children will
 * find it: one this run makes (built there, or copied there from `from`), or
 * the one the registry has.
 */
type ParentImage = { made: "built" } | { made: "copied"; from: string } | { made?: undefined; imageId?: string | undefined };

export function plannedTargets(targets: readonly FleetTarget[], registry: Registry | undefined, options: DryRunOptions): PlannedTarget[] {
  /** Per template, architecture and region: its image there once this run is done, for its children. */
  const decided = new Map<string, ParentImage>();
  const entry = (templateId: string, region: string, architecture: string): AmiEntry | undefined => (registry ? entryAt(registry, templateId, region, architecture) : undefined);
  const plans: PlannedTarget[] = [];

  for (const target of targets) {
    const { templateId, architecture, home } = target;
    const current = entry(templateId, home, architecture);
    const parent = target.parent === undefined ? undefined : (decided.get(`${target.parent}/${architecture}@${home}`) ?? { imageId: entry(target.parent, home, architecture)?.ami_id });
    const why = buildReason(target, current, parent, options);
    const rebuilt = why !== undefined;
    const present = rebuilt ? [] : target.copyTo.filter((region) => hasCopy(entry(templateId, region, architecture), current!, options));
    const copyTo = target.copyTo.filter((region) => !present.includes(region));
    // A child's parent image in each region: the one this run builds or copies there, else the current one.
    decided.set(`${templateId}/${architecture}@${home}`, rebuilt ? { made: "built" } : { imageId: current!.ami_id });
    for (const region of target.copyTo) {
      decided.set(
        `${templateId}/${architecture}@${region}`,
        rebuilt || copyTo.includes(region) ? { made: "copied", from: rebuilt ? home : current!.ami_id } : { imageId: entry(templateId, region, architecture)?.ami_id },
      );
    }
    plans.push({
      template: templateId,
      architecture,
      region: home,
      action: rebuilt ? "build" : "up-to-date",
      reason: why ?? `per the registry, built from this template content on ${current!.base_ami}${target.parent ? ` (${target.parent}'s current image)` : ""}; a newer base image, which only AWS can tell, would build it again`,
      ...(rebuilt ? {} : { amiId: current!.ami_id }),
      copyTo,
      present,
      instanceType: options.instanceType(target),
      volumeGb: rootVolumeSizeGb(target.template, current?.size_gb === undefined ? undefined : { rootVolumeSizeGb: current.size_gb }),
      volumeGbFrom: target.template.volume_size_gb !== undefined ? "template" : current?.size_gb !== undefined ? "registry" : "assumed",
      ...(target.parent ? { after: `${target.parent}/${architecture}` } : {}),
    });
  }
  return plans;
}

/** Why the target is built, or undefined when the registry shows it up to date. */
function buildReason(target: FleetTarget, current: AmiEntry | undefined, parent: ParentImage | undefined, options: DryRunOptions): string | undefined {
  if (options.force) return "--force";
  if (!current) return `no image in the registry for ${target.templateId} ${target.architecture} in ${target.home}`;
  // A copy's content hash is its source's: built from the source region's base AMI (or parent image), which a build here never
  // starts from, so the run's cache check here cannot find it (as after a copy run, for --strategy per-region or --build-region).
  if (current.copied_from) {
    return `${current.ami_id} in ${target.home} is a copy from ${current.copied_from.region}; a build in ${target.home} starts from ${target.home}'s own base image`;
  }
  if (!current.content_hash || !current.base_ami) return `the registry does not say what ${current.ami_id} was built from (content_hash, base_ami)`;
  if (current.validated !== true) return `${current.ami_id} is not validated`;
  if (parent?.made === "built") return `its parent ${target.parent}/${target.architecture} is built first, and this builds on its new image`;
  if (parent?.made === "copied") {
    const from = parent.from.startsWith("ami-") ? parent.from : `its new image in ${parent.from}`;
    return `its parent ${target.parent}/${target.architecture}'s image is copied to ${target.home} first (from ${from}), and this builds on the copy`;
  }
  if (parent && parent.imageId !== current.base_ami) return `its parent ${target.parent}'s current image (${parent.imageId ?? "none"}) is not the one ${current.ami_id} was built on (${current.base_ami})`;
  if (imageContentHash(templateImageHash(target.template), current.base_ami) !== current.content_hash) return `the template changed since ${current.ami_id} was built`;
  return tooOld(current, options);
}

/** With --max-age, why `entry`'s image is too old to keep (the run builds or copies it again, as its cache check would). */
function tooOld(entry: AmiEntry, options: Pick<DryRunOptions, "maxAgeMs" | "now">): string | undefined {
  if (options.maxAgeMs === undefined) return undefined;
  const age = options.now.getTime() - Date.parse(entry.created);
  if (age <= options.maxAgeMs) return undefined;
  return `${entry.ami_id} is ${Number.isNaN(age) ? "of unknown age" : `${describeAge(age)} old`}, more than the ${describeLimit(options.maxAgeMs)} --max-age allows`;
}

/**
 * A region's current image is validated and the home image's copy, or of the same content;
 * with --max-age, of the same build as the home image (which is young enough),
 * as the run's search for a copy asks.
 */
function hasCopy(entry: AmiEntry | undefined, home: AmiEntry, options: Pick<DryRunOptions, "maxAgeMs">): boolean {
  // The run's search asks for a validated image (cws:validated=true), as at home.
  if (!entry || entry.validated !== true) return false;
  if (options.maxAgeMs !== undefined) return entry.copied_from?.ami_id === home.ami_id || (home.build_id !== undefined && entry.build_id === home.build_id);
  return entry.copied_from?.ami_id === home.ami_id || (entry.content_hash !== undefined && entry.content_hash === home.content_hash);
}
