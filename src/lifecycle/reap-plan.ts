import type { BuildOwner } from "../builder/build-owner.js";
import { buildStartedAt, DEFAULT_ROOT_VOLUME_GB } from "../builder/context.js";
import { imageCopyWaitTimeoutMs, imageWaitTimeoutMs } from "../builder/image-lifecycle.js";
import { describeLimit } from "../duration.js";
import { ownerState } from "../process-owner.js";
import type { ProcessProbe } from "../process-probe.js";

/**
 * Which of the resources a build left behind `cws ami reap` removes, and why:
 * a pure function of what was found, the build owners recorded on this
 * machine, whether their processes are alive, and the clock.
 *
 * The unit of the decision is a build in a region (a copy made by build-all
 * is a unit of its own: it carries its source's build id, but another run
 * made it, maybe today from an old build). Every resource of a build gets
 * the same decision, so a running build never loses its security group while
 * its instance is kept, nor the reverse.
 *
 * - Owned by a process on this machine (`.cws/builds/<build-id>.json`):
 *   alive, the build is running: kept, however old; gone, or its id now
 *   belongs to a later process: the build was killed, so its resources are
 *   removed at once.
 * - Otherwise (no owner file here: another machine, a CI runner that is gone,
 *   a build that ended and kept something; or an owner on another host) the
 *   age decides: older than `--older-than`, removed; younger, kept, since its
 *   build may still be running. A pending image must also be older than the
 *   longest a build or copy of its size waits for it, so that a live build
 *   elsewhere never loses the image it is waiting for.
 * - A date in the future (a build id's stamp, or EC2's date of a resource,
 *   later than the clock by more than CLOCK_SKEW_MS) says nothing about the
 *   age: the build is dated by what else there is, and kept when nothing else
 *   dates it (the owner file still decides first).
 */

export type LeftoverKind = "instance" | "security-group" | "image";

/** The order a build makes them, and the order they are listed in: instance, security group, image. */
export const LEFTOVER_KIND_ORDER: Readonly<Record<LeftoverKind, number>> = { instance: 0, "security-group": 1, image: 2 };

/** A resource tagged cws:managed-by=cws and cws:build-id that a finished build would not have left. */
export interface Leftover {
  region: string;
  kind: LeftoverKind;
  id: string;
  buildId: string;
  template: string | undefined;
  /** The instance's or image's state; undefined for a security group. */
  state: string | undefined;
  /** When EC2 says it was made (an instance's launch time, an image's creation date); undefined for a security group. */
  created: string | undefined;
  /** An image build-all copied from another region (tag cws:copied-from): judged on its own, not with its source's build. */
  copy: boolean;
  /** An image's snapshots, deleted with it. */
  snapshotIds: readonly string[];
  /** An image's root volume, GiB: how long a build waits for it. */
  sizeGb: number | undefined;
}

export interface ReapContext {
  now: Date;
  /** --older-than, ms. */
  olderThanMs: number;
  /** This machine's host name, as build owner files record it. */
  host: string;
  /** The build owners recorded on this machine, by build id. */
  owners: ReadonlyMap<string, BuildOwner>;
  /** Whether a recorded process is alive; without it every owner is judged by age. */
  processes: ProcessProbe | undefined;
}

/**
 * How far in the future a date may be and still count as now: two clocks (this machine's and
 * the one that stamped a build id, or EC2's) differ by seconds, or minutes on a machine without NTP.
 */
export const CLOCK_SKEW_MS = 10 * 60_000;

/** Why a unit is removed or kept, as a fact the output words and the tests read. */
export type ReapReason =
  | { kind: "owner-running"; pid: number }
  | { kind: "owner-gone"; pid: number; reused: boolean }
  | { kind: "older"; elsewhere: string | undefined }
  | { kind: "younger"; elsewhere: string | undefined }
  | { kind: "image-still-awaited"; imageId: string; waitMs: number }
  | { kind: "age-unknown" };

export interface ReapDecision {
  leftover: Leftover;
  action: "reap" | "keep";
  reason: ReapReason;
  /** The age the decision went by: the build's since it started (a copy's since it was made); undefined when unknown. */
  ageMs: number | undefined;
  /** The start its build id names, when that is in the future (more than CLOCK_SKEW_MS): the id cannot date the build. */
  futureStart: Date | undefined;
  /** The reason in words, for the table. */
  why: string;
}

/** Image states reap removes: still being made, or never to be available. */
export const UNFINISHED_IMAGE_STATES = ["pending", "failed", "error", "invalid"] as const;

/** Instance states reap looks at: every state but terminated (shutting-down is waited for before the group goes). */
export const LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"] as const;

const unitKey = (leftover: Leftover) => (leftover.copy ? `${leftover.region} copy ${leftover.id}` : `${leftover.region} build ${leftover.buildId}`);

/** Every leftover with its decision, in the order found. */
export function planReap(leftovers: readonly Leftover[], context: ReapContext): ReapDecision[] {
  const units = new Map<string, Leftover[]>();
  for (const leftover of leftovers) {
    const key = unitKey(leftover);
    units.set(key, [...(units.get(key) ?? []), leftover]);
  }
  const verdicts = new Map([...units].map(([key, members]) => [key, judgeUnit(members, context)]));
  return leftovers.map((leftover) => {
    const verdict = verdicts.get(unitKey(leftover))!;
    return { leftover, ...verdict, why: describeReason(verdict, context.olderThanMs) };
  });
}

type Verdict = Pick<ReapDecision, "action" | "reason" | "ageMs" | "futureStart">;

function judgeUnit(members: readonly Leftover[], context: ReapContext): Verdict {
  const { ageMs, futureStart } = unitAge(members, context.now);
  const verdict = judgeByEvidence(members, context, ageMs);
  return { ...verdict, ageMs, futureStart };
}

function judgeByEvidence(members: readonly Leftover[], context: ReapContext, ageMs: number | undefined): Pick<ReapDecision, "action" | "reason"> {
  const first = members[0]!;
  const owner = first.copy ? undefined : context.owners.get(first.buildId);
  let elsewhere: string | undefined;
  if (owner !== undefined && owner.host !== context.host) elsewhere = owner.host;
  else if (owner !== undefined && context.processes !== undefined) {
    const state = ownerState(context.processes, owner.pid, Date.parse(owner.started));
    if (state === "running") return { action: "keep", reason: { kind: "owner-running", pid: owner.pid } };
    if (state === "gone" || state === "reused") return { action: "reap", reason: { kind: "owner-gone", pid: owner.pid, reused: state === "reused" } };
    // The process cannot be judged here: the age decides, as for a build of another machine.
  }
  if (ageMs === undefined) return { action: "keep", reason: { kind: "age-unknown" } };
  if (ageMs <= context.olderThanMs) return { action: "keep", reason: { kind: "younger", elsewhere } };
  for (const image of members.filter((m) => m.kind === "image" && m.state === "pending")) {
    const waitMs = (image.copy ? imageCopyWaitTimeoutMs : imageWaitTimeoutMs)(image.sizeGb ?? DEFAULT_ROOT_VOLUME_GB);
    const created = Date.parse(image.created ?? "");
    // An image without a date is as old as its build, which is older than the limit.
    if (!Number.isNaN(created) && context.now.getTime() - created <= waitMs) return { action: "keep", reason: { kind: "image-still-awaited", imageId: image.id, waitMs } };
  }
  return { action: "reap", reason: { kind: "older", elsewhere } };
}

/**
 * A build's age from its id's stamp, else from its oldest dated resource; a copy's from when it was made.
 * A date later than now (beyond the clock skew) is no evidence of age and is passed over: the build
 * is dated by the others, or not at all. (Counted as now, it kept such a build "younger than the
 * limit" until 2099.)
 */
function unitAge(members: readonly Leftover[], now: Date): { ageMs: number | undefined; futureStart: Date | undefined } {
  const first = members[0]!;
  const latest = now.getTime() + CLOCK_SKEW_MS;
  const stamp = first.copy ? undefined : buildStartedAt(first.buildId);
  const futureStart = stamp !== undefined && stamp.getTime() > latest ? stamp : undefined;
  const started = futureStart === undefined ? stamp?.getTime() : undefined;
  const dates = members.map((m) => Date.parse(m.created ?? "")).filter((t) => !Number.isNaN(t) && t <= latest);
  const from = started ?? (dates.length > 0 ? Math.min(...dates) : undefined);
  return { ageMs: from === undefined ? undefined : Math.max(0, now.getTime() - from), futureStart };
}

function describeReason({ reason, futureStart }: Verdict, olderThanMs: number): string {
  const limit = `${describeLimit(olderThanMs)} (--older-than)`;
  const where = (elsewhere: string | undefined) => (elsewhere === undefined ? "no build on this machine owns it" : `its build ran on host ${elsewhere}`);
  // A build id dated in the future is said wherever the age decided: the age is then EC2's dates', or unknown.
  const future = futureStart === undefined ? "" : `its build id's date (${futureStart.toISOString().replace(".000Z", "Z")}) is in the future`;
  const dated = (text: string) => (future === "" ? text : `${future}, so it is dated by EC2: ${text}`);
  switch (reason.kind) {
    case "owner-running":
      return `its build is running on this machine (pid ${reason.pid})`;
    case "owner-gone":
      return reason.reused ? `its build's process ${reason.pid} is gone (the id now belongs to a later process)` : `its build's process ${reason.pid} is gone`;
    case "older":
      return dated(`older than ${limit}; ${where(reason.elsewhere)}`);
    case "younger":
      return dated(`younger than ${limit}; ${where(reason.elsewhere)}, and it may still be running`);
    case "image-still-awaited":
      return dated(`older than ${limit}, but image ${reason.imageId} is pending and a build may wait ${describeLimit(reason.waitMs)} for it`);
    case "age-unknown":
      return future === "" ? "its age is unknown (its build id does not say when the build started, and EC2 gives a security group no date)" : `${future}: age unknown`;
  }
}

/**
 * The build owner files a reap has made pointless: builds of this machine
 * whose process is gone and of which nothing is left in their region (all
 * removed now, or nothing found there), once that region was searched. A
 * build that is running, or another host's, keeps its file; so does one
 * with something left, so the next reap still knows it was killed.
 */
export function spentOwners(
  outcomes: readonly { decision: ReapDecision; result?: { status: string } | undefined }[],
  searched: readonly string[],
  context: Pick<ReapContext, "host" | "owners" | "processes">,
): string[] {
  const { processes } = context;
  if (processes === undefined) return [];
  return [...context.owners.values()]
    .filter((owner) => owner.host === context.host && searched.includes(owner.region))
    .filter((owner) => ["gone", "reused"].includes(ownerState(processes, owner.pid, Date.parse(owner.started))))
    .filter((owner) =>
      outcomes
        .filter(({ decision: { leftover } }) => !leftover.copy && leftover.buildId === owner.buildId && leftover.region === owner.region)
        .every(({ result }) => result?.status === "removed"),
    )
    .map((owner) => owner.buildId);
}
