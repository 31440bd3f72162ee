import { CopyImageCommand, CreateTagsCommand, DescribeImagesCommand, type Filter } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { baseImageId, clientsFor, startTestEmulator, type Clients } from "./helpers.js";

/**
 * DescribeImages' tag filters as the EC2 API reference documents them
 * (DescribeImages, and the Filter type): `tag:<key>` matches the tag with that
 * key and one of the values; `tag-key` any tag with that key whatever its
 * value; several filters are ANDed, a filter's values ORed; names and values
 * are case-sensitive; `*` matches any characters and `?` exactly one, and a
 * backslash escapes them. cws finds its images by these filters (the build
 * cache asks for five tags at once), so the emulator must answer them as EC2
 * does, for the tags an image got when it was made and those added later.
 */
let emu: Emulator;
let c: Clients;
const ids: Record<string, string> = {};

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
  // Hold the clock nearly still, so the copies stay pending until a test moves it on.
  emu.clock.setMsPerSimSecond(1000);
  const source = await baseImageId(c);
  const copy = async (name: string, tags: Record<string, string>) => {
    const { ImageId } = await c.ec2.send(
      new CopyImageCommand({
        SourceImageId: source,
        SourceRegion: "us-east-1",
        Name: name,
        ...(Object.keys(tags).length ? { TagSpecifications: [{ ResourceType: "image", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] } : {}),
      }),
    );
    ids[name] = ImageId!;
  };
  await copy("app", { "cws:managed-by": "cws", "cws:template": "app", "cws:content-hash": "abc123", Team: "Data" });
  await copy("app-v2", { "cws:managed-by": "cws", "cws:template": "app-v2", "cws:content-hash": "def456", Team: "data" });
  await copy("other", { "cws:managed-by": "other", "cws:template": "app" });
  await copy("star", { pattern: "a*b" });
  await copy("stars", { pattern: "axxb" });
  await copy("empty", { flag: "" });
  await copy("untagged", {});
});
afterAll(async () => {
  await emu?.stop();
});

/** This account's images matching the filters (every page, two at a time), by the name they were given. */
async function names(filters: Filter[]): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await c.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: filters, MaxResults: 5, NextToken: token }));
    found.push(...(page.Images ?? []).map((image) => Object.entries(ids).find(([, id]) => id === image.ImageId)?.[0] ?? image.ImageId!));
    token = page.NextToken;
  } while (token);
  return found.sort();
}

describe("DescribeImages tag filters", () => {
  it("tag:<key> matches that tag with one of the values, a key with colons included", async () => {
    expect(await names([{ Name: "tag:cws:template", Values: ["app"] }])).toEqual(["app", "other"]);
    expect(await names([{ Name: "tag:cws:content-hash", Values: ["abc123"] }])).toEqual(["app"]);
    expect(await names([{ Name: "tag:cws:content-hash", Values: ["abc"] }])).toEqual([]);
  });

  it("ORs the values of one filter and ANDs the filters", async () => {
    expect(await names([{ Name: "tag:cws:template", Values: ["app", "app-v2"] }])).toEqual(["app", "app-v2", "other"]);
    expect(await names([{ Name: "tag:cws:template", Values: ["app", "app-v2"] }, { Name: "tag:cws:managed-by", Values: ["cws"] }])).toEqual(["app", "app-v2"]);
    expect(
      await names([
        { Name: "tag:cws:managed-by", Values: ["cws"] },
        { Name: "tag:cws:template", Values: ["app"] },
        { Name: "tag:cws:content-hash", Values: ["abc123"] },
        { Name: "tag:Team", Values: ["Data"] },
        { Name: "state", Values: ["pending", "available"] },
      ]),
    ).toEqual(["app"]);
  });

  it("is case-sensitive in keys and values", async () => {
    expect(await names([{ Name: "tag:Team", Values: ["data"] }])).toEqual(["app-v2"]);
    expect(await names([{ Name: "tag:team", Values: ["Data", "data"] }])).toEqual([]);
    expect(await names([{ Name: "tag-key", Values: ["team"] }])).toEqual([]);
  });

  it("takes * for any characters, ? for exactly one, and a backslash for the character itself", async () => {
    expect(await names([{ Name: "tag:cws:template", Values: ["app*"] }])).toEqual(["app", "app-v2", "other"]);
    expect(await names([{ Name: "tag:cws:template", Values: ["app?v2"] }])).toEqual(["app-v2"]);
    expect(await names([{ Name: "tag:cws:template", Values: ["app?"] }])).toEqual([]);
    expect(await names([{ Name: "tag:pattern", Values: ["a*b"] }])).toEqual(["star", "stars"]);
    expect(await names([{ Name: "tag:pattern", Values: ["a\\*b"] }])).toEqual(["star"]);
  });

  it("tag-key matches whatever the value, an empty one too; tag-value whatever the key", async () => {
    expect(await names([{ Name: "tag-key", Values: ["cws:content-hash"] }])).toEqual(["app", "app-v2"]);
    expect(await names([{ Name: "tag-key", Values: ["flag"] }])).toEqual(["empty"]);
    expect(await names([{ Name: "tag:flag", Values: [""] }])).toEqual(["empty"]);
    expect(await names([{ Name: "tag-value", Values: ["data", "Data"] }])).toEqual(["app", "app-v2"]);
  });

  it("matches an image while it is pending, and tags added after it was made", async () => {
    const pending = await c.ec2.send(new DescribeImagesCommand({ ImageIds: [ids.app!] }));
    expect(pending.Images?.[0]?.State).toBe("pending");
    expect(await names([{ Name: "tag:cws:template", Values: ["app"] }, { Name: "state", Values: ["available"] }])).toEqual([]);
    await c.ec2.send(new CreateTagsCommand({ Resources: [ids.untagged!], Tags: [{ Key: "cws:validated", Value: "true" }] }));
    expect(await names([{ Name: "tag:cws:validated", Values: ["true"] }])).toEqual(["untagged"]);
    emu.clock.advance(3_600);
    expect(await names([{ Name: "tag:cws:template", Values: ["app"] }, { Name: "state", Values: ["available"] }])).toEqual(["app", "other"]);
  });
});
