import { describe, expect, it } from "vitest";
import { AwsCallError, type CopyImageRequest, type Ec2Port, type ImageInfo } from "../../src/aws/ports.js";
import type { PollSettings } from "../../src/builder/poll.js";
import { copyClientToken, CopyFailure, copyImageToRegion, copySourceOf, copyTags, type CopyInput, type CopySource } from "../../src/fleet/copy.js";
import { ec2PortWith } from "../builder/fake-build.js";

const POLL: PollSettings = { overrideMs: 1, timeoutScale: 0.00001 };
const SOURCE_ID = "ami-0123456789abcdef0";

const SOURCE: CopySource = {
  region: "us-east-1",
  imageId: SOURCE_ID,
  name: "cws-r-research-v1.0.0-x86_64-20261126t083000z-1a2b3c",
  sizeGb: 30,
  tags: { Name: "cws-r-research-v1.0.0-x86_64-20261126t083000z-1a2b3c", "cws:template": "r-research", "cws:arch": "x86_64", "cws:build-id": "b-1", "aws:cloudformation:stack-name": "x" },
  encrypted: true,
};

interface FakeCopyOptions {
  /** The states DescribeImages reports for the copy, one per call (the last repeats). */
  states?: string[];
  /** The copy names its snapshots from this DescribeImages call on (0: the first; 99: never while waited for). */
  snapshotsFrom?: number;
  copyError?: Error;
  /** Runs when CopyImage is called (before it answers). */
  onCopy?: () => void;
  deregisterError?: Error;
}

/** One region's EC2 behind the port: CopyImage makes one copy whose state follows a script; removals are logged. */
function fakeRegion(region: string, options: FakeCopyOptions = {}) {
  const calls: string[] = [];
  const requests: CopyImageRequest[] = [];
  const states = options.states ?? ["pending", "available"];
  let describes = 0;
  let exists = false;
  const copyId = `ami-0${region.replace(/[^a-z0-9]/g, "").padEnd(16, "0").slice(0, 16).replace(/[^0-9a-f]/g, "a")}`;
  /** The image as the `call`-th DescribeImages (from 0) shows it. */
  const image = (state: string, call: number): ImageInfo => ({
    imageId: copyId,
    name: SOURCE.name,
    architecture: "x86_64",
    state,
    creationDate: "2026-11-26T09:00:00.000Z",
    ownerId: "111122223333",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 30,
    snapshotIds: call >= (options.snapshotsFrom ?? 0) ? [`snap-${region}-1`, `snap-${region}-2`] : [],
    encrypted: true,
    tags: {},
  });
  const ec2 = ec2PortWith(region, {
    async describeImages(filter) {
      if (!exists || !filter.imageIds?.includes(copyId)) return [];
      const call = describes++;
      return [image(states[Math.min(call, states.length - 1)]!, call)];
    },
    async copyImage(request) {
      options.onCopy?.();
      requests.push(request);
      calls.push(`copy ${request.sourceImageId}`);
      if (options.copyError) throw options.copyError;
      exists = true;
      return copyId;
    },
    async deregisterImage(imageId) {
      calls.push(`deregister ${imageId}`);
      if (options.deregisterError) throw options.deregisterError;
      exists = false;
    },
    async deleteSnapshot(snapshotId) {
      calls.push(`delete ${snapshotId}`);
    },
  });
  return { ec2, calls, requests, copyId, describes: () => describes };
}

function input(ec2: Ec2Port, overrides: Partial<CopyInput> = {}): CopyInput {
  return { source: SOURCE, destinationRegion: ec2.region, buildId: "20261126t083000z-1a2b3c", ec2, poll: POLL, ...overrides };
}

const failureOf = async (promise: Promise<unknown>): Promise<CopyFailure> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CopyFailure);
  return error as CopyFailure;
};

describe("copyImageToRegion", () => {
  it("starts the copy in the destination with the source's name and tags plus where it came from, and waits until it is available", async () => {
    const eu = fakeRegion("eu-west-1", { states: ["pending", "pending", "available"] });
    let clock = 1_000;
    const result = await copyImageToRegion(input(eu.ec2, { now: () => (clock += 500) }));
    expect(result).toEqual({
      imageId: eu.copyId,
      region: "eu-west-1",
      state: "available",
      snapshotIds: ["snap-eu-west-1-1", "snap-eu-west-1-2"],
      sizeGb: 30,
      seconds: 0.5,
      created: "2026-11-26T09:00:00.000Z",
      copiedFrom: { region: "us-east-1", ami_id: SOURCE_ID },
    });
    expect(eu.requests).toEqual([
      {
        sourceRegion: "us-east-1",
        sourceImageId: SOURCE_ID,
        name: SOURCE.name,
        description: `${SOURCE.name} (copied from us-east-1 ${SOURCE_ID})`,
        tags: {
          Name: SOURCE.name,
          "cws:template": "r-research",
          "cws:arch": "x86_64",
          "cws:build-id": "b-1",
          "cws:copied-from": `us-east-1/${SOURCE_ID}`,
        },
        clientToken: "cws-copy-20261126t083000z-1a2b3c-eu-west-1",
        encrypted: false,
      },
    ]);
    expect(eu.describes()).toBe(3);
    expect(eu.calls).toEqual([`copy ${SOURCE_ID}`]);
  });

  it("asks for encrypted snapshots unless every snapshot of the source is known to be encrypted", async () => {
    for (const [encrypted, asked] of [[true, false], [false, true], [undefined, true]] as const) {
      const region = fakeRegion("eu-west-2");
      await copyImageToRegion(input(region.ec2, { source: { ...SOURCE, encrypted } }));
      expect(region.requests[0]?.encrypted, String(encrypted)).toBe(asked);
    }
  });

  it("fails a copy that fails, and removes it with the snapshots it named", async () => {
    const eu = fakeRegion("eu-west-1", { states: ["pending", "failed"] });
    const failure = await failureOf(copyImageToRegion(input(eu.ec2)));
    expect(failure.message).toBe(`copy of ${SOURCE_ID} from us-east-1 to eu-west-1 failed: the copy ${eu.copyId} in eu-west-1 is failed`);
    expect(failure).toMatchObject({ region: "eu-west-1", imageId: eu.copyId, interrupted: false, cleanupErrors: [] });
    expect(eu.calls).toEqual([`copy ${SOURCE_ID}`, `deregister ${eu.copyId}`, "delete snap-eu-west-1-1", "delete snap-eu-west-1-2"]);
    expect(failure.cleaned).toEqual([`image ${eu.copyId}`, "snapshot snap-eu-west-1-1", "snapshot snap-eu-west-1-2"]);

    // A copy that named no snapshots while it was waited for: they are learnt before it is deregistered, when it still names them.
    const late = fakeRegion("eu-west-1", { states: ["pending", "failed"], snapshotsFrom: 2 });
    await failureOf(copyImageToRegion(input(late.ec2)));
    expect(late.describes()).toBe(3);
    expect(late.calls).toEqual([`copy ${SOURCE_ID}`, `deregister ${late.copyId}`, "delete snap-eu-west-1-1", "delete snap-eu-west-1-2"]);
  });

  it("says why a copy comes back deregistered: its client token named a copy made and removed before", async () => {
    const eu = fakeRegion("eu-west-1", { states: ["deregistered"] });
    const failure = await failureOf(copyImageToRegion(input(eu.ec2)));
    expect(failure.message).toContain(`the copy ${eu.copyId} in eu-west-1 is deregistered`);
    expect(failure.message).toContain("copy under another build id");
  });

  it("keeps a copy still pending when its wait runs out, and says how to check and record it", async () => {
    const eu = fakeRegion("eu-west-1", { states: ["pending"] });
    const warnings: string[] = [];
    const result = await copyImageToRegion(input(eu.ec2, { reporter: { detail() {}, cleanup() {}, warn: (text) => warnings.push(text) } }));
    expect(result).toMatchObject({ imageId: eu.copyId, state: "pending", copiedFrom: { region: "us-east-1", ami_id: SOURCE_ID } });
    expect(eu.calls).toEqual([`copy ${SOURCE_ID}`]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`It is kept, not deleted: check it with\n  aws ec2 describe-images --image-ids ${eu.copyId} --region eu-west-1`);
    expect(warnings[0]).toContain("cws ami update-registry r-research --region eu-west-1 --architecture x86_64");
  });

  it("removes the copy and its snapshots when aborted during the wait, learning the snapshots first if it has not seen them", async () => {
    for (const snapshotsFrom of [0, 99]) {
      const eu = fakeRegion("eu-west-1", { states: ["pending"], snapshotsFrom });
      const controller = new AbortController();
      const cleanups: string[] = [];
      const copy = copyImageToRegion(input(eu.ec2, { signal: controller.signal, poll: { overrideMs: 5 }, reporter: { detail() {}, warn() {}, cleanup: (text) => cleanups.push(text) } }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.abort("SIGINT");
      const failure = await failureOf(copy);
      expect(failure.interrupted).toBe(true);
      expect(failure.message).toBe(`copy of ${SOURCE_ID} from us-east-1 to eu-west-1 interrupted`);
      if (snapshotsFrom === 0) {
        expect(eu.calls).toEqual([`copy ${SOURCE_ID}`, `deregister ${eu.copyId}`, "delete snap-eu-west-1-1", "delete snap-eu-west-1-2"]);
      } else {
        // The copy never named its snapshots while waited for: no snapshot is known, and none invented.
        expect(eu.calls).toEqual([`copy ${SOURCE_ID}`, `deregister ${eu.copyId}`]);
      }
      expect(cleanups[0]).toBe(`eu-west-1: deregistered unfinished copy ${eu.copyId}`);
    }
  });

  it("removes a copy whose CopyImage answered after the abort", async () => {
    const controller = new AbortController();
    const eu = fakeRegion("eu-west-1", { onCopy: () => controller.abort("SIGTERM"), snapshotsFrom: 0 });
    const failure = await failureOf(copyImageToRegion(input(eu.ec2, { signal: controller.signal })));
    expect(failure).toMatchObject({ interrupted: true, imageId: eu.copyId });
    expect(eu.calls).toEqual([`copy ${SOURCE_ID}`, `deregister ${eu.copyId}`, "delete snap-eu-west-1-1", "delete snap-eu-west-1-2"]);
  });

  it("makes no call at all when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const eu = fakeRegion("eu-west-1");
    const failure = await failureOf(copyImageToRegion(input(eu.ec2, { signal: controller.signal })));
    expect(failure).toMatchObject({ interrupted: true, imageId: undefined, cleaned: [] });
    expect(eu.calls).toEqual([]);
  });

  it("reports a refused CopyImage with AWS's code as its cause, with nothing to remove", async () => {
    const refused = new AwsCallError("IncorrectState", "CopyImage", "Image is not in a valid state for copying");
    const eu = fakeRegion("eu-west-1", { copyError: refused });
    const failure = await failureOf(copyImageToRegion(input(eu.ec2)));
    expect(failure.cause).toBe(refused);
    expect(failure).toMatchObject({ imageId: undefined, interrupted: false, cleaned: [], cleanupErrors: [] });
    expect(eu.calls).toEqual([`copy ${SOURCE_ID}`]);
  });

  describe("a name already in use in the destination (InvalidAMIName.Duplicate: a copy keeps its source's name)", () => {
    const SOURCE_OF_CONTENT: CopySource = { ...SOURCE, tags: { ...SOURCE.tags, "cws:managed-by": "cws", "cws:validated": "true", "cws:content-hash": "c".repeat(64) } };
    const HOLDER_ID = "ami-0aaaaaaaaaaaaaaa1";
    /** The destination refuses the name; DescribeImages by that name (owner self) shows `holder`. */
    function regionHolding(holder: { state?: string; tags: ImageInfo["tags"] }) {
      const asked: unknown[] = [];
      const duplicate = new AwsCallError("InvalidAMIName.Duplicate", "CopyImage", `AMI name ${SOURCE.name} is already in use by AMI ${HOLDER_ID}`);
      const ec2 = ec2PortWith("eu-west-1", {
        async copyImage() {
          throw duplicate;
        },
        async describeImages(filter) {
          asked.push(filter);
          const image: ImageInfo = { imageId: HOLDER_ID, name: SOURCE.name, architecture: "x86_64", state: holder.state ?? "available", creationDate: "2026-11-26T09:00:00.000Z", ownerId: "111122223333", rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 30, snapshotIds: [], tags: holder.tags };
          return [image];
        },
      });
      return { ec2, asked, duplicate };
    }

    it("a copy of this very build (available, validated, same content and build id): the failure says the region has it (nameTakenBy.sameBuild)", async () => {
      const region = regionHolding({ tags: copyTags(SOURCE_OF_CONTENT) });
      const failure = await failureOf(copyImageToRegion(input(region.ec2, { source: SOURCE_OF_CONTENT })));
      expect(region.asked).toEqual([{ owners: ["self"], namePattern: SOURCE.name }]);
      expect(failure.nameTakenBy).toMatchObject({ sameBuild: true, image: { imageId: HOLDER_ID } });
      expect(failure).toMatchObject({ imageId: undefined, cleaned: [], interrupted: false });
      expect(failure.message).toBe(`copy of ${SOURCE_ID} from us-east-1 to eu-west-1 failed: eu-west-1 has this image already: ${HOLDER_ID} holds its name`);
    });

    it.each([
      ["another build of the same content", { "cws:build-id": "b-0" }, "an image of cws's of another build or content, or not validated"],
      ["other content", { "cws:content-hash": "d".repeat(64) }, "an image of cws's of another build or content, or not validated"],
      ["not validated", { "cws:validated": "false" }, "an image of cws's of another build or content, or not validated"],
      ["not cws's", { "cws:managed-by": "someone" }, "an image cws did not make"],
    ])("an image of %s: fails saying by what, and what to do", async (_, change, what) => {
      const region = regionHolding({ tags: { ...copyTags(SOURCE_OF_CONTENT), ...change } });
      const failure = await failureOf(copyImageToRegion(input(region.ec2, { source: SOURCE_OF_CONTENT })));
      expect(failure.nameTakenBy?.sameBuild).toBe(false);
      expect(failure.cause).toBe(region.duplicate);
      expect(failure.message).toContain(`failed: the name ${SOURCE.name} is already in use in eu-west-1 by ${HOLDER_ID}, ${what}`);
      expect(failure.suggestion).toBe(`deregister ${HOLDER_ID} in eu-west-1 if nothing uses it (cws ami list shows what the registry points at), or build anew with --force: a new build's image has a name of its own`);
    });

    it("a copy of this build still pending (another run copying it): fails, to be run again once it is available", async () => {
      const region = regionHolding({ state: "pending", tags: copyTags(SOURCE_OF_CONTENT) });
      const failure = await failureOf(copyImageToRegion(input(region.ec2, { source: SOURCE_OF_CONTENT })));
      expect(failure.nameTakenBy?.sameBuild).toBe(false);
      expect(failure.message).toContain("an image of cws's that is pending (another run copying it?)");
      expect(failure.suggestion).toBe(`run again once ${HOLDER_ID} is available`);
    });
  });

  it("counts a copy already gone as removed, and says where leftovers are when a removal fails", async () => {
    const gone = fakeRegion("eu-west-1", { states: ["failed"], deregisterError: new AwsCallError("InvalidAMIID.NotFound", "DeregisterImage", "gone") });
    const failure = await failureOf(copyImageToRegion(input(gone.ec2)));
    expect(failure.cleanupErrors).toEqual([]);
    expect(failure.cleaned[0]).toBe(`image ${gone.copyId}`);

    const denied = new AwsCallError("UnauthorizedOperation", "DeregisterImage", "no");
    const stuck = fakeRegion("eu-west-1", { states: ["failed"], deregisterError: denied });
    const stuckFailure = await failureOf(copyImageToRegion(input(stuck.ec2)));
    expect(stuckFailure.cleanupErrors).toEqual([denied]);
    expect(stuckFailure.suggestion).toBe(`${stuck.copyId} or its snapshots may be left in eu-west-1; find them by the tag cws:copied-from=us-east-1/${SOURCE_ID}`);
  });

  it("runs many copies at once, each in its own region, without one affecting another", async () => {
    const regions = ["eu-west-1", "ap-south-1", "us-west-2", "sa-east-1"];
    const fakes = regions.map((region, i) => fakeRegion(region, { states: i === 1 ? ["pending", "failed"] : ["pending", "pending", "available"] }));
    const results = await Promise.allSettled(fakes.map((fake) => copyImageToRegion(input(fake.ec2))));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") expect(result.value).toMatchObject({ region: regions[i], imageId: fakes[i]!.copyId, state: "available" });
    }
    expect(fakes.map((fake) => fake.calls.filter((call) => call.startsWith("deregister")).length)).toEqual([0, 1, 0, 0]);
    expect(new Set(fakes.map((fake) => fake.requests[0]!.clientToken)).size).toBe(4);
  });

  it("refuses a port for another region, or a copy into the source's own region", async () => {
    const eu = fakeRegion("eu-west-1");
    await expect(copyImageToRegion({ ...input(eu.ec2), destinationRegion: "eu-west-2" })).rejects.toThrow("the port is for eu-west-1, not the destination eu-west-2");
    const home = fakeRegion("us-east-1");
    await expect(copyImageToRegion(input(home.ec2))).rejects.toThrow(`${SOURCE_ID} is already in us-east-1`);
    expect([...eu.calls, ...home.calls]).toEqual([]);
  });
});

describe("copyClientToken", () => {
  it("is the same for the same build and destination, different otherwise, and fits EC2's 64 characters", () => {
    expect(copyClientToken("b-1", "eu-west-1")).toBe(copyClientToken("b-1", "eu-west-1"));
    expect(copyClientToken("b-1", "eu-west-1")).not.toBe(copyClientToken("b-1", "eu-west-2"));
    expect(copyClientToken("b-1", "eu-west-1")).not.toBe(copyClientToken("b-2", "eu-west-1"));
    const long = copyClientToken("x".repeat(80), "ap-southeast-2");
    expect(long).toMatch(/^cws-copy-[0-9a-f]{55}$/);
    expect(long).toHaveLength(64);
    expect(copyClientToken("build é", "eu-west-1")).toMatch(/^cws-copy-[0-9a-f]{55}$/);
  });
});

describe("copySourceOf", () => {
  it("takes what a copy needs from the image as DescribeImages shows it", () => {
    const image: ImageInfo = { imageId: SOURCE_ID, name: SOURCE.name, architecture: "x86_64", state: "available", creationDate: "", ownerId: "1", rootDeviceName: "/dev/sda1", rootVolumeSizeGb: 30, snapshotIds: [], encrypted: true, tags: { a: "b" } };
    expect(copySourceOf("us-east-1", image)).toEqual({ region: "us-east-1", imageId: SOURCE_ID, name: SOURCE.name, sizeGb: 30, tags: { a: "b" }, encrypted: true });
    expect(copySourceOf("us-east-1", { ...image, rootVolumeSizeGb: undefined }).sizeGb).toBe(8);
  });
});

describe("copyTags", () => {
  it("keeps the source's tags but AWS's own, and adds cws:copied-from", () => {
    expect(copyTags({ region: "us-east-1", imageId: SOURCE_ID, tags: { a: "1", "AWS:x": "y", "cws:template": "t" } })).toEqual({
      a: "1",
      "cws:template": "t",
      "cws:copied-from": `us-east-1/${SOURCE_ID}`,
    });
  });
});

describe("a copy's tags fit EC2's limit", () => {
  it("with as many tags as a template may set, the built image, verified, and its copy each have at most 50", async () => {
    const { EC2_MAX_TAGS_PER_RESOURCE, MAX_TEMPLATE_TAGS, imageTags } = await import("../../src/builder/context.js");
    const tags = Object.fromEntries(Array.from({ length: MAX_TEMPLATE_TAGS }, (_, i) => [`team-tag-${i}`, "v"]));
    const request = { templateId: "r-research", version: "v1.0.0", architecture: "x86_64", templateHash: "a".repeat(64), sourceCommit: "b".repeat(40), template: { tags } };
    const built = imageTags({ request, buildId: "20261128t000000z-abcdef" } as never, "cws-r-research-v1.0.0-x86_64-20261128t000000z-abcdef", { baseAmiId: "ami-0123456789abcdef0", contentHash: "c".repeat(64) });
    // All but the two tagged later: cws:validated-at (build --verify, cws ami validate) and cws:copied-from (a copy).
    expect(Object.keys(built)).toHaveLength(EC2_MAX_TAGS_PER_RESOURCE - 2);
    const verified = { ...built, "cws:validated-at": "2026-11-28T00:10:00Z" };
    const copied = copyTags({ region: "us-east-1", imageId: "ami-0123456789abcdef0", tags: verified });
    expect(Object.keys(copied)).toHaveLength(EC2_MAX_TAGS_PER_RESOURCE);
    expect(copied["cws:copied-from"]).toBe("us-east-1/ami-0123456789abcdef0");
  });
});
