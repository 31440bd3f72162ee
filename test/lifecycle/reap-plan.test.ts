import { describe, expect, it } from "vitest";
import type { BuildOwner } from "../../src/builder/build-owner.js";
import { buildStartedAt, newBuildId } from "../../src/builder/context.js";
import { planReap, spentOwners, type Leftover, type ReapContext, type ReapDecision } from "../../src/lifecycle/reap-plan.js";
import type { ProcessProbe } from "../../src/process-probe.js";

const NOW = new Date("2026-11-28T12:00:00Z");
const HOUR = 3_600_000;
const MINUTE = 60_000;
const HOST = "laptop";

/** A build id of a build started `agoMs` before NOW. */
const buildAgo = (agoMs: number, suffix = 0x4f2a1c) => newBuildId(new Date(NOW.getTime() - agoMs), () => suffix / 0xffffff);
const iso = (agoMs: number) => new Date(NOW.getTime() - agoMs).toISOString();

/** Every kind a build leaves: its instance, its security group and its unfinished image. */
function buildLeftovers(buildId: string, options: { region?: string; imageState?: string; imageAgoMs?: number; sizeGb?: number } = {}): Leftover[] {
  const started = buildStartedAt(buildId)!.getTime();
  const base = { region: options.region ?? "us-east-1", buildId, template: "r-research", copy: false, snapshotIds: [] as string[], sizeGb: undefined };
  return [
    { ...base, kind: "instance", id: `i-${buildId.slice(-6)}`, state: "stopped", created: new Date(started + 2 * MINUTE).toISOString() },
    { ...base, kind: "security-group", id: `sg-${buildId.slice(-6)}`, state: undefined, created: undefined },
    {
      ...base,
      kind: "image",
      id: `ami-${buildId.slice(-6)}`,
      state: options.imageState ?? "pending",
      created: options.imageAgoMs === undefined ? new Date(started + 20 * MINUTE).toISOString() : iso(options.imageAgoMs),
      snapshotIds: [`snap-${buildId.slice(-6)}`],
      sizeGb: options.sizeGb ?? 8,
    },
  ];
}

function copyOf(buildId: string, agoMs: number, state = "pending"): Leftover {
  return { region: "eu-west-1", kind: "image", id: "ami-0c0py", buildId, template: "r-research", state, created: iso(agoMs), copy: true, snapshotIds: ["snap-c0py"], sizeGb: 8 };
}

/** Processes of this machine: id → start time; absent ids are gone. */
function probe(processes: Record<number, number>, unknown: number[] = []): ProcessProbe {
  return { pid: 1, exists: (pid) => (unknown.includes(pid) ? undefined : pid in processes), startedAt: (pid) => processes[pid] };
}

function owner(buildId: string, pid: number, host = HOST): BuildOwner {
  return { buildId, pid, host, started: buildStartedAt(buildId)!.toISOString(), template: "r-research", region: "us-east-1" };
}

function context(extra: Partial<ReapContext> = {}): ReapContext {
  return { now: NOW, olderThanMs: 2 * HOUR, host: HOST, owners: new Map(), processes: probe({}), ...extra };
}

const owners = (...list: BuildOwner[]) => new Map(list.map((o) => [o.buildId, o]));
const actions = (decisions: ReapDecision[]) => decisions.map((d) => `${d.leftover.kind} ${d.action}`);
const ALL_REAPED = ["instance reap", "security-group reap", "image reap"];
const ALL_KEPT = ["instance keep", "security-group keep", "image keep"];

describe("a build whose owner process was on this machine", () => {
  it("is reaped at once when the process is gone, however young, every kind of resource", () => {
    const id = buildAgo(10 * MINUTE);
    const decisions = planReap(buildLeftovers(id), context({ owners: owners(owner(id, 4242)) }));
    expect(actions(decisions)).toEqual(ALL_REAPED);
    expect(decisions[0]).toMatchObject({ reason: { kind: "owner-gone", pid: 4242, reused: false }, why: "its build's process 4242 is gone", ageMs: 10 * MINUTE });
  });

  it("is reaped when its process id now belongs to a process started after the build", () => {
    const id = buildAgo(10 * MINUTE);
    const decisions = planReap(buildLeftovers(id), context({ owners: owners(owner(id, 4242)), processes: probe({ 4242: NOW.getTime() - MINUTE }) }));
    expect(actions(decisions)).toEqual(ALL_REAPED);
    expect(decisions[0]?.why).toBe("its build's process 4242 is gone (the id now belongs to a later process)");
  });

  it("is kept while the process is alive, however old (a build that outlives the limit is still running)", () => {
    for (const age of [10 * MINUTE, 30 * HOUR]) {
      const id = buildAgo(age);
      const decisions = planReap(buildLeftovers(id), context({ owners: owners(owner(id, 4242)), processes: probe({ 4242: NOW.getTime() - age - MINUTE }) }));
      expect(actions(decisions)).toEqual(ALL_KEPT);
      expect(decisions[1]?.why).toBe("its build is running on this machine (pid 4242)");
    }
  });

  it("is judged by age when the process cannot be judged (no probe, or the probe cannot tell)", () => {
    const young = buildAgo(10 * MINUTE);
    const old = buildAgo(3 * HOUR, 0x111111);
    for (const extra of [{ processes: undefined }, { processes: probe({}, [4242, 4343]) }]) {
      const decisions = planReap([...buildLeftovers(young), ...buildLeftovers(old)], context({ owners: owners(owner(young, 4242), owner(old, 4343)), ...extra }));
      expect(actions(decisions)).toEqual([...ALL_KEPT, ...ALL_REAPED]);
    }
  });
});

describe("a build with no owner here, or one on another host", () => {
  it("is kept while younger than the limit (it may be running elsewhere) and reaped once older", () => {
    const young = buildAgo(2 * HOUR);
    const old = buildAgo(2 * HOUR + 1_000, 0x222222);
    const decisions = planReap([...buildLeftovers(young), ...buildLeftovers(old)], context());
    expect(actions(decisions)).toEqual([...ALL_KEPT, ...ALL_REAPED]);
    expect(decisions[0]?.why).toBe("younger than 2 hours (--older-than); no build on this machine owns it, and it may still be running");
    expect(decisions[3]?.why).toBe("older than 2 hours (--older-than); no build on this machine owns it");
  });

  it("names the other host, never asks this machine about its process id, and follows the limit", () => {
    const young = buildAgo(30 * MINUTE);
    const old = buildAgo(5 * HOUR, 0x333333);
    // The same pids are gone here: that must not matter for another host's builds.
    const decisions = planReap([...buildLeftovers(young), ...buildLeftovers(old)], context({ owners: owners(owner(young, 4242, "ci-runner-7"), owner(old, 4343, "ci-runner-7")) }));
    expect(actions(decisions)).toEqual([...ALL_KEPT, ...ALL_REAPED]);
    expect(decisions[0]?.why).toBe("younger than 2 hours (--older-than); its build ran on host ci-runner-7, and it may still be running");
    expect(decisions[5]?.why).toBe("older than 2 hours (--older-than); its build ran on host ci-runner-7");
  });

  it("takes the limit it is given", () => {
    const id = buildAgo(45 * MINUTE);
    expect(actions(planReap(buildLeftovers(id), context({ olderThanMs: 30 * MINUTE })))).toEqual(ALL_REAPED);
    expect(actions(planReap(buildLeftovers(id), context({ olderThanMs: HOUR })))).toEqual(ALL_KEPT);
  });

  it("keeps the whole build while one of its images is pending and a build of its size may still wait for it", () => {
    // 3 hours old, its 500 GiB image made 1 hour ago: a build waits 20 min + 30 s per GiB (4h 30m) for it.
    const big = buildAgo(3 * HOUR);
    const decisions = planReap(buildLeftovers(big, { imageAgoMs: HOUR, sizeGb: 500 }), context());
    expect(actions(decisions)).toEqual(ALL_KEPT);
    expect(decisions[0]?.why).toBe(`older than 2 hours (--older-than), but image ami-${big.slice(-6)} is pending and a build may wait 4 hours 30 minutes for it`);
    // The same image failed: nothing waits for it.
    expect(actions(planReap(buildLeftovers(big, { imageAgoMs: HOUR, sizeGb: 500, imageState: "failed" }), context()))).toEqual(ALL_REAPED);
    // An 8 GiB image pending for an hour is past its 24 minutes.
    expect(actions(planReap(buildLeftovers(big, { imageAgoMs: HOUR }), context()))).toEqual(ALL_REAPED);
  });

  it("gives every resource of a build one decision: an instance launched after the limit's boundary goes with its build", () => {
    const id = buildAgo(2 * HOUR + MINUTE);
    // The instance was launched a minute after the build started, so it alone is younger than the limit.
    const decisions = planReap(buildLeftovers(id), context());
    expect(new Set(decisions.map((d) => d.action))).toEqual(new Set(["reap"]));
    expect(new Set(decisions.map((d) => d.ageMs))).toEqual(new Set([2 * HOUR + MINUTE]));
  });

  it("dates a build by its oldest resource when its id is not one cws makes, and keeps what cannot be dated", () => {
    const base = { region: "us-east-1", buildId: "handmade", template: undefined, copy: false, snapshotIds: [], sizeGb: undefined };
    const decisions = planReap(
      [
        { ...base, kind: "instance", id: "i-1", state: "running", created: iso(3 * HOUR) },
        { ...base, kind: "security-group", id: "sg-1", state: undefined, created: undefined },
        { ...base, buildId: "handmade-2", kind: "security-group", id: "sg-2", state: undefined, created: undefined },
      ],
      context(),
    );
    expect(decisions.map((d) => [d.leftover.id, d.action, d.ageMs])).toEqual([
      ["i-1", "reap", 3 * HOUR],
      ["sg-1", "reap", 3 * HOUR],
      ["sg-2", "keep", undefined],
    ]);
    expect(decisions[2]?.why).toMatch(/^its age is unknown/);
  });
});

describe("a date in the future (a build id stamped by a clock ahead, or a hand-made one)", () => {
  const FUTURE = "20991231t000000z-ffffff";
  const group = (buildId: string, id = "sg-1"): Leftover => ({ region: "us-east-1", kind: "security-group", id, buildId, template: undefined, state: undefined, created: undefined, copy: false, snapshotIds: [], sizeGb: undefined });
  const instance = (buildId: string, agoMs: number): Leftover => ({ ...group(buildId), kind: "instance", id: "i-1", state: "running", created: iso(agoMs) });

  it("leaves the age unknown, keeps the build and says why, rather than calling it younger than the limit", () => {
    for (const olderThanMs of [2 * HOUR, 1_000]) {
      const [decision] = planReap([group(FUTURE)], context({ olderThanMs }));
      expect(decision).toMatchObject({ action: "keep", reason: { kind: "age-unknown" }, ageMs: undefined, futureStart: new Date("2099-12-31T00:00:00Z") });
      expect(decision?.why).toBe("its build id's date (2099-12-31T00:00:00Z) is in the future: age unknown");
    }
  });

  it("is decided by the owner file first: a gone process is reaped at once, a live one kept", () => {
    const ctx = context({ owners: owners({ ...owner(buildAgo(0), 4242), buildId: FUTURE, started: iso(HOUR) }) });
    expect(planReap([group(FUTURE)], ctx)[0]).toMatchObject({ action: "reap", reason: { kind: "owner-gone", pid: 4242 } });
    expect(planReap([group(FUTURE)], { ...ctx, processes: probe({ 4242: NOW.getTime() - 2 * HOUR }) })[0]).toMatchObject({ action: "keep", reason: { kind: "owner-running" } });
  });

  it("is dated by EC2's dates of its resources when they have them, and says so", () => {
    const decisions = planReap([instance(FUTURE, 3 * HOUR), group(FUTURE)], context());
    expect(actions(decisions)).toEqual(["instance reap", "security-group reap"]);
    expect(decisions[1]).toMatchObject({ ageMs: 3 * HOUR, futureStart: new Date("2099-12-31T00:00:00Z") });
    expect(decisions[1]?.why).toBe("its build id's date (2099-12-31T00:00:00Z) is in the future, so it is dated by EC2: older than 2 hours (--older-than); no build on this machine owns it");
    expect(actions(planReap([instance(FUTURE, 10 * MINUTE), group(FUTURE)], context()))).toEqual(["instance keep", "security-group keep"]);
  });

  it("passes over an EC2 date in the future too, and counts a date within the clock skew as now", () => {
    expect(planReap([instance("handmade", -HOUR)], context())[0]).toMatchObject({ action: "keep", reason: { kind: "age-unknown" }, ageMs: undefined, futureStart: undefined });
    // Five minutes ahead: another machine's clock, not a date to distrust.
    const soon = newBuildId(new Date(NOW.getTime() + 5 * MINUTE), () => 0.5);
    expect(planReap([group(soon)], context())[0]).toMatchObject({ action: "keep", reason: { kind: "younger" }, ageMs: 0, futureStart: undefined });
    const later = newBuildId(new Date(NOW.getTime() + 11 * MINUTE), () => 0.5);
    expect(planReap([group(later)], context())[0]).toMatchObject({ action: "keep", reason: { kind: "age-unknown" }, futureStart: buildStartedAt(later) });
  });
});

describe("a copy build-all was making", () => {
  it("is judged by its own date and its copy's wait, not by its source's build or owner", () => {
    // The source build is a week old and its process is gone; the copy of it started 30 minutes ago.
    const source = buildAgo(7 * 24 * HOUR);
    const ctx = context({ owners: owners(owner(source, 4242)) });
    expect(actions(planReap([copyOf(source, 30 * MINUTE)], ctx))).toEqual(["image keep"]);
    // 50 minutes old: past a 40-minute limit, but a copy of 8 GiB may be waited for 45 min + 1 min per GiB.
    expect(actions(planReap([copyOf(source, 50 * MINUTE)], context({ olderThanMs: 40 * MINUTE })))).toEqual(["image keep"]);
    expect(actions(planReap([copyOf(source, 3 * HOUR)], ctx))).toEqual(["image reap"]);
    expect(actions(planReap([copyOf(source, 3 * HOUR, "failed")], ctx))).toEqual(["image reap"]);
  });

  it("does not carry its decision over to the source build's own resources, or the reverse", () => {
    const id = buildAgo(10 * MINUTE);
    const decisions = planReap([...buildLeftovers(id), copyOf(id, 3 * HOUR)], context({ owners: owners(owner(id, 4242)), processes: probe({ 4242: NOW.getTime() - HOUR }) }));
    expect(actions(decisions)).toEqual([...ALL_KEPT, "image reap"]);
  });
});

describe("units", () => {
  it("are a build per region: the same build id in two regions is judged in each", () => {
    const id = buildAgo(3 * HOUR);
    const decisions = planReap([...buildLeftovers(id), ...buildLeftovers(id, { region: "eu-west-1", imageAgoMs: 10 * MINUTE, sizeGb: 8 })], context());
    expect(actions(decisions)).toEqual([...ALL_REAPED, ...ALL_KEPT]);
  });

  it("come back in the order found, one decision per leftover", () => {
    const a = buildAgo(3 * HOUR);
    const b = buildAgo(10 * MINUTE, 0x999999);
    const found = [...buildLeftovers(a), ...buildLeftovers(b)].reverse();
    expect(planReap(found, context()).map((d) => d.leftover)).toEqual(found);
  });
});

describe("buildStartedAt", () => {
  it("reads back the start of every build id newBuildId makes, and nothing from other ids", () => {
    for (const at of ["2026-11-28T08:30:12Z", "2024-02-29T23:59:59Z", "2031-01-01T00:00:00Z"]) expect(buildStartedAt(newBuildId(new Date(at)))?.toISOString()).toBe(new Date(at).toISOString());
    for (const id of ["handmade", "20261340t083012z-4f2a1c", "20261128t083012z-4F2A1C", "20261128t083012z-4f2a1c-extra", "20261128T083012Z-4f2a1c"]) expect(buildStartedAt(id), id).toBeUndefined();
  });
});

describe("spentOwners", () => {
  const removed = { status: "removed" };
  const failed = { status: "failed" };

  it("forgets a gone process's build once nothing of it is left in its searched region, and only then", () => {
    const cleared = buildAgo(10 * MINUTE, 0x000001);
    const stuck = buildAgo(10 * MINUTE, 0x000002);
    const nothingFound = buildAgo(10 * MINUTE, 0x000003);
    const elsewhere = buildAgo(10 * MINUTE, 0x000004);
    const unsearched = { ...owner(buildAgo(10 * MINUTE, 0x000005), 4242), region: "ap-south-1" };
    const ctx = context({ owners: owners(owner(cleared, 4242), owner(stuck, 4242), owner(nothingFound, 4242), owner(elsewhere, 4242, "ci-runner-7"), unsearched) });
    const outcomes = [
      ...planReap(buildLeftovers(cleared), ctx).map((decision) => ({ decision, result: removed })),
      ...planReap(buildLeftovers(stuck), ctx).map((decision, i) => ({ decision, result: i === 1 ? failed : removed })),
      ...planReap(buildLeftovers(elsewhere), ctx).map((decision) => ({ decision, result: undefined })),
    ];
    expect(spentOwners(outcomes, ["us-east-1", "us-west-2"], ctx)).toEqual([cleared, nothingFound]);
  });

  it("keeps the file of a build whose process runs, or when no process can be judged", () => {
    const id = buildAgo(10 * MINUTE);
    const outcomes = planReap(buildLeftovers(id), context()).map((decision) => ({ decision, result: removed }));
    expect(spentOwners(outcomes, ["us-east-1"], context({ owners: owners(owner(id, 4242)), processes: probe({ 4242: NOW.getTime() - HOUR }) }))).toEqual([]);
    expect(spentOwners(outcomes, ["us-east-1"], context({ owners: owners(owner(id, 4242)), processes: undefined }))).toEqual([]);
  });

  it("does not count a copy of the build as the build's own remains", () => {
    const id = buildAgo(10 * MINUTE);
    const ctx = context({ owners: owners(owner(id, 4242)) });
    expect(spentOwners([{ decision: planReap([{ ...copyOf(id, HOUR), region: "us-east-1" }], ctx)[0]!, result: failed }], ["us-east-1"], ctx)).toEqual([id]);
  });
});
