import type { Ec2Port, ImageInfo, Tags } from "../aws/ports.js";
import { deleteImageAndSnapshots } from "../builder/image-lifecycle.js";
import type { PollSettings } from "../builder/poll.js";
import { InterruptedError } from "../builder/runner.js";
import { waitForTermination } from "../builder/steps/launch.js";
import { deleteSecurityGroupWhenFree } from "../builder/steps/security-group.js";
import { ownValue } from "../own-keys.js";
import { COPIED_FROM_TAG } from "../registry/copied-from.js";
import { LIVE_INSTANCE_STATES, UNFINISHED_IMAGE_STATES, type Leftover, type ReapDecision } from "./reap-plan.js";

/**
 * `cws ami reap`'s two calls on AWS: find what builds left in a region
 * (findLeftovers), and remove what the plan (reap-plan.ts) says to, in the
 * order EC2 allows (applyReap). Only resources tagged cws:managed-by=cws and
 * cws:build-id are ever found, so only those are ever touched; the IAM policy
 * allows the deletions on nothing else.
 */

const MANAGED: Tags = { "cws:managed-by": "cws" };
const BUILD_ID_TAG = "cws:build-id";
const VALIDATED_TAG = "cws:validated";

/** An available image whose build never gave its verdict on a fresh instance (cws:validated=pending). */
function isUnjudged(image: { state: string; tags: Tags }): boolean {
  return image.state === "available" && ownValue(image.tags, VALIDATED_TAG) === "pending";
}

/** The resources in this port's region that carry cws:managed-by=cws and a cws:build-id: live instances, security groups, unfinished images. */
export async function findLeftovers(ec2: Ec2Port): Promise<Leftover[]> {
  const [instances, groups, unfinished, unjudged] = await Promise.all([
    ec2.describeInstances({ tags: MANAGED, states: [...LIVE_INSTANCE_STATES] }),
    ec2.describeSecurityGroups({ tags: MANAGED }),
    ec2.describeImages({ owners: ["self"], states: [...UNFINISHED_IMAGE_STATES], tags: MANAGED }),
    // Available, but its build was still testing it on a fresh instance (--verify) when it stopped: no verdict will come.
    ec2.describeImages({ owners: ["self"], states: ["available"], tags: { ...MANAGED, [VALIDATED_TAG]: "pending" } }),
  ]);
  const unfinishedState = (i: ImageInfo) => (UNFINISHED_IMAGE_STATES as readonly string[]).includes(i.state);
  const images = [...unfinished.filter(unfinishedState), ...unjudged.filter(isUnjudged)];
  const region = ec2.region;
  // The filters asked for the tag; each resource is checked again, so that nothing else is touched whatever a filter did.
  const ours = (tags: Tags) => ownValue(tags, "cws:managed-by") === "cws" && (ownValue(tags, BUILD_ID_TAG) ?? "") !== "";
  const common = (tags: Tags) => ({ region, buildId: ownValue(tags, BUILD_ID_TAG)!, template: ownValue(tags, "cws:template") });
  return [
    ...instances
      .filter((i) => ours(i.tags) && i.state !== "terminated")
      .map((i): Leftover => ({ ...common(i.tags), kind: "instance", id: i.instanceId, state: i.state, created: i.launchTime, copy: false, snapshotIds: [], sizeGb: undefined })),
    ...groups
      .filter((g) => ours(g.tags))
      .map((g): Leftover => ({ ...common(g.tags), kind: "security-group", id: g.groupId, state: undefined, created: undefined, copy: false, snapshotIds: [], sizeGb: undefined })),
    ...images
      .filter((i) => ours(i.tags))
      .map(
        (i): Leftover => ({
          ...common(i.tags),
          kind: "image",
          id: i.imageId,
          state: i.state,
          created: i.creationDate || undefined,
          copy: (ownValue(i.tags, COPIED_FROM_TAG) ?? "") !== "",
          snapshotIds: i.snapshotIds,
          sizeGb: i.rootVolumeSizeGb,
        }),
      ),
  ];
}

export type ReapResult =
  | { status: "removed"; snapshotIds: string[] }
  | { status: "failed"; error: string }
  | { status: "not-attempted"; why: string };

export interface ReapOutcome {
  decision: ReapDecision;
  /** Undefined for what the plan keeps. */
  result: ReapResult | undefined;
}

export interface ReapRun {
  ec2: (region: string) => Ec2Port;
  poll: PollSettings;
  /** Ctrl-C: what is under way finishes its call, nothing further starts. */
  signal: AbortSignal;
  /** Told each removal as it starts and ends, for progress on stderr. */
  progress?: (line: string) => void;
}

/**
 * Removes what the plan says to, region by region at once: terminates the
 * instances, deregisters the images with their snapshots while the instances
 * shut down, waits for each instance to be terminated, then deletes the
 * security groups (EC2 refuses a group an instance still uses). A group
 * whose build's instance could not be terminated is left alone. Every
 * removal that fails is reported and the others go on.
 */
export async function applyReap(decisions: readonly ReapDecision[], run: ReapRun): Promise<ReapOutcome[]> {
  const results = new Map<ReapDecision, ReapResult>();
  const regions = [...new Set(decisions.filter((d) => d.action === "reap").map((d) => d.leftover.region))];
  await Promise.all(regions.map((region) => reapRegion(decisions.filter((d) => d.action === "reap" && d.leftover.region === region), run.ec2(region), run, results)));
  return decisions.map((decision) => ({ decision, result: decision.action === "reap" ? (results.get(decision) ?? { status: "not-attempted", why: "interrupted" }) : undefined }));
}

async function reapRegion(decisions: readonly ReapDecision[], ec2: Ec2Port, run: ReapRun, results: Map<ReapDecision, ReapResult>): Promise<void> {
  const say = (line: string) => run.progress?.(`${ec2.region}: ${line}`);
  const of = (kind: Leftover["kind"]) => decisions.filter((d) => d.leftover.kind === kind);
  const fail = (decision: ReapDecision, error: unknown) =>
    results.set(decision, error instanceof InterruptedError ? { status: "not-attempted", why: "interrupted" } : { status: "failed", error: errorText(error) });
  /** Runs `act` unless Ctrl-C came first; an error fails only this resource. */
  const attempt = async (decision: ReapDecision, act: () => Promise<ReapResult | undefined>) => {
    if (run.signal.aborted) return;
    try {
      const result = await act();
      if (result) results.set(decision, result);
    } catch (error) {
      fail(decision, error);
    }
  };

  const terminating: ReapDecision[] = [];
  for (const decision of of("instance")) {
    await attempt(decision, async () => {
      say(`terminating instance ${decision.leftover.id}`);
      await ec2.terminateInstance(decision.leftover.id);
      terminating.push(decision);
      return undefined;
    });
  }
  for (const decision of of("image")) {
    await attempt(decision, async () => {
      say(`deregistering image ${decision.leftover.id}`);
      const snapshotIds = await deleteImageAndSnapshots(ec2, decision.leftover.id, decision.leftover.snapshotIds, (kind, id) => {
        if (kind === "snapshot") say(`deleted snapshot ${id}`);
      });
      return { status: "removed", snapshotIds };
    });
  }
  await Promise.all(
    terminating.map((decision) =>
      attempt(decision, async () => {
        await waitForTermination(ec2, decision.leftover.id, run.poll, run.signal);
        say(`instance ${decision.leftover.id} terminated`);
        return { status: "removed", snapshotIds: [] };
      }),
    ),
  );
  for (const decision of of("security-group")) {
    const blocking = of("instance").find((d) => d.leftover.buildId === decision.leftover.buildId && results.get(d)?.status !== "removed");
    if (blocking) {
      if (!run.signal.aborted) results.set(decision, { status: "not-attempted", why: `its build's instance ${blocking.leftover.id} was not terminated` });
      continue;
    }
    await attempt(decision, async () => {
      say(`deleting security group ${decision.leftover.id}`);
      await deleteSecurityGroupWhenFree(ec2, decision.leftover.id, run.poll, run.signal);
      return { status: "removed", snapshotIds: [] };
    });
  }
}

/** An AWS error says its action and code (`TerminateInstances: UnauthorizedOperation: …`), a timed-out wait what it waited for. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
