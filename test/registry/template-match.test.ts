import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../../src/aws/ports.js";
import { copyTags } from "../../src/fleet/copy.js";
import { templateMatcher, type MatchTemplate } from "../../src/registry/template-match.js";
import { updateOutcome } from "../../src/registry/update-outcome.js";
import { cwsImage } from "./fixtures.js";

const hash = (n: number) => n.toString(16).padStart(2, "0").repeat(32);
const [BASE_V1, BASE_V2, CHILD_H, GRAND_H] = [hash(1), hash(2), hash(3), hash(4)];

let serial = 0;
const nextId = () => `ami-${(++serial).toString(16).padStart(17, "0")}`;
/** A validated, available x86_64 image of `template` with template hash `templateHash`, built on `baseAmi`. */
function image(template: string, created: string, templateHash: string | undefined, baseAmi?: string): ImageInfo {
  return cwsImage(nextId(), template, created, { ...(templateHash === undefined ? {} : { "cws:template-hash": templateHash }), ...(baseAmi === undefined ? {} : { "cws:base-ami": baseAmi }) });
}

/** The copy of `source` in another region, as build-all makes it: the source's tags (its cws:base-ami too) and cws:copied-from. */
function copyOf(source: ImageInfo, created: string): ImageInfo {
  return { ...source, imageId: nextId(), creationDate: created, tags: copyTags({ region: "us-east-1", imageId: source.imageId, tags: source.tags }) };
}

const ORDER = ["emu-basic", "emu-child", "emu-grandchild"];
/** emu-basic (from a source) <- emu-child <- emu-grandchild; the parent as it is now has `basicHash`. */
const chain = (basicHash: string): Map<string, MatchTemplate> =>
  new Map([
    ["emu-basic", { templateHash: basicHash }],
    ["emu-child", { templateHash: CHILD_H, parent: "emu-basic" }],
    ["emu-grandchild", { templateHash: GRAND_H, parent: "emu-child" }],
  ]);
const CHOICE = { architecture: "x86_64" } as const;

describe("templateMatcher: images of templates as they are now, up the parent chain", () => {
  // The defect's scenario: parent v1, child on it; parent edited (v2), child rebuilt on it; parent reverted to v1.
  const basicV1 = image("emu-basic", "2026-01-01T00:00:00Z", BASE_V1);
  const childOnV1 = image("emu-child", "2026-01-01T01:00:00Z", CHILD_H, basicV1.imageId);
  const basicV2 = image("emu-basic", "2026-02-01T00:00:00Z", BASE_V2);
  const childOnV2 = image("emu-child", "2026-02-01T01:00:00Z", CHILD_H, basicV2.imageId);
  const grandOnChildV1 = image("emu-grandchild", "2026-01-01T02:00:00Z", GRAND_H, childOnV1.imageId);
  const grandOnChildV2 = image("emu-grandchild", "2026-02-01T02:00:00Z", GRAND_H, childOnV2.imageId);
  const images = [basicV1, childOnV1, basicV2, childOnV2, grandOnChildV1, grandOnChildV2];

  it("after a parent's revert, records the child built on the parent as it is now, not the newer one on the reverted parent", () => {
    const match = templateMatcher(chain(BASE_V1), ORDER, images);
    expect(updateOutcome(images, undefined, { ...CHOICE, templateId: "emu-basic", match: match("emu-basic") })).toEqual({ kind: "record", image: basicV1 });
    expect(updateOutcome(images, undefined, { ...CHOICE, templateId: "emu-child", match: match("emu-child") })).toEqual({ kind: "record", image: childOnV1 });
    // A chain of three: the grandchild follows its parent, which follows its own.
    expect(updateOutcome(images, undefined, { ...CHOICE, templateId: "emu-grandchild", match: match("emu-grandchild") })).toEqual({ kind: "record", image: grandOnChildV1 });
    // Why the newer child does not count: its base is no image of the parent as it is now.
    expect(match("emu-child")(childOnV2)).toEqual({ kind: "base", parent: "emu-basic", builtOn: basicV2.imageId });
    expect(match("emu-grandchild")(grandOnChildV2)).toEqual({ kind: "base", parent: "emu-child", builtOn: childOnV2.imageId });
  });

  it("with the parent edited again, takes the children on its newest content (the chain, not the date, decides)", () => {
    const match = templateMatcher(chain(BASE_V2), ORDER, images);
    expect(updateOutcome(images, undefined, { ...CHOICE, templateId: "emu-grandchild", match: match("emu-grandchild") })).toEqual({ kind: "record", image: grandOnChildV2 });
    // Newer images on an outdated base never win.
    const lateOnV1 = image("emu-child", "2026-03-01T00:00:00Z", CHILD_H, basicV1.imageId);
    const all = [...images, lateOnV1];
    const again = templateMatcher(chain(BASE_V2), ORDER, all);
    expect(updateOutcome(all, undefined, { ...CHOICE, templateId: "emu-child", match: again("emu-child") })).toEqual({ kind: "record", image: childOnV2 });
  });

  it("matches a copy of a child: it names the home region's parent image, which counts in any region", () => {
    const copy = copyOf(childOnV1, "2026-01-01T03:00:00Z");
    expect(copy.tags["cws:base-ami"]).toBe(basicV1.imageId);
    const parentCopy = copyOf(basicV1, "2026-01-01T00:30:00Z");
    // A child built in the other region, on the parent's copy there, matches too.
    const builtOnCopy = image("emu-child", "2026-01-01T04:00:00Z", CHILD_H, parentCopy.imageId);
    const all = [...images, copy, parentCopy, builtOnCopy];
    const match = templateMatcher(chain(BASE_V1), ORDER, all);
    expect(match("emu-child")(copy)).toBeUndefined();
    expect(match("emu-child")(builtOnCopy)).toBeUndefined();
    // A copy of the child on the reverted parent carries that base and does not.
    expect(match("emu-child")(copyOf(childOnV2, "2026-02-01T03:00:00Z"))).toEqual({ kind: "base", parent: "emu-basic", builtOn: basicV2.imageId });
  });

  it("does not match a child whose parent image is gone, or that has no cws:base-ami tag", () => {
    const withoutParent = images.filter((i) => i !== basicV1);
    const match = templateMatcher(chain(BASE_V1), ORDER, withoutParent);
    expect(updateOutcome(withoutParent, undefined, { ...CHOICE, templateId: "emu-child", match: match("emu-child") })).toEqual({
      kind: "unmatched",
      newest: childOnV2,
      why: { kind: "base", parent: "emu-basic", builtOn: basicV2.imageId },
    });
    expect(match("emu-child")(childOnV1)).toEqual({ kind: "base", parent: "emu-basic", builtOn: basicV1.imageId });
    const untaggedBase = image("emu-child", "2026-01-02T00:00:00Z", CHILD_H);
    expect(templateMatcher(chain(BASE_V1), ORDER, [...images, untaggedBase])("emu-child")(untaggedBase)).toEqual({ kind: "base", parent: "emu-basic" });
  });

  it("is about content, not the registry: a child on an older parent image of the same content matches, one of other content does not", () => {
    // A rollback pinned emu-basic's entry to an older image; two parent images of v1 content exist (a rebuild with --force).
    const basicV1Again = image("emu-basic", "2026-01-15T00:00:00Z", BASE_V1);
    const childOnV1Again = image("emu-child", "2026-01-15T01:00:00Z", CHILD_H, basicV1Again.imageId);
    const all = [...images, basicV1Again, childOnV1Again];
    const match = templateMatcher(chain(BASE_V1), ORDER, all);
    // Both children are on a parent image of the content as it is now; the newest of them is recorded.
    expect(match("emu-child")(childOnV1)).toBeUndefined();
    expect(updateOutcome(all, undefined, { ...CHOICE, templateId: "emu-child", match: match("emu-child") })).toEqual({ kind: "record", image: childOnV1Again });
    // A pin of the parent to v2's image does not make children on it match while the template is at v1.
    expect(match("emu-child")(childOnV2)).toEqual({ kind: "base", parent: "emu-basic", builtOn: basicV2.imageId });
  });

  it("says an image of another template version is of another version, whatever its base", () => {
    const otherChild = image("emu-child", "2026-04-01T00:00:00Z", hash(9), basicV1.imageId);
    const noHash = image("emu-child", "2026-04-01T00:00:00Z", undefined, basicV1.imageId);
    const match = templateMatcher(chain(BASE_V1), ORDER, [...images, otherChild, noHash]);
    expect(match("emu-child")(otherChild)).toEqual({ kind: "template" });
    expect(match("emu-child")(noHash)).toEqual({ kind: "untagged" });
  });
});
