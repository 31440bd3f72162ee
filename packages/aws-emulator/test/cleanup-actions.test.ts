import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EnableImageDeprecationCommand,
  type DescribeLaunchTemplateVersionsCommandInput,
  type Snapshot,
} from "@aws-sdk/client-ec2";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { clientsFor, errorOf, startTestEmulator } from "./helpers.js";

/**
 * What `cws ami cleanup` reads and does beside the build's calls, as AWS
 * documents it: images and snapshots listed page by page, launch templates and
 * every one of their versions (an AMI id or resolve:ssm:), and deprecation.
 */
let emu: Emulator;

beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu?.stop();
});

const CWS = { "cws:managed-by": "cws", "cws:template": "paged" };

describe("DescribeImages and DescribeSnapshots, page by page", () => {
  it("pages 1,500 images of the account with MaxResults/NextToken, and refuses MaxResults with ImageIds", async () => {
    const region = "eu-north-1";
    const regional = clientsFor(emu, region);
    const made = Array.from({ length: 1500 }, (_, i) => emu.addImage(region, { name: `cws-paged-${i}`, tags: CWS }).imageId);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await regional.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "tag:cws:template", Values: ["paged"] }], MaxResults: 1000, NextToken: token }));
      seen.push(...(page.Images ?? []).map((image) => image.ImageId!));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual([...made].sort());
    const error = await errorOf(regional.ec2.send(new DescribeImagesCommand({ ImageIds: [made[0]!], MaxResults: 5 })));
    expect(error.name).toBe("InvalidParameterCombination");
  });

  it("lists the account's snapshots with StartTime, state and tags, filters by tag, pages from 5 to 1,000, and names a missing one", async () => {
    const region = "eu-south-1";
    const regional = clientsFor(emu, region);
    const { imageId, snapshotIds } = emu.addImage(region, { name: "cws-snaps", tags: CWS, snapshots: 2, sizeGb: 30 });
    for (let i = 0; i < 10; i++) emu.addImage(region, { name: `other-${i}`, tags: { team: "x" } });
    const tagged = await regional.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: [{ Name: "tag:cws:managed-by", Values: ["cws"] }] }));
    const snapshots = tagged.Snapshots ?? [];
    expect(snapshots.map((s) => s.SnapshotId).sort()).toEqual([...snapshotIds].sort());
    for (const snapshot of snapshots) {
      expect(snapshot).toMatchObject({ State: "completed", VolumeSize: 30, OwnerId: emu.accountId, Encrypted: true } satisfies Partial<Snapshot>);
      expect(snapshot.StartTime).toBeInstanceOf(Date);
      expect(snapshot.Tags).toContainEqual({ Key: "cws:template", Value: "paged" });
    }
    const pageSizes: number[] = [];
    let token: string | undefined;
    do {
      const page = await regional.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], MaxResults: 5, NextToken: token }));
      pageSizes.push(page.Snapshots?.length ?? 0);
      token = page.NextToken;
    } while (token);
    expect(pageSizes).toEqual([5, 5, 2]);
    expect((await errorOf(regional.ec2.send(new DescribeSnapshotsCommand({ MaxResults: 4 })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(regional.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ["snap-0123456789abcdef0"] })))).name).toBe("InvalidSnapshot.NotFound");
    // Deregistering the image leaves its snapshots: DescribeSnapshots still lists them (orphans).
    await regional.ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    const after = await regional.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
    expect(after.Snapshots?.map((s) => s.SnapshotId).sort()).toEqual([...snapshotIds].sort());
  });
});

describe("launch templates", () => {
  it("creates a template and versions, describes every version of one (numbers, $Latest, $Default, ranges), and of all (latest and default only)", async () => {
    const region = "ca-central-1";
    const regional = clientsFor(emu, region);
    const first = emu.addImage(region, { name: "lt-first" }).imageId;
    const second = emu.addImage(region, { name: "lt-second" }).imageId;
    const created = await regional.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "web", LaunchTemplateData: { ImageId: first, InstanceType: "t3.micro" } }));
    const id = created.LaunchTemplate!.LaunchTemplateId!;
    expect(id).toMatch(/^lt-0[0-9a-f]{16}$/);
    expect(created.LaunchTemplate).toMatchObject({ LaunchTemplateName: "web", DefaultVersionNumber: 1, LatestVersionNumber: 1 });
    const v2 = await regional.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: "1", LaunchTemplateData: { ImageId: second } }));
    expect(v2.LaunchTemplateVersion).toMatchObject({ VersionNumber: 2, DefaultVersion: false, LaunchTemplateData: { ImageId: second, InstanceType: "t3.micro" } });
    await regional.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: "web", LaunchTemplateData: { ImageId: "resolve:ssm:/team/web/ami" } }));

    const images = async (input: DescribeLaunchTemplateVersionsCommandInput) =>
      ((await regional.ec2.send(new DescribeLaunchTemplateVersionsCommand(input))).LaunchTemplateVersions ?? []).map((v) => `${v.VersionNumber} ${v.LaunchTemplateData?.ImageId}`);
    expect(await images({ LaunchTemplateId: id })).toEqual([`1 ${first}`, `2 ${second}`, "3 resolve:ssm:/team/web/ami"]);
    expect(await images({ LaunchTemplateName: "web", Versions: ["$Latest", "$Default"] })).toEqual([`1 ${first}`, "3 resolve:ssm:/team/web/ami"]);
    expect(await images({ LaunchTemplateId: id, MinVersion: "2", MaxVersion: "2" })).toEqual([`2 ${second}`]);
    expect(await images({ LaunchTemplateId: id, Filters: [{ Name: "image-id", Values: [second] }] })).toEqual([`2 ${second}`]);
    expect(await images({ Versions: ["$Latest"] })).toEqual(["3 resolve:ssm:/team/web/ami"]);
    // ResolveAlias shows the parameter's current value; without it, the parameter as written.
    await regional.ssm.send(new PutParameterCommand({ Name: "/team/web/ami", Value: second, Type: "String", DataType: "aws:ec2:image" }));
    expect(await images({ LaunchTemplateId: id, Versions: ["3"], ResolveAlias: true })).toEqual([`3 ${second}`]);

    // Paging (1 to 200 a page), and the errors EC2 gives.
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await regional.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 2, NextToken: token }));
      paged.push(...(page.LaunchTemplateVersions ?? []).map((v) => String(v.VersionNumber)));
      token = page.NextToken;
    } while (token);
    expect(paged).toEqual(["1", "2", "3"]);
    expect((await errorOf(regional.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ["9"] })))).name).toBe("InvalidLaunchTemplateId.VersionNotFound");
    expect((await errorOf(regional.ec2.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ["2"] })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(regional.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: "lt-0123456789abcdef0" })))).name).toBe("InvalidLaunchTemplateId.NotFound");
    expect((await errorOf(regional.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "web", LaunchTemplateData: { ImageId: first } })))).name).toBe(
      "InvalidLaunchTemplateName.AlreadyExistsException",
    );
    expect((await errorOf(regional.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "x", LaunchTemplateData: { ImageId: first } })))).name).toBe(
      "InvalidLaunchTemplateName.MalformedException",
    );
  });

  it("describes launch templates page by page (1 to 200), by id or name, and names a missing one", async () => {
    const region = "sa-east-1";
    const regional = clientsFor(emu, region);
    const image = emu.addImage(region, { name: "lt-many" }).imageId;
    for (let i = 0; i < 5; i++) await regional.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `app-${i}`, LaunchTemplateData: { ImageId: image } }));
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await regional.ec2.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2, NextToken: token }));
      names.push(...(page.LaunchTemplates ?? []).map((t) => t.LaunchTemplateName!));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names.sort()).toEqual(["app-0", "app-1", "app-2", "app-3", "app-4"]);
    expect((await regional.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ["app-3"] }))).LaunchTemplates?.map((t) => t.LaunchTemplateName)).toEqual(["app-3"]);
    expect((await errorOf(regional.ec2.send(new DescribeLaunchTemplatesCommand({ MaxResults: 201 })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(regional.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ["nope"] })))).name).toBe("InvalidLaunchTemplateName.NotFoundException");
  });
});

describe("EnableImageDeprecation", () => {
  it("sets the image's DeprecationTime, rounded to the minute; refuses the past and a missing image", async () => {
    const region = "ap-south-1";
    const regional = clientsFor(emu, region);
    const { imageId } = emu.addImage(region, { name: "to-deprecate", tags: CWS });
    const at = new Date(Date.now() + 3 * 60_000 + 40_000);
    await regional.ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: at }));
    const [image] = (await regional.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images ?? [];
    const rounded = new Date(Math.round(at.getTime() / 60_000) * 60_000).toISOString();
    expect(image?.DeprecationTime).toBe(rounded);
    expect(emu.images(region).find((i) => i.id === imageId)?.deprecationTime).toBe(rounded);
    // The owner still sees it in every listing.
    const listed = await regional.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: ["to-deprecate"] }] }));
    expect(listed.Images?.map((i) => i.ImageId)).toEqual([imageId]);
    expect((await errorOf(regional.ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(Date.now() - 3_600_000) })))).name).toBe("InvalidParameterValue");
    expect((await errorOf(regional.ec2.send(new EnableImageDeprecationCommand({ ImageId: "ami-0123456789abcdef0", DeprecateAt: at })))).name).toBe("InvalidAMIID.NotFound");
    const dry = await errorOf(regional.ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: at, DryRun: true })));
    expect(dry.name).toBe("DryRunOperation");
  });
});
