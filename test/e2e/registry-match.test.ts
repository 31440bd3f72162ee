import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { emuChildTemplate, startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** One template, one region, one architecture: the revert scenario of a fresh-user test of the pipeline (and the parent of EMU_CHILD). */
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

/** A child built on emu-basic (emu-basic being EMU_REV, whose marker is "ok"): the parent is edited, rebuilt with its child, and reverted. */
const EMU_CHILD = emuChildTemplate("ok");

describe("update-registry --match-templates after a parent's revert (emulator)", () => {
  it("records the child built on the parent as it is now, as build-all finds it up to date, not the newer child on the reverted parent", { timeout: 240_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    rmSync(join(h.dir, "templates"), { recursive: true });
    mkdirSync(join(h.dir, "templates"));
    const parent = join(h.dir, "templates", "emu-basic.yml");
    writeFileSync(join(h.dir, "templates", "emu-child.yml"), EMU_CHILD);
    const ami = (written: Written, id: string) => written.templates[id]!.amis["us-east-1"]!["x86_64"]!.ami_id;
    /** build-all of both into a registry of its own; the AMIs it names for the parent and the child. */
    const buildAll = async (registry: string) => {
      const result = await h.cws(["ami", "build-all", "--architecture", "x86_64", "--registry", registry]);
      expect(result.status, result.stderr).toBe(0);
      const written = JSON.parse(readFileSync(join(h.dir, registry), "utf8")) as Written;
      return { parent: ami(written, "emu-basic"), child: ami(written, "emu-child") };
    };

    writeFileSync(parent, EMU_REV("1.0.0"));
    const v1 = await buildAll("r-1.json");
    writeFileSync(parent, EMU_REV("1.0.1"));
    const v2 = await buildAll("r-2.json");
    expect(v2.parent).not.toBe(v1.parent);
    expect(v2.child).not.toBe(v1.child);
    // The revert: build-all finds the parent's v1 image and the child built on it up to date.
    writeFileSync(parent, EMU_REV("1.0.0"));
    expect(await buildAll("r-3.json")).toEqual(v1);

    // The child's template hash is the same on both parents: only its base tells them apart.
    const matched = await h.cws(["ami", "update-registry", "--all", "--match-templates", "--registry", "r-match.json", "--json"]);
    expect(matched.status, matched.stderr).toBe(0);
    const written = JSON.parse(readFileSync(join(h.dir, "r-match.json"), "utf8")) as Written;
    expect({ parent: ami(written, "emu-basic"), child: ami(written, "emu-child") }).toEqual(v1);
    expect((JSON.parse(matched.stdout) as Report).unmatched).toEqual([]);

    // Named alone, the parent's images are fetched too, and over a registry naming the child on v2 it records the one on v1.
    const newest = await h.cws(["ami", "update-registry", "emu-child", "--registry", "r-named.json"]);
    expect(newest.stdout).toBe(`Registry updated: emu-child.us-east-1.x86_64 = ${v2.child}\n`);
    const named = await h.cws(["ami", "update-registry", "emu-child", "--match-templates", "--registry", "r-named.json"]);
    expect(named.status, named.stderr).toBe(0);
    expect(named.stdout).toBe(`Registry updated: emu-child.us-east-1.x86_64 = ${v1.child} (was ${v2.child})\n`);

    // The parent edited again and not built: no child is on an image of it as it is now, and the line says what the newest is on.
    writeFileSync(parent, EMU_REV("1.0.2"));
    const unbuilt = await h.cws(["ami", "update-registry", "emu-child", "--match-templates", "--registry", "r-named.json", "--json"]);
    expect(unbuilt.status).toBe(1);
    expect(unbuilt.stderr).toContain(
      `emu-child.us-east-1.x86_64: no validated image of the template as it is now (newest is ${v2.child} (v1.0.0), built on ${v2.parent} which is not an image of emu-basic as it is now); left as it is\n`,
    );
    expect(JSON.parse(unbuilt.stdout)).toMatchObject({ error: { code: "NO_VALIDATED_AMI" }, exitCode: 1 });
    expect(readFileSync(join(h.dir, "r-named.json"), "utf8")).toContain(v1.child);
  });
});
