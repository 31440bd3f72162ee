import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBuild } from "../../src/builder/build.js";
import { buildOwnerFile, claimBuild, readBuildOwners, type BuildOwner } from "../../src/builder/build-owner.js";
import { silentReporter } from "../../src/builder/reporter.js";
import type { ProcessProbe } from "../../src/process-probe.js";
import { buildInput, FAST_POLL, fakeAws, type FakeAwsOptions } from "./fake-build.js";

let dir: string;
let owners: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-owner-"));
  owners = join(dir, ".cws", "builds");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const probe: ProcessProbe = { pid: 4242, command: "cws ami build test-env", exists: () => true };
const started = new Date("2026-11-28T08:30:12Z");

describe("a build's owner file", () => {
  it("names the process, host, start, template and region, and is gone once released", async () => {
    const release = await claimBuild({ dir: owners, processes: probe }, { buildId: "20261128t083012z-4f2a1c", startedAt: started, template: "test-env", region: "eu-west-1" });
    const file = buildOwnerFile(owners, "20261128t083012z-4f2a1c");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      buildId: "20261128t083012z-4f2a1c",
      pid: 4242,
      host: hostname(),
      started: "2026-11-28T08:30:12.000Z",
      command: "cws ami build test-env",
      template: "test-env",
      region: "eu-west-1",
    });
    expect(readBuildOwners(owners).owners.get("20261128t083012z-4f2a1c")).toMatchObject({ pid: 4242, region: "eu-west-1" });
    await release();
    expect(existsSync(file)).toBe(false);
    // Releasing twice, or a file someone removed, is no error.
    await release();
  });

  it("reads no owners from a directory that does not exist", () => {
    expect(readBuildOwners(join(dir, "nowhere"))).toEqual({ owners: new Map(), ignored: [] });
  });

  it("ignores temporary files, names them when a file is no owner record, and refuses a directory that is not one", async () => {
    mkdirSync(owners, { recursive: true });
    const good: BuildOwner = { buildId: "b1", pid: 7, host: "h", started: started.toISOString(), template: "t", region: "us-east-1" };
    writeFileSync(join(owners, "b1.json"), JSON.stringify(good));
    writeFileSync(join(owners, ".b2.json.123.tmp"), "half");
    writeFileSync(join(owners, "notes.txt"), "not json, not .json");
    const wrong = {
      "broken.json": "{",
      "array.json": "[]",
      "no-pid.json": JSON.stringify({ ...good, buildId: "no-pid", pid: undefined }),
      "negative.json": JSON.stringify({ ...good, buildId: "negative", pid: -1 }),
      "bad-date.json": JSON.stringify({ ...good, buildId: "bad-date", started: "yesterday" }),
      "other-name.json": JSON.stringify(good),
      "no-host.json": JSON.stringify({ ...good, buildId: "no-host", host: "" }),
    };
    for (const [name, text] of Object.entries(wrong)) writeFileSync(join(owners, name), text);
    const read = readBuildOwners(owners);
    expect([...read.owners.keys()]).toEqual(["b1"]);
    expect(read.ignored.map((i) => i.file).sort()).toEqual(Object.keys(wrong).map((name) => join(owners, name)).sort());
    rmSync(owners, { recursive: true });
    writeFileSync(owners, "a file where the directory should be");
    expect(() => readBuildOwners(owners)).toThrow(/is a regular file, not a directory/);
  });

  it("stops the build before anything is created when it cannot be written", async () => {
    mkdirSync(join(dir, ".cws"));
    symlinkSync("/nonexistent/target", owners);
    const { aws, calls } = fakeAws();
    await expect(build(aws)).rejects.toThrow(/builds/);
    expect(calls).toEqual([]);
  });
});

function build(aws: ReturnType<typeof fakeAws>["aws"]) {
  return runBuild(buildInput(dir), { aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile: undefined, owner: { dir: owners, processes: probe } });
}

describe("runBuild records its owner", () => {
  const outcomes: { name: string; aws: FakeAwsOptions; status: string; created: boolean }[] = [
    { name: "a successful build", aws: {}, status: "succeeded", created: true },
    { name: "a failed build", aws: { setupExitCode: 3 }, status: "failed", created: true },
    { name: "a build whose preflight fails", aws: { noInstanceProfile: true }, status: "failed", created: false },
  ];
  for (const { name, aws: options, status, created } of outcomes) {
    it(`from before its first resource to after its last cleanup: ${name}`, async () => {
      const seen: string[] = [];
      const { aws, calls } = fakeAws(options);
      // Each call that creates or removes something sees whether the owner file is there at that moment.
      const push = calls.push.bind(calls);
      calls.push = (...items: string[]) => {
        seen.push(...items.map((item) => `${item}: ${readdirSync(owners).filter((n) => n.endsWith(".json")).length === 1 ? "owned" : "NOT OWNED"}`));
        return push(...items);
      };
      const result = await build(aws);
      expect(result.status).toBe(status);
      expect(seen.length > 0).toBe(created);
      expect(seen.filter((line) => line.endsWith("NOT OWNED"))).toEqual([]);
      expect(readdirSync(owners)).toEqual([]);
    });
  }
});
