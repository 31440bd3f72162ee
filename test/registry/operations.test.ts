import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CwsError } from "../../src/errors.js";
import { rollbackEntry, ssmParameterName } from "../../src/registry/operations.js";
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
