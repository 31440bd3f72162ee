import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../../src/aws/ports.js";
import { recordFromImage } from "../../src/registry/aws-images.js";
import { copiedFromTagValue, parseCopiedFromTag } from "../../src/registry/copied-from.js";
import { copyRecord, recordCopy } from "../../src/registry/copies.js";
import { quickRegistry } from "../../src/registry/list.js";
import { emptyRegistry, registrySchema, type AmiEntry, type AmiRecord } from "../../src/registry/schema.js";
import { readRegistry, recordAmi, updateRegistryFile } from "../../src/registry/store.js";
import { scratchDir } from "../helpers/cli.js";
import { record, TEMPLATE_META } from "./fixtures.js";

const NOW = new Date("2026-11-26T10:00:00.500Z");
const SOURCE_ID = "ami-0123456789abcdef0";
const COPY_ID = "ami-0c0c0c0c0c0c0c0c0";

/** What a build's record says of the build: a copy's record says the same. */
const BUILD = {
  name: "cws-r-research-v1.0.0-x86_64-20261126t083000z-1a2b3c",
  version: "v1.0.0",
  build_id: "20261126t083000z-1a2b3c",
  base_ami: "ami-0fedcba9876543210",
  content_hash: "9f".repeat(32),
  source_commit: "1f3e".repeat(10),
  validated_at: "2026-11-26T08:41:00Z",
};

/** The home region's entry as a build records it, pinned and with history, as an entry may be. */
const SOURCE_ENTRY = {
  ...record(SOURCE_ID, "2026-11-26T08:30:00Z", { ...BUILD, size_gb: 30 }),
  pinned: true,
  rolled_back_at: "2026-11-26T09:00:00Z",
  history: [record("ami-00000001", "2026-10-01T00:00:00Z")],
  unknown_to_this_cws: "kept for the source, not the copy",
} as AmiEntry;

const COPY = { imageId: COPY_ID, created: "2026-11-26T09:12:34.000Z", sizeGb: 30, copiedFrom: { region: "us-east-1", ami_id: SOURCE_ID } };

describe("copyRecord", () => {
  it("is the source's record of the build with the copy's own id, time, size and origin, and none of the entry's own fields", () => {
    expect(copyRecord(SOURCE_ENTRY, COPY, NOW)).toEqual({
      ami_id: COPY_ID,
      created: "2026-11-26T09:12:34Z",
      validated: true,
      size_gb: 30,
      ...BUILD,
      copied_from: { region: "us-east-1", ami_id: SOURCE_ID },
    });
  });

  it("is stamped now (whole seconds) when the copy's creation time is unknown or unreadable", () => {
    for (const created of [undefined, "", "yesterday"]) {
      expect(copyRecord(SOURCE_ENTRY, { ...COPY, created }, NOW).created, String(created)).toBe("2026-11-26T10:00:00Z");
    }
  });

  it("names where it came from, not where its source came from, for a copy of a copy", () => {
    const copyOfCopy = copyRecord(copyRecord(SOURCE_ENTRY, COPY, NOW), { ...COPY, imageId: "ami-0d0d0d0d0d0d0d0d0", copiedFrom: { region: "eu-west-1", ami_id: COPY_ID } }, NOW);
    expect(copyOfCopy.copied_from).toEqual({ region: "eu-west-1", ami_id: COPY_ID });
  });
});

describe("recordCopy", () => {
  it("makes the copy current in its region, the previous AMI going to history, in a registry every reader accepts", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      await updateRegistryFile(file, NOW, (registry) => {
        recordAmi(registry, "r-research", TEMPLATE_META, "us-east-1", "x86_64", SOURCE_ENTRY as AmiRecord);
        recordAmi(registry, "r-research", TEMPLATE_META, "eu-west-1", "x86_64", record("ami-00000002", "2026-10-01T00:00:00Z"));
      });
      await updateRegistryFile(file, NOW, (registry) => {
        const source = registry.templates["r-research"]!.amis["us-east-1"]!.x86_64!;
        recordCopy(registry, "r-research", TEMPLATE_META, "eu-west-1", "x86_64", copyRecord(source, COPY, NOW));
      });
      const saved = (await readRegistry(file))!;
      const entry = saved.templates["r-research"]!.amis["eu-west-1"]!.x86_64!;
      expect(entry).toMatchObject({ ami_id: COPY_ID, copied_from: { region: "us-east-1", ami_id: SOURCE_ID }, content_hash: "9f".repeat(32) });
      expect(entry.history?.map((h) => h.ami_id)).toEqual(["ami-00000002"]);
      // The home region's entry is untouched, and has no copied_from.
      expect(saved.templates["r-research"]!.amis["us-east-1"]!.x86_64).not.toHaveProperty("copied_from");
      const json = JSON.parse(readFileSync(file, "utf8")) as unknown;
      expect(registrySchema.safeParse(json).success).toBe(true);
      expect(quickRegistry(json)).toBeDefined();
    } finally {
      cleanup();
    }
  });

  it("refuses a record that does not say where it was copied from, or says its own region", () => {
    const registry = emptyRegistry(NOW);
    expect(() => recordCopy(registry, "t", TEMPLATE_META, "eu-west-1", "x86_64", record(COPY_ID, "2026-11-26T09:00:00Z"))).toThrow("has no copied_from");
    const self = copyRecord(SOURCE_ENTRY, { ...COPY, copiedFrom: { region: "eu-west-1", ami_id: SOURCE_ID } }, NOW);
    expect(() => recordCopy(registry, "t", TEMPLATE_META, "eu-west-1", "x86_64", self)).toThrow("copied from eu-west-1, its own region");
    expect(registry.templates).toEqual({});
  });
});

describe("the cws:copied-from tag", () => {
  it("reads back what is written, and nothing from a value that is not one", () => {
    const from = { region: "us-east-1", ami_id: SOURCE_ID };
    expect(copiedFromTagValue(from)).toBe(`us-east-1/${SOURCE_ID}`);
    expect(parseCopiedFromTag(copiedFromTagValue(from))).toEqual(from);
    for (const value of [undefined, "", SOURCE_ID, `/${SOURCE_ID}`, "us-east-1/", "us-east-1/ami-123", `us-east-1/${SOURCE_ID}/x`]) {
      expect(parseCopiedFromTag(value), String(value)).toBeUndefined();
    }
  });

  it("becomes the record's copied_from when update-registry rebuilds an entry from AWS", () => {
    const image: ImageInfo = {
      imageId: COPY_ID,
      name: "cws-r-research-v1.0.0-x86_64-20261126t083000z-1a2b3c",
      architecture: "x86_64",
      state: "available",
      creationDate: "2026-11-26T09:12:34.000Z",
      ownerId: "111122223333",
      rootDeviceName: "/dev/sda1",
      rootVolumeSizeGb: 30,
      snapshotIds: ["snap-1"],
      tags: { "cws:validated": "true", "cws:build-id": "b-1", "cws:copied-from": `us-east-1/${SOURCE_ID}` },
    };
    expect(recordFromImage(image)).toMatchObject({ ami_id: COPY_ID, build_id: "b-1", copied_from: { region: "us-east-1", ami_id: SOURCE_ID } });
    const { "cws:copied-from": _, ...built } = image.tags;
    expect(recordFromImage({ ...image, tags: built })).not.toHaveProperty("copied_from");
    expect(recordFromImage({ ...image, tags: { ...built, "cws:copied-from": "by hand" } })).not.toHaveProperty("copied_from");
  });
});
