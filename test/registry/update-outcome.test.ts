import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../../src/aws/ports.js";
import { copyTags } from "../../src/fleet/copy.js";
import type { AmiEntry } from "../../src/registry/schema.js";
import { templateMatcher } from "../../src/registry/template-match.js";
import { updateOutcome } from "../../src/registry/update-outcome.js";
import { cwsImage, record } from "./fixtures.js";

const NOW_HASH = "a1".repeat(32);
const OTHER_HASH = "b2".repeat(32);

/** A validated, available cws image of r-research x86_64 built from the template whose image hash is `hash` (none: an older cws). */
function image(id: string, created: string, hash: string | undefined, extra: { version?: string; tags?: Record<string, string>; state?: string } = {}): ImageInfo {
  const tags = { "cws:version": extra.version ?? "v1.0.0", ...(hash === undefined ? {} : { "cws:template-hash": hash }), ...extra.tags };
  return { ...cwsImage(id, "r-research", created, tags), state: extra.state ?? "available" };
}

const OLD_MATCHING = image("ami-0000000000000000a", "2026-01-01T00:00:00.000Z", NOW_HASH, { version: "v1.0.0" });
const NEW_OTHER = image("ami-0000000000000000b", "2026-02-01T00:00:00.000Z", OTHER_HASH, { version: "v1.0.1" });
const CHOICE = { templateId: "r-research", architecture: "x86_64" } as const;
/** --match-templates for a template built from a source: its images match on their template hash alone. */
const matchHash = (templateHash: string) => templateMatcher(new Map([["r-research", { templateHash }]]), ["r-research"], [])("r-research");
const MATCH = { ...CHOICE, match: matchHash(NOW_HASH) };

describe("updateOutcome: which image update-registry records for a target", () => {
  it("takes the newest validated image by default, whatever it was built from (today's behaviour)", () => {
    expect(updateOutcome([OLD_MATCHING, NEW_OTHER], undefined, CHOICE)).toEqual({ kind: "record", image: NEW_OTHER });
  });

  it("with a template hash, takes the newest image of the template as it is now, though a newer one of another version exists (a revert)", () => {
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], undefined, MATCH)).toEqual({ kind: "record", image: OLD_MATCHING });
    // The registry names the reverted content's image: it is replaced by the matching one.
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], record(NEW_OTHER.imageId, "2026-02-01T00:00:00Z") as AmiEntry, MATCH)).toEqual({ kind: "record", image: OLD_MATCHING });
    // And once recorded, it is current.
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], record(OLD_MATCHING.imageId, "2026-01-01T00:00:00Z") as AmiEntry, MATCH)).toEqual({ kind: "current", image: OLD_MATCHING });
  });

  it("among matching images takes the newest, and never one that is not validated and available", () => {
    const newerMatching = image("ami-0000000000000000c", "2026-03-01T00:00:00.000Z", NOW_HASH);
    const pending = image("ami-0000000000000000d", "2026-04-01T00:00:00.000Z", NOW_HASH, { state: "pending" });
    const unvalidated = image("ami-0000000000000000e", "2026-04-02T00:00:00.000Z", NOW_HASH, { tags: { "cws:validated": "pending" } });
    expect(updateOutcome([OLD_MATCHING, newerMatching, NEW_OTHER, pending, unvalidated], undefined, MATCH)).toEqual({ kind: "record", image: newerMatching });
  });

  it("takes a copy of a matching image: a copy carries its source's cws:template-hash", () => {
    const copy = { ...image("ami-0000000000000000f", "2026-01-02T00:00:00.000Z", undefined), tags: copyTags({ region: "us-east-1", imageId: OLD_MATCHING.imageId, tags: OLD_MATCHING.tags }) };
    expect(copy.tags["cws:template-hash"]).toBe(NOW_HASH);
    expect(updateOutcome([NEW_OTHER, copy], undefined, MATCH)).toEqual({ kind: "record", image: copy });
  });

  it("says a target is unmatched, naming the newest image, when validated images exist but none of the template as it is now", () => {
    expect(updateOutcome([OLD_MATCHING, NEW_OTHER], undefined, { ...CHOICE, match: matchHash("c3".repeat(32)) })).toEqual({ kind: "unmatched", newest: NEW_OTHER, why: { kind: "template" } });
  });

  it("never matches an image without the cws:template-hash tag (built by an older cws), however new", () => {
    const untagged = image("ami-00000000000000010", "2026-05-01T00:00:00.000Z", undefined);
    expect(updateOutcome([untagged], undefined, MATCH)).toEqual({ kind: "unmatched", newest: untagged, why: { kind: "untagged" } });
    expect(updateOutcome([untagged, OLD_MATCHING], undefined, MATCH)).toEqual({ kind: "record", image: OLD_MATCHING });
    // Without the option it is the newest like any other.
    expect(updateOutcome([untagged, OLD_MATCHING], undefined, CHOICE)).toEqual({ kind: "record", image: untagged });
  });

  it("says missing when there is no validated image at all, with or without a template hash", () => {
    const pending = image("ami-00000000000000011", "2026-05-01T00:00:00.000Z", NOW_HASH, { state: "pending" });
    expect(updateOutcome([pending], undefined, MATCH)).toEqual({ kind: "missing" });
    expect(updateOutcome([], undefined, CHOICE)).toEqual({ kind: "missing" });
  });

  it("only looks at the target's template and architecture", () => {
    const otherTemplate = image("ami-00000000000000012", "2026-05-01T00:00:00.000Z", NOW_HASH, { tags: { "cws:template": "other" } });
    const arm = image("ami-00000000000000013", "2026-05-01T00:00:00.000Z", NOW_HASH, { tags: { "cws:arch": "arm64" } });
    expect(updateOutcome([otherTemplate, arm], undefined, MATCH)).toEqual({ kind: "missing" });
  });

  it("keeps a rollback's pin on another AMI unless --unpin, as without the option", () => {
    const pinnedEntry = { ...record(NEW_OTHER.imageId, "2026-02-01T00:00:00Z"), pinned: true, rolled_back_at: "2026-02-02T00:00:00Z" } as AmiEntry;
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], pinnedEntry, MATCH)).toEqual({ kind: "pinned", pinnedTo: NEW_OTHER.imageId, image: OLD_MATCHING });
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], pinnedEntry, { ...MATCH, unpin: true })).toEqual({ kind: "record", image: OLD_MATCHING });
    // Pinned to the matching image itself: current, and --unpin records it again to end the pin.
    const pinnedToMatch = { ...pinnedEntry, ami_id: OLD_MATCHING.imageId } as AmiEntry;
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], pinnedToMatch, MATCH)).toEqual({ kind: "current", image: OLD_MATCHING });
    expect(updateOutcome([NEW_OTHER, OLD_MATCHING], pinnedToMatch, { ...MATCH, unpin: true })).toEqual({ kind: "record", image: OLD_MATCHING });
  });
});
