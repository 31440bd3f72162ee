import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("cws ami bootstrap (end to end, emulator)", () => {
  it("creates the role and instance profile once, waits for EC2 to accept it, and is idempotent", async () => {
    harness = await startHarness({ instanceProfiles: [] });
    const first = await harness.cws(["ami", "bootstrap", "--json"]);
    expect(first.stderr).toContain("Created role cws-ami-builder");
    expect(first.stderr).toContain("Attached AmazonSSMManagedInstanceCore");
    expect(first.stderr).toContain("Created instance profile cws-ami-builder");
    expect(first.status).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ role: "cws-ami-builder", instanceProfile: "cws-ami-builder", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
    expect(result.changed).toHaveLength(4);

    const second = await harness.cws(["ami", "bootstrap"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("already bootstrapped; nothing changed");
    expect(harness.emulator.stats.calls["iam:CreateRole"]).toBe(1);

    // A build now gets through preflight and the SSM agent comes online.
    const build = await harness.cws(["ami", "build", "emu-basic", "--architecture", "x86_64"]);
    expect(build.stderr).toContain("Instance ready");
    expect(build.status).toBe(0);
  });
});
