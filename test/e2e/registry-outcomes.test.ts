import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function build(h: Harness, ...args: string[]): Promise<string> {
  const result = await h.cws(["ami", "build", ...args, "--json", "--quiet"]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout).imageId as string;
}

describe("update-registry: what it says it did, and its exit code, agree for every outcome (emulator)", () => {
  it("nothing to record, something recorded, already current, partly current, a region the template does not build", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const registryFile = join(h.dir, "registry", "amis.json");

    // A named target with no AMI in AWS: the work failed (exit 1), nothing is claimed and nothing written.
    const none = await h.cws(["ami", "update-registry", "emu-basic", "--region", "us-west-2", "--architecture", "x86_64"]);
    expect(none.status).toBe(1);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain(
      "error: nothing recorded: AWS has no available, validated cws AMI for emu-basic.us-west-2.x86_64; ./registry/amis.json is unchanged\n  → build one (cws ami build emu-basic --region us-west-2 --architecture x86_64)",
    );
    expect(existsSync(registryFile)).toBe(false);

    // A region the template does not build: the command line is wrong (exit 2), before any AWS call.
    const elsewhere = await h.cws(["ami", "update-registry", "emu-basic", "--region", "eu-west-1"]);
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toBe("error: emu-basic is not built in eu-west-1 (regions: us-east-1, us-west-2)\n  → pick one of us-east-1, us-west-2\n");

    // One of the template's four targets has an AMI: it is recorded, the rest are named on stderr, exit 0.
    const ami = await build(h, "emu-basic", "--architecture", "x86_64", "--no-registry-update");
    const first = await h.cws(["ami", "update-registry", "emu-basic"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`Registry updated: emu-basic.us-east-1.x86_64 = ${ami}\n`);
    expect(first.stderr).toBe("no available, validated cws AMI in AWS for: emu-basic.us-east-1.arm64, emu-basic.us-west-2.x86_64, emu-basic.us-west-2.arm64\n");
    const written = readFileSync(registryFile, "utf8");

    // Again: nothing changes, and the last line does not call the three missing ones current.
    const again = await h.cws(["ami", "update-registry", "emu-basic"]);
    expect(again.status).toBe(0);
    expect(again.stdout).toBe("Registry unchanged: 1 already current, 3 with no validated AMI in AWS (4 targets)\n");
    expect(readFileSync(registryFile, "utf8")).toBe(written);

    const current = await h.cws(["ami", "update-registry", "emu-basic", "--region", "us-east-1", "--arch", "x86_64"]);
    expect(current).toMatchObject({ status: 0, stdout: "Registry already current (1 of 1 target)\n", stderr: "" });

    // --all reports what is missing and succeeds; with --json the counts are the document.
    const all = await h.cws(["ami", "update-registry", "--all", "--json"]);
    expect(all.status).toBe(0);
    const report = JSON.parse(all.stdout) as { updated: unknown[]; current: string[]; missing: string[]; pinned: string[] };
    expect(report.updated).toEqual([]);
    expect(report.current).toEqual(["emu-basic.us-east-1.x86_64"]);
    expect(report.missing).toContain("emu-steps.us-west-2.arm64");
    expect(readFileSync(registryFile, "utf8")).toBe(written);
  });
});

describe("rollback takes build's flags (emulator)", () => {
  it("needs no --architecture for a template that builds one, and takes --arch", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const older = await build(h, "emu-steps", "--region", "us-west-2");
    const newer = await build(h, "emu-steps", "--region", "us-west-2", "--force");
    const back = await h.cws(["ami", "rollback", "emu-steps", "--region", "us-west-2"]);
    expect(back.stderr).not.toContain("error");
    expect(back.status).toBe(0);
    expect(back.stdout).toBe(`Rolled back emu-steps.us-west-2.arm64: ${newer} → ${older} (v2.1.0)\n`);
    const forth = await h.cws(["ami", "rollback", "emu-steps", "--region", "us-west-2", "--arch", "arm64", "--to", newer, "--json"]);
    expect(forth.status, forth.stderr).toBe(0);
    expect(JSON.parse(forth.stdout)).toMatchObject({ template: "emu-steps", region: "us-west-2", architecture: "arm64", from: older, to: { ami_id: newer } });
    // The template's only region is the last resort, as for build; and an architecture it does not build is named.
    const wrong = await h.cws(["ami", "rollback", "emu-steps", "--region", "us-west-2", "--arch", "x86_64"]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe("error: emu-steps builds arm64, not x86_64\n  → pick arm64\n");
  });
});
