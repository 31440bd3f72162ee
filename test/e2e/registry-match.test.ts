import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** One template, one region, one architecture: the revert scenario of a fresh-user test of the pipeline. */
const EMU_REV = (version: string) => `name: "Emulator revert"
description: "A template that is changed, rebuilt and reverted"
version: "${version}"
base_ami:
  source: ubuntu-22.04-lts
  architecture: [x86_64]
regions: [us-east-1]
setup_script: |
  #!/bin/bash
  mkdir -p /opt/cws-test && echo ok > /opt/cws-test/marker
validation_tests:
  - name: "marker written"
    command: "cat /opt/cws-test/marker"
    expected: "ok"
`;

type Written = { templates: Record<string, { amis: Record<string, Record<string, { ami_id: string }>> }> };
type Report = { updated: { target: string; from?: string; to: string }[]; current: string[]; missing: string[]; unmatched: { target: string; newest: string; version?: string }[]; pinned: string[] };

describe("update-registry --match-templates after a revert (emulator)", () => {
  it("records the image of the template as it is now, not the newer one of the reverted content; without it, the newest", { timeout: 180_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    rmSync(join(h.dir, "templates"), { recursive: true });
    mkdirSync(join(h.dir, "templates"));
    const template = join(h.dir, "templates", "emu-rev.yml");
    /** build-all into a registry of its own (as CI's build jobs do); the AMI it names for the target. */
    const buildAll = async (registry: string) => {
      const result = await h.cws(["ami", "build-all", "emu-rev", "--architecture", "x86_64", "--registry", registry]);
      expect(result.status, result.stderr).toBe(0);
      const written = JSON.parse(readFileSync(join(h.dir, registry), "utf8")) as Written;
      return written.templates["emu-rev"]!.amis["us-east-1"]!["x86_64"]!.ami_id;
    };

    writeFileSync(template, EMU_REV("1.0.0"));
    const v1 = await buildAll("r-1.json");
    writeFileSync(template, EMU_REV("1.0.1"));
    const v2 = await buildAll("r-2.json");
    expect(v2).not.toBe(v1);
    // The revert: build-all's cache finds v1's image by its content and builds nothing.
    writeFileSync(template, EMU_REV("1.0.0"));
    expect(await buildAll("r-3.json")).toBe(v1);

    // Today's default, kept: the newest validated image, of the reverted content.
    const newest = await h.cws(["ami", "update-registry", "--all", "--registry", "r-newest.json"]);
    expect(newest.status, newest.stderr).toBe(0);
    expect(newest.stdout).toBe(`Registry updated: emu-rev.us-east-1.x86_64 = ${v2}\n`);

    // --match-templates: the image built from the template as it is now; over a registry naming v2, it replaces it.
    const matched = await h.cws(["ami", "update-registry", "--all", "--match-templates", "--registry", "r-newest.json"]);
    expect(matched.status, matched.stderr).toBe(0);
    expect(matched.stdout).toBe(`Registry updated: emu-rev.us-east-1.x86_64 = ${v1} (was ${v2})\n`);
    const again = await h.cws(["ami", "update-registry", "--all", "--match-templates", "--registry", "r-newest.json", "--json"]);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ updated: [], current: ["emu-rev.us-east-1.x86_64"], missing: [], unmatched: [] });

    // A template changed again and not built yet: its target is left as it is and said so; with --all that is no error.
    writeFileSync(template, EMU_REV("1.0.2"));
    const unbuilt = await h.cws(["ami", "update-registry", "--all", "--match-templates", "--registry", "r-newest.json", "--json"]);
    expect(unbuilt.status, unbuilt.stderr).toBe(0);
    expect(unbuilt.stderr).toBe(`emu-rev.us-east-1.x86_64: no validated image of the template as it is now (newest is ${v2} (v1.0.1), of another version of the template); left as it is\n`);
    const report = JSON.parse(unbuilt.stdout) as Report;
    expect(report).toMatchObject({ updated: [], current: [], missing: [] });
    expect(report.unmatched).toEqual([{ target: "emu-rev.us-east-1.x86_64", newest: v2, version: "v1.0.1" }]);
    const plain = await h.cws(["ami", "update-registry", "--all", "--match-templates", "--registry", "r-newest.json"]);
    expect(plain.stdout).toBe("Registry unchanged: 1 with no validated AMI of the template as it is now (1 target)\n");
    // Named, it is the work that failed (exit 1), as for a target with no image at all; the registry still names v1.
    const named = await h.cws(["ami", "update-registry", "emu-rev", "--match-templates", "--registry", "r-newest.json"]);
    expect(named.status).toBe(1);
    expect(named.stderr).toContain("error: nothing recorded: AWS has no available, validated cws AMI of the template as it is now for emu-rev.us-east-1.x86_64; r-newest.json is unchanged\n");
    expect(readFileSync(join(h.dir, "r-newest.json"), "utf8")).toContain(v1);
  });
});
