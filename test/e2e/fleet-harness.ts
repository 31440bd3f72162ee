import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { buildOwnerIds, FLEET_TEMPLATES, leftovers, startHarness, type Harness } from "./harness.js";
import type { EmulatorOptions } from "@cws/aws-emulator";

/**
 * What the build-all end-to-end tests (build-all*.test.ts) share: the fleet
 * of test/fixtures/fleet-templates (fleet-base, fleet-child built on it,
 * fleet-other; x86_64 and arm64; four regions, us-east-1 first), counts of
 * the API calls the emulator answered, and the check that no region is left
 * with anything running or half made.
 */
export const FLEET_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"] as const;
export const FLEET_ARCHITECTURES = ["x86_64", "arm64"] as const;
export const HOME = "us-east-1";

export function startFleetHarness(options: EmulatorOptions = {}): Promise<Harness> {
  return startHarness(options, { templates: FLEET_TEMPLATES });
}

/** How many times the emulator was asked `action` ("ec2:RunInstances"), in every region. */
export const calls = (h: Harness, action: string): number => h.emulator.stats.calls[action] ?? 0;

/**
 * Instances a build launches: its own, and the fresh one its new image is
 * verified on (build-all verifies by default; docs/decisions.md §40).
 */
export const INSTANCES_PER_BUILD = 2;

/** The calls that make something: an instance, an image, a copy. */
export const makingCalls = (h: Harness) => ({
  runInstances: calls(h, "ec2:RunInstances"),
  createImage: calls(h, "ec2:CreateImage"),
  copyImage: calls(h, "ec2:CopyImage"),
});

/** Write (or overwrite) a template of the scratch project. */
export function writeTemplate(h: Harness, id: string, text: string): void {
  writeFileSync(join(h.dir, "templates", `${id}.yml`), text);
}

export interface RegistryEntry {
  ami_id: string;
  validated: boolean;
  base_ami?: string;
  content_hash?: string;
  copied_from?: { region: string; ami_id: string };
}
export type FleetRegistry = { templates: Record<string, { amis: Record<string, Record<string, RegistryEntry>> }> };

export function registryEntry(h: Harness, template: string, region: string, architecture: string): RegistryEntry | undefined {
  return (h.registry() as FleetRegistry | undefined)?.templates[template]?.amis[region]?.[architecture];
}

/**
 * Nothing running and nothing half made in any region: no instance that is
 * not terminated, no build security group, no image or snapshot of cws's
 * that is not available/completed (an unfinished image or copy is
 * deregistered with its snapshots, not left pending), and every snapshot of
 * cws's belongs to an image that exists. And no build still recorded as
 * running: each build released its owner file (for cws ami reap) on the way
 * out, whether it succeeded, failed or was stopped by a signal.
 */
export function expectEveryRegionClean(h: Harness, regions: readonly string[] = FLEET_REGIONS): void {
  for (const region of regions) {
    const left = leftovers(h.emulator, region);
    expect(left.liveInstances, region).toEqual([]);
    expect(left.buildSecurityGroups, region).toEqual([]);
    expect(left.images.filter((i) => i.state !== "available").map((i) => `${i.id} ${i.state}`), region).toEqual([]);
    const imageIds = new Set(left.images.map((i) => i.id));
    expect(left.snapshots.filter((s) => s.state !== "completed" || s.imageId === undefined || !imageIds.has(s.imageId)).map((s) => `${s.id} ${s.state} of ${s.imageId}`), region).toEqual([]);
  }
  expect(buildOwnerIds(h), "builds still recorded as running (.cws/builds)").toEqual([]);
}

/** The text table's rows on stdout: template, architecture, region, AMI and result (two words for "up to date"). */
export function tableRows(stdout: string): { template: string; architecture: string; region: string; ami: string; result: string }[] {
  return stdout
    .split("\n")
    .map((line) => /^(\S+)\s+(x86_64|arm64)\s+([a-z]{2}(?:-[a-z]+)+-\d)\s+(ami-[0-9a-f]+|-)\s+(up to date|built|copied|failed|skipped|cancelled)\s/.exec(line))
    .filter((match) => match !== null)
    .map(([, template, architecture, region, ami, result]) => ({ template: template!, architecture: architecture!, region: region!, ami: ami!, result: result! }));
}
