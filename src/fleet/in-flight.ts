import { aliveResources, type BuildContext } from "../builder/context.js";
import { COPIED_FROM_TAG, copiedFromTagValue, type CopiedFrom } from "../registry/copied-from.js";

/**
 * What build-all has made that is not finished yet, job by job: each
 * running build's context (its steps record every resource the moment it
 * exists and clear it once it is gone) and each copy CopyImage has started.
 * A second Ctrl-C lists it, as `cws ami build` lists its one build's. One
 * per run, passed to runFleet; a job leaves it when it ends, cleaned up.
 */
export class FleetInFlight {
  private readonly builds = new Map<string, { label: string; region: string; context: BuildContext }>();
  private readonly copies = new Map<string, { label: string; region: string; imageId: string; copiedFrom: CopiedFrom }>();

  build(jobId: string, label: string, region: string, context: BuildContext): void {
    this.builds.set(jobId, { label, region, context });
  }

  copy(jobId: string, label: string, region: string, imageId: string, copiedFrom: CopiedFrom): void {
    this.copies.set(jobId, { label, region, imageId, copiedFrom });
  }

  ended(jobId: string): void {
    this.builds.delete(jobId);
    this.copies.delete(jobId);
  }

  /**
   * One line per job with something alive: `fleet-base/x86_64 in us-east-1:
   * instance i-…, security group sg-… (all tagged cws:build-id=…)`, `… in
   * eu-west-1: unfinished copy ami-… (tagged cws:copied-from=us-east-1/ami-…)`.
   */
  alive(): string[] {
    const builds = [...this.builds.values()].flatMap(({ label, region, context }) => {
      const alive = aliveResources(context);
      return alive.length === 0 ? [] : [`${label} in ${region}: ${alive.join(", ")} (all tagged cws:build-id=${context.buildId})`];
    });
    const copies = [...this.copies.values()].map(
      ({ label, region, imageId, copiedFrom }) => `${label} in ${region}: unfinished copy ${imageId} (tagged ${COPIED_FROM_TAG}=${copiedFromTagValue(copiedFrom)})`,
    );
    return [...builds, ...copies];
  }
}
