import { bootDone, newBoot, startBootIfDue } from "./boot.js";
import type { Image, Instance, Snapshot, World } from "./state.js";

/**
 * State changes are computed lazily from timestamps whenever a resource is
 * read: no timers are needed for them. (An instance that boots is also woken
 * by `wakeAt`, so its boot scripts start when it becomes running, read or not.)
 */
export function refreshInstance(world: World, inst: Instance): void {
  const now = world.clock.now();
  while (inst.transition) {
    const t = inst.transition;
    let at = t.at;
    if (t.to === "running") {
      if (!inst.treeReady) break; // still laying out its disk
      at = Math.max(at, inst.treeReadyAt ?? at);
    }
    if (at > now) break;
    inst.state = t.to;
    inst.stateSince = at;
    inst.transition = undefined;
    if (t.to === "running") {
      inst.boot = newBoot(at);
      if (inst.profile) inst.agentOnlineAt = at + world.latencies.ssmAgentOnline;
    }
  }
  startBootIfDue(world, inst);
  if (
    inst.state === "running" &&
    inst.registeredAt === undefined &&
    inst.agentOnlineAt !== undefined &&
    inst.agentOnlineAt <= now &&
    bootDone(world, inst) &&
    agentCanRegister(world, inst)
  ) {
    // The agent registers once it is up and the boot scripts have ended (boot.ts).
    inst.registeredAt = Math.max(inst.agentOnlineAt, inst.boot?.doneAt ?? 0);
  }
}

/** Reads the instance again at simulated time `at` (a real timer, unref'd): what is due then (a boot) happens unread. */
export function wakeAt(world: World, inst: Instance, at: number): void {
  const timer = setTimeout(() => {
    if (!world.sandbox.stopping) refreshInstance(world, inst);
  }, Math.max(0, world.clock.realMs(at - world.clock.now())));
  timer.unref();
}

/** The agent needs credentials: a profile with a role, and (by default) a role allowed to talk to SSM. */
export function agentCanRegister(world: World, inst: Instance): boolean {
  if (!inst.profile) return false;
  const profile = world.iam.instanceProfiles.get(inst.profile.name);
  if (!profile) return false;
  return profile.roleNames.some((roleName) => {
    const role = world.iam.roles.get(roleName);
    if (!role) return false;
    if (!world.options.requireSsmPolicy) return true;
    return role.attachedPolicyArns.some((arn) => /\/(AmazonSSMManagedInstanceCore|AmazonEC2RoleforSSM)$/.test(arn));
  });
}

export function isOnline(world: World, inst: Instance): boolean {
  refreshInstance(world, inst);
  return (
    inst.state === "running" &&
    inst.registeredAt !== undefined &&
    inst.agentOnlineAt !== undefined &&
    inst.agentOnlineAt <= world.clock.now() &&
    bootDone(world, inst) &&
    agentCanRegister(world, inst)
  );
}

/** SSM's PingStatus, or undefined when the instance is not (or no longer) known to SSM. */
export function pingStatus(world: World, inst: Instance): "Online" | "ConnectionLost" | undefined {
  refreshInstance(world, inst);
  if (inst.registeredAt === undefined || inst.state === "terminated") return undefined;
  return isOnline(world, inst) ? "Online" : "ConnectionLost";
}

export function imageState(world: World, img: Image): "pending" | "available" | "failed" {
  if (img.treeError) return "failed";
  if (!img.treeReady || world.clock.now() < img.availableAt) return "pending";
  return "available";
}

export function snapshotState(world: World, snap: Snapshot, region: { images: ReadonlyMap<string, Image> }): "pending" | "completed" | "error" {
  const img = snap.imageId ? region.images.get(snap.imageId) : undefined;
  if (img?.treeError) return "error";
  if (img && !img.treeReady) return "pending";
  return world.clock.now() >= snap.completeAt ? "completed" : "pending";
}
