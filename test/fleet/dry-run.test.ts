import { describe, expect, it } from "vitest";
import { plannedTargets, type DryRunOptions } from "../../src/fleet/dry-run.js";
import type { FleetTarget } from "../../src/fleet/targets.js";
import type { AmiRecord, Registry } from "../../src/registry/schema.js";
import { imageContentHash, templateImageHash } from "../../src/template/content-hash.js";
import { record, registryWith } from "../registry/fixtures.js";
import { fleetTemplate, targetsOf, type TemplateShape } from "./fleet-fixtures.js";

const NOW = new Date("2026-11-26T12:00:00Z");
const DAY = 86_400_000;
const BASE = "ami-0ba5e000000000001";
const OPTIONS: DryRunOptions = { force: false, now: NOW, instanceType: (target) => (target.architecture === "arm64" ? "t4g.medium" : "t3.medium") };

/** Image ids of EC2's shape, numbered. */
const ami = (n: number) => `ami-0${n.toString(16).padStart(16, "0")}`;

/** The registry record of `id`'s image built on `base`, as a build records it: validated, with the content hash of the template as `shape` describes it. */
function built(id: string, shape: TemplateShape, imageId: string, base: string, extra: Partial<AmiRecord> = {}): AmiRecord {
  const template = fleetTemplate(id, shape).template;
  return record(imageId, "2026-11-25T12:00:00Z", { base_ami: base, content_hash: imageContentHash(templateImageHash(template), base), ...extra });
}

/** `{ template: { region: { arch: record } } }` */
type Entries = Parameters<typeof registryWith>[0];

function plan(shapes: Record<string, TemplateShape>, registry: Registry | undefined, options: Partial<DryRunOptions> = {}, selection: Parameters<typeof targetsOf>[1] = {}) {
  const { targets } = targetsOf(shapes, selection);
  return plannedTargets(targets, registry, { ...OPTIONS, ...options });
}

const THREE = ["us-east-1", "us-west-2", "eu-west-1"];
const ONE_ARCH = { regions: THREE, architectures: ["x86_64"] } satisfies TemplateShape;

describe("plannedTargets: is the home image up to date?", () => {
  it("builds everything when there is no registry, and copies to every other region", () => {
    const planned = plan({ a: { regions: THREE } }, undefined);
    expect(planned).toEqual([
      expect.objectContaining({ template: "a", architecture: "x86_64", region: "us-east-1", action: "build", reason: "no image in the registry for a x86_64 in us-east-1", copyTo: ["us-west-2", "eu-west-1"], instanceType: "t3.medium" }),
      expect.objectContaining({ template: "a", architecture: "arm64", region: "us-east-1", action: "build", copyTo: ["us-west-2", "eu-west-1"], instanceType: "t4g.medium" }),
    ]);
    expect(planned[0]!.amiId).toBeUndefined();
  });

  it("finds an entry built from this template content on the base it names up to date, and copies only where the image is not", () => {
    const home = built("a", ONE_ARCH, ami(1), BASE, { size_gb: 30 });
    const registry = registryWith({
      a: {
        "us-east-1": { x86_64: home },
        // A copy of this very image.
        "us-west-2": { x86_64: record(ami(2), "2026-11-25T13:00:00Z", { copied_from: { region: "us-east-1", ami_id: ami(1) } }) },
        // An older image of other content: the copy is made.
        "eu-west-1": { x86_64: record(ami(3), "2026-11-01T00:00:00Z", { content_hash: "0".repeat(64) }) },
      },
    });
    expect(plan({ a: ONE_ARCH }, registry)).toEqual([
      expect.objectContaining({ action: "up-to-date", amiId: ami(1), copyTo: ["eu-west-1"], present: ["us-west-2"], volumeGb: 30, reason: expect.stringContaining(`on ${BASE}`) }),
    ]);
  });

  it("counts a region whose image has the same content hash as having it, copied or built there", () => {
    const home = built("a", ONE_ARCH, ami(1), BASE);
    const registry = registryWith({ a: { "us-east-1": { x86_64: home }, "us-west-2": { x86_64: { ...home, ami_id: ami(2) } }, "eu-west-1": { x86_64: { ...home, ami_id: ami(3) } } } });
    expect(plan({ a: ONE_ARCH }, registry)).toEqual([expect.objectContaining({ action: "up-to-date", copyTo: [], present: ["us-west-2", "eu-west-1"] })]);
  });

  it.each([
    ["the template changed", (home: AmiRecord) => home, { ...ONE_ARCH, edit: "echo changed" }, `the template changed since ${ami(1)} was built`],
    ["the image is not validated", (home: AmiRecord) => ({ ...home, validated: false }), ONE_ARCH, `${ami(1)} is not validated`],
    ["the registry has no content hash", ({ content_hash: _, ...home }: AmiRecord) => home, ONE_ARCH, /does not say what .* was built from/],
    ["the registry has no base AMI", ({ base_ami: _, ...home }: AmiRecord) => home, ONE_ARCH, /does not say what .* was built from/],
  ] satisfies [string, (home: AmiRecord) => AmiRecord, TemplateShape, string | RegExp][])("builds when %s, and copies to every other region", (_, change, shape, reason) => {
    const home = built("a", ONE_ARCH, ami(1), BASE);
    const copy = { ...home, ami_id: ami(2), copied_from: { region: "us-east-1", ami_id: ami(1) } };
    const registry = registryWith({ a: { "us-east-1": { x86_64: change(home) }, "us-west-2": { x86_64: copy } } });
    const [target] = plan({ a: shape }, registry);
    expect(target).toMatchObject({ action: "build", copyTo: ["us-west-2", "eu-west-1"], present: [] });
    if (typeof reason === "string") expect(target!.reason).toBe(reason);
    else expect(target!.reason).toMatch(reason);
  });

  it("builds everything with --force, whatever the registry says", () => {
    const registry = registryWith({ a: { "us-east-1": { x86_64: built("a", ONE_ARCH, ami(1), BASE) } } });
    expect(plan({ a: ONE_ARCH }, registry, { force: true })).toEqual([expect.objectContaining({ action: "build", reason: "--force" })]);
  });

  it.each([
    ["young enough", "2026-11-25T12:00:00Z", "up-to-date", undefined],
    ["exactly as old as allowed", "2026-11-19T12:00:00Z", "up-to-date", undefined],
    ["older", "2026-11-16T12:00:00Z", "build", `${ami(1)} is 10 days old, more than the 7 days --max-age allows`],
    ["of a date that cannot be read", "last week", "build", `${ami(1)} is of unknown age, more than the 7 days --max-age allows`],
  ])("with --max-age 7d, an image %s is %s", (_, created, action, reason) => {
    const registry = registryWith({ a: { "us-east-1": { x86_64: built("a", ONE_ARCH, ami(1), BASE, { created }) } } });
    const [target] = plan({ a: ONE_ARCH }, registry, { maxAgeMs: 7 * DAY });
    expect(target!.action).toBe(action);
    if (reason) expect(target!.reason).toBe(reason);
  });

  it("with --max-age 90s, says the limit as given and the age in two units (one unit read it as 1 minute)", () => {
    const registry = registryWith({ a: { "us-east-1": { x86_64: built("a", ONE_ARCH, ami(1), BASE, { created: "2026-11-26T11:56:50Z" }) } } });
    const [target] = plan({ a: ONE_ARCH }, registry, { maxAgeMs: 90_000 });
    expect(target!.reason).toBe(`${ami(1)} is 3 minutes 10 seconds old, more than the 1 minute 30 seconds --max-age allows`);
  });

  it("with --max-age, counts a region as having the image only when it has the home image's own build", () => {
    const home = built("a", ONE_ARCH, ami(1), BASE, { created: "2026-11-25T12:00:00Z", build_id: "b-new" });
    // us-west-2: another image of the home's build (e.g. recorded by update-registry); eu-west-1: an older build of the same
    // content, copied recently.
    const registry = registryWith({
      a: {
        "us-east-1": { x86_64: home },
        "us-west-2": { x86_64: { ...home, ami_id: ami(2), created: "2026-11-25T13:00:00Z" } },
        "eu-west-1": { x86_64: { ...home, ami_id: ami(3), created: "2026-11-26T11:00:00Z", build_id: "b-old", copied_from: { region: "us-east-1", ami_id: ami(9) } } },
      },
    });
    expect(plan({ a: ONE_ARCH }, registry, { maxAgeMs: 7 * DAY })).toEqual([expect.objectContaining({ action: "up-to-date", copyTo: ["eu-west-1"], present: ["us-west-2"] })]);
    expect(plan({ a: ONE_ARCH }, registry)).toEqual([expect.objectContaining({ action: "up-to-date", copyTo: [], present: ["us-west-2", "eu-west-1"] })]);
  });

  /** After a copy run: built at home, a copy in each other region (same content hash: the home's). */
  function afterCopyRun() {
    const home = built("a", ONE_ARCH, ami(1), BASE, { build_id: "b1" });
    const copy = (n: number) => ({ ...home, ami_id: ami(n), copied_from: { region: "us-east-1", ami_id: ami(1) } });
    return registryWith({ a: { "us-east-1": { x86_64: home }, "us-west-2": { x86_64: copy(2) }, "eu-west-1": { x86_64: copy(3) } } });
  }

  it("with --strategy per-region after a copy run, builds in each region that has a copy: a build there starts from its own base image", () => {
    expect(plan({ a: ONE_ARCH }, afterCopyRun(), {}, { strategy: "per-region" }).map((t) => `${t.region} ${t.action}: ${t.reason}`)).toEqual([
      expect.stringMatching(/^us-east-1 up-to-date: per the registry/),
      `us-west-2 build: ${ami(2)} in us-west-2 is a copy from us-east-1; a build in us-west-2 starts from us-west-2's own base image`,
      `eu-west-1 build: ${ami(3)} in eu-west-1 is a copy from us-east-1; a build in eu-west-1 starts from eu-west-1's own base image`,
    ]);
  });

  it("with --build-region a region that has a copy, builds there and copies to every other region, the old home included", () => {
    const [target] = plan({ a: ONE_ARCH }, afterCopyRun(), {}, { buildRegion: "eu-west-1" });
    expect(target).toMatchObject({ region: "eu-west-1", action: "build", copyTo: ["us-east-1", "us-west-2"], present: [] });
    expect(target!.reason).toBe(`${ami(3)} in eu-west-1 is a copy from us-east-1; a build in eu-west-1 starts from eu-west-1's own base image`);
  });

  it("does not count a region's image of the same content that is not validated as having it (the run's search asks for validated)", () => {
    const home = built("a", ONE_ARCH, ami(1), BASE);
    const registry = registryWith({ a: { "us-east-1": { x86_64: home }, "us-west-2": { x86_64: { ...home, ami_id: ami(2), validated: false } } } });
    expect(plan({ a: ONE_ARCH }, registry)).toEqual([expect.objectContaining({ action: "up-to-date", copyTo: ["us-west-2", "eu-west-1"], present: [] })]);
  });

  it("judges each region on its own with --strategy per-region, copying nothing", () => {
    const registry = registryWith({ a: { "us-east-1": { x86_64: built("a", ONE_ARCH, ami(1), BASE) }, "eu-west-1": { x86_64: built("a", ONE_ARCH, ami(3), "ami-0ba5e000000000003") } } });
    expect(plan({ a: ONE_ARCH }, registry, {}, { strategy: "per-region" }).map((t) => `${t.region} ${t.action} [${t.copyTo.join()}]`)).toEqual([
      "us-east-1 up-to-date []",
      "us-west-2 build []",
      "eu-west-1 up-to-date []",
    ]);
  });
});

describe("plannedTargets: templates built on templates", () => {
  const PARENT = { regions: THREE, architectures: ["x86_64"] } satisfies TemplateShape;
  const CHILD = { parent: "parent", regions: ["us-east-1", "us-west-2"], architectures: ["x86_64"] } satisfies TemplateShape;
  /** The parent up to date at home (ami 1) with copies everywhere; the child built on `childBase`. */
  function family(childBase: string): Entries {
    const parent = built("parent", PARENT, ami(1), BASE);
    const copy = (id: string) => ({ ...parent, ami_id: id, copied_from: { region: "us-east-1", ami_id: ami(1) } });
    return {
      parent: { "us-east-1": { x86_64: parent }, "us-west-2": { x86_64: copy(ami(2)) }, "eu-west-1": { x86_64: copy(ami(3)) } },
      child: { "us-east-1": { x86_64: built("child", CHILD, ami(11), childBase) }, "us-west-2": { x86_64: { ...built("child", CHILD, ami(12), childBase), copied_from: { region: "us-east-1", ami_id: ami(11) } } } },
    };
  }

  it("finds a child up to date when it was built on its parent's current image, and says so after its parent", () => {
    const planned = plan({ parent: PARENT, child: CHILD }, registryWith(family(ami(1))));
    expect(planned.map((t) => `${t.template} ${t.action} [${t.copyTo.join()}]`)).toEqual(["parent up-to-date []", "child up-to-date []"]);
    expect(planned[1]).toMatchObject({ after: "parent/x86_64", reason: expect.stringContaining("parent's current image") });
  });

  it("rebuilds a child whose parent is rebuilt, saying so", () => {
    const planned = plan({ parent: { ...PARENT, edit: "echo new" }, child: CHILD }, registryWith(family(ami(1))));
    expect(planned.map((t) => `${t.template} ${t.action}`)).toEqual(["parent build", "child build"]);
    expect(planned[1]!.reason).toBe("its parent parent/x86_64 is built first, and this builds on its new image");
  });

  it("rebuilds a child built on an image that is not its parent's current one, naming both", () => {
    const [, child] = plan({ parent: PARENT, child: CHILD }, registryWith(family(ami(9))));
    expect(child).toMatchObject({ action: "build", reason: `its parent parent's current image (${ami(1)}) is not the one ${ami(11)} was built on (${ami(9)})` });
  });

  it.each([
    ["has an older image of the parent there, which the child was built on", (parent: Entries[string]) => {
      parent["eu-west-1"] = { x86_64: record(ami(3), "2026-10-01T00:00:00Z", { base_ami: BASE, content_hash: "0".repeat(64) }) };
    }],
    ["has no image of the parent", (parent: Entries[string]) => {
      delete parent["eu-west-1"];
    }],
  ])("rebuilds a child whose home %s, since this run copies the parent there and the child builds on that copy", (_, change) => {
    const child = { parent: "parent", regions: ["eu-west-1"], architectures: ["x86_64"] } satisfies TemplateShape;
    const entries = family(ami(1));
    change(entries.parent!);
    entries.child = { "eu-west-1": { x86_64: built("child", child, ami(13), ami(3)) } };
    const planned = plan({ parent: PARENT, child }, registryWith(entries), {}, { requested: ["child"] });
    expect(planned.map((t) => `${t.template} ${t.region} ${t.action} [${t.copyTo.join()}]`)).toEqual(["parent us-east-1 up-to-date [eu-west-1]", "child eu-west-1 build []"]);
    expect(planned[1]!.reason).toBe(`its parent parent/x86_64's image is copied to eu-west-1 first (from ${ami(1)}), and this builds on the copy`);
  });

  it("finds a child built on its parent's copy in the child's home up to date when that copy is there", () => {
    const child = { parent: "parent", regions: ["eu-west-1"], architectures: ["x86_64"] } satisfies TemplateShape;
    const entries = family(ami(1));
    entries.child = { "eu-west-1": { x86_64: built("child", child, ami(13), ami(3)) } };
    const planned = plan({ parent: PARENT, child }, registryWith(entries), {}, { requested: ["child"] });
    expect(planned.map((t) => `${t.template} ${t.region} ${t.action} [${t.copyTo.join()}]`)).toEqual(["parent us-east-1 up-to-date []", "child eu-west-1 up-to-date []"]);
  });

  it("rebuilds grandchildren when the grandparent is rebuilt", () => {
    const leaf = { parent: "child", regions: ["us-east-1"], architectures: ["x86_64"] } satisfies TemplateShape;
    const entries = family(ami(1));
    entries.leaf = { "us-east-1": { x86_64: built("leaf", leaf, ami(21), ami(11)) } };
    const unchanged = plan({ parent: PARENT, child: CHILD, leaf }, registryWith(entries));
    expect(unchanged.map((t) => `${t.template} ${t.action}`)).toEqual(["parent up-to-date", "child up-to-date", "leaf up-to-date"]);
    const changed = plan({ parent: { ...PARENT, edit: "echo new" }, child: CHILD, leaf }, registryWith(entries));
    expect(changed.map((t) => `${t.template} ${t.action}`)).toEqual(["parent build", "child build", "leaf build"]);
    expect(changed[2]!.reason).toMatch(/its parent child\/x86_64 is built first/);
  });
});

describe("plannedTargets: what it describes", () => {
  it("names the instance type the run would use and the volume the template asks for", () => {
    const targets: FleetTarget[] = targetsOf({ a: {} }).targets;
    const planned = plannedTargets(targets, undefined, { ...OPTIONS, instanceType: (t) => `type-for-${t.key}` });
    expect(planned.map((t) => t.instanceType)).toEqual(["type-for-a/x86_64", "type-for-a/arm64"]);
    expect(planned.every((t) => t.volumeGb > 0)).toBe(true);
  });
});
