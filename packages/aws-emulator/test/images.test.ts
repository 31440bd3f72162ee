import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { baseImageId, clientsFor, errorOf, instanceState, launchOnline, run, startTestEmulator, waitFor, type Clients } from "./helpers.js";

let emu: Emulator;
let c: Clients;

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
});
afterAll(async () => {
  await emu?.stop();
});

async function imageState(cl: Clients, imageId: string): Promise<string | undefined> {
  const r = await cl.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  return r.Images?.[0]?.State;
}

async function waitAvailable(cl: Clients, imageId: string): Promise<void> {
  await waitFor(async () => ((await imageState(cl, imageId)) === "available" ? true : undefined));
}

describe("CreateImage", () => {
  it("snapshots the instance's files, which a new instance from the image sees", async () => {
    const baseId = await baseImageId(c, "al2023", "x86_64");
    const builder = await launchOnline(c, { ImageId: baseId });
    const setup = await run(c, builder, [
      "mkdir -p /opt/app && echo v1.2.3 > /opt/app/VERSION",
      "echo 'net.core.somaxconn = 1024' > /etc/sysctl.d/90-app.conf",
      "echo temp > /run/not-in-image",
      "useradd_stub() { echo \"appuser:x:1500:1500::/home/appuser:/bin/bash\" >> /etc/passwd; }; useradd_stub",
    ]);
    expect(setup.Status).toBe("Success");
    await c.ec2.send(new StopInstancesCommand({ InstanceIds: [builder] }));
    await waitFor(async () => ((await instanceState(c, builder)) === "stopped" ? true : undefined));

    const created = await c.ec2.send(
      new CreateImageCommand({
        InstanceId: builder,
        Name: "cws/app-1.2.3-x86_64",
        Description: "app image",
        TagSpecifications: [
          { ResourceType: "image", Tags: [{ Key: "cws:template", Value: "app" }] },
          { ResourceType: "snapshot", Tags: [{ Key: "cws:template", Value: "app" }] },
        ],
      }),
    );
    const imageId = created.ImageId as string;
    expect(imageId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(await imageState(c, imageId)).toBe("pending");

    const dup = await errorOf(c.ec2.send(new CreateImageCommand({ InstanceId: builder, Name: "cws/app-1.2.3-x86_64" })));
    expect(dup.name).toBe("InvalidAMIName.Duplicate");
    const malformed = await errorOf(c.ec2.send(new CreateImageCommand({ InstanceId: builder, Name: "a!" })));
    expect(malformed.name).toBe("InvalidAMIName.Malformed");

    await waitAvailable(c, imageId);
    const described = (await c.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "tag:cws:template", Values: ["app"] }] }))).Images ?? [];
    expect(described.map((i) => i.ImageId)).toEqual([imageId]);
    const img = described[0];
    expect(img).toMatchObject({ Name: "cws/app-1.2.3-x86_64", Description: "app image", OwnerId: "123456789012", Public: false, Architecture: "x86_64", SourceInstanceId: builder });
    // The account's own images have no owner alias.
    expect(img?.ImageOwnerAlias).toBeUndefined();
    // EC2 names the image the instance was launched from as its source, as it names a copy's.
    expect(img).toMatchObject({ SourceImageId: baseId, SourceImageRegion: "us-east-1" });
    const snapshotId = img?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId as string;
    expect(snapshotId).toMatch(/^snap-/);

    const snaps = emu.snapshots("us-east-1").filter((s) => s.tags["cws:template"] === "app");
    expect(snaps.map((s) => s.id)).toEqual([snapshotId]);
    expect(snaps[0]).toMatchObject({ state: "completed", volumeSize: 8, ownerId: "123456789012", imageId });

    const child = await launchOnline(c, { ImageId: imageId });
    const check = await run(c, child, ["cat /opt/app/VERSION", "cat /etc/sysctl.d/90-app.conf", "getent passwd appuser | cut -d: -f3", "test -e /run/not-in-image && echo run-carried || echo run-empty", ". /etc/os-release; echo $ID"]);
    expect(check.StandardOutputContent).toBe("v1.2.3\nnet.core.somaxconn = 1024\n1500\nrun-empty\namzn\n");
    expect(await emu.instanceFile("us-east-1", child, "/opt/app/VERSION")).toBe("v1.2.3\n");
  });

  it("takes base + per-GiB simulated time to become available", async () => {
    const inst = await launchOnline(c, { BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 30, VolumeType: "gp3" } }] });
    emu.clock.setMsPerSimSecond(1000); // nearly stop the clock; advance() moves it
    try {
      const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "sized-image", NoReboot: true }));
      const expected = emu.latencies.imageBase + emu.latencies.imagePerGiB * 30;
      expect(emu.stats.waits[ImageId as string]).toBe(expected);
      await emu.settled("us-east-1");
      emu.clock.advance(expected - 1);
      expect(await imageState(c, ImageId as string)).toBe("pending");
      emu.clock.advance(1);
      expect(await imageState(c, ImageId as string)).toBe("available");
    } finally {
      emu.clock.setMsPerSimSecond(1);
    }
  });

  it("reboots the instance unless NoReboot: its background processes die", async () => {
    const inst = await launchOnline(c);
    await run(c, inst, ["nohup bash -c 'while true; do echo . >> /var/log/ticks; sleep 0.02; done' >/dev/null 2>&1 &"]);
    await waitFor(async () => ((await emu.instanceFile("us-east-1", inst, "/var/log/ticks").catch(() => "")).length > 4 ? true : undefined));
    await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "kept-running", NoReboot: true }));
    const a = (await emu.instanceFile("us-east-1", inst, "/var/log/ticks")).length;
    await waitFor(async () => ((await emu.instanceFile("us-east-1", inst, "/var/log/ticks")).length > a + 4 ? true : undefined));
    await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "rebooted" }));
    const b = (await emu.instanceFile("us-east-1", inst, "/var/log/ticks")).length;
    await new Promise((r) => setTimeout(r, 120));
    expect((await emu.instanceFile("us-east-1", inst, "/var/log/ticks")).length).toBe(b);
    expect(emu.instances("us-east-1").find((i) => i.id === inst)?.state).toBe("running");
  });
});

describe("snapshots and deregistration", () => {
  it("refuses to delete a snapshot in use, then deletes it after DeregisterImage", async () => {
    const inst = await launchOnline(c);
    const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "to-deregister", NoReboot: true }));
    await waitAvailable(c, ImageId as string);
    const snapshotId = emu.images("us-east-1").find((i) => i.id === ImageId)?.snapshotIds[0] as string;
    await c.ec2.send(new CreateTagsCommand({ Resources: [ImageId as string, snapshotId], Tags: [{ Key: "retired", Value: "yes" }] }));
    expect(emu.snapshots("us-east-1").filter((s) => s.tags.retired === "yes").map((s) => s.id)).toEqual([snapshotId]);

    const dryCreate = await errorOf(c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "dry-image", DryRun: true })));
    expect(dryCreate.name).toBe("DryRunOperation");
    expect(emu.images("us-east-1").some((i) => i.name === "dry-image")).toBe(false);
    const inUse = await errorOf(c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    expect(inUse.name).toBe("InvalidSnapshot.InUse");
    expect(inUse.message).toContain(ImageId as string);
    const dry = await errorOf(c.ec2.send(new DeregisterImageCommand({ ImageId, DryRun: true })));
    expect(dry.name).toBe("DryRunOperation");
    const dereg = await c.ec2.send(new DeregisterImageCommand({ ImageId }));
    expect(dereg.Return).toBe(true);
    const gone = await errorOf(c.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] })));
    expect(gone.name).toBe("InvalidAMIID.NotFound");
    const dryDelete = await errorOf(c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId, DryRun: true })));
    expect(dryDelete.name).toBe("DryRunOperation");
    await c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    expect(emu.snapshots("us-east-1").some((s) => s.id === snapshotId)).toBe(false);
    const again = await errorOf(c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    expect(again.name).toBe("InvalidSnapshot.NotFound");
  });

  it("can delete the image's snapshots together with it", async () => {
    const inst = await launchOnline(c);
    const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "dereg-with-snaps", NoReboot: true }));
    await waitAvailable(c, ImageId as string);
    const r = await c.ec2.send(new DeregisterImageCommand({ ImageId, DeleteAssociatedSnapshots: true }));
    expect(r.DeleteSnapshotResults?.[0]?.ReturnCode).toBe("success");
    expect(emu.snapshots("us-east-1").some((s) => s.imageId === ImageId)).toBe(false);
  });
});

describe("CopyImage", () => {
  it("copies an image into the requesting region, pending then available, with its own snapshot and the files", async () => {
    const inst = await launchOnline(c);
    await run(c, inst, ["echo copied-file > /etc/cws-release"]);
    const { ImageId: sourceId } = await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: "to-copy", NoReboot: true, TagSpecifications: [{ ResourceType: "image", Tags: [{ Key: "k", Value: "v" }] }] }));
    const early = await errorOf(clientsFor(emu, "eu-central-1").ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "too-early" })));
    expect(early.name).toBe("IncorrectState");
    await waitAvailable(c, sourceId as string);

    const dest = clientsFor(emu, "eu-central-1");
    const copy = await dest.ec2.send(
      new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "to-copy", CopyImageTags: true, ClientToken: "copy-1" }),
    );
    const copyId = copy.ImageId as string;
    const sameToken = await dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "to-copy", CopyImageTags: true, ClientToken: "copy-1" }));
    expect(sameToken.ImageId).toBe(copyId);
    expect(await imageState(dest, copyId)).toBe("pending");
    const notInSource = await errorOf(c.ec2.send(new DescribeImagesCommand({ ImageIds: [copyId] })));
    expect(notInSource.name).toBe("InvalidAMIID.NotFound");
    await waitAvailable(dest, copyId);

    const img = (await dest.ec2.send(new DescribeImagesCommand({ ImageIds: [copyId] }))).Images?.[0];
    expect(img).toMatchObject({ Name: "to-copy", SourceImageId: sourceId, SourceImageRegion: "us-east-1", State: "available" });
    expect(img?.Tags).toEqual([{ Key: "k", Value: "v" }]);
    const copySnap = img?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    const sourceSnap = emu.images("us-east-1").find((i) => i.id === sourceId)?.snapshotIds[0];
    expect(copySnap).toMatch(/^snap-/);
    expect(copySnap).not.toBe(sourceSnap);
    expect(emu.snapshots("eu-central-1").map((s) => s.id)).toContain(copySnap);

    const child = await launchOnline(dest, { ImageId: copyId });
    const r = await run(dest, child, ["cat /etc/cws-release"]);
    expect(r.StandardOutputContent).toBe("copied-file\n");
    expect(emu.stats.waits[copyId]).toBe(emu.latencies.copyImageBase + emu.latencies.copyImagePerGiB * 8);

    const missing = await errorOf(dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: "ami-0123456789abcdef0", Name: "nope" })));
    expect(missing.name).toBe("InvalidAMIID.NotFound");
    const dry = await errorOf(dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "dry-copy", DryRun: true })));
    expect(dry.name).toBe("DryRunOperation");
  });
});

describe("CopyImage, as AWS documents it", () => {
  /** An available image of `sizeGiB` in us-east-1, made from an instance. */
  async function sourceImage(name: string, sizeGiB: number): Promise<string> {
    const inst = await launchOnline(c, { BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: sizeGiB, VolumeType: "gp3", Encrypted: true } }] });
    const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: inst, Name: name, NoReboot: true }));
    await waitAvailable(c, ImageId as string);
    return ImageId as string;
  }

  it("takes base + per-GiB simulated time, and its snapshots complete with it, in the destination region only", async () => {
    const sourceId = await sourceImage("copy-sized", 30);
    const dest = clientsFor(emu, "ap-southeast-2");
    emu.clock.setMsPerSimSecond(1000); // nearly stop the clock; advance() moves it
    try {
      const { ImageId } = await dest.ec2.send(
        new CopyImageCommand({
          SourceRegion: "us-east-1",
          SourceImageId: sourceId,
          Name: "copy-sized",
          TagSpecifications: [
            { ResourceType: "image", Tags: [{ Key: "cws:copied-from", Value: `us-east-1/${sourceId}` }] },
            { ResourceType: "snapshot", Tags: [{ Key: "cws:copied-from", Value: `us-east-1/${sourceId}` }] },
          ],
        }),
      );
      const copyId = ImageId as string;
      const expected = emu.latencies.copyImageBase + emu.latencies.copyImagePerGiB * 30;
      expect(emu.stats.waits[copyId]).toBe(expected);
      await emu.settled("ap-southeast-2");
      const snapshots = () => emu.snapshots("ap-southeast-2").filter((s) => s.imageId === copyId);
      expect(snapshots().map((s) => [s.state, s.volumeSize, s.tags])).toEqual([["pending", 30, { "cws:copied-from": `us-east-1/${sourceId}` }]]);
      emu.clock.advance(expected - 1);
      expect(await imageState(dest, copyId)).toBe("pending");
      emu.clock.advance(1);
      expect(await imageState(dest, copyId)).toBe("available");
      expect(snapshots().map((s) => s.state)).toEqual(["completed"]);
      const copy = emu.images("ap-southeast-2").find((i) => i.id === copyId)!;
      expect(copy.tags).toEqual({ "cws:copied-from": `us-east-1/${sourceId}` });
      // Per region: neither the copy nor its snapshot is seen in the source region, or any third one.
      for (const other of ["us-east-1", "eu-west-3"]) {
        expect(emu.images(other).some((i) => i.id === copyId), other).toBe(false);
        expect(emu.snapshots(other).some((s) => s.id === copy.snapshotIds[0]), other).toBe(false);
      }
      const elsewhere = await errorOf(clientsFor(emu, "eu-west-3").ec2.send(new DescribeImagesCommand({ ImageIds: [copyId] })));
      expect(elsewhere.name).toBe("InvalidAMIID.NotFound");
    } finally {
      emu.clock.setMsPerSimSecond(1);
    }
  });

  it("keeps an encrypted source's snapshots encrypted, and encrypts an unencrypted one's when asked", async () => {
    const encrypted = await sourceImage("copy-encrypted", 8);
    const plainInst = await launchOnline(c, { BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 8, VolumeType: "gp3", Encrypted: false } }] });
    const { ImageId: plain } = await c.ec2.send(new CreateImageCommand({ InstanceId: plainInst, Name: "copy-plain", NoReboot: true }));
    await waitAvailable(c, plain as string);
    const dest = clientsFor(emu, "ca-central-1");
    const encryptedOf = async (input: { SourceImageId: string; Name: string; Encrypted?: boolean }) => {
      const { ImageId } = await dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", ...input }));
      const image = (await dest.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
      return image?.BlockDeviceMappings?.[0]?.Ebs?.Encrypted;
    };
    expect(await encryptedOf({ SourceImageId: encrypted, Name: "e-default" })).toBe(true);
    expect(await encryptedOf({ SourceImageId: plain as string, Name: "p-default" })).toBe(false);
    expect(await encryptedOf({ SourceImageId: plain as string, Name: "p-encrypted", Encrypted: true })).toBe(true);
  });

  it("refuses what AWS refuses: a source that does not exist or is not available, a malformed source region, a name in use, a tag type it cannot tag, a token reused for another request", async () => {
    const sourceId = await sourceImage("copy-refusals", 8);
    const dest = clientsFor(emu, "eu-north-1");
    const copy = (input: Partial<ConstructorParameters<typeof CopyImageCommand>[0]>) =>
      errorOf(dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "copy-refused", ...input })));
    expect((await copy({ SourceImageId: "ami-0123456789abcdef0" })).name).toBe("InvalidAMIID.NotFound");
    expect((await copy({ SourceImageId: "ami-123" })).name).toBe("InvalidAMIID.Malformed");
    const badRegion = await copy({ SourceRegion: "mars" });
    expect([badRegion.name, badRegion.message]).toEqual(["InvalidParameterValue", "Value (mars) for parameter sourceRegion is invalid."]);
    expect((await copy({ TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "a", Value: "b" }] }] })).name).toBe("InvalidParameterValue");
    // The source is in us-east-1, not here: copying "from" this region finds no such image.
    expect((await copy({ SourceRegion: "eu-north-1" })).name).toBe("InvalidAMIID.NotFound");

    const first = await dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "copy-once", ClientToken: "token-1" }));
    expect((await copy({ Name: "copy-once" })).name).toBe("InvalidAMIName.Duplicate");
    expect((await copy({ Name: "copy-twice", ClientToken: "token-1" })).name).toBe("IdempotentParameterMismatch");
    const again = await dest.ec2.send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sourceId, Name: "copy-once", ClientToken: "token-1" }));
    expect(again.ImageId).toBe(first.ImageId);
    expect(emu.images("eu-north-1").filter((i) => i.name === "copy-once")).toHaveLength(1);

    // A copy that is itself still pending cannot be copied on.
    const pending = await errorOf(clientsFor(emu, "eu-south-1").ec2.send(new CopyImageCommand({ SourceRegion: "eu-north-1", SourceImageId: first.ImageId, Name: "copy-of-pending" })));
    expect(pending.name).toBe("IncorrectState");
  });
});
