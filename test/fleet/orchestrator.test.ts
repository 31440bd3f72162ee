import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/ports.js";
import { describeAwsError } from "../../src/aws/sdk.js";
import { EXIT } from "../../src/errors.js";
import { CopyFailure } from "../../src/fleet/copy.js";
import { fleetJobs, runFleet, startOrder, type FleetRunOptions } from "../../src/fleet/orchestrator.js";
import type { FleetReporter, FleetRow, TargetOutcome } from "../../src/fleet/reporter.js";
import type { TargetSelection } from "../../src/fleet/targets.js";
import { COPIED_FROM_TAG } from "../../src/registry/copied-from.js";
import { entryAt } from "../../src/registry/operations.js";
import { readRegistry, updateRegistryFile } from "../../src/registry/store.js";
import { imageContentHash, templateImageHash } from "../../src/template/content-hash.js";
import { FAKE_BASE_AMI, FAST_POLL } from "../builder/fake-build.js";
import { scratchDir } from "../helpers/cli.js";
import { TEST_PRICES } from "../output/fleet-fixtures.js";
import { record, TEMPLATE_META } from "../registry/fixtures.js";
import { accountImage, FAKE_NOW, fakeFleet, type FleetScript } from "./fake-fleet.js";
import { fleetTemplate, targetsOf, type TemplateShape } from "./fleet-fixtures.js";

const THREE = ["us-east-1", "us-west-2", "eu-west-1"];
const X86 = { regions: THREE, architectures: ["x86_64"] } satisfies TemplateShape;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A reporter that keeps what each target came to and every line. */
function recordingReporter() {
  const done = new Map<string, TargetOutcome>();
  const lines: string[] = [];
  /** The steps (a live line's text; a plain line each in CI). */
  const steps: string[] = [];
  const reporter: FleetReporter = {
    targetQueued() {},
    targetStarted() {},
    targetStep: (id, text) => steps.push(`${id} ${text}`),
    log: (id, line) => lines.push(`${id} ${line}`),
    notice: (line) => lines.push(line),
    targetDone: (id, outcome) => done.set(id, outcome),
    finish() {},
    close() {},
  };
  return { reporter, done, lines, steps };
}

interface FleetCase {
  selection?: Partial<Omit<TargetSelection, "templates">>;
  script?: FleetScript;
  options?: Partial<FleetRunOptions>;
}

/** build-all of `shapes` against the fake: its targets, a scratch registry, the fake's build and the real copy. */
function fleet(shapes: Record<string, TemplateShape>, { selection = {}, script = {}, options = {} }: FleetCase = {}) {
  const { dir, cleanup } = scratchDir();
  cleanups.push(cleanup);
  const registryFile = join(dir, "amis.json");
  const fake = fakeFleet(script);
  const recorded = recordingReporter();
  const { targets } = targetsOf(shapes, selection);
  const runOptions: FleetRunOptions = {
    targets,
    aws: fake.aws,
    poll: FAST_POLL,
    signal: new AbortController().signal,
    reporter: recorded.reporter,
    concurrency: 4,
    failFast: false,
    force: false,
    registryFile,
    parentRegistryFile: registryFile,
    publishSsm: false,
    prices: TEST_PRICES,
    runId: "run1",
    buildInput: (target) => ({
      version: "v1.0.0",
      instanceType: target.architecture === "arm64" ? "t4g.large" : "t3.large",
      subnetId: undefined,
      instanceProfile: "cws-ami-builder",
      onError: "cleanup",
      templateHash: templateImageHash(target.template),
      sourceCommit: undefined,
      logRoot: join(dir, "logs"),
    }),
    describeError: describeAwsError,
    now: () => FAKE_NOW,
    ...options,
  };
  return {
    fake,
    registryFile,
    done: recorded.done,
    lines: recorded.lines,
    steps: recorded.steps,
    run: (more: Partial<FleetRunOptions> = {}, deps = fake.deps) => runFleet({ ...runOptions, ...more }, deps),
  };
}

/** A row in one line: where, what, and the detail when there is one. */
const row = (r: FleetRow) => `${r.template}/${r.architecture}@${r.region} ${r.result}${r.detail ? `: ${r.detail}` : ""}`;
const rowAt = (rows: readonly FleetRow[], where: string) => rows.find((r) => `${r.template}/${r.architecture}@${r.region}` === where)!;

/** The job's index in the fake's log of starts and ends. */
const at = (log: readonly string[], what: string) => {
  const index = log.indexOf(what);
  expect(index, `${what} in ${log.join(", ")}`).toBeGreaterThanOrEqual(0);
  return index;
};

describe("runFleet: --verify", () => {
  it("asks each build to prove its image on a fresh instance when told (build-all's default), and not otherwise", async () => {
    for (const verify of [true, false, undefined]) {
      const f = fleet({ a: { regions: THREE }, b: {} });
      const asked: (boolean | undefined)[] = [];
      const build = f.fake.deps.runBuild;
      f.fake.deps.runBuild = (input, deps) => {
        asked.push(deps.verify);
        return build(input, deps);
      };
      expect((await f.run(verify === undefined ? {} : { verify })).exitCode).toBe(0);
      expect(asked.length).toBeGreaterThanOrEqual(2);
      expect(asked.every((value) => value === (verify === true))).toBe(true);
    }
  });
});

describe("runFleet: builds and copies", () => {
  it("builds each target in its home region, copies it to the others, and records every copy with copied_from", async () => {
    const f = fleet({ a: { regions: THREE } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(summary.rows.map((r) => `${r.template}/${r.architecture}@${r.region} ${r.result}`)).toEqual([
      "a/x86_64@us-east-1 built",
      "a/x86_64@us-west-2 copied",
      "a/x86_64@eu-west-1 copied",
      "a/arm64@us-east-1 built",
      "a/arm64@us-west-2 copied",
      "a/arm64@eu-west-1 copied",
    ]);
    const registry = (await readRegistry(f.registryFile))!;
    for (const architecture of ["x86_64", "arm64"] as const) {
      const home = entryAt(registry, "a", "us-east-1", architecture)!;
      expect(rowAt(summary.rows, `a/${architecture}@us-east-1`)).toMatchObject({ amiId: home.ami_id, cost: expect.objectContaining({ known: true }) });
      for (const region of ["us-west-2", "eu-west-1"]) {
        const copy = entryAt(registry, "a", region, architecture)!;
        expect(copy).toMatchObject({ copied_from: { region: "us-east-1", ami_id: home.ami_id }, content_hash: home.content_hash, validated: true });
        expect(rowAt(summary.rows, `a/${architecture}@${region}`)).toMatchObject({ amiId: copy.ami_id, copiedFrom: { region: "us-east-1", amiId: home.ami_id } });
        expect(f.fake.imagesIn(region).find((i) => i.imageId === copy.ami_id)?.tags[COPIED_FROM_TAG]).toBe(`us-east-1/${home.ami_id}`);
      }
    }
    expect(f.fake.calls.filter((c) => c.startsWith("copy "))).toHaveLength(4);
    expect(f.done.get("a/x86_64")).toEqual({ result: "built", detail: `${entryAt(registry, "a", "us-east-1", "x86_64")!.ami_id} in us-east-1, copied to 2 regions` });
  });

  it("says each copy twice: once when it starts, naming the source and the copy, once when it is done, its time as every duration", async () => {
    const f = fleet({ a: X86 });
    const { summary } = await f.run();
    const home = rowAt(summary.rows, "a/x86_64@us-east-1").amiId!;
    for (const region of ["us-west-2", "eu-west-1"]) {
      const copy = rowAt(summary.rows, `a/x86_64@${region}`).amiId!;
      const said = [...f.steps, ...f.lines].filter((line) => line.includes(`${region}: `) && (line.includes(copy) || line.includes("copying")));
      expect(said.sort()).toEqual([`a/x86_64 ${region}: copying ${home} from us-east-1 as ${copy}`, `a/x86_64 ✅ ${region}: ${copy} copied from us-east-1 (0s)`].sort());
    }
  });

  it("a copy whose name an image of another build or content holds in the region fails there, saying by what and what to do; the rest is up to date", async () => {
    const f = fleet({ a: X86 });
    expect((await f.run()).exitCode).toBe(EXIT.ok);
    // The search for a copy of the home image's content passes over an image not validated; its name is the source's.
    const held = f.fake.imagesIn("eu-west-1")[0]!;
    held.tags = { ...held.tags, "cws:validated": "false" };
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    expect(summary.rows.map((r) => `${r.region} ${r.result}`)).toEqual(["us-east-1 up-to-date", "us-west-2 up-to-date", "eu-west-1 failed"]);
    expect(rowAt(summary.rows, "a/x86_64@eu-west-1").detail).toMatch(
      new RegExp(`is already in use in eu-west-1 by ${held.imageId}, an image of cws's of another build or content, or not validated .*\\(deregister ${held.imageId} in eu-west-1 if nothing uses it .* or build anew with --force`),
    );
  });

  it("a copy whose name a copy of this very build holds (one the search did not see) counts the region as having it, recorded as found", async () => {
    const f = fleet({ a: X86 });
    expect((await f.run()).exitCode).toBe(EXIT.ok);
    const holder = f.fake.imagesIn("eu-west-1")[0]!;
    // Another run's copy, made between this run's search and its CopyImage: the registry does not point at it yet.
    await updateRegistryFile(f.registryFile, FAKE_NOW, (r) => {
      delete r.templates.a!.amis["eu-west-1"];
    });
    const deps = {
      ...f.fake.deps,
      copyImageToRegion: async (input: Parameters<typeof f.fake.deps.copyImageToRegion>[0]) => {
        if (input.destinationRegion !== "eu-west-1") return f.fake.deps.copyImageToRegion(input);
        throw new CopyFailure("copy failed: eu-west-1 has this image already", "eu-west-1", undefined, false, [], [], undefined, { cause: new Error("duplicate"), nameTakenBy: { image: holder, sameBuild: true } });
      },
    };
    // --force: every region is copied to, so the copy is what meets the name (the copy's own test has when it is the same build).
    const { summary, exitCode } = await f.run({ force: true }, deps);
    expect(exitCode).toBe(EXIT.ok);
    expect(rowAt(summary.rows, "a/x86_64@eu-west-1")).toMatchObject({ result: "up-to-date", amiId: holder.imageId });
    expect(entryAt((await readRegistry(f.registryFile))!, "a", "eu-west-1", "x86_64")?.ami_id).toBe(holder.imageId);
  });

  it("builds every region with --strategy per-region, copying nothing", async () => {
    const f = fleet({ a: X86 }, { selection: { strategy: "per-region" } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(summary.rows.map(row)).toEqual(["a/x86_64@us-east-1 built", "a/x86_64@us-west-2 built", "a/x86_64@eu-west-1 built"]);
    expect(f.fake.calls.filter((c) => c.startsWith("copy "))).toEqual([]);
  });

  it.each([1, 2, 3])("never runs more than %i builds and copies at once, and runs that many when it can", async (concurrency) => {
    const shapes = Object.fromEntries(["a", "b", "c", "d", "e"].map((id) => [id, X86]));
    const f = fleet(shapes, { options: { concurrency }, script: { ms: 10 } });
    const { exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(f.fake.log.filter((l) => l.startsWith("start "))).toHaveLength(15);
    expect(f.fake.peak()).toBe(concurrency);
  });
});

describe("runFleet: templates built on templates", () => {
  const PARENT = X86;

  it("builds a child on its parent's new image in the child's home, after the parent's build there", async () => {
    const f = fleet({ parent: PARENT, child: { parent: "parent", regions: ["us-east-1", "us-west-2"], architectures: ["x86_64"] } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(at(f.fake.log, "start build child/x86_64@us-east-1")).toBeGreaterThan(at(f.fake.log, "end build parent/x86_64@us-east-1"));
    const child = f.fake.requests.find((r) => r.templateId === "child")!;
    expect(child.parentImage).toEqual({ templateId: "parent", imageId: rowAt(summary.rows, "parent/x86_64@us-east-1").amiId });
  });

  it("builds a child whose home is another region on the parent's copy there, after that copy", async () => {
    const f = fleet({ parent: PARENT, child: { parent: "parent", regions: ["eu-west-1"], architectures: ["x86_64"] } }, { selection: { requested: ["child"] } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(summary.rows.map((r) => `${r.template}@${r.region} ${r.result}`)).toEqual(["parent@us-east-1 built", "parent@eu-west-1 copied", "child@eu-west-1 built"]);
    expect(at(f.fake.log, "start build child/x86_64@eu-west-1")).toBeGreaterThan(at(f.fake.log, "end copy parent/x86_64@eu-west-1"));
    const copy = rowAt(summary.rows, "parent/x86_64@eu-west-1").amiId;
    expect(f.fake.requests.find((r) => r.templateId === "child")!.parentImage).toEqual({ templateId: "parent", imageId: copy });
  });

  it("builds a child on the parent's image found in the child's home when the parent is up to date", async () => {
    const parent = fleetTemplate("parent", PARENT).template;
    const hash = imageContentHash(templateImageHash(parent), FAKE_BASE_AMI);
    const tags = { "cws:managed-by": "cws", "cws:template": "parent", "cws:arch": "x86_64", "cws:validated": "true", "cws:content-hash": hash, "cws:base-ami": FAKE_BASE_AMI };
    const home = accountImage("ami-0aaaaaaaaaaaaaaa1", tags);
    const there = accountImage("ami-0aaaaaaaaaaaaaaa3", { ...tags, [COPIED_FROM_TAG]: `us-east-1/${home.imageId}` });
    const f = fleet({ parent: PARENT, child: { parent: "parent", regions: ["eu-west-1"], architectures: ["x86_64"] } }, {
      selection: { requested: ["child"] },
      script: { images: { "us-east-1": [home], "eu-west-1": [there] } },
    });
    const { summary } = await f.run();
    expect(summary.rows.map((r) => `${r.template}@${r.region} ${r.result}`)).toEqual(["parent@us-east-1 up-to-date", "parent@eu-west-1 up-to-date", "child@eu-west-1 built"]);
    expect(f.fake.requests.find((r) => r.templateId === "child")!.parentImage).toEqual({ templateId: "parent", imageId: there.imageId });
    expect(f.fake.calls.filter((c) => c.startsWith("copy "))).toEqual([]);
  });
});

describe("runFleet: what starts first", () => {
  const CHAIN = { a: X86, b: { parent: "a", regions: THREE, architectures: ["x86_64"] }, c: X86, d: X86 } satisfies Record<string, TemplateShape>;

  it("orders the jobs by the longest chain still to come after each, then target by target", () => {
    const { targets } = targetsOf({ ...CHAIN, e: { parent: "a", regions: ["eu-west-1"], architectures: ["x86_64"] } });
    expect(startOrder(fleetJobs(targets)).map((j) => `${j.kind} ${j.id}`)).toEqual([
      // a's build, then its child b's build and the others with copies to follow (a's copy that e is built on among them),
      // then e's build, which has none, then the copies.
      "build a/x86_64@us-east-1",
      "build c/x86_64@us-east-1",
      "build d/x86_64@us-east-1",
      "build b/x86_64@us-east-1",
      "copy a/x86_64@eu-west-1",
      "build e/x86_64@eu-west-1",
      "copy a/x86_64@us-west-2",
      "copy c/x86_64@us-west-2",
      "copy c/x86_64@eu-west-1",
      "copy d/x86_64@us-west-2",
      "copy d/x86_64@eu-west-1",
      "copy b/x86_64@us-west-2",
      "copy b/x86_64@eu-west-1",
    ]);
  });

  it("starts a child's build before its parent's copies when a slot frees, and keeps the rows target by target", async () => {
    const f = fleet(CHAIN, { options: { concurrency: 3 }, script: { buildMs: { "a/x86_64@us-east-1": 5, "c/x86_64@us-east-1": 60, "d/x86_64@us-east-1": 60 } } });
    const { summary } = await f.run();
    const afterParent = f.fake.log.slice(at(f.fake.log, "end build a/x86_64@us-east-1") + 1).find((l) => l.startsWith("start "));
    expect(afterParent).toBe("start build b/x86_64@us-east-1");
    expect(summary.rows.map((r) => `${r.template}@${r.region}`)).toEqual([
      "a@us-east-1",
      "a@us-west-2",
      "a@eu-west-1",
      "c@us-east-1",
      "c@us-west-2",
      "c@eu-west-1",
      "d@us-east-1",
      "d@us-west-2",
      "d@eu-west-1",
      "b@us-east-1",
      "b@us-west-2",
      "b@eu-west-1",
    ]);
  });

  it("starts the copy a child in another region is built on before builds that nothing waits for", async () => {
    const ONE = { regions: ["us-east-1"], architectures: ["x86_64"] } satisfies TemplateShape;
    const shapes = { p: { regions: ["us-east-1", "eu-west-1"], architectures: ["x86_64"] }, child: { parent: "p", regions: ["eu-west-1"], architectures: ["x86_64"] }, x: ONE, y: ONE, z: ONE } satisfies Record<string, TemplateShape>;
    const f = fleet(shapes, { options: { concurrency: 2 }, script: { buildMs: { "p/x86_64@us-east-1": 5, "x/x86_64@us-east-1": 80 } } });
    await f.run();
    const afterParent = f.fake.log.slice(at(f.fake.log, "end build p/x86_64@us-east-1") + 1).find((l) => l.startsWith("start "));
    expect(afterParent).toBe("start copy p/x86_64@eu-west-1");
  });
});

describe("runFleet: failures", () => {
  const FAMILY = {
    parent: X86,
    child: { parent: "parent", regions: ["us-east-1", "us-west-2"], architectures: ["x86_64"] },
    leaf: { parent: "child", regions: ["us-east-1"], architectures: ["x86_64"] },
    other: X86,
  } satisfies Record<string, TemplateShape>;

  it("a failed build skips its copies and everything built on it, naming the failure, and the rest finishes (exit 1)", async () => {
    const f = fleet(FAMILY, { script: { builds: { "parent/x86_64@us-east-1": "fail" } } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    expect(summary.rows.map(row)).toEqual([
      "other/x86_64@us-east-1 built",
      "other/x86_64@us-west-2 copied",
      "other/x86_64@eu-west-1 copied",
      "parent/x86_64@us-east-1 failed: Provisioning: setup script exited 1",
      "parent/x86_64@us-west-2 skipped: its build in us-east-1 failed",
      "parent/x86_64@eu-west-1 skipped: its build in us-east-1 failed",
      "child/x86_64@us-east-1 skipped: parent/x86_64 in us-east-1 failed (child builds on it)",
      "child/x86_64@us-west-2 skipped: parent/x86_64 in us-east-1 failed (child builds on it)",
      "leaf/x86_64@us-east-1 skipped: parent/x86_64 in us-east-1 failed (leaf builds on it through child)",
    ]);
    expect(rowAt(summary.rows, "parent/x86_64@us-east-1").logDir).toMatch(/logs/);
    expect(f.fake.log.filter((l) => l.includes("child") || l.includes("leaf"))).toEqual([]);
    expect(f.done.get("parent/x86_64")).toMatchObject({ result: "failed", detail: expect.stringContaining("setup script exited 1") });
    expect(f.done.get("leaf/x86_64")).toMatchObject({ result: "skipped" });
  });

  it("a failed copy leaves the other regions copied and is named with its region (exit 1)", async () => {
    const f = fleet({ a: X86 }, { script: { copyErrors: { "eu-west-1": new AwsCallError("InternalError", "CopyImage", "An internal error has occurred", 500) } } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    expect(summary.rows.map((r) => `${r.region} ${r.result}`)).toEqual(["us-east-1 built", "us-west-2 copied", "eu-west-1 failed"]);
    expect(rowAt(summary.rows, "a/x86_64@eu-west-1").detail).toMatch(/copy of ami-\S+ from us-east-1 to eu-west-1 failed: .*InternalError/);
    expect(f.done.get("a/x86_64")).toMatchObject({ result: "failed", detail: expect.stringMatching(/^eu-west-1: /) });
    const registry = (await readRegistry(f.registryFile))!;
    expect(entryAt(registry, "a", "eu-west-1", "x86_64")).toBeUndefined();
    expect(entryAt(registry, "a", "us-west-2", "x86_64")?.copied_from?.region).toBe("us-east-1");
  });

  it("with --fail-fast, the first failure cancels what runs (its signal aborts) and what has not started", async () => {
    const f = fleet({ a: X86, b: X86, c: X86 }, { options: { failFast: true, concurrency: 2 }, script: { builds: { "a/x86_64@us-east-1": "fail", "b/x86_64@us-east-1": "hang" } } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    expect(f.fake.signals.get("b/x86_64@us-east-1")?.aborted).toBe(true);
    expect(f.fake.log.some((l) => l.includes(" c/"))).toBe(false);
    expect(rowAt(summary.rows, "a/x86_64@us-east-1").result).toBe("failed");
    expect(rowAt(summary.rows, "a/x86_64@us-west-2").result).toBe("skipped");
    expect(rowAt(summary.rows, "b/x86_64@us-east-1")).toMatchObject({ result: "cancelled", detail: "cancelled by --fail-fast after a failure: stopped; removed instance i-1" });
    for (const where of ["b/x86_64@us-west-2", "c/x86_64@us-east-1", "c/x86_64@eu-west-1"]) {
      expect(rowAt(summary.rows, where), where).toMatchObject({ result: "cancelled", detail: "not started: cancelled by --fail-fast after a failure" });
    }
    expect(summary.interrupted).toBeUndefined();
  });

  it("with --fail-fast, a target that failed by itself as the cancel came (its image judged failed) is failed, not cancelled", async () => {
    const f = fleet({ a: X86, b: X86 }, { options: { failFast: true, concurrency: 2 }, script: { builds: { "a/x86_64@us-east-1": "fail", "b/x86_64@us-east-1": "verdict-at-stop" } } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    expect(f.fake.signals.get("b/x86_64@us-east-1")?.aborted).toBe(true);
    expect(rowAt(summary.rows, "b/x86_64@us-east-1")).toMatchObject({ result: "failed", detail: expect.stringMatching(/^verify: 1 of 1 validation test failed on a fresh instance/) });
    // What needs it is skipped because it failed, as for any failure; the totals count it as failed.
    expect(rowAt(summary.rows, "b/x86_64@us-west-2")).toMatchObject({ result: "skipped" });
    expect(summary.rows.filter((r) => r.result === "failed").map((r) => `${r.template}@${r.region}`)).toEqual(["a@us-east-1", "b@us-east-1"]);
    expect(f.done.get("b/x86_64")).toMatchObject({ result: "failed" });
  });

  it("an interrupt stops every running job (its signal aborts), starts nothing more, and exits 130 with the rest cancelled", async () => {
    const controller = new AbortController();
    const f = fleet({ a: X86, b: X86 }, { options: { concurrency: 1, signal: controller.signal }, script: { builds: { "a/x86_64@us-east-1": "hang" } } });
    const running = f.run();
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort("SIGINT");
    const { summary, exitCode } = await running;
    expect(exitCode).toBe(EXIT.interrupted);
    expect(summary.interrupted).toBe(true);
    expect(f.fake.signals.get("a/x86_64@us-east-1")?.aborted).toBe(true);
    expect(f.fake.log).toEqual(["start build a/x86_64@us-east-1", "end build a/x86_64@us-east-1"]);
    expect(summary.rows.map((r) => `${r.template}@${r.region} ${r.result}: ${r.detail}`)).toEqual([
      "a@us-east-1 cancelled: interrupted: stopped; removed instance i-1",
      "a@us-west-2 cancelled: not started: interrupted",
      "a@eu-west-1 cancelled: not started: interrupted",
      "b@us-east-1 cancelled: not started: interrupted",
      "b@us-west-2 cancelled: not started: interrupted",
      "b@eu-west-1 cancelled: not started: interrupted",
    ]);
  });

  it("an interrupt after a target's build says on its line what was made: the image at home, the copies made and cut off", async () => {
    const controller = new AbortController();
    const f = fleet({ a: { regions: [...THREE, "ap-southeast-2"], architectures: ["x86_64"] } }, { options: { concurrency: 2, signal: controller.signal }, script: { ms: 30 } });
    const running = f.run();
    // The build, then two copies at once; Ctrl-C once the first two copies are done, the third started.
    while (!f.lines.filter((line) => line.includes("copied from us-east-1")).length) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort("SIGINT");
    const { summary, exitCode } = await running;
    expect(exitCode).toBe(EXIT.interrupted);
    const home = rowAt(summary.rows, "a/x86_64@us-east-1");
    expect(home.result).toBe("built");
    const copied = summary.rows.filter((r) => r.result === "copied").length;
    const cancelled = summary.rows.filter((r) => r.result === "cancelled").length;
    expect(copied + cancelled).toBe(3);
    expect(cancelled).toBeGreaterThan(0);
    expect(f.done.get("a/x86_64")).toEqual({
      result: "cancelled",
      detail: `interrupted after ${home.amiId} was built in us-east-1${copied > 0 ? `, copied to ${copied} region${copied === 1 ? "" : "s"}` : ""}; ${cancelled} of 3 copies cancelled`,
    });
  });

  it("an interrupt before the run starts anything exits 130 with every row cancelled", async () => {
    const controller = new AbortController();
    controller.abort("SIGINT");
    const f = fleet({ a: X86 }, { options: { signal: controller.signal } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.interrupted);
    expect(f.fake.log).toEqual([]);
    expect(summary.rows.map((r) => `${r.result}: ${r.detail}`)).toEqual(Array(3).fill("cancelled: not started: interrupted"));
  });
});

describe("runFleet: exit codes", () => {
  it("exits 2 when every failure is the user's setup (a preflight problem), and 1 when any is not", async () => {
    const usage = fleet({ a: X86, b: X86 }, { script: { builds: { "a/x86_64@us-east-1": "usage", "b/x86_64@us-east-1": "usage" } } });
    const { summary, exitCode } = await usage.run();
    expect(exitCode).toBe(EXIT.usage);
    expect(rowAt(summary.rows, "a/x86_64@us-east-1").detail).toBe("Preflight: instance profile cws-ami-builder does not exist (run cws ami bootstrap)");

    const mixed = fleet({ a: X86, b: X86 }, { script: { builds: { "a/x86_64@us-east-1": "usage", "b/x86_64@us-east-1": "fail" } } });
    expect((await mixed.run()).exitCode).toBe(EXIT.failed);

    // Setup failures after other images were made: a partial run, 1 (the README: a failed target exits 1).
    const partial = fleet({ a: X86, b: X86 }, { script: { builds: { "a/x86_64@us-east-1": "usage" } } });
    const after = await partial.run();
    expect(rowAt(after.summary.rows, "b/x86_64@us-east-1").result).toBe("built");
    expect(after.exitCode).toBe(EXIT.failed);
  });

  it("exits 1 when a copy is refused for want of a permission after the home image was built (a partial run), naming the action and what to do", async () => {
    const denied = new AwsCallError(
      "UnauthorizedOperation",
      "CopyImage",
      "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/me is not authorized to perform: ec2:CopyImage on resource: arn:aws:ec2:us-west-2::image/* because no identity-based policy allows the ec2:CopyImage action. Encoded authorization failure message: AbCdEf0123",
      403,
    );
    const f = fleet({ a: X86 }, { script: { copyErrors: { "us-west-2": denied, "eu-west-1": denied } } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.failed);
    const detail = rowAt(summary.rows, "a/x86_64@us-west-2").detail!;
    expect(detail).toMatch(/^copy from us-east-1 to us-west-2 failed: AWS denied ec2:CopyImage: You are not authorized/);
    expect(detail).toMatch(/\(docs\/iam\/cws-cli-policy\.json lets cws copy only into images tagged cws:managed-by=cws and cws:copied-from/);
    expect(detail).not.toContain("Encoded authorization failure message");

    // A permission missing in one region and a copy that broke in another: not all the user's setup.
    const mixed = fleet({ a: X86 }, { script: { copyErrors: { "us-west-2": denied, "eu-west-1": new AwsCallError("InternalError", "CopyImage", "An internal error has occurred", 500) } } });
    expect((await mixed.run()).exitCode).toBe(EXIT.failed);
  });
});

describe("runFleet: the cache", () => {
  /** A's x86_64 image of this content in us-east-1, and its copy in us-west-2 from an earlier run. */
  function earlierRun() {
    const template = fleetTemplate("a", X86).template;
    const hash = imageContentHash(templateImageHash(template), FAKE_BASE_AMI);
    const tags = { "cws:managed-by": "cws", "cws:template": "a", "cws:arch": "x86_64", "cws:validated": "true", "cws:content-hash": hash, "cws:base-ami": FAKE_BASE_AMI, "cws:version": "v1.0.0" };
    const home = accountImage("ami-0aaaaaaaaaaaaaaa1", tags);
    const copy = accountImage("ami-0aaaaaaaaaaaaaaa2", { ...tags, [COPIED_FROM_TAG]: `us-east-1/${home.imageId}` });
    return { home, copy, images: { "us-east-1": [home], "us-west-2": [copy] } };
  }

  it("an up-to-date home is copied only to the regions that lack its content, and the copy found is recorded", async () => {
    const { home, copy, images } = earlierRun();
    const f = fleet({ a: X86 }, { script: { images } });
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    expect(summary.rows.map((r) => `${r.region} ${r.result} ${r.amiId}`)).toEqual([`us-east-1 up-to-date ${home.imageId}`, `us-west-2 up-to-date ${copy.imageId}`, expect.stringMatching(/^eu-west-1 copied ami-/)]);
    expect(rowAt(summary.rows, "a/x86_64@us-west-2").copiedFrom).toEqual({ region: "us-east-1", amiId: home.imageId });
    expect(f.fake.calls.filter((c) => c.startsWith("copy "))).toEqual([expect.stringMatching(new RegExp(`^copy ${home.imageId} to eu-west-1 = `))]);
    expect(f.done.get("a/x86_64")).toEqual({ result: "copied", detail: `${home.imageId} in us-east-1 (up to date there), copied to 1 region` });
    const registry = (await readRegistry(f.registryFile))!;
    expect(entryAt(registry, "a", "us-west-2", "x86_64")).toMatchObject({ ami_id: copy.imageId, copied_from: { region: "us-east-1", ami_id: home.imageId } });
    expect(entryAt(registry, "a", "eu-west-1", "x86_64")).toMatchObject({ copied_from: { region: "us-east-1", ami_id: home.imageId } });

    // Nothing changed: the second run copies nothing.
    const again = await f.run();
    expect(again.summary.rows.map((r) => r.result)).toEqual(["up-to-date", "up-to-date", "up-to-date"]);
    expect(f.fake.calls.filter((c) => c.startsWith("copy "))).toHaveLength(1);
    expect(f.done.get("a/x86_64")?.result).toBe("up-to-date");
  });

  it("with --max-age, a region keeps a copy of the home image's own build, and gets a fresh copy in place of an older build's", async () => {
    // The home was built again (same content) yesterday; us-west-2 has a copy of that build, eu-west-1 a copy of the build
    // before, ten days old however recently it was copied.
    const { home, copy } = earlierRun();
    const youngHome = { ...home, creationDate: "2026-11-25T12:00:00.000Z", tags: { ...home.tags, "cws:build-id": "b-new" } };
    const sameBuild = { ...copy, creationDate: "2026-11-25T13:00:00.000Z", tags: { ...copy.tags, "cws:build-id": "b-new" } };
    const olderBuild = accountImage("ami-0aaaaaaaaaaaaaaa3", { ...copy.tags, "cws:build-id": "b-old" }, { creationDate: "2026-11-26T11:00:00.000Z" });
    const f = fleet({ a: X86 }, { script: { images: { "us-east-1": [youngHome], "us-west-2": [sameBuild], "eu-west-1": [olderBuild] } }, options: { maxAgeMs: 7 * 86_400_000 } });
    const { summary } = await f.run();
    expect(summary.rows.map((r) => `${r.region} ${r.result}`)).toEqual(["us-east-1 up-to-date", "us-west-2 up-to-date", "eu-west-1 copied"]);
    expect(rowAt(summary.rows, "a/x86_64@us-west-2").amiId).toBe(sameBuild.imageId);
    expect(rowAt(summary.rows, "a/x86_64@eu-west-1").copiedFrom).toEqual({ region: "us-east-1", amiId: home.imageId });

    // Without --max-age any image of the same content will do.
    const again = fleet({ a: X86 }, { script: { images: { "us-east-1": [youngHome], "us-west-2": [sameBuild], "eu-west-1": [olderBuild] } } });
    expect((await again.run()).summary.rows.map((r) => r.result)).toEqual(["up-to-date", "up-to-date", "up-to-date"]);
  });

  it("--force builds again and copies everywhere, whatever exists", async () => {
    const { images } = earlierRun();
    const f = fleet({ a: X86 }, { script: { images }, options: { force: true } });
    const { summary } = await f.run();
    expect(summary.rows.map((r) => r.result)).toEqual(["built", "copied", "copied"]);
  });
});

describe("runFleet: the registry's pins", () => {
  const PINNED = "ami-0bbbbbbbbbbbbbbb9";

  async function pinnedAt(file: string, region: string) {
    await updateRegistryFile(file, FAKE_NOW, (registry) => {
      registry.templates.a = { version: "v1.0.0", description: TEMPLATE_META.description, ports: [22], estimated_cost_per_hour: {}, amis: { [region]: { x86_64: { ...record(PINNED, "2026-11-01T00:00:00Z"), pinned: true, rolled_back_at: "2026-11-02T00:00:00Z" } as never } } };
    });
  }

  it("a copy of an image found up to date does not replace an entry a rollback pinned: the row says so, and nothing is published there", async () => {
    const template = fleetTemplate("a", X86).template;
    const hash = imageContentHash(templateImageHash(template), FAKE_BASE_AMI);
    const tags = { "cws:managed-by": "cws", "cws:template": "a", "cws:arch": "x86_64", "cws:validated": "true", "cws:content-hash": hash, "cws:base-ami": FAKE_BASE_AMI, "cws:version": "v1.0.0" };
    const home = accountImage("ami-0aaaaaaaaaaaaaaa1", tags);
    const f = fleet({ a: X86 }, { script: { images: { "us-east-1": [home] } }, options: { publishSsm: true } });
    await pinnedAt(f.registryFile, "us-west-2");
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    const pinnedRow = rowAt(summary.rows, "a/x86_64@us-west-2");
    expect(pinnedRow).toMatchObject({ result: "copied", amiId: PINNED, detail: expect.stringContaining(`pinned by a rollback: the registry keeps ${PINNED}; ami-`) });
    const registry = (await readRegistry(f.registryFile))!;
    expect(entryAt(registry, "a", "us-west-2", "x86_64")).toMatchObject({ ami_id: PINNED, pinned: true });
    expect(entryAt(registry, "a", "eu-west-1", "x86_64")?.copied_from?.region).toBe("us-east-1");
    const puts = f.fake.calls.filter((c) => c.startsWith("put "));
    // (The home's build is the fake's scripted one, which publishes nothing itself.)
    expect(puts).toEqual([expect.stringMatching(/^put \/cloudworkstation\/amis\/a\/eu-west-1\/x86_64 = ami-/)]);
  });

  it("a child builds on its parent's pinned image, not on the newer image of the same content the rollback set aside", async () => {
    const template = fleetTemplate("a", X86).template;
    const hash = imageContentHash(templateImageHash(template), FAKE_BASE_AMI);
    const tags = { "cws:managed-by": "cws", "cws:template": "a", "cws:arch": "x86_64", "cws:validated": "true", "cws:content-hash": hash, "cws:base-ami": FAKE_BASE_AMI, "cws:version": "v1.0.0" };
    const home = accountImage("ami-0aaaaaaaaaaaaaaa1", tags);
    const f = fleet({ a: X86, b: { ...X86, parent: "a" } }, { script: { images: { "us-east-1": [home] } } });
    await pinnedAt(f.registryFile, "us-east-1");
    const { summary } = await f.run();
    expect(rowAt(summary.rows, "a/x86_64@us-east-1")).toMatchObject({ result: "up-to-date", amiId: PINNED, detail: expect.stringContaining(`pinned by a rollback: the registry keeps ${PINNED}; ${home.imageId} (this content) is not used`) });
    const child = f.fake.requests.find((r) => r.templateId === "b" && r.region === "us-east-1")!;
    expect(child.parentImage).toEqual({ templateId: "a", imageId: PINNED });
  });

  it("--publish-ssm: each copy's publish is said as the home's is (a step line naming the parameter), and its row names the parameter", async () => {
    const steps: string[] = [];
    const f = fleet({ a: X86 }, { options: { publishSsm: true } });
    const { summary, exitCode } = await f.run({
      reporter: { targetQueued() {}, targetStarted() {}, targetStep: (id, step) => steps.push(`${id} ${step}`), log() {}, notice() {}, targetDone() {}, finish() {}, close() {} },
    });
    expect(exitCode).toBe(EXIT.ok);
    for (const region of ["us-west-2", "eu-west-1"]) {
      const copied = rowAt(summary.rows, `a/x86_64@${region}`);
      const parameter = `/cloudworkstation/amis/a/${region}/x86_64`;
      expect(copied).toMatchObject({ result: "copied", ssmParameter: parameter });
      expect(steps).toContain(`a/x86_64 ✅ ${region}: Published ${parameter} = ${copied.amiId}`);
      expect(f.fake.calls).toContain(`put ${parameter} = ${copied.amiId}`);
    }
  });

  it("a copy of a new build ends a rollback's pin in its region, as a build there would", async () => {
    const f = fleet({ a: X86 }, { options: { publishSsm: true } });
    await pinnedAt(f.registryFile, "us-west-2");
    const { summary, exitCode } = await f.run();
    expect(exitCode).toBe(EXIT.ok);
    const row = rowAt(summary.rows, "a/x86_64@us-west-2");
    expect(row.result).toBe("copied");
    expect(row.detail ?? "").not.toContain("pinned");
    const entry = entryAt((await readRegistry(f.registryFile))!, "a", "us-west-2", "x86_64")!;
    expect(entry).toMatchObject({ ami_id: row.amiId, copied_from: { region: "us-east-1" } });
    expect((entry as { pinned?: boolean }).pinned).toBeUndefined();
    expect(entry.history?.map((h) => h.ami_id)).toEqual([PINNED]);
  });

  it("an image of the same content found in a region does not replace an entry a rollback pinned there either", async () => {
    const template = fleetTemplate("a", X86).template;
    const hash = imageContentHash(templateImageHash(template), FAKE_BASE_AMI);
    const tags = { "cws:managed-by": "cws", "cws:template": "a", "cws:arch": "x86_64", "cws:validated": "true", "cws:content-hash": hash };
    const f = fleet({ a: X86 }, { script: { images: { "us-east-1": [accountImage("ami-0aaaaaaaaaaaaaaa1", tags)], "us-west-2": [accountImage("ami-0aaaaaaaaaaaaaaa2", tags)] } } });
    await pinnedAt(f.registryFile, "us-west-2");
    const { summary } = await f.run();
    expect(rowAt(summary.rows, "a/x86_64@us-west-2")).toMatchObject({ result: "up-to-date", amiId: PINNED, detail: expect.stringContaining(`pinned by a rollback: the registry keeps ${PINNED}`) });
    expect(entryAt((await readRegistry(f.registryFile))!, "a", "us-west-2", "x86_64")).toMatchObject({ ami_id: PINNED, pinned: true });
  });
});
