import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CwsError } from "../../src/errors.js";
import { recordFromImage } from "../../src/registry/aws-images.js";
import { markValidated, rollbackEntry, ssmParameterName, takeTaggedValidation } from "../../src/registry/operations.js";
import { resolveAmi } from "../../src/registry/resolve.js";
import { scratchDir } from "../helpers/cli.js";
import { record, registryWith } from "./fixtures.js";

describe("rollbackEntry", () => {
  const history = [record("ami-00000002", "2026-01-02T00:00:00Z", { version: "v1.1.0" }), record("ami-00000001", "2026-01-01T00:00:00Z", { version: "v1.0.0" })];
  const fresh = () => registryWith({ t: { "us-east-1": { x86_64: { ...record("ami-00000003", "2026-01-03T00:00:00Z", { version: "v1.2.0" }), history } } } });

  it("goes back to the previous AMI by default, keeping the current one in history, and pins the entry", () => {
    const registry = fresh();
    const result = rollbackEntry(registry, "t", "us-east-1", "x86_64", undefined, "2026-02-01T00:00:00Z");
    expect(result.from).toBe("ami-00000003");
    const entry = registry.templates.t!.amis["us-east-1"]!.x86_64! as Record<string, unknown>;
    expect(entry.ami_id).toBe("ami-00000002");
    expect(entry.pinned).toBe(true);
    expect((entry.history as { ami_id: string }[]).map((h) => h.ami_id)).toEqual(["ami-00000003", "ami-00000001"]);
  });

  it("goes to a named version or AMI, and can itself be rolled back", () => {
    const registry = fresh();
    rollbackEntry(registry, "t", "us-east-1", "x86_64", "v1.0.0", "2026-02-01T00:00:00Z");
    expect(registry.templates.t!.amis["us-east-1"]!.x86_64!.ami_id).toBe("ami-00000001");
    rollbackEntry(registry, "t", "us-east-1", "x86_64", "ami-00000003", "2026-02-02T00:00:00Z");
    expect(registry.templates.t!.amis["us-east-1"]!.x86_64!.ami_id).toBe("ami-00000003");
    // History is kept newest `created` first, whatever order the AMIs left the current place in.
    expect(registry.templates.t!.amis["us-east-1"]!.x86_64!.history!.map((h) => h.ami_id)).toEqual(["ami-00000002", "ami-00000001"]);
  });

  it("explains what it cannot do", () => {
    expect(() => rollbackEntry(fresh(), "t", "us-east-1", "x86_64", "v9", "now")).toThrow(/v9 is not in the history of t\.us-east-1\.x86_64/);
    expect(() => rollbackEntry(fresh(), "t", "us-east-1", "x86_64", "ami-00000003", "now")).toThrow("already the current AMI");
    expect(() => rollbackEntry(fresh(), "t", "eu-west-1", "x86_64", undefined, "now")).toThrow("has no AMI for t.eu-west-1.x86_64");
  });
});

describe("resolveAmi", () => {
  const legacy = { t: { "us-east-1": { x86_64: "ami-02029c87fa31fb148" } } };

  it("returns the registry's validated AMI", async () => {
    const registry = registryWith({ t: { "us-east-1": { x86_64: record("ami-00000003", "2026-01-03T00:00:00Z") } } });
    expect(await resolveAmi("t", "us-east-1", "x86_64", { registry, legacy })).toMatchObject({ amiId: "ami-00000003", source: "registry", validated: true });
  });

  it("skips an unvalidated AMI unless asked", async () => {
    const registry = registryWith({
      t: { "us-east-1": { x86_64: { ...record("ami-00000003", "2026-01-03T00:00:00Z", { validated: false }), history: [record("ami-00000002", "2026-01-02T00:00:00Z")] } } },
    });
    const warnings: string[] = [];
    expect((await resolveAmi("t", "us-east-1", "x86_64", { registry, warn: (m) => warnings.push(m) })).amiId).toBe("ami-00000002");
    expect(warnings[0]).toContain("is not validated");
    expect((await resolveAmi("t", "us-east-1", "x86_64", { registry, allowUnvalidated: true })).amiId).toBe("ami-00000003");
  });

  it("falls back to the legacy map, with a warning, when the registry or the entry is missing", async () => {
    const warnings: string[] = [];
    const fromMissingFile = await resolveAmi("t", "us-east-1", "x86_64", { registryFile: "/nonexistent/amis.json", legacy, warn: (m) => warnings.push(m) });
    expect(fromMissingFile).toEqual({ amiId: "ami-02029c87fa31fb148", source: "legacy", validated: false });
    expect(warnings[0]).toContain("does not exist; falling back to the hard-coded AMI ami-02029c87fa31fb148");
    const registry = registryWith({ other: { "us-east-1": { x86_64: record("ami-00000009", "2026-01-01T00:00:00Z") } } });
    expect((await resolveAmi("t", "us-east-1", "x86_64", { registry, legacy })).source).toBe("legacy");
  });

  it("falls back when the registry file is corrupt, and fails clearly when there is nothing at all", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      writeFileSync(file, "{ not json");
      const warnings: string[] = [];
      expect((await resolveAmi("t", "us-east-1", "x86_64", { registryFile: file, legacy, warn: (m) => warnings.push(m) })).source).toBe("legacy");
      expect(warnings[0]).toContain("cannot be used");
      const error = (await resolveAmi("t", "eu-west-1", "arm64", { registryFile: file }).catch((e: unknown) => e)) as CwsError;
      expect(error).toBeInstanceOf(CwsError);
      expect(error.message).toContain("no AMI for t.eu-west-1.arm64");
      expect(error.suggestion).toContain("cws ami build t --region eu-west-1 --architecture arm64");
    } finally {
      cleanup();
    }
  });
});

describe("ssmParameterName", () => {
  it("uses the path the original implementation used", () => {
    expect(ssmParameterName("r-research", "us-east-1", "x86_64")).toBe("/cloudworkstation/amis/r-research/us-east-1/x86_64");
  });
});

describe("markValidated", () => {
  const AT = "2026-11-28T10:00:00Z";
  const fresh = () =>
    registryWith({
      t: {
        "us-east-1": {
          x86_64: { ...record("ami-00000003", "2026-01-03T00:00:00Z", { validated: false }), history: [record("ami-00000002", "2026-01-02T00:00:00Z", { validated: false })] },
          arm64: record("ami-000000a1", "2026-01-03T00:00:00Z"),
        },
      },
    });

  it("marks the current AMI, or the one in the entry's history, and nothing else", () => {
    for (const [amiId, where] of [
      ["ami-00000003", "current"],
      ["ami-00000002", "history"],
    ] as const) {
      const registry = fresh();
      const before = structuredClone(registry);
      expect(markValidated(registry, "t", "us-east-1", "x86_64", amiId, AT)).toBe(where);
      const entry = registry.templates.t!.amis["us-east-1"]!.x86_64!;
      const marked = where === "current" ? entry : entry.history![0]!;
      expect(marked).toMatchObject({ ami_id: amiId, validated: true, validated_at: AT });
      // Everything else as it was: which AMI is current, the other record, the other architecture.
      const other = where === "current" ? entry.history![0]! : { ...entry, history: undefined };
      const otherBefore = where === "current" ? before.templates.t!.amis["us-east-1"]!.x86_64!.history![0]! : { ...before.templates.t!.amis["us-east-1"]!.x86_64!, history: undefined };
      expect(other).toEqual(otherBefore);
      expect(entry.ami_id).toBe("ami-00000003");
      expect(registry.templates.t!.amis["us-east-1"]!.arm64).toEqual(before.templates.t!.amis["us-east-1"]!.arm64);
    }
  });

  it("leaves a rollback's pin, and says when the entry does not name the AMI", () => {
    const registry = fresh();
    rollbackEntry(registry, "t", "us-east-1", "x86_64", undefined, "2026-02-01T00:00:00Z");
    expect(markValidated(registry, "t", "us-east-1", "x86_64", "ami-00000002", AT)).toBe("current");
    expect(registry.templates.t!.amis["us-east-1"]!.x86_64).toMatchObject({ pinned: true, validated_at: AT });
    const before = structuredClone(registry);
    expect(markValidated(registry, "t", "us-east-1", "x86_64", "ami-000000ff", AT)).toBeUndefined();
    expect(markValidated(registry, "t", "eu-west-1", "x86_64", "ami-00000002", AT)).toBeUndefined();
    expect(markValidated(registry, "constructor", "us-east-1", "x86_64", "ami-00000002", AT)).toBeUndefined();
    expect(registry).toEqual(before);
  });
});

describe("takeTaggedValidation (update-registry catching up with cws:validated-at)", () => {
  const AT = "2026-11-28T10:00:00Z";
  const fresh = () =>
    registryWith({
      t: { "us-east-1": { x86_64: { ...record("ami-00000003", "2026-01-03T00:00:00Z", { validated_at: "2026-01-03T00:00:00Z" }), history: [record("ami-00000002", "2026-01-02T00:00:00Z", { validated: false })] } } },
    });

  it("takes a later validation from the tag, for the current AMI or one in history; never an earlier or the same one", () => {
    const registry = fresh();
    expect(takeTaggedValidation(registry, "t", "us-east-1", "x86_64", "ami-00000003", AT)).toBe("current");
    expect(takeTaggedValidation(registry, "t", "us-east-1", "x86_64", "ami-00000002", AT)).toBe("history");
    const entry = registry.templates.t!.amis["us-east-1"]!.x86_64!;
    expect(entry).toMatchObject({ ami_id: "ami-00000003", validated_at: AT });
    expect(entry.history![0]).toMatchObject({ validated: true, validated_at: AT });
    const before = structuredClone(registry);
    expect(takeTaggedValidation(registry, "t", "us-east-1", "x86_64", "ami-00000003", AT)).toBeUndefined();
    expect(takeTaggedValidation(registry, "t", "us-east-1", "x86_64", "ami-00000003", "2026-11-01T00:00:00Z")).toBeUndefined();
    expect(takeTaggedValidation(registry, "t", "us-east-1", "x86_64", "ami-000000ff", AT)).toBeUndefined();
    expect(registry).toEqual(before);
  });
});

describe("recordFromImage and cws:validated-at", () => {
  const image = {
    imageId: "ami-0123456789abcdef0",
    name: "cws-t-v1-x86_64-20261101T000000Z",
    architecture: "x86_64",
    state: "available",
    creationDate: "2026-11-01T00:00:00.000Z",
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [],
    tags: { "cws:validated": "true" },
  };

  it("takes validated_at from the tag when it is a time, else the image's creation", () => {
    expect(recordFromImage({ ...image, tags: { ...image.tags, "cws:validated-at": "2026-11-28T10:00:00.000Z" } }).validated_at).toBe("2026-11-28T10:00:00Z");
    expect(recordFromImage(image).validated_at).toBe("2026-11-01T00:00:00Z");
    expect(recordFromImage({ ...image, tags: { ...image.tags, "cws:validated-at": "yesterday" } }).validated_at).toBe("2026-11-01T00:00:00Z");
    // Not validated (a failed --verify): no validated_at, whatever a tag says.
    expect(recordFromImage({ ...image, tags: { "cws:validated": "false", "cws:validated-at": "2026-11-28T10:00:00Z" } })).not.toHaveProperty("validated_at");
  });
});
