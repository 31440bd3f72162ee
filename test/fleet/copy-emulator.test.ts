/**
 * The copy to other regions through the real AWS SDK and the real adapters
 * (createAwsPorts: one adaptive client per region), against the emulator
 * with throttling and injected faults on, as build-all will run it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateImageCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { preferredScratchDir, publicAmiParameterName, startEmulator, type Emulator } from "@cws/aws-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsPorts, ImageInfo } from "../../src/aws/ports.js";
import { createAwsPorts } from "../../src/aws/sdk.js";
import type { PollSettings } from "../../src/builder/poll.js";
import { CopyFailure, copyImageToRegion, copySourceOf, type CopyResult } from "../../src/fleet/copy.js";
import { listCwsImages, newestValidated, recordFromImage } from "../../src/registry/aws-images.js";
import { copyRecord, recordCopy } from "../../src/registry/copies.js";
import { quickRegistry } from "../../src/registry/list.js";
import { readRegistry, recordAmi, updateRegistryFile } from "../../src/registry/store.js";
import { scratchDir } from "../helpers/cli.js";

const HOME = "us-east-1";
const DESTINATIONS = ["eu-west-1", "ap-southeast-2", "sa-east-1"];
const POLL: PollSettings = { overrideMs: 25 };
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const TEMPLATE_META = { description: "Copy test", ports: [22], estimated_cost_per_hour: { x86_64: 0.04 }, version: "v1.0.0" };

let emu: Emulator;
let aws: AwsPorts;
const savedEnv = { ...process.env };

/** A cws build's image in the home region: an encrypted root volume, imaged with the build's tags on image and snapshots. */
async function builtImage(name: string): Promise<ImageInfo> {
  const config = { endpoint: emu.url, region: HOME, credentials: CREDENTIALS };
  const base = (await new SSMClient(config).send(new GetParameterCommand({ Name: publicAmiParameterName("ubuntu-22.04", "x86_64") }))).Parameter!.Value!;
  const ec2 = new EC2Client(config);
  const launched = await ec2.send(
    new RunInstancesCommand({
      ImageId: base,
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 8, VolumeType: "gp3", Encrypted: true } }],
    }),
  );
  const instanceId = launched.Instances![0]!.InstanceId!;
  while ((await aws.ec2(HOME).describeInstance(instanceId))?.state !== "running") await new Promise((resolve) => setTimeout(resolve, 20));
  const tags = [
    { Key: "Name", Value: name },
    { Key: "cws:template", Value: "copy-test" },
    { Key: "cws:arch", Value: "x86_64" },
    { Key: "cws:build-id", Value: "20261126t083000z-c0c0c0" },
    { Key: "cws:managed-by", Value: "cws" },
    { Key: "cws:validated", Value: "true" },
    { Key: "team", Value: "research" },
  ];
  const { ImageId } = await ec2.send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: name,
      NoReboot: true,
      TagSpecifications: [
        { ResourceType: "image", Tags: tags },
        { ResourceType: "snapshot", Tags: tags },
      ],
    }),
  );
  for (;;) {
    const [image] = await aws.ec2(HOME).describeImages({ imageIds: [ImageId!] });
    if (image?.state === "available") return image;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sourceOf = (image: ImageInfo) => copySourceOf(HOME, image);

beforeAll(async () => {
  const scratch = preferredScratchDir();
  emu = await startEmulator({ msPerSimSecond: 2, ...(scratch ? { scratchDir: scratch } : {}) });
  // The SDK's own credential chain, as the CLI uses it: keys from the environment, nothing else looked at.
  for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" });
  aws = createAwsPorts({ endpoint: emu.url });
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await emu?.stop();
});

describe("copying one image to three regions at once, throttled", () => {
  it("ends with an available copy in each, tagged (image and snapshots) with where it came from, and a registry entry per region with copied_from", async () => {
    const source = await builtImage("cws-copy-test-v1.0.0-x86_64-20261126t083000z-1a2b3c");
    expect(source.encrypted).toBe(true);
    // Small buckets refilled slowly, so a copy's polls are throttled; and on top, CopyImage in one region and
    // DescribeImages in another fail outright at first. (A client that has been throttled once slows itself
    // down, which is the point: so the third region meets the throttle rather than an injected fault first.)
    emu.setThrottle({ capacity: 2, refillPerSecond: 4 });
    emu.faults.add({ service: "ec2", action: "CopyImage", code: "RequestLimitExceeded", times: 2, region: DESTINATIONS[0] });
    emu.faults.add({ service: "ec2", action: "DescribeImages", code: "RequestLimitExceeded", times: 2, region: DESTINATIONS[1] });
    const throttledBefore = emu.stats.throttled;
    let results: CopyResult[];
    try {
      results = await Promise.all(
        DESTINATIONS.map((region) => copyImageToRegion({ source: sourceOf(source), destinationRegion: region, buildId: "20261126t083000z-c0c0c0", ec2: aws.ec2(region), poll: POLL })),
      );
    } finally {
      emu.setThrottle(undefined);
      emu.faults.clear();
    }
    expect(emu.stats.throttled - throttledBefore).toBeGreaterThan(0);
    expect(emu.stats.calls["ec2:CopyImage"]).toBe(DESTINATIONS.length + 2);

    for (const [i, region] of DESTINATIONS.entries()) {
      const result = results[i]!;
      expect(result).toMatchObject({ region, state: "available", copiedFrom: { region: HOME, ami_id: source.imageId } });
      const images = emu.images(region);
      // One copy per region, even with CopyImage retried by the SDK: the client token.
      expect(images.map((image) => image.id)).toEqual([result.imageId]);
      const copy = images[0]!;
      expect(copy.state).toBe("available");
      const expectedTags = { ...source.tags, "cws:copied-from": `${HOME}/${source.imageId}` };
      expect(copy.tags).toEqual(expectedTags);
      expect(copy.sourceImageRegion).toBe(HOME);
      const snapshots = emu.snapshots(region).filter((snapshot) => snapshot.imageId === result.imageId);
      expect(snapshots.map((snapshot) => snapshot.id)).toEqual(result.snapshotIds);
      expect(snapshots.length).toBeGreaterThan(0);
      for (const snapshot of snapshots) {
        expect(snapshot.state).toBe("completed");
        expect(snapshot.tags).toEqual(expectedTags);
      }
    }

    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      const now = new Date();
      const home = { ami_id: source.imageId, created: "2026-11-26T08:30:00Z", validated: true, size_gb: 8, name: source.name, build_id: "20261126t083000z-c0c0c0", content_hash: "c".repeat(64) };
      await updateRegistryFile(file, now, (registry) => {
        recordAmi(registry, "copy-test", TEMPLATE_META, HOME, "x86_64", home);
        for (const result of results) recordCopy(registry, "copy-test", TEMPLATE_META, result.region, "x86_64", copyRecord(home, result, now));
      });
      const saved = (await readRegistry(file))!;
      const amis = saved.templates["copy-test"]!.amis;
      expect(Object.keys(amis).sort()).toEqual([HOME, ...DESTINATIONS].sort());
      expect(amis[HOME]!.x86_64).not.toHaveProperty("copied_from");
      for (const result of results) {
        expect(amis[result.region]!.x86_64).toMatchObject({ ami_id: result.imageId, copied_from: { region: HOME, ami_id: source.imageId }, build_id: "20261126t083000z-c0c0c0" });
      }
      expect(quickRegistry(JSON.parse(readFileSync(file, "utf8")))).toBeDefined();
    } finally {
      cleanup();
    }

    // What update-registry would record from AWS alone, through the copies' tags.
    for (const result of results) {
      const newest = newestValidated(await listCwsImages(aws.ec2(result.region), "copy-test"), "copy-test", "x86_64");
      expect(newest?.imageId).toBe(result.imageId);
      expect(recordFromImage(newest!).copied_from).toEqual({ region: HOME, ami_id: source.imageId });
    }
  }, 60_000);
});

describe("interrupting copies", () => {
  it("removes every copy and its snapshots in every region, and leaves the source alone", async () => {
    const source = await builtImage("cws-copy-test-v1.0.0-x86_64-20261126t090000z-4d5e6f");
    const regions = ["eu-central-1", "us-west-2"];
    const controller = new AbortController();
    const copies = regions.map((region) =>
      copyImageToRegion({ source: sourceOf(source), destinationRegion: region, buildId: "20261126t090000z-abort0", ec2: aws.ec2(region), poll: POLL, signal: controller.signal }),
    );
    // Abort once both copies exist and name their snapshots.
    for (;;) {
      if (regions.every((region) => emu.images(region).length === 1)) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    controller.abort("SIGINT");
    const outcomes = await Promise.allSettled(copies);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.status).toBe("rejected");
      const failure = (outcome as PromiseRejectedResult).reason as CopyFailure;
      expect(failure).toBeInstanceOf(CopyFailure);
      expect(failure).toMatchObject({ interrupted: true, region: regions[i], cleanupErrors: [] });
      expect(failure.cleaned.filter((line) => line.startsWith("snapshot ")).length).toBeGreaterThan(0);
    }
    for (const region of regions) {
      expect(emu.images(region), region).toEqual([]);
      expect(emu.snapshots(region), region).toEqual([]);
    }
    expect(emu.images(HOME).some((image) => image.id === source.imageId && image.state === "available")).toBe(true);
  }, 30_000);
});
