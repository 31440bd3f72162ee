import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Chalk } from "chalk";
import { describe, expect, it } from "vitest";
import { AwsCallError, type Ec2Port, type ImageFilter, type ImageInfo } from "../../src/aws/ports.js";
import { formatDriftSummary, formatTable, loadRegistry, PLAIN, resolveListOptions, runListCommand } from "../../src/cli/list-command.js";
import type { CliIO, GlobalOptions } from "../../src/cli/io.js";
import { CwsError } from "../../src/errors.js";
import {
  applyDrift,
  buildRows,
  driftText,
  hasDrift,
  liveImagesInRegion,
  liveRegions,
  quickRegistry,
  registryIdsByRegion,
  summarizeDrift,
  type ListFilter,
  type ListRow,
} from "../../src/registry/list.js";
import { HISTORY_LIMIT, registrySchema, type AmiEntry, type Registry } from "../../src/registry/schema.js";
import { scratchDir } from "../helpers/cli.js";

function rec(id: string, created: string, extra: Partial<AmiEntry> = {}): AmiEntry {
  return { ami_id: id, created, validated: true, size_gb: 8, ...extra };
}

type Amis = Record<string, Partial<Record<"x86_64" | "arm64", AmiEntry>>>;

function registryOf(templates: Record<string, Amis>): Registry {
  const out: Registry["templates"] = {};
  for (const [id, amis] of Object.entries(templates)) {
    out[id] = { version: "1.0.0", description: `${id} image`, amis, ports: [22], estimated_cost_per_hour: {} };
  }
  return { version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: out };
}

let counter = 0;
function image(tags: Record<string, string>, extra: Partial<ImageInfo> = {}): ImageInfo {
  counter++;
  return {
    imageId: `ami-${counter.toString(16).padStart(8, "0")}`,
    name: `cws-image-${counter}`,
    architecture: tags["cws:arch"] ?? "x86_64",
    state: "available",
    creationDate: "2026-02-01T00:00:00.000Z",
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 30,
    snapshotIds: [],
    tags: { "cws:managed-by": "cws", "cws:validated": "true", ...tags },
    ...extra,
  };
}

const cws = (template: string, arch: string, version = "v1") => ({ "cws:template": template, "cws:arch": arch, "cws:version": version });

const order = (rows: readonly ListRow[]) => rows.map((r) => `${r.template} ${r.region} ${r.architecture}`);

// Parsed JSON, broken on purpose in the tests below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

describe("quickRegistry (the fast path past the zod schema)", () => {
  const valid = () =>
    JSON.parse(
      JSON.stringify({
        version: "1.0",
        last_updated: "2026-01-01T00:00:00Z",
        extra_root_field: { kept: true },
        templates: {
          t: {
            version: "1.0.0",
            description: "d",
            amis: {
              "us-east-1": {
                x86_64: { ...rec("ami-0000000a", "2026-01-02T00:00:00Z", { name: "n", version: "v1", pinned: true, rolled_back_at: "2026-01-03T00:00:00Z" }), unknown: 1, history: [rec("ami-0000000b", "2026-01-01T00:00:00Z")] },
                arm64: rec("ami-0000000c", "2026-01-02T00:00:00Z", { size_gb: 0 }),
              },
              "eu-west-1": {},
            },
            ports: [22, 8787],
            estimated_cost_per_hour: { x86_64: 0.04, arm64: 0 },
          },
          empty: { version: "0", description: "", amis: {}, ports: [], estimated_cost_per_hour: {} },
        },
      }),
    ) as Loose;

  it("accepts what the schema accepts, as it is", () => {
    const data = valid();
    expect(registrySchema.safeParse(data).success).toBe(true);
    expect(quickRegistry(data)).toBe(data);
  });

  // Each breaks one rule of the schema; the quick check must never accept what zod rejects.
  const breakages: Record<string, (d: Loose) => void> = {
    "not an object": (d) => Object.assign(d, { templates: [] }),
    "root version missing": (d) => delete d.version,
    "last_updated a number": (d) => (d.last_updated = 1),
    "template description missing": (d) => delete d.templates.t.description,
    "template version null": (d) => (d.templates.t.version = null),
    "ports not integers": (d) => (d.templates.t.ports = [22.5]),
    "ports missing": (d) => delete d.templates.empty.ports,
    "cost for an unknown architecture": (d) => (d.templates.t.estimated_cost_per_hour.sparc = 1),
    "cost a string": (d) => (d.templates.t.estimated_cost_per_hour.x86_64 = "0.04"),
    "amis an array": (d) => (d.templates.t.amis = []),
    "region not an object": (d) => (d.templates.t.amis["eu-west-1"] = "x"),
    "unknown architecture": (d) => (d.templates.t.amis["eu-west-1"].sparc = rec("ami-0000000d", "2026-01-01T00:00:00Z")),
    "ami id malformed": (d) => (d.templates.t.amis["us-east-1"].arm64.ami_id = "ami-XYZ"),
    "created missing": (d) => delete d.templates.t.amis["us-east-1"].arm64.created,
    "validated a string": (d) => (d.templates.t.amis["us-east-1"].arm64.validated = "yes"),
    "size negative": (d) => (d.templates.t.amis["us-east-1"].arm64.size_gb = -1),
    "size a string": (d) => (d.templates.t.amis["us-east-1"].arm64.size_gb = "8"),
    "name a number": (d) => (d.templates.t.amis["us-east-1"].x86_64.name = 1),
    "source_commit null": (d) => (d.templates.t.amis["us-east-1"].x86_64.source_commit = null),
    "validated_at a boolean": (d) => (d.templates.t.amis["us-east-1"].x86_64.validated_at = true),
    "pinned a string": (d) => (d.templates.t.amis["us-east-1"].x86_64.pinned = "true"),
    "rolled_back_at a number": (d) => (d.templates.t.amis["us-east-1"].x86_64.rolled_back_at = 1),
    "history not an array": (d) => (d.templates.t.amis["us-east-1"].x86_64.history = {}),
    "history too long": (d) => (d.templates.t.amis["us-east-1"].x86_64.history = Array.from({ length: HISTORY_LIMIT + 1 }, (_, i) => rec(`ami-${String(i).padStart(8, "0")}`, "2026-01-01T00:00:00Z"))),
    "history record broken": (d) => (d.templates.t.amis["us-east-1"].x86_64.history[0].ami_id = 7),
    // Template ids follow the one rule (src/template/template-id.ts).
    "a template id with a space": (d) => (d.templates["Bad Name"] = d.templates.t),
    "a template id with capitals": (d) => (d.templates["R-Research"] = d.templates.t),
    "a template id too long": (d) => (d.templates["x".repeat(33)] = d.templates.t),
  };
  for (const [name, breakIt] of Object.entries(breakages)) {
    it(`leaves to the schema a registry with ${name}`, () => {
      const data = valid();
      breakIt(data);
      expect(registrySchema.safeParse(data).success).toBe(false);
      expect(quickRegistry(data)).toBeUndefined();
    });
  }
});

describe("loadRegistry", () => {
  it("reads a valid registry, reports a missing one as undefined and an invalid one as the schema does", async () => {
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec("ami-0000000a", "2026-01-01T00:00:00Z") } } });
    const { dir, cleanup } = scratchDir({ "ok.json": JSON.stringify(registry), "bad.json": '{\n  "version": "1.0",\n  "templates": {}\n}\n', "broken.json": "{ nope" });
    try {
      expect(await loadRegistry(join(dir, "ok.json"))).toEqual(registry);
      expect(await loadRegistry(join(dir, "absent.json"))).toBeUndefined();
      const invalid = await loadRegistry(join(dir, "bad.json")).catch((e: unknown) => e);
      expect(invalid).toMatchObject({ code: "REGISTRY_INVALID", exitCode: 2 });
      expect((invalid as Error).message).toContain(`${join(dir, "bad.json")}:1:1 last_updated:`);
      const broken = await loadRegistry(join(dir, "broken.json")).catch((e: unknown) => e);
      expect(broken).toMatchObject({ code: "REGISTRY_INVALID", exitCode: 2 });
      expect((broken as Error).message).toContain("not valid JSON");
    } finally {
      cleanup();
    }
  });
});

describe("buildRows", () => {
  const registry = registryOf({
    zeta: { "us-east-1": { x86_64: rec("ami-0000000a", "2026-01-01T00:00:00Z") } },
    alpha: {
      "us-west-2": { x86_64: rec("ami-0000000b", "2026-01-02T00:00:00Z", { version: "v2.0.0" }), arm64: rec("ami-0000000c", "2026-01-03T00:00:00Z", { validated: false, size_gb: 30 }) },
      "eu-west-1": { arm64: rec("ami-0000000d", "2026-01-04T00:00:00Z", { name: "cws-alpha-x" }) },
    },
  });

  it("has one row per template, region and architecture, sorted by template, region, architecture", () => {
    const rows = buildRows(registry);
    expect(order(rows)).toEqual(["alpha eu-west-1 arm64", "alpha us-west-2 arm64", "alpha us-west-2 x86_64", "zeta us-east-1 x86_64"]);
    expect(rows[1]).toEqual({
      template: "alpha",
      version: "1.0.0",
      region: "us-west-2",
      architecture: "arm64",
      ami_id: "ami-0000000c",
      created: "2026-01-03T00:00:00Z",
      validated: false,
      size_gb: 30,
    });
    expect(rows[0]!.name).toBe("cws-alpha-x");
  });

  it("shows the AMI's own version, else the template's", () => {
    const rows = buildRows(registry);
    expect(rows.map((r) => r.version)).toEqual(["1.0.0", "1.0.0", "v2.0.0", "1.0.0"]);
  });

  it("filters by template, region and architecture, alone or together", () => {
    expect(order(buildRows(registry, { template: "zeta" }))).toEqual(["zeta us-east-1 x86_64"]);
    expect(order(buildRows(registry, { region: "us-west-2" }))).toEqual(["alpha us-west-2 arm64", "alpha us-west-2 x86_64"]);
    expect(order(buildRows(registry, { architecture: "x86_64" }))).toEqual(["alpha us-west-2 x86_64", "zeta us-east-1 x86_64"]);
    expect(order(buildRows(registry, { template: "alpha", architecture: "arm64", region: "eu-west-1" }))).toEqual(["alpha eu-west-1 arm64"]);
    expect(buildRows(registry, { template: "nope" })).toEqual([]);
  });

  it("lists nothing for an empty registry", () => {
    expect(buildRows(registryOf({}))).toEqual([]);
  });

  it("says where a copy came from, and nothing for an image built where it is", () => {
    const copied_from = { region: "us-east-1", ami_id: "ami-0000000a" };
    const rows = buildRows(registryOf({ t: { "us-east-1": { x86_64: rec("ami-0000000a", "2026-01-01T00:00:00Z") }, "eu-west-1": { x86_64: rec("ami-0000000e", "2026-01-01T00:10:00Z", { copied_from }) } } }));
    expect(rows.map((row) => [row.region, row.copied_from])).toEqual([
      ["eu-west-1", copied_from],
      ["us-east-1", undefined],
    ]);
    expect("copied_from" in rows[1]!).toBe(false);
  });
});

describe("liveRegions and registryIdsByRegion", () => {
  const registry = registryOf({
    a: { "us-west-2": { x86_64: rec("ami-00000001", "2026-01-01T00:00:00Z", { history: [rec("ami-00000002", "2025-12-01T00:00:00Z")] }) } },
    b: { "us-east-1": { arm64: rec("ami-00000003", "2026-01-01T00:00:00Z") }, "us-west-2": { arm64: rec("ami-00000004", "2026-01-01T00:00:00Z") } },
  });

  it("asks every region of the registry once, sorted, whatever the template filter", () => {
    expect(liveRegions(registry)).toEqual(["us-east-1", "us-west-2"]);
    expect(liveRegions(registry, { template: "b", architecture: "arm64" })).toEqual(["us-east-1", "us-west-2"]);
  });

  it("asks only --region, even one the registry has nothing in", () => {
    expect(liveRegions(registry, { region: "us-west-2" })).toEqual(["us-west-2"]);
    expect(liveRegions(registry, { region: "eu-north-1" })).toEqual(["eu-north-1"]);
  });

  it("collects every AMI id the registry names per region, history included", () => {
    const ids = registryIdsByRegion(registry);
    expect([...ids.get("us-west-2")!].sort()).toEqual(["ami-00000001", "ami-00000002", "ami-00000004"]);
    expect([...ids.get("us-east-1")!]).toEqual(["ami-00000003"]);
  });
});

describe("applyDrift", () => {
  const live = (entries: Record<string, ImageInfo[]>) => new Map(Object.entries(entries));
  const check = async (registry: Registry, images: Record<string, ImageInfo[]>, filter: ListFilter = {}) => applyDrift(registry, buildRows(registry, filter), filter, live(images));

  it("marks nothing when AWS has exactly the registry's AMI", async () => {
    const current = image(cws("t", "x86_64"));
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec(current.imageId, "2026-02-01T00:00:00Z") } } });
    const rows = await check(registry, { "us-east-1": [current] });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.drift).toEqual([]);
    expect(hasDrift(summarizeDrift(rows))).toBe(false);
  });

  it("marks an AMI that AWS does not have as gone", async () => {
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec("ami-deadbeef", "2026-02-01T00:00:00Z") } } });
    const rows = await check(registry, { "us-east-1": [] });
    expect(rows[0]!.drift).toEqual([{ kind: "gone" }]);
    expect(summarizeDrift(rows)).toMatchObject({ gone: 1, rows: 1 });
  });

  it("marks an AMI that exists but is not available, with its state", async () => {
    const pending = image(cws("t", "arm64"), { state: "pending" });
    const registry = registryOf({ t: { "us-east-1": { arm64: rec(pending.imageId, "2026-02-01T00:00:00Z") } } });
    expect((await check(registry, { "us-east-1": [pending] }))[0]!.drift).toEqual([{ kind: "not-available", state: "pending" }]);
  });

  it("names the newest newer validated, available AMI that the registry does not name", async () => {
    const current = image(cws("t", "x86_64", "v1"), { creationDate: "2026-02-01T00:00:00.000Z" });
    const newer = image(cws("t", "x86_64", "v2"), { creationDate: "2026-02-02T00:00:00.000Z" });
    const newest = image(cws("t", "x86_64", "v3"), { creationDate: "2026-02-03T00:00:00.000Z" });
    const notValidated = image({ ...cws("t", "x86_64", "v4"), "cws:validated": "false" }, { creationDate: "2026-02-04T00:00:00.000Z" });
    const pending = image(cws("t", "x86_64", "v5"), { creationDate: "2026-02-05T00:00:00.000Z", state: "pending" });
    const otherArch = image(cws("t", "arm64", "v6"), { creationDate: "2026-02-06T00:00:00.000Z" });
    const otherTemplate = image(cws("u", "x86_64", "v7"), { creationDate: "2026-02-07T00:00:00.000Z" });
    const registry = registryOf({
      t: { "us-east-1": { x86_64: rec(current.imageId, "2026-02-01T00:00:00Z"), arm64: rec(otherArch.imageId, "2026-02-06T00:00:00Z") } },
      u: { "us-east-1": { x86_64: rec(otherTemplate.imageId, "2026-02-07T00:00:00Z") } },
    });
    const rows = await check(registry, { "us-east-1": [current, newer, newest, notValidated, pending, otherArch, otherTemplate] });
    const row = rows.find((r) => r.template === "t" && r.architecture === "x86_64")!;
    expect(row.drift).toEqual([{ kind: "newer", ami_id: newest.imageId, name: newest.name, version: "v3", created: "2026-02-03T00:00:00Z" }]);
    expect(rows.filter((r) => r !== row).map((r) => r.drift)).toEqual([[], []]);
  });

  it("does not call an AMI newer when the registry names it in the history (a rollback) or it is older", async () => {
    const rolledBackFrom = image(cws("t", "x86_64", "v2"), { creationDate: "2026-02-03T00:00:00.000Z" });
    const current = image(cws("t", "x86_64", "v1"), { creationDate: "2026-02-02T00:00:00.000Z" });
    const older = image(cws("t", "x86_64", "v0"), { creationDate: "2026-02-01T00:00:00.000Z" });
    const registry = registryOf({
      t: { "us-east-1": { x86_64: rec(current.imageId, "2026-02-02T00:00:00Z", { history: [rec(rolledBackFrom.imageId, "2026-02-03T00:00:00Z")] }) } },
    });
    expect((await check(registry, { "us-east-1": [rolledBackFrom, current, older] }))[0]!.drift).toEqual([]);
  });

  it("reports gone and newer together, newer than the registry's date", async () => {
    const newer = image(cws("t", "x86_64"), { creationDate: "2026-03-01T00:00:00.000Z" });
    const older = image(cws("t", "x86_64"), { creationDate: "2026-01-01T00:00:00.000Z" });
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec("ami-deadbeef", "2026-02-01T00:00:00Z") } } });
    const [row] = await check(registry, { "us-east-1": [older, newer] });
    expect(row!.drift!.map((d) => d.kind)).toEqual(["gone", "newer"]);
    expect(row!.drift![1]).toMatchObject({ ami_id: newer.imageId });
    expect(driftText(row!.drift)).toBe(`gone, newer: ${newer.imageId} (v1)`);
  });

  it("adds one untracked row per template, region and architecture the registry lacks, showing the newest", async () => {
    const tracked = image(cws("t", "x86_64"));
    const a1 = image(cws("extra", "arm64", "v1"), { creationDate: "2026-01-01T00:00:00.000Z", rootVolumeSizeGb: 12 });
    const a2 = image(cws("extra", "arm64", "v2"), { creationDate: "2026-01-05T00:00:00.000Z", rootVolumeSizeGb: 16 });
    const b1 = image({ ...cws("t", "arm64"), "cws:validated": "false" }, { state: "pending" });
    const untagged = image({}, {});
    delete untagged.tags["cws:template"];
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec(tracked.imageId, "2026-02-01T00:00:00Z") } } });
    const rows = await check(registry, { "us-east-1": [tracked, a1, a2, b1, untagged] });
    expect(order(rows)).toEqual(["extra us-east-1 arm64", "t us-east-1 arm64", "t us-east-1 x86_64"]);
    expect(rows[0]).toMatchObject({ ami_id: a2.imageId, version: "v2", validated: true, size_gb: 16, created: "2026-01-05T00:00:00Z", drift: [{ kind: "untracked", ami_ids: [a2.imageId, a1.imageId] }] });
    expect(rows[1]).toMatchObject({ ami_id: b1.imageId, validated: false, drift: [{ kind: "untracked", ami_ids: [b1.imageId] }] });
    expect(summarizeDrift(rows)).toEqual({ gone: 0, notAvailable: 0, newer: 0, untracked: 2, untrackedAmis: 3, rows: 2 });
    expect(driftText(rows[0]!.drift)).toBe("untracked (2 AMIs)");
    expect(driftText(rows[1]!.drift)).toBe("untracked");
  });

  it("does not call an AMI untracked when the registry names it, even under another key", async () => {
    const mislabelled = image(cws("t", "arm64"));
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec(mislabelled.imageId, "2026-02-01T00:00:00Z") } } });
    const rows = await check(registry, { "us-east-1": [mislabelled] });
    expect(order(rows)).toEqual(["t us-east-1 x86_64"]);
    expect(rows[0]!.drift).toEqual([]);
  });

  it("applies the template and architecture filters to untracked AMIs too", async () => {
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec("ami-0000000f", "2026-02-01T00:00:00Z") } } });
    const images = { "us-east-1": [image(cws("t", "x86_64")), image(cws("u", "x86_64")), image(cws("t", "arm64"))] };
    images["us-east-1"][0]!.imageId = "ami-0000000f";
    expect(order(await check(registry, images, { template: "t" }))).toEqual(["t us-east-1 arm64", "t us-east-1 x86_64"]);
    expect(order(await check(registry, images, { architecture: "x86_64" }))).toEqual(["t us-east-1 x86_64", "u us-east-1 x86_64"]);
    expect(order(await check(registry, images, { template: "t", architecture: "x86_64" }))).toEqual(["t us-east-1 x86_64"]);
  });

  it("judges only the regions it was given; other rows keep no drift field", async () => {
    const registry = registryOf({ t: { "us-east-1": { x86_64: rec("ami-0000aaaa", "2026-02-01T00:00:00Z") }, "eu-west-1": { x86_64: rec("ami-0000bbbb", "2026-02-01T00:00:00Z") } } });
    const rows = await check(registry, { "us-east-1": [] });
    expect(rows.find((r) => r.region === "eu-west-1")!.drift).toBeUndefined();
    expect(rows.find((r) => r.region === "us-east-1")!.drift).toEqual([{ kind: "gone" }]);
    expect(driftText(undefined)).toBe("");
    expect(driftText([])).toBe("ok");
  });
});

/** A fake EC2 port: cws images by tag, and lookups by id that fail like EC2 for unknown ids. */
function fakeEc2(images: ImageInfo[], calls: ImageFilter[], failIds: Record<string, Error> = {}): Ec2Port {
  return {
    region: "us-east-1",
    describeImages: async (filter: ImageFilter) => {
      calls.push(filter);
      if (filter.anyOfImageIds) {
        const failing = filter.anyOfImageIds.find((id) => failIds[id]);
        if (failing) throw failIds[failing];
        return images.filter((i) => filter.anyOfImageIds!.includes(i.imageId));
      }
      if (filter.imageIds) {
        const id = filter.imageIds[0]!;
        if (failIds[id]) throw failIds[id];
        const found = images.filter((i) => filter.imageIds!.includes(i.imageId));
        if (!found.length) throw new AwsCallError("InvalidAMIID.NotFound", "DescribeImages", `The image id '[${id}]' does not exist`, 400);
        return found;
      }
      return images.filter((i) => Object.entries(filter.tags ?? {}).every(([k, v]) => i.tags[k] === v));
    },
  } as unknown as Ec2Port;
}

describe("liveImagesInRegion", () => {
  it("lists the cws images (owner self, managed-by tag, optional template) and looks up registry AMIs the listing lacks", async () => {
    const tagged = image(cws("t", "x86_64"));
    const untaggedButThere = image({});
    untaggedButThere.tags = {};
    const calls: ImageFilter[] = [];
    const images = await liveImagesInRegion(fakeEc2([tagged, untaggedButThere], calls), new Set([tagged.imageId, untaggedButThere.imageId, "ami-deadbeef"]), "t");
    expect(images.map((i) => i.imageId)).toEqual([tagged.imageId, untaggedButThere.imageId]);
    expect(calls[0]).toEqual({ owners: ["self"], tags: { "cws:managed-by": "cws", "cws:template": "t" } });
    // One lookup for every missing id, with the filter that leaves out ids that do not exist.
    expect(calls.slice(1)).toEqual([{ anyOfImageIds: ["ami-deadbeef", untaggedButThere.imageId].sort() }]);
  });

  it("looks up missing AMIs 200 at a time", async () => {
    const calls: ImageFilter[] = [];
    const ids = Array.from({ length: 450 }, (_, i) => `ami-${String(i).padStart(8, "0")}`);
    expect(await liveImagesInRegion(fakeEc2([], calls), new Set(ids))).toEqual([]);
    expect(calls.slice(1).map((c) => c.anyOfImageIds!.length)).toEqual([200, 200, 50]);
  });

  it("makes no lookup when the listing has every registry AMI", async () => {
    const tagged = image(cws("t", "x86_64"));
    const calls: ImageFilter[] = [];
    await liveImagesInRegion(fakeEc2([tagged], calls), new Set([tagged.imageId]));
    expect(calls).toEqual([{ owners: ["self"], tags: { "cws:managed-by": "cws" } }]);
  });

  it("lets an error other than not-found through", async () => {
    const denied = new AwsCallError("UnauthorizedOperation", "DescribeImages", "not authorized", 403);
    await expect(liveImagesInRegion(fakeEc2([], [], { "ami-00000002": denied }), new Set(["ami-00000002"]))).rejects.toBe(denied);
  });
});

describe("formatTable", () => {
  const rows: ListRow[] = [
    { template: "r-research", version: "v1.2.3", region: "us-east-1", architecture: "x86_64", ami_id: "ami-0123456789abcdef0", created: "2026-01-01T00:00:00Z", validated: true, size_gb: 30, drift: [] },
    { template: "py", version: "", region: "eu-west-1", architecture: "arm64", ami_id: "ami-01234567", created: "2026-01-02T00:00:00Z", validated: false, size_gb: 8, drift: [{ kind: "gone" }] },
  ];
  const plain = new Chalk({ level: 0 });

  it("aligns every column under its header, with no trailing blanks and no colour when colour is off", () => {
    const lines = formatTable(rows, { live: false, chalk: plain }).trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^TEMPLATE\s+VERSION\s+REGION\s+ARCH\s+AMI\s+CREATED\s+VALIDATED\s+SIZE$/);
    for (const header of ["VERSION", "REGION", "ARCH", "AMI", "CREATED", "VALIDATED", "SIZE"]) {
      const column = lines[0]!.indexOf(header);
      expect(lines[1]![column - 1], header).toBe(" ");
      expect(lines[1]![column], header).not.toBe(" ");
      expect(lines[2]![column], header).not.toBe(" ");
    }
    expect(lines[1]).toContain("v1.2.3");
    expect(lines[2]).toMatch(/^py\s+-\s+eu-west-1\s+arm64\s+ami-01234567\s+2026-01-02T00:00:00Z\s+no\s+8 GiB$/);
    for (const line of lines) expect(line).toBe(line.trimEnd());
    expect(lines.join("\n")).not.toContain("\u001b[");
    expect(lines.join("\n")).not.toContain("DRIFT");
  });

  it("adds a COPIED FROM column only when a row is a copy, before DRIFT", () => {
    const copied: ListRow[] = [rows[0]!, { ...rows[1]!, copied_from: { region: "us-east-1", ami_id: "ami-0123456789abcdef0" } }];
    const lines = formatTable(copied, { live: false, chalk: PLAIN }).trimEnd().split("\n");
    expect(lines[0]).toMatch(/SIZE\s+COPIED FROM$/);
    expect(lines[1]).toMatch(/30 GiB\s+-$/);
    expect(lines[2]).toMatch(/8 GiB\s+us-east-1$/);
    expect(lines[2]!.indexOf("us-east-1", 60)).toBe(lines[0]!.indexOf("COPIED FROM"));
    const live = formatTable(copied, { live: true, chalk: PLAIN }).trimEnd().split("\n");
    expect(live[0]).toMatch(/SIZE\s+COPIED FROM\s+DRIFT$/);
    expect(live[2]).toMatch(/8 GiB\s+us-east-1\s+gone$/);
    expect(live[2]!.indexOf("gone")).toBe(live[0]!.indexOf("DRIFT"));
  });

  it("adds a DRIFT column with --live", () => {
    const lines = formatTable(rows, { live: true, chalk: PLAIN }).trimEnd().split("\n");
    expect(lines[0]).toMatch(/SIZE\s+DRIFT$/);
    expect(lines[1]).toMatch(/30 GiB\s+ok$/);
    expect(lines[2]).toMatch(/8 GiB\s+gone$/);
  });

  it("makes the header bold and drift red when colour is on", () => {
    const out = formatTable(rows, { live: true, chalk: new Chalk({ level: 1 }) });
    expect(out.split("\n")[0]).toContain("\u001b[1mTEMPLATE");
    expect(out).toContain("\u001b[31mgone");
    expect(out).toContain("\u001b[32mok");
  });
});

describe("formatDriftSummary", () => {
  const plain = new Chalk({ level: 0 });
  it("says there is no drift, with what was checked where", () => {
    const rows: ListRow[] = [{ template: "t", version: "v1", region: "us-east-1", architecture: "x86_64", ami_id: "ami-00000001", created: "x", validated: true, size_gb: 8, drift: [] }];
    expect(formatDriftSummary(rows, ["us-east-1", "us-west-2"], plain)).toBe("✔ no drift: 1 registry AMI checked against AWS in 2 regions (us-east-1, us-west-2)\n");
  });
  it("counts each kind of drift", () => {
    const base = { template: "t", version: "v1", region: "us-east-1", architecture: "x86_64", created: "x", validated: true, size_gb: 8 };
    const rows: ListRow[] = [
      { ...base, ami_id: "ami-00000001", drift: [{ kind: "gone" }, { kind: "newer", ami_id: "ami-00000009", name: "n", created: "x" }] },
      { ...base, ami_id: "ami-00000002", drift: [{ kind: "not-available", state: "failed" }] },
      { ...base, ami_id: "ami-00000003", drift: [{ kind: "untracked", ami_ids: ["ami-00000003", "ami-00000004"] }] },
    ];
    expect(formatDriftSummary(rows, ["us-east-1"], plain).split("\n")[0]).toBe("✖ drift: 1 gone, 1 not available, 1 newer, 1 untracked (2 AMIs) in 1 region (us-east-1)");
  });
});

describe("resolveListOptions", () => {
  it("takes the filter from the options and AWS_PROFILE as the default profile", async () => {
    expect(await resolveListOptions({ architecture: "arm64", region: "eu-west-1", live: true }, { AWS_PROFILE: "dev" })).toEqual({
      filter: { template: undefined, region: "eu-west-1", architecture: "arm64" },
      live: true,
      profile: "dev",
    });
  });
});

describe("runListCommand (in-process, without --live)", () => {
  function capture(): { io: CliIO; out: () => string; err: () => string } {
    let out = "";
    let err = "";
    return {
      io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: "." },
      out: () => out,
      err: () => err,
    };
  }
  const globals = (registry: string, json = false): GlobalOptions => ({ templatesDir: "templates", registry, json, color: false });

  it("says a missing registry is missing, lists nothing and exits 0", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const c = capture();
      expect(await runListCommand({}, globals(join(dir, "amis.json")), c.io)).toBe(0);
      expect(c.out()).toBe("");
      expect(c.err()).toContain(`no registry at ${join(dir, "amis.json")}`);
      expect(c.err()).toContain("cws ami update-registry --all");
      const j = capture();
      expect(await runListCommand({}, globals(join(dir, "amis.json"), true), j.io)).toBe(0);
      expect(JSON.parse(j.out())).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it("prints the rows as JSON, says when a filter matches nothing, and refuses an unknown template id with a suggestion", async () => {
    const registry = registryOf({ "r-research": { "us-east-1": { x86_64: rec("ami-0000000a", "2026-01-01T00:00:00Z") } } });
    const { dir, cleanup } = scratchDir({ "amis.json": JSON.stringify(registry), "templates/python-research.yml": "name: p\n" });
    try {
      const c = capture();
      expect(await runListCommand({}, globals(join(dir, "amis.json"), true), c.io)).toBe(0);
      expect(JSON.parse(c.out())).toEqual([
        { template: "r-research", version: "1.0.0", region: "us-east-1", architecture: "x86_64", ami_id: "ami-0000000a", created: "2026-01-01T00:00:00Z", validated: true, size_gb: 8 },
      ]);
      const none = capture();
      expect(await runListCommand({ template: "r-research", region: "eu-west-1" }, globals(join(dir, "amis.json")), none.io)).toBe(0);
      expect(none.out()).toBe("");
      expect(none.err()).toContain("match --template r-research --region eu-west-1");
      // A template of the templates directory that has no AMIs yet is not a mistake.
      const unbuilt = capture();
      const withTemplates = { ...globals(join(dir, "amis.json")), templatesDir: join(dir, "templates") };
      expect(await runListCommand({ template: "python-research" }, withTemplates, unbuilt.io)).toBe(0);
      expect(unbuilt.err()).toContain("match --template python-research");
      // An id neither the registry nor the templates directory knows is (exit 2), with the nearest of either.
      for (const [typo, meant] of [["r-reserch", "r-research"], ["python-reserch", "python-research"]]) {
        const error = await runListCommand({ template: typo }, withTemplates, capture().io).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CwsError);
        expect((error as CwsError).exitCode).toBe(2);
        expect((error as CwsError).message).toContain(`no template "${typo}" in ${join(dir, "templates")} or ${join(dir, "amis.json")} (did you mean "${meant}"?)`);
      }
    } finally {
      cleanup();
    }
  });

  it("rejects an invalid registry with exit 2", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      writeFileSync(join(dir, "amis.json"), '{ "version": "1.0", "templates": {} }');
      const error = await runListCommand({}, globals(join(dir, "amis.json")), capture().io).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CwsError);
      expect((error as CwsError).exitCode).toBe(2);
      expect((error as CwsError).message).toContain("last_updated");
    } finally {
      cleanup();
    }
  });
});
