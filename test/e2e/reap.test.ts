import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runOnTerminal } from "../helpers/terminal.js";
import { record, registryWith } from "../registry/fixtures.js";
import { buildOwnerIds, leftovers, startHarness, type Harness } from "./harness.js";

/**
 * `cws ami reap` end to end: builds run by the built CLI against the emulator
 * and killed with SIGKILL (so no cleanup of theirs runs), then reap, also
 * the built CLI, finds and removes what they left, and nothing else.
 */
let harness: Harness | undefined;
const running: Promise<unknown>[] = [];
/** Processes a test leaves running when an assertion fails before it stops them. */
const children: import("node:child_process").ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.allSettled(running.splice(0));
  await harness?.close();
  harness = undefined;
});

const MUTATING = ["ec2:TerminateInstances", "ec2:DeleteSecurityGroup", "ec2:DeregisterImage", "ec2:DeleteSnapshot", "ec2:StopInstances", "ec2:CreateTags", "ec2:RunInstances", "ec2:CreateSecurityGroup", "ec2:CreateImage", "ec2:CopyImage"];
const mutatingCalls = (h: Harness) => Object.entries(h.emulator.stats.calls).filter(([action]) => MUTATING.includes(action));

/** A build of `template` killed with SIGKILL as soon as its stderr says `when`; its build id. */
async function killedBuild(h: Harness, template: string, when: string, extra: string[] = []): Promise<string> {
  const earlier = new Set(buildOwnerIds(h));
  let killed = false;
  const result = await h.cws(["ami", "build", template, "--architecture", "x86_64", "--region", "us-east-1", ...extra], {
    onStderr: (text, child) => {
      if (!killed && text.includes(when)) {
        killed = true;
        child.kill("SIGKILL");
      }
    },
  });
  expect(killed, result.stderr).toBe(true);
  expect(result.status).toBe(128);
  const [id, ...more] = buildOwnerIds(h).filter((id) => !earlier.has(id));
  expect(more).toEqual([]);
  return id!;
}

/** A build that keeps running (emu-slow prints a tick every 100 ms for a minute); resolves once its instance is working. */
function liveBuild(h: Harness): Promise<{ stop: () => Promise<{ status: number }> }> {
  return new Promise((resolve, reject) => {
    let child: import("node:child_process").ChildProcess | undefined;
    const done = h.cws(["ami", "build", "emu-slow"], {
      onStderr: (text, started) => {
        if (child === undefined && text.includes("tick 2")) {
          child = started;
          resolve({
            stop: () => {
              started.kill("SIGINT");
              return done;
            },
          });
        }
      },
    });
    running.push(done);
    void done.then((result) => child === undefined && reject(new Error(`the live build ended early:\n${result.stderr}`)));
  });
}

const resourceIds = (h: Harness) => {
  const left = leftovers(h.emulator);
  return { instances: left.liveInstances.map((i) => i.split(" ")[0]!), groups: left.buildSecurityGroups, images: left.images.map((i) => i.id), snapshots: left.snapshots.map((s) => s.id) };
};

describe("cws ami reap (end to end, emulator)", () => {
  it("removes what a build killed with SIGKILL left (instance, security group, pending image and its snapshot), never a live build's; a second reap finds nothing to do", { timeout: 120_000 }, async () => {
    // Images stay pending for a simulated day: the killed build dies waiting for one.
    harness = await startHarness({ latencies: { imageBase: 86_400 } });
    const h = harness;
    const live = await liveBuild(h);
    const liveBuildIds = buildOwnerIds(h);
    expect(liveBuildIds).toHaveLength(1);
    const liveIds = resourceIds(h);
    expect(liveIds.instances).toHaveLength(1);
    expect(liveIds.groups).toHaveLength(1);

    const killed = await killedBuild(h, "emu-basic", "image and snapshots tagged");
    const left = leftovers(h.emulator);
    const killedInstance = h.emulator.instances("us-east-1").find((i) => i.tags["cws:build-id"] === killed)!;
    const killedGroup = h.emulator.securityGroups("us-east-1").find((g) => g.tags["cws:build-id"] === killed)!;
    const killedImage = left.images.find((i) => i.tags["cws:build-id"] === killed)!;
    expect(killedInstance.state).toBe("stopped");
    expect(killedImage.state).toBe("pending");
    expect(killedImage.snapshotIds).toHaveLength(1);

    const reap = await h.cws(["ami", "reap", "--yes"]);
    expect(reap.status, reap.stderr + reap.stdout).toBe(0);
    expect(reap.stderr).toContain("Searching us-east-1, us-west-2 for what builds left behind");
    const rows = reap.stdout.split("\n");
    const row = (id: string) => rows.find((line) => line.includes(` ${id} `) || line.includes(` ${id}`)) ?? "";
    for (const id of [killedInstance.id, killedGroup.id, killedImage.id]) expect(row(id)).toMatch(new RegExp(`^us-east-1 .*${killed} +emu-basic +\\d+ [a-z]+( \\d+ [a-z]+)? +reap +its build's process \\d+ is gone$`));
    for (const id of [...liveIds.instances, ...liveIds.groups]) expect(row(id)).toMatch(/ keep +its build is running on this machine \(pid \d+\)$/);
    expect(reap.stdout).toContain(`us-east-1  image ${killedImage.id}: deregistered, 1 snapshot deleted (${killedImage.snapshotIds[0]})`);
    expect(reap.stdout).toContain("3 of 3 resources removed; kept 2 resources (see WHY).");

    expect(h.emulator.instances("us-east-1").find((i) => i.id === killedInstance.id)?.state).toBe("terminated");
    expect(resourceIds(h)).toEqual({ ...liveIds, images: [], snapshots: [] });
    // The killed build's owner file went with its resources; the live build's stays.
    expect(buildOwnerIds(h)).toEqual(liveBuildIds);

    const before = mutatingCalls(h);
    const again = await h.cws(["ami", "reap", "--yes", "--json"]);
    expect(again.status).toBe(0);
    const document = JSON.parse(again.stdout);
    expect(document).toMatchObject({ ending: "nothing-to-do", counts: { found: 2, reap: 0, keep: 2, removed: 0 }, exitCode: 0 });
    expect(document.resources.map((r: { buildId: string }) => r.buildId)).toEqual([...liveBuildIds, ...liveBuildIds]);
    expect(mutatingCalls(h)).toEqual(before);

    // The live build was never disturbed: it stops on Ctrl-C and cleans up itself.
    const stopped = await live.stop();
    expect(stopped.status).toBe(130);
    expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });
    const last = await h.cws(["ami", "reap", "--yes"]);
    expect(last.stdout).toBe("Nothing left behind by a build in us-east-1, us-west-2 (--older-than 2h).\n");
  });

  it("build-all: each of its builds has an owner file of its own, all kept while the one process runs them, all reaped once it is killed with SIGKILL", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    // Two more slow builds beside emu-slow's: build-all runs all three in this one process.
    writeFileSync(join(h.dir, "templates", "emu-slow-both.yml"), readFileSync(join(h.dir, "templates", "emu-slow.yml"), "utf8").replace("architecture: [x86_64]", "architecture: [x86_64, arm64]"));
    let child: import("node:child_process").ChildProcess | undefined;
    let everyoneInSetup!: () => void;
    const inSetup = new Promise<void>((resolve) => (everyoneInSetup = resolve));
    const fleet = h.cws(["ami", "build-all", "emu-slow", "emu-slow-both"], {
      onStderr: (text, started) => {
        if (child === undefined && (text.match(/\] Executing setup script\n/g) ?? []).length === 3) {
          child = started;
          children.push(started);
          everyoneInSetup();
        }
      },
    });
    running.push(fleet);
    await Promise.race([inSetup, fleet.then((result) => Promise.reject(new Error(`build-all ended early:\n${result.stderr}`)))]);

    const ids = buildOwnerIds(h).sort();
    expect(ids).toHaveLength(3);
    const owners = ids.map((id) => JSON.parse(readFileSync(join(h.dir, ".cws", "builds", `${id}.json`), "utf8")) as { buildId: string; pid: number; template: string });
    expect(owners.map((o) => o.pid)).toEqual([child!.pid, child!.pid, child!.pid]);
    expect(owners.map((o) => o.template).sort()).toEqual(["emu-slow", "emu-slow-both", "emu-slow-both"]);
    const live = resourceIds(h);
    expect(live.instances).toHaveLength(3);
    expect(live.groups).toHaveLength(3);
    // Each instance and group belongs to one of those builds.
    const tagged = [...h.emulator.instances("us-east-1"), ...h.emulator.securityGroups("us-east-1")].flatMap((r) => r.tags["cws:build-id"] ?? []).sort();
    expect(tagged).toEqual([...ids, ...ids].sort());

    const whileRunning = await h.cws(["ami", "reap", "--yes", "--region", "us-east-1", "--older-than", "1s"]);
    expect(whileRunning.status, whileRunning.stderr).toBe(0);
    for (const id of [...live.instances, ...live.groups]) expect(whileRunning.stdout).toMatch(new RegExp(` ${id} .* keep +its build is running on this machine \\(pid ${child!.pid}\\)\n`));
    expect(whileRunning.stdout).toContain("Nothing to remove; kept 6 resources (see WHY).");
    expect(resourceIds(h)).toEqual(live);

    child!.kill("SIGKILL");
    expect((await fleet).status).toBe(128);
    // Killed: no cleanup ran, the owner files stay and name a process that is gone.
    expect(buildOwnerIds(h).sort()).toEqual(ids);
    const reap = await h.cws(["ami", "reap", "--yes"]);
    expect(reap.status, reap.stderr + reap.stdout).toBe(0);
    for (const id of [...live.instances, ...live.groups]) expect(reap.stdout).toMatch(new RegExp(` ${id} .* reap +its build's process ${child!.pid} is gone\n`));
    expect(reap.stdout).toContain("6 of 6 resources removed.");
    expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });
    expect(buildOwnerIds(h)).toEqual([]);
  });

  it("build --verify killed while it tests the image on a fresh instance: reap takes both instances, the group and the image no verdict will come for", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    await killedBuild(h, "emu-boot-service", "Fresh instance launched", ["--verify"]);
    const left = resourceIds(h);
    expect(left.instances).toHaveLength(2);
    const unjudged = h.emulator.images("us-east-1").filter((i) => i.tags["cws:validated"] === "pending");
    expect(unjudged.map((i) => i.state)).toEqual(["available"]);
    expect(left.images).toEqual([unjudged[0]!.id]);
    const reap = await h.cws(["ami", "reap", "--yes"]);
    expect(reap.status, reap.stderr + reap.stdout).toBe(0);
    expect(reap.stdout).toMatch(new RegExp(` image ${unjudged[0]!.id} \\(available, 1 snapshot\\) .* reap +its build's process \\d+ is gone\n`));
    expect(resourceIds(h)).toMatchObject({ instances: [], groups: [] });
    expect(h.emulator.images("us-east-1").map((i) => i.id)).not.toContain(unjudged[0]!.id);
    expect(h.emulator.snapshots("us-east-1").filter((s) => unjudged[0]!.snapshotIds.includes(s.id))).toEqual([]);
  });

  it("validate: its fresh instance has an owner file while it runs, and is reaped at once when validate is killed with SIGKILL", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const built = await h.cws(["ami", "build", "emu-boot-service", "--architecture", "x86_64"]);
    expect(built.status, built.stderr).toBe(0);
    expect(buildOwnerIds(h)).toEqual([]);
    let killed = false;
    let owners: string[] = [];
    const result = await h.cws(["ami", "validate", "emu-boot-service", "--architecture", "x86_64"], {
      onStderr: (text, child) => {
        if (!killed && text.includes("Fresh instance launched")) {
          killed = true;
          owners = buildOwnerIds(h);
          child.kill("SIGKILL");
        }
      },
    });
    expect(killed, result.stderr).toBe(true);
    expect(result.status).toBe(128);
    expect(owners).toHaveLength(1);
    const left = resourceIds(h);
    expect(left.instances).toHaveLength(1);
    expect(left.groups).toHaveLength(1);
    // Young, but its owner is gone: reaped at once, without waiting for --older-than.
    const reap = await h.cws(["ami", "reap", "--yes"]);
    expect(reap.status, reap.stderr + reap.stdout).toBe(0);
    for (const id of [...left.instances, ...left.groups]) expect(reap.stdout).toMatch(new RegExp(` ${id} .* reap +its build's process \\d+ is gone\n`));
    expect(resourceIds(h)).toMatchObject({ instances: [], groups: [] });
    expect(buildOwnerIds(h)).toEqual([]);
    // The image validate was checking is available and not reap's: it stays.
    expect(h.emulator.images("us-east-1").filter((i) => i.state === "available")).toHaveLength(1);
  });

  it("--dry-run makes no mutating call; a build of another host is kept until older than --older-than; no --yes without a terminal is refused before any call", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const killed = await killedBuild(h, "emu-slow", "tick 2");
    const left = resourceIds(h);
    expect(left.instances).toHaveLength(1);
    expect(left.groups).toHaveLength(1);

    h.emulator.stats.reset();
    const refused = await h.cws(["ami", "reap"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("error: cws ami reap changes nothing without a yes, and there is no terminal to ask: nothing was changed");
    expect(refused.stderr).toContain("→ run it again with --yes to go ahead (cws ami reap --dry-run shows what it would do)");
    // The refusal is all it says: no "Searching …" first, as if it were about to look.
    expect(refused.stderr).toMatch(/^error: cws ami reap changes nothing without a yes/);
    expect(refused.stderr).not.toContain("Searching");
    expect(refused.stdout).toBe("");
    expect(h.emulator.stats.totalCalls).toBe(0);

    const dry = await h.cws(["ami", "reap", "--dry-run", "--older-than", "1s"]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("Dry run: nothing was removed; without --dry-run cws ami reap would remove 2 resources of 1 build.");
    expect(Object.keys(h.emulator.stats.calls).sort()).toEqual(["ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeSecurityGroups"]);
    expect(resourceIds(h)).toEqual(left);
    expect(buildOwnerIds(h)).toEqual([killed]);

    // The same build as if it had run on a CI runner: this machine cannot ask about its process, so its age decides.
    const ownerFile = join(h.dir, ".cws", "builds", `${killed}.json`);
    writeFileSync(ownerFile, readFileSync(ownerFile, "utf8").replace(/"host": "[^"]*"/, '"host": "ci-runner-9"'));
    const young = await h.cws(["ami", "reap", "--yes", "--region", "us-east-1"]);
    expect(young.status).toBe(0);
    expect(young.stdout).toMatch(/ keep +younger than 2 hours \(--older-than\); its build ran on host ci-runner-9, and it may still be running\n/);
    expect(young.stdout).toContain("Nothing to remove; kept 2 resources (see WHY).");
    expect(resourceIds(h)).toEqual(left);
    expect(mutatingCalls(h)).toEqual([]);

    const old = await h.cws(["ami", "reap", "--yes", "--region", "us-east-1", "--older-than", "1s", "--json"]);
    expect(old.status).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({ regions: ["us-east-1"], ending: "done", counts: { reap: 2, removed: 2 } });
    expect(JSON.parse(old.stdout).resources.map((r: { why: string }) => r.why)).toEqual(["older than 1 second (--older-than); its build ran on host ci-runner-9", "older than 1 second (--older-than); its build ran on host ci-runner-9"]);
    expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });
    // Another host's owner file is not this machine's to remove.
    expect(buildOwnerIds(h)).toEqual([killed]);
  });

  it("searches every region the templates and the registry name; a template it cannot read stops it before any call, unless --region says where", async () => {
    harness = await startHarness();
    const h = harness;
    mkdirSync(join(h.dir, "registry"), { recursive: true });
    writeFileSync(join(h.dir, "registry", "amis.json"), JSON.stringify(registryWith({ gone: { "eu-central-1": { x86_64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } })));
    const all = await h.cws(["ami", "reap", "--dry-run"]);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toBe("Nothing left behind by a build in eu-central-1, us-east-1, us-west-2 (--older-than 2h).\n");

    writeFileSync(join(h.dir, "templates", "broken.yml"), "name: [unclosed\n");
    h.emulator.stats.reset();
    const broken = await h.cws(["ami", "reap", "--dry-run"]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/^error: template broken is invalid \(templates\/broken\.yml:\d+:\d+ .*\), so cws cannot tell which regions it builds in\n {2}→ fix it \(cws ami lint broken shows every problem\), or search one region with --region\n$/);
    expect(h.emulator.stats.totalCalls).toBe(0);
    const one = await h.cws(["ami", "reap", "--dry-run", "--region", "us-west-2"]);
    expect(one.status).toBe(0);
    expect(one.stdout).toBe("Nothing left behind by a build in us-west-2 (--older-than 2h).\n");
    // Repeated: every region given is searched (not only the last), in the order given.
    h.emulator.stats.reset();
    const two = await h.cws(["ami", "reap", "--dry-run", "--region", "us-west-2", "--region", "eu-central-1"]);
    expect(two.status, two.stderr).toBe(0);
    expect(two.stdout).toBe("Nothing left behind by a build in us-west-2, eu-central-1 (--older-than 2h).\n");
    expect(h.emulator.stats.calls["ec2:DescribeInstances"]).toBe(2);
  });

  it("a signal during the last removal: it finishes, and reap exits 128 + the signal's number, its summary and document saying it was interrupted", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    /** `cws ami reap --yes …` that gets `signal` while EC2 answers the call `action` (answered all the same). */
    const reapSignalledDuring = async (action: string, signal: NodeJS.Signals, extra: string[] = []) => {
      let reap: import("node:child_process").ChildProcess | undefined;
      let sent = false;
      const fault = h.emulator.faults.add({
        service: "ec2",
        action,
        code: "Unused",
        times: 1,
        match: () => {
          if (!sent) reap?.kill(signal);
          sent = true;
          return false;
        },
      });
      const result = await h.cws(["ami", "reap", "--yes", "--region", "us-east-1", ...extra], { onStderr: (_, child) => (reap ??= child) });
      fault.remove();
      expect(sent, result.stderr).toBe(true);
      return result;
    };

    // A killed build: its group is deleted last, once its instance is terminated.
    await killedBuild(h, "emu-slow", "tick 2");
    const left = resourceIds(h);
    const term = await reapSignalledDuring("DeleteSecurityGroup", "SIGTERM");
    expect(term.status, term.stderr + term.stdout).toBe(143);
    expect(term.stderr).toContain("SIGTERM: finishing the calls under way and starting no more");
    expect(term.stdout).toContain(`  us-east-1  security group ${left.groups[0]}: deleted\n2 of 2 resources removed (interrupted).\n`);
    expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });

    // A failed image of a build long gone: its last snapshot is its last call.
    for (const [signal, code] of [["SIGINT", 130], ["SIGHUP", 129]] as const) {
      const image = h.emulator.addImage("us-east-1", {
        name: `left-${signal}`,
        state: "failed",
        snapshots: 2,
        tags: { "cws:managed-by": "cws", "cws:build-id": "20200101t000000z-abcdef", "cws:template": "emu-basic" },
      });
      const result = await reapSignalledDuring("DeleteSnapshot", signal, ["--json"]);
      expect(result.status, result.stderr).toBe(code);
      // The first snapshot's deletion was under way: the image is deregistered and both snapshots go, then nothing more.
      expect(JSON.parse(result.stdout)).toMatchObject({ ending: "interrupted", counts: { reap: 1, removed: 1 }, exitCode: code, resources: [{ id: image.imageId, result: "removed", snapshotIds: image.snapshotIds }] });
      expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });
    }
  });

  it("asks on a terminal: no, or no answer (Ctrl-D), keeps everything (exit 1), yes removes", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    await killedBuild(h, "emu-slow", "tick 2");
    const left = resourceIds(h);
    const answer = (keys: string) => {
      let typed = false;
      return runOnTerminal(["ami", "reap", "--region", "us-east-1"], {
        cols: 200,
        rows: 40,
        cwd: h.dir,
        env: h.env,
        onOutput: (raw, type) => {
          if (!typed && raw.includes("[y/N]")) {
            typed = true;
            type(keys);
          }
        },
      });
    };
    const no = await answer("n\r");
    expect(no.status).toBe(1);
    expect(no.screen).toContain("Remove 2 resources of 1 build? [y/N] n");
    expect(no.screen).toContain("Nothing was removed.");
    expect(resourceIds(h)).toEqual(left);

    // No answer (Ctrl-D, the end of input) is no answer: a no, not an interruption.
    const none = await answer("\x04");
    expect(none.status, none.screen.join("\n")).toBe(1);
    expect(none.screen).toContain("Nothing was removed.");
    expect(resourceIds(h)).toEqual(left);

    const yes = await answer("y\r");
    expect(yes.status, yes.screen.join("\n")).toBe(0);
    expect(yes.screen).toContain("2 of 2 resources removed.");
    expect(resourceIds(h)).toEqual({ instances: [], groups: [], images: [], snapshots: [] });
  });
});
