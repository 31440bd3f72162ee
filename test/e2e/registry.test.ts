import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateTagsCommand, DeregisterImageCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

type Registry = { templates: Record<string, { amis: Record<string, Record<string, { ami_id: string; pinned?: boolean; history?: { ami_id: string }[] }>> }> };

async function build(h: Harness, ...extra: string[]): Promise<string> {
  const result = await h.cws(["ami", "build", "emu-basic", "--architecture", "x86_64", "--json", "--quiet", ...extra]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout).imageId as string;
}

describe("registry commands (end to end, emulator)", () => {
  it("update-registry records the newest validated AMI from AWS tags alone, idempotently, and can publish to SSM", async () => {
    harness = await startHarness();
    const older = await build(harness, "--no-registry-update", "--publish-ssm");
    const published = () => harness!.emulator.parameters("us-east-1").find((p) => p.name === "/cloudworkstation/amis/emu-basic/us-east-1/x86_64")?.value;
    expect(published()).toBe(older);
    // The same template on the same base: --force, or the build would stop at its cache check.
    const newest = await build(harness, "--no-registry-update", "--force");
    expect(harness.registry()).toBeUndefined();

    const first = await harness.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64", "--publish-ssm"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`Registry updated: emu-basic.us-east-1.x86_64 = ${newest}`);
    const registry = harness.registry() as Registry;
    expect(registry.templates["emu-basic"]!.amis["us-east-1"]!.x86_64!.ami_id).toBe(newest);
    expect(published()).toBe(newest);

    const before = readFileSync(join(harness.dir, "registry", "amis.json"), "utf8");
    const second = await harness.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("Registry already current");
    expect(readFileSync(join(harness.dir, "registry", "amis.json"), "utf8")).toBe(before);
  });

  it("update-registry fails a named target with no validated AMI, and --all reports what is missing", async () => {
    harness = await startHarness();
    const none = await harness.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--architecture", "arm64"]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no available, validated cws AMI in AWS for: emu-basic.us-east-1.arm64");
    const all = await harness.cws(["ami", "update-registry", "--all", "--json"]);
    expect(all.status).toBe(0);
    expect(JSON.parse(all.stdout).missing).toContain("emu-steps.us-west-2.arm64");
  });

  it("rollback makes the previous AMI current, pins it, and refuses an AMI that is gone", async () => {
    harness = await startHarness();
    const older = await build(harness);
    const newer = await build(harness, "--force");
    const rolled = await harness.cws(["ami", "rollback", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64"]);
    expect(rolled.status).toBe(0);
    expect(rolled.stdout).toContain(`Rolled back emu-basic.us-east-1.x86_64: ${newer} → ${older}`);
    let entry = (harness.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!;
    expect(entry.ami_id).toBe(older);
    expect(entry.pinned).toBe(true);
    expect(entry.history![0]!.ami_id).toBe(newer);

    // update-registry keeps the pin; --unpin replaces it.
    const kept = await harness.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64"]);
    expect(kept.stderr).toContain("pinned to");
    expect((harness.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!.ami_id).toBe(older);

    // So does a build that finds its image up to date (the image rolled back from has this very content): nothing is launched.
    const launched = harness.emulator.instances("us-east-1").length;
    const upToDate = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(upToDate.status).toBe(0);
    expect(upToDate.stdout).toContain(`emu-basic.us-east-1.x86_64 is up to date: ${newer}`);
    expect(upToDate.stderr).toContain(`emu-basic.us-east-1.x86_64 stays ${older}: a rollback pinned it`);
    expect(harness.emulator.instances("us-east-1").length).toBe(launched);
    expect((harness.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!).toMatchObject({ ami_id: older, pinned: true });

    // An AMI deregistered in AWS cannot be rolled back to.
    const ec2 = new EC2Client({ endpoint: harness.emulator.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    await ec2.send(new DeregisterImageCommand({ ImageId: newer }));
    const refused = await harness.cws(["ami", "rollback", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64", "--to", newer]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`refusing to roll back emu-basic.us-east-1.x86_64 to ${newer}`);
    entry = (harness.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!;
    expect(entry.ami_id).toBe(older);
  });

  it("registry merge combines job artifacts deterministically into the registry", async () => {
    harness = await startHarness();
    const reg = (id: string, created: string, updated: string) => ({
      version: "1.0",
      last_updated: updated,
      templates: { "emu-basic": { version: "v1.0.0", description: "d", amis: { "us-east-1": { x86_64: { ami_id: id, created, validated: true, size_gb: 8 } } }, ports: [22], estimated_cost_per_hour: {} } },
    });
    mkdirSync(join(harness.dir, "artifacts"));
    writeFileSync(join(harness.dir, "artifacts", "a.json"), JSON.stringify(reg("ami-0aaaaaaa", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")));
    writeFileSync(join(harness.dir, "artifacts", "b.json"), JSON.stringify(reg("ami-0bbbbbbb", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z")));
    const merged = await harness.cws(["ami", "registry", "merge", "artifacts/b.json", "artifacts/a.json"]);
    expect(merged.status).toBe(0);
    const entry = (harness.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!;
    expect(entry.ami_id).toBe("ami-0bbbbbbb");
    expect(entry.history!.map((h) => h.ami_id)).toEqual(["ami-0aaaaaaa"]);
    const again = await harness.cws(["ami", "registry", "merge", "artifacts/a.json", "artifacts/b.json", "--output", "-"]);
    expect(again.stdout).toBe(readFileSync(join(harness.dir, "registry", "amis.json"), "utf8"));

    writeFileSync(join(harness.dir, "artifacts", "bad.json"), '{"version": "1.0",');
    const bad = await harness.cws(["ami", "registry", "merge", "artifacts/bad.json"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("artifacts/bad.json:1:");
  });
});

describe("template ids and tag values that every JavaScript object also has (end to end, emulator)", () => {
  it("a template called constructor builds, records, lists, updates, rolls back and merges like any other; a stray cws:template=toString image is untracked", async () => {
    harness = await startHarness();
    const h = harness;
    const source = readFileSync(join(h.dir, "templates", "emu-basic.yml"), "utf8");
    writeFileSync(join(h.dir, "templates", "constructor.yml"), source);
    const entry = () => new Map(Object.entries((h.registry() as Registry | undefined)?.templates ?? {})).get("constructor")?.amis["us-east-1"]?.x86_64;

    const built = await h.cws(["ami", "build", "constructor", "--architecture", "x86_64", "--json", "--quiet"]);
    expect(built.status, built.stderr).toBe(0);
    const first = JSON.parse(built.stdout).imageId as string;
    expect(entry()?.ami_id).toBe(first);
    // --force: the same content is up to date, and this needs a second image.
    const second = await h.cws(["ami", "build", "constructor", "--architecture", "x86_64", "--json", "--quiet", "--no-registry-update", "--force"]);
    const newer = JSON.parse(second.stdout).imageId as string;

    const live = await h.cws(["ami", "list", "--live", "--json"]);
    expect(live.stderr).not.toContain("internal error");
    expect(JSON.parse(live.stdout).find((row: { template: string }) => row.template === "constructor").drift).toEqual([expect.objectContaining({ kind: "newer", ami_id: newer })]);

    const updated = await h.cws(["ami", "update-registry", "constructor", "--region", "us-east-1", "--architecture", "x86_64"]);
    expect(updated.status, updated.stderr).toBe(0);
    expect(updated.stdout).toContain(`Registry updated: constructor.us-east-1.x86_64 = ${newer} (was ${first})`);
    const all = await h.cws(["ami", "update-registry", "--all"]);
    expect(all.status, all.stderr).toBe(0);

    const rolled = await h.cws(["ami", "rollback", "constructor", "--arch", "x86_64", "--region", "us-east-1"]);
    expect(rolled.status, rolled.stderr).toBe(0);
    expect(entry()?.ami_id).toBe(first);

    const templates = await h.cws(["ami", "update-templates"]);
    expect(templates.status, templates.stderr).toBe(0);
    expect(readFileSync(join(h.dir, "templates", "constructor.yml"), "utf8")).toContain(`x86_64: ${first}`);

    const registryFile = join(h.dir, "registry", "amis.json");
    const other = join(h.dir, "other.json");
    writeFileSync(other, JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: {} }));
    for (const files of [[registryFile, other], [other, registryFile]]) {
      const merged = await h.cws(["ami", "registry", "merge", ...files, "--output", "-"]);
      expect(merged.status, merged.stderr).toBe(0);
      expect(JSON.parse(merged.stdout).templates.constructor.amis["us-east-1"].x86_64.ami_id).toBe(first);
    }

    // An image someone tagged by hand with a template id no registry can hold.
    const strayImage = await build(h, "--no-registry-update");
    const ec2 = new EC2Client({ endpoint: h.emulator.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    for (const value of ["toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      await ec2.send(new CreateTagsCommand({ Resources: [strayImage], Tags: [{ Key: "cws:template", Value: value }, { Key: value, Value: "x" }] }));
      const stray = await h.cws(["ami", "list", "--live", "--json"]);
      expect(stray.stderr).not.toContain("internal error");
      expect(stray.status).toBe(1);
      expect(JSON.parse(stray.stdout).map((row: { template: string; drift: { kind: string }[] }) => `${row.template} ${row.drift.map((d) => d.kind)}`)).toContain(`${value} untracked`);
    }
  });
});

describe("a registry that fails the record after the image is made (end to end, emulator)", () => {
  it("names the kept AMI and the command that records it, and that command then does", async () => {
    harness = await startHarness();
    const h = harness;
    const file = join(h.dir, "registry", "amis.json");
    mkdirSync(join(h.dir, "registry"), { recursive: true });
    let broken = false;
    // While the image is made, the registry becomes one cws must not overwrite (a bad merge, say).
    const result = await h.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"], {
      onStderr: (text) => {
        if (!broken && text.includes("Creating AMI")) {
          broken = true;
          writeFileSync(file, "<<<<<<< HEAD\n");
        }
      },
    });
    expect(broken).toBe(true);
    expect(result.status).toBe(1);
    const image = h.emulator.images("us-east-1").find((i) => i.tags["cws:template"] === "emu-basic");
    expect(image?.state).toBe("available");
    const id = image!.id;
    expect(result.stderr).toContain(`${id} was made and validated, but recording it in ./registry/amis.json failed: ./registry/amis.json:1:1 the registry is not valid JSON`);
    expect(result.stderr).toContain(`record it with: cws ami update-registry emu-basic --region us-east-1 --architecture x86_64 --registry ./registry/amis.json`);
    expect(result.stderr).toContain(`📌 Kept: image ${id} (validated, not in the registry)`);
    expect(result.stderr).not.toContain("internal error");

    rmSync(file);
    const recorded = await h.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--architecture", "x86_64", "--registry", "./registry/amis.json"]);
    expect(recorded.status, recorded.stderr).toBe(0);
    expect((h.registry() as Registry).templates["emu-basic"]!.amis["us-east-1"]!.x86_64!.ami_id).toBe(id);
  });
});
