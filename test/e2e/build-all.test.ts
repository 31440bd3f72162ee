import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DeregisterImageCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Harness } from "./harness.js";
import {
  FLEET_ARCHITECTURES,
  FLEET_REGIONS,
  HOME,
  INSTANCES_PER_BUILD,
  calls,
  expectEveryRegionClean,
  makingCalls,
  registryEntry,
  type FleetRegistry,
  startFleetHarness,
  tableRows,
  writeTemplate,
} from "./fleet-harness.js";

/**
 * `cws ami build-all` end to end: the built CLI against the emulator, on the
 * fleet of test/fixtures/fleet-templates (fleet-base, fleet-child built on
 * it, fleet-other; x86_64 and arm64; us-east-1, us-west-2, eu-west-1,
 * ap-southeast-2). One emulator for the whole file, and the tests run in
 * order on what the ones before made: the first run builds the fleet, the
 * next finds it up to date, then edits rebuild only what they change.
 */
let h: Harness;
beforeAll(async () => {
  h = await startFleetHarness();
});
afterAll(async () => {
  await h?.close();
});

const TEMPLATES = ["fleet-base", "fleet-child", "fleet-other"] as const;

const buildAll = (...args: string[]) => h.cws(["ami", "build-all", ...args]);

/** The images of cws's a template has for an architecture in a region. */
function imagesOf(template: string, architecture: string, region: string) {
  return h.emulator.images(region).filter((i) => i.tags["cws:template"] === template && i.tags["cws:arch"] === architecture);
}

/** The current image (registry) of every template, architecture and region. */
function currentImages(): Map<string, string> {
  const current = new Map<string, string>();
  for (const template of TEMPLATES) {
    for (const architecture of FLEET_ARCHITECTURES) {
      for (const region of FLEET_REGIONS) current.set(`${template}/${architecture}@${region}`, registryEntry(h, template, region, architecture)?.ami_id ?? "none");
    }
  }
  return current;
}

/** Which build instances of `region` were launched for `template`, in launch order, with the image each booted from. */
function buildInstances(template: string, region = HOME) {
  return h.emulator
    .instances(region)
    .map((instance, index) => ({ ...instance, index }))
    // Not the fresh instances that verify each new image (cws:purpose=validate).
    .filter((instance) => instance.tags["cws:template"] === template && instance.tags["cws:purpose"] === "build");
}

describe("cws ami build-all (end to end, emulator): 3 templates x 2 architectures x 4 regions", () => {
  it("builds each template once per architecture (6 instances), copies to the 3 other regions (18 copies), tags and records every image, parents first", { timeout: 90_000 }, async () => {
    // Room for all six builds at once: only the dependency keeps fleet-child's builds waiting for fleet-base's.
    const result = await buildAll("--concurrency", "8");
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: 6 * INSTANCES_PER_BUILD, createImage: 6, copyImage: 18 });

    // The table: a row per template, architecture and region, built at home and copied elsewhere.
    const rows = tableRows(result.stdout);
    expect(rows).toHaveLength(24);
    for (const row of rows) expect(row.result, `${row.template} ${row.architecture} ${row.region}`).toBe(row.region === HOME ? "built" : "copied");
    expect(result.stdout).toContain("24 images: 6 built, 18 copied");
    expect(result.stderr).toMatch(/Finished: 6 built, 18 copied \(24 images\)/);

    for (const template of TEMPLATES) {
      for (const architecture of FLEET_ARCHITECTURES) {
        const [home, ...others] = imagesOf(template, architecture, HOME);
        expect(others, `${template} ${architecture}: one image at home`).toEqual([]);
        expect(home, `${template} ${architecture} in ${HOME}`).toBeDefined();
        const builtTags = { "cws:template": template, "cws:arch": architecture, "cws:validated": "true", "cws:managed-by": "cws", "cws:content-hash": expect.stringMatching(/^[0-9a-f]{64}$/) };
        expect(home!.state).toBe("available");
        expect(home!.tags).toMatchObject(builtTags);
        expect(home!.tags["cws:copied-from"]).toBeUndefined();
        expect(registryEntry(h, template, HOME, architecture)).toMatchObject({ ami_id: home!.id, validated: true, content_hash: home!.tags["cws:content-hash"] });
        expect(registryEntry(h, template, HOME, architecture)!.copied_from).toBeUndefined();

        for (const region of FLEET_REGIONS.filter((r) => r !== HOME)) {
          const images = imagesOf(template, architecture, region);
          expect(images, `${template} ${architecture} in ${region}`).toHaveLength(1);
          const copy = images[0]!;
          expect(copy.state).toBe("available");
          expect(copy.id).not.toBe(home!.id);
          expect(copy.sourceImageId).toBe(home!.id);
          // The source's tags (its content hash and build id included), and where it came from.
          expect(copy.tags).toMatchObject({ ...builtTags, "cws:content-hash": home!.tags["cws:content-hash"], "cws:build-id": home!.tags["cws:build-id"], "cws:copied-from": `${HOME}/${home!.id}` });
          expect(copy.snapshotIds.length).toBeGreaterThan(0);
          for (const snapshot of h.emulator.snapshots(region).filter((s) => copy.snapshotIds.includes(s.id))) {
            expect(snapshot.tags, `${copy.id}'s snapshot ${snapshot.id}`).toMatchObject({ "cws:template": template, "cws:arch": architecture, "cws:copied-from": `${HOME}/${home!.id}` });
          }
          expect(registryEntry(h, template, region, architecture)).toMatchObject({
            ami_id: copy.id,
            validated: true,
            content_hash: home!.tags["cws:content-hash"],
            copied_from: { region: HOME, ami_id: home!.id },
          });
        }
        for (const snapshot of h.emulator.snapshots(HOME).filter((s) => home!.snapshotIds.includes(s.id))) expect(snapshot.tags).toMatchObject(builtTags);
      }
    }

    // The parent first: fleet-child's instances boot from fleet-base's new image, launched after fleet-base's, and that image is the child's base.
    for (const architecture of FLEET_ARCHITECTURES) {
      const parentImage = registryEntry(h, "fleet-base", HOME, architecture)!.ami_id;
      const [parentBuild] = buildInstances("fleet-base").filter((i) => i.architecture === architecture);
      const [childBuild, ...more] = buildInstances("fleet-child").filter((i) => i.architecture === architecture);
      expect(more).toEqual([]);
      expect(childBuild!.imageId).toBe(parentImage);
      expect(childBuild!.index).toBeGreaterThan(parentBuild!.index);
      expect(registryEntry(h, "fleet-child", HOME, architecture)!.base_ami).toBe(parentImage);
      expect(imagesOf("fleet-child", architecture, HOME)[0]!.tags["cws:base-ami"]).toBe(parentImage);
      // Each copy of the child records the same base: it is the same image.
      for (const region of FLEET_REGIONS) expect(registryEntry(h, "fleet-child", region, architecture)!.base_ami).toBe(parentImage);
    }
    // The others start from the distribution's image.
    expect(buildInstances("fleet-other").every((i) => h.emulator.images(HOME).every((image) => image.id !== i.imageId))).toBe(true);
    expectEveryRegionClean(h);
  });

  it("a second run launches nothing and makes no image or copy: every row is up to date, exit 0", { timeout: 60_000 }, async () => {
    const before = { ...makingCalls(h), images: currentImages(), registry: readFileSync(join(h.dir, "registry", "amis.json"), "utf8") };
    const result = await buildAll();
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances, createImage: before.createImage, copyImage: before.copyImage });
    const rows = tableRows(result.stdout);
    expect(rows).toHaveLength(24);
    expect(rows.filter((row) => row.result !== "up to date")).toEqual([]);
    // Each row names the image it found: the registry's current one.
    for (const row of rows) expect(row.ami).toBe(before.images.get(`${row.template}/${row.architecture}@${row.region}`));
    expect(result.stdout).toContain("24 images: 24 up to date");
    expect(currentImages()).toEqual(before.images);
    // Nothing to record: the registry file is left as it was, byte for byte.
    expect(readFileSync(join(h.dir, "registry", "amis.json"), "utf8")).toBe(before.registry);
    expectEveryRegionClean(h);
  });

  it("an image gone from one region (deregistered by hand) is copied there again from the up-to-date image at home; nothing is built", { timeout: 60_000 }, async () => {
    const before = { ...makingCalls(h), images: currentImages() };
    const gone = before.images.get("fleet-other/x86_64@eu-west-1")!;
    const ec2 = new EC2Client({ endpoint: h.emulator.url, region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await ec2.send(new DeregisterImageCommand({ ImageId: gone, DeleteAssociatedSnapshots: true }));
    ec2.destroy();

    const result = await buildAll();
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances, createImage: before.createImage, copyImage: before.copyImage + 1 });
    const rows = tableRows(result.stdout);
    expect(rows.filter((row) => row.result !== "up to date").map((row) => `${row.template} ${row.architecture} ${row.region} ${row.result}`)).toEqual(["fleet-other x86_64 eu-west-1 copied"]);
    const home = before.images.get("fleet-other/x86_64@us-east-1")!;
    const copy = imagesOf("fleet-other", "x86_64", "eu-west-1");
    expect(copy.map((i) => i.id)).toEqual([registryEntry(h, "fleet-other", "eu-west-1", "x86_64")!.ami_id]);
    expect(copy[0]!.id).not.toBe(gone);
    expect(registryEntry(h, "fleet-other", "eu-west-1", "x86_64")!.copied_from).toEqual({ region: HOME, ami_id: home });
    expectEveryRegionClean(h);
  });

  it("a lost registry (a fresh clone) is found again from the images' tags, copies with their copied_from; nothing is built or copied", { timeout: 60_000 }, async () => {
    const before = { ...makingCalls(h), images: currentImages(), registry: h.registry() };
    rmSync(join(h.dir, "registry"), { recursive: true });
    const result = await buildAll();
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances, createImage: before.createImage, copyImage: before.copyImage });
    expect(tableRows(result.stdout).filter((row) => row.result !== "up to date")).toEqual([]);
    expect(currentImages()).toEqual(before.images);
    for (const template of TEMPLATES) {
      for (const architecture of FLEET_ARCHITECTURES) {
        for (const region of FLEET_REGIONS) {
          const { copied_from, base_ami, content_hash } = registryEntry(h, template, region, architecture)!;
          const was = (before.registry as FleetRegistry).templates[template]!.amis[region]![architecture]!;
          expect({ copied_from, base_ami, content_hash }, `${template} ${architecture} ${region}`).toEqual({ copied_from: was.copied_from, base_ami: was.base_ami, content_hash: was.content_hash });
        }
      }
    }
  });

  it("a changed parent rebuilds it and its child (4 instances, 12 copies), the child on the parent's new image; the other template is left alone", { timeout: 90_000 }, async () => {
    const before = { ...makingCalls(h), images: currentImages() };
    const file = join(h.dir, "templates", "fleet-base.yml");
    writeTemplate(h, "fleet-base", readFileSync(file, "utf8").replace('  echo "from fleet-base" > /opt/cws-test/base\n', '  echo "from fleet-base" > /opt/cws-test/base\n  echo "revision 2" > /opt/cws-test/base-revision\n'));
    expect(readFileSync(file, "utf8")).toContain("revision 2");

    // Room for every build at once: were fleet-child not made to wait, it would build on fleet-base's old image (the registry's).
    const result = await buildAll("--concurrency", "8");
    expect(result.status, result.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances + 2 * 2 * INSTANCES_PER_BUILD, createImage: before.createImage + 2 * 2, copyImage: before.copyImage + 2 * 2 * 3 });
    const rows = tableRows(result.stdout);
    for (const row of rows) {
      const expected = row.template === "fleet-other" ? "up to date" : row.region === HOME ? "built" : "copied";
      expect(row.result, `${row.template} ${row.architecture} ${row.region}`).toBe(expected);
    }
    const after = currentImages();
    for (const [key, imageId] of after) {
      if (key.startsWith("fleet-other/")) expect(imageId, key).toBe(before.images.get(key));
      else expect(imageId, key).not.toBe(before.images.get(key));
    }
    for (const architecture of FLEET_ARCHITECTURES) {
      const newParent = registryEntry(h, "fleet-base", HOME, architecture)!.ami_id;
      expect(registryEntry(h, "fleet-child", HOME, architecture)!.base_ami).toBe(newParent);
      const childBuilds = buildInstances("fleet-child").filter((i) => i.architecture === architecture);
      expect(childBuilds.at(-1)!.imageId).toBe(newParent);
    }
    expectEveryRegionClean(h);
  });

  it("a changed child rebuilds the child only (2 instances); a comment, reordered keys or update-templates' amis: block rebuild nothing", { timeout: 90_000 }, async () => {
    const child = join(h.dir, "templates", "fleet-child.yml");
    const original = readFileSync(child, "utf8");
    let before = { ...makingCalls(h), images: currentImages() };
    writeTemplate(h, "fleet-child", original.replace('echo "from fleet-child" > /opt/cws-test/child', 'echo "from fleet-child" > /opt/cws-test/child\n  touch /opt/cws-test/child-revision-2'));
    const changed = await buildAll();
    expect(changed.status, changed.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances + 2 * INSTANCES_PER_BUILD, createImage: before.createImage + 2, copyImage: before.copyImage + 2 * 3 });
    for (const row of tableRows(changed.stdout)) expect(row.result, `${row.template} ${row.architecture} ${row.region}`).toBe(row.template !== "fleet-child" ? "up to date" : row.region === HOME ? "built" : "copied");

    // What does not change the image: a comment, key order, the amis: block update-templates writes.
    before = { ...makingCalls(h), images: currentImages() };
    const other = join(h.dir, "templates", "fleet-other.yml");
    const text = readFileSync(other, "utf8");
    const [nameLine, descriptionLine] = [/^name: .*$/m.exec(text)![0], /^description: .*$/m.exec(text)![0]];
    writeTemplate(
      h,
      "fleet-other",
      `# A comment added in review\n${text.replace(`${nameLine}\n${descriptionLine}`, `${descriptionLine}\n${nameLine}   # the keys swapped`)}amis:\n  us-east-1:\n    x86_64: ami-0123456789abcdef0\n`,
    );
    const unchanged = await buildAll();
    expect(unchanged.status, unchanged.stderr).toBe(0);
    expect(makingCalls(h)).toEqual({ runInstances: before.runInstances, createImage: before.createImage, copyImage: before.copyImage });
    expect(tableRows(unchanged.stdout).filter((row) => row.result !== "up to date")).toEqual([]);
    expect(currentImages()).toEqual(before.images);
    expect(calls(h, "ec2:TerminateInstances")).toBe(calls(h, "ec2:RunInstances"));
    expectEveryRegionClean(h);
  });
});
