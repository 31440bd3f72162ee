import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../../src/aws/ports.js";
import { SHIPPED_PRICES } from "../../src/fleet/prices.js";
import type { CleanupEvent } from "../../src/lifecycle/cleanup.js";
import { NO_USAGE, planCleanup, type RegionImage, type UnresolvedLaunchTemplate } from "../../src/lifecycle/cleanup-plan.js";
import { cleanupJson, describeGoReason, describeReason, formatCleanupPlan, formatCleanupResult } from "../../src/output/cleanup-report.js";

/**
 * cleanup's words: the rank of an image that goes and of one tied with the
 * Nth, singular and plural in the result, exactly what was deregistered,
 * deleted and left, the warnings before the summary line the question
 * follows, and a delete row's reason in --json.
 */

const NOW = new Date("2026-12-01T00:00:00Z");
const E1 = "us-east-1";

function image(n: number, age: number): RegionImage {
  const info: ImageInfo = {
    imageId: `ami-${n.toString(16).padStart(8, "0")}`,
    name: `img-${n}`,
    architecture: "x86_64",
    state: "available",
    creationDate: new Date(NOW.getTime() - age * 86_400_000).toISOString(),
    ownerId: "123456789012",
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [`snap-${n}`],
    tags: { "cws:managed-by": "cws", "cws:template": "t", "cws:arch": "x86_64" },
  };
  return { region: E1, image: info };
}

function planOf(images: RegionImage[], keepLatest: number, unresolved: UnresolvedLaunchTemplate[] = []) {
  return planCleanup({ images, pendingImages: [], goneFromHistory: new Map(), snapshots: new Map(), usage: NO_USAGE, unresolved }, undefined, { keepLatest, deprecate: false, now: NOW }, SHIPPED_PRICES);
}

const deleted = (imageId: string, snapshotIds: string[], left: string[] = []): CleanupEvent => ({
  kind: "deleted",
  region: E1,
  imageId,
  snapshotIds,
  snapshotsLeft: left.map((snapshotId) => ({ snapshotId, error: new Error("UnauthorizedOperation: not authorized") })),
});
const result = (events: CleanupEvent[], interrupted = false) => formatCleanupResult({ outcome: { events, interrupted }, dropped: [], nowKept: [] });

describe("cleanup's words", () => {
  it("an image that goes: its rank, and what stays of its target, read well for N of 1 and more", () => {
    expect(describeGoReason({ kind: "not-among-newest", rank: 2, keepLatest: 1 })).toBe("2nd newest (only the newest stays); nothing else keeps it");
    expect(describeGoReason({ kind: "not-among-newest", rank: 4, keepLatest: 3 })).toBe("4th newest (the newest 3 stay); nothing else keeps it");
    expect(describeGoReason({ kind: "unproven", validated: "false" })).toBe("failed on a fresh instance (cws:validated=false); nothing else keeps it");
    expect(describeGoReason({ kind: "unproven", validated: "pending" })).toBe("never judged (cws:validated=pending for over 6 hours: its build was stopped); nothing else keeps it");
  });

  it("a tie is with the Nth, the last of the newest N that stay", () => {
    expect(describeReason({ kind: "newest", rank: 2, tie: true, keepLatest: 1 })).toBe("created at the same moment as the newest, which stays");
    expect(describeReason({ kind: "newest", rank: 4, tie: true, keepLatest: 3 })).toBe("created at the same moment as the 3rd newest, the last of the newest 3 that stay");
  });

  it("says exactly what was deregistered, deleted and left, singular and plural", () => {
    expect(result([deleted("ami-1", ["snap-1"])])).toContain("Cleanup done: deregistered 1 image and deleted its 1 snapshot.");
    expect(result([deleted("ami-1", ["snap-1"]), deleted("ami-2", ["snap-2a", "snap-2b"])])).toContain("Cleanup done: deregistered 2 images and deleted their 3 snapshots.");
    const left = result([deleted("ami-1", ["snap-1b"], ["snap-1a"]), deleted("ami-2", ["snap-2"])]);
    expect(left).toContain("Cleanup done: deregistered 2 images and deleted 2 of their 3 snapshots.");
    expect(left).toContain("⚠️  1 snapshot left behind by deregistered images (each costs until deleted; the next cleanup deletes it as orphaned):\n  us-east-1 snap-1a of ami-1: UnauthorizedOperation: not authorized");
    expect(result([deleted("ami-1", ["snap-1"])], true)).toContain("Cleanup interrupted: deregistered 1 image and deleted its 1 snapshot.");
  });

  it("puts every warning before the summary line, which is the plan's last: the question follows it", () => {
    const unresolved: UnresolvedLaunchTemplate = { region: E1, launchTemplateId: "lt-1", launchTemplateName: "web", versionNumber: 2, parameter: "/web/ami", problem: "no such parameter" };
    const text = formatCleanupPlan(planOf([image(1, 1), image(2, 2)], 1, [unresolved]), { prices: "shipped", regions: [E1], dryRun: false, warnings: ["⚠️  no registry"] });
    const lines = text.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^Delete 1 image \(1 snapshot\): saves at most/);
    expect(text.indexOf("⚠️  no registry")).toBeLessThan(text.indexOf("⚠️  launch template web"));
    expect(text.indexOf("⚠️  launch template web")).toBeLessThan(text.indexOf("Delete 1 image"));
  });

  it("gives a row that goes its reason in --json, as it gives a kept row what keeps it", () => {
    const doc = cleanupJson(planOf([image(1, 1), image(2, 2)], 1), { prices: "shipped", regions: [E1], dryRun: true, exitCode: 0 }) as { images: { action: string; reasons: unknown[] }[] };
    expect(doc.images.map((i) => [i.action, i.reasons])).toEqual([
      ["keep", [{ kind: "newest", rank: 1, tie: false, keepLatest: 1, text: "newest" }]],
      ["delete", [{ kind: "not-among-newest", rank: 2, keepLatest: 1, text: "2nd newest (only the newest stays); nothing else keeps it" }]],
    ]);
  });
});
