import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CopyImageCommand, DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { emuChildTemplate, leftovers, startHarness, type Harness } from "./harness.js";

/**
 * The build cache and templates built on other templates, end to end: the
 * built CLI against the emulator. A build whose image (template content and
 * base AMI) already exists launches nothing; a new base image, or a new image
 * of the parent template, makes it build again.
 */
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

type Registry = { templates: Record<string, { amis: Record<string, Record<string, { ami_id: string; content_hash?: string; base_ami?: string }>> }> };
type Result = { status: string; upToDate: boolean; imageId: string; baseAmi: string; contentHash: string; written: { registry?: string } };

const launches = (h: Harness) => h.emulator.stats.calls["ec2:RunInstances"] ?? 0;
const imagesMade = (h: Harness) => (h.emulator.stats.calls["ec2:CreateImage"] ?? 0) + (h.emulator.stats.calls["ec2:CopyImage"] ?? 0);
const entry = (h: Harness, id: string, arch = "x86_64") => (h.registry() as Registry).templates[id]!.amis["us-east-1"]![arch]!;

async function build(h: Harness, ...args: string[]): Promise<Result> {
  const result = await h.cws(["ami", "build", ...args, "--json", "--quiet"]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Result;
}

describe("cws ami build: up to date (end to end, emulator)", () => {
  it("launches nothing for an image of the same content, says so, and points the registry at it; --force builds", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const first = await build(h, "emu-basic", "--architecture", "x86_64");
    expect(first.upToDate).toBe(false);
    const image = h.emulator.images("us-east-1").find((i) => i.id === first.imageId)!;
    expect(image.tags["cws:content-hash"]).toBe(first.contentHash);
    expect(image.tags["cws:template-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(image.tags["cws:template-hash"]).not.toBe(first.contentHash);
    expect(entry(h, "emu-basic")).toMatchObject({ ami_id: first.imageId, content_hash: first.contentHash });

    // The registry is gone (a fresh clone, say): the next build finds the image, launches nothing and records it.
    rmSync(join(h.dir, "registry"), { recursive: true });
    const [launched, made] = [launches(h), imagesMade(h)];
    const again = await h.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`✅ emu-basic\\.us-east-1\\.x86_64 is up to date: ${first.imageId} \\(built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; use --force to rebuild\\)\n`));
    expect(again.stdout).toContain(`Registry updated (./registry/amis.json):\n   emu-basic.us-east-1.x86_64 = ${first.imageId}`);
    expect(again.stderr).toContain(`Up to date: ${first.imageId}`);
    expect([launches(h), imagesMade(h)]).toEqual([launched, made]);
    expect(entry(h, "emu-basic")).toMatchObject({ ami_id: first.imageId, content_hash: first.contentHash });

    // Current already: nothing written either.
    const third = await build(h, "emu-basic", "--architecture", "x86_64");
    expect(third).toMatchObject({ status: "succeeded", upToDate: true, imageId: first.imageId, written: {} });

    // --force builds anyway; the newest image of the content is the one found from then on.
    const forced = await build(h, "emu-basic", "--architecture", "x86_64", "--force");
    expect(forced).toMatchObject({ upToDate: false, contentHash: first.contentHash });
    expect(forced.imageId).not.toBe(first.imageId);
    expect(launches(h)).toBe(launched + 1);
    expect((await build(h, "emu-basic", "--architecture", "x86_64")).imageId).toBe(forced.imageId);
    // The other architecture and region are other images.
    expect((await build(h, "emu-basic", "--architecture", "arm64")).upToDate).toBe(false);
    expect(leftovers(h.emulator).liveInstances).toEqual([]);
  });

  it("builds again when the base image changes (a new release of the distribution's image)", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    // A base of this account's own, found by name: `cws-e2e-base-*`, the newest wins.
    const ec2 = new EC2Client({ endpoint: h.emulator.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    const ubuntu = (await ec2.send(new DescribeImagesCommand({ Owners: ["099720109477"], Filters: [{ Name: "architecture", Values: ["x86_64"] }] }))).Images![0]!.ImageId!;
    const release = async (name: string) => {
      const { ImageId } = await ec2.send(new CopyImageCommand({ SourceImageId: ubuntu, SourceRegion: "us-east-1", Name: name }));
      // Past its copy's wait: available, and newer than any image before it.
      h.emulator.clock.advance(600);
      return ImageId!;
    };
    const base1 = await release("cws-e2e-base-1");
    writeFileSync(
      join(h.dir, "templates", "own-base.yml"),
      readFileSync(join(h.dir, "templates", "emu-basic.yml"), "utf8").replace("  source: ubuntu-22.04-lts\n", "  source: { name: cws-e2e-base-*, owners: [self] }\n"),
    );
    const first = await build(h, "own-base", "--architecture", "x86_64");
    expect(first.baseAmi).toBe(base1);
    expect((await build(h, "own-base", "--architecture", "x86_64")).upToDate).toBe(true);

    const base2 = await release("cws-e2e-base-2");
    const launched = launches(h);
    const second = await build(h, "own-base", "--architecture", "x86_64");
    expect(second).toMatchObject({ upToDate: false, baseAmi: base2 });
    expect(second.contentHash).not.toBe(first.contentHash);
    expect(launches(h)).toBe(launched + 1);
  });
});

describe("cws ami build: a template built on another (end to end, emulator)", () => {
  // Built on emu-basic: passes only on emu-basic's image (its setup writes "hello from setup").
  const CHILD = emuChildTemplate("hello from setup");

  it("starts from the parent's registry image, is up to date until the parent has a new image, and needs the parent built first", { timeout: 180_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    writeFileSync(join(h.dir, "templates", "emu-child.yml"), CHILD);
    expect((await h.cws(["ami", "lint", "emu-child"])).status).toBe(0);

    // No parent image yet: a preflight failure (exit 2) that says what to build, and nothing launched.
    const early = await h.cws(["ami", "build", "emu-child"]);
    expect(early.status).toBe(2);
    expect(early.stderr).toContain("emu-basic has no validated x86_64 image in us-east-1: ./registry/amis.json does not exist");
    expect(early.stderr).toContain("→ build it first (cws ami build emu-basic --architecture x86_64 --region us-east-1), or run cws ami build-all, which builds parents first");
    expect(launches(h)).toBe(0);
    const plan = await h.cws(["ami", "build", "emu-child", "--dry-run"]);
    expect(plan.stdout).toContain(" 2. Base AMI: emu-basic's x86_64 image (its current validated image in ./registry/amis.json)");

    const parent = await build(h, "emu-basic", "--architecture", "x86_64");
    const child = await build(h, "emu-child");
    expect(child).toMatchObject({ status: "succeeded", upToDate: false, baseAmi: parent.imageId });
    expect(h.emulator.images("us-east-1").find((i) => i.id === child.imageId)!.tags).toMatchObject({ "cws:base-ami": parent.imageId, "cws:content-hash": child.contentHash });
    expect(entry(h, "emu-child")).toMatchObject({ ami_id: child.imageId, base_ami: parent.imageId });
    expect((await build(h, "emu-child")).upToDate).toBe(true);

    // A new image of the parent (the registry now names it): the child is out of date, and built on it.
    const newParent = await build(h, "emu-basic", "--architecture", "x86_64", "--force");
    const rebuilt = await build(h, "emu-child");
    expect(rebuilt).toMatchObject({ upToDate: false, baseAmi: newParent.imageId });
    expect(rebuilt.contentHash).not.toBe(child.contentHash);
    expect(leftovers(h.emulator).liveInstances).toEqual([]);
  });
});
