import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CopyImageCommand, CreateImageCommand, EC2Client, RunInstancesCommand, type Tag } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { FORBID_AWS_SDK, runCli, scratchDir } from "../helpers/cli.js";
import { startHarness, type Harness } from "./harness.js";
import type { ListRow as Row } from "../../src/registry/list.js";

/**
 * `cws ami list`, end to end: the built CLI as a child process, reading a
 * registry file; with --live, against the project's EC2 emulator over HTTP.
 */


type Entry = { ami_id: string; created: string; validated: boolean; size_gb: number; version?: string; history?: Entry[] };

function registryJson(templates: Record<string, Record<string, Record<string, Entry>>>): string {
  const out: Record<string, unknown> = {};
  for (const [id, amis] of Object.entries(templates)) {
    out[id] = { version: "1.0.0", description: `${id} test image`, amis, ports: [22], estimated_cost_per_hour: {} };
  }
  return `${JSON.stringify({ version: "1.0", last_updated: "2026-01-01T00:00:00Z", templates: out }, null, 2)}\n`;
}

const entry = (ami_id: string, created: string, extra: Partial<Entry> = {}): Entry => ({ ami_id, created, validated: true, size_gb: 30, ...extra });

const SAMPLE = registryJson({
  "r-research": {
    "us-west-2": { x86_64: entry("ami-0000000000000000a", "2026-01-03T00:00:00Z", { version: "v1.2.0" }) },
    "us-east-1": { x86_64: entry("ami-0000000000000000b", "2026-01-02T00:00:00Z"), arm64: entry("ami-0000000000000000c", "2026-01-02T00:00:00Z", { validated: false, size_gb: 8 }) },
  },
  "basic-ubuntu": { "eu-west-1": { arm64: entry("ami-0000000000000000d", "2026-01-01T00:00:00Z") } },
});

describe("cws ami list (registry only)", () => {
  it("prints aligned columns sorted by template, region and architecture", () => {
    const { dir, cleanup } = scratchDir({ "registry/amis.json": SAMPLE });
    try {
      const result = runCli(["ami", "list"], { cwd: dir });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^TEMPLATE\s+VERSION\s+REGION\s+ARCH\s+AMI\s+CREATED\s+VALIDATED\s+SIZE$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5).join(" "))).toEqual([
        "basic-ubuntu 1.0.0 eu-west-1 arm64 ami-0000000000000000d",
        "r-research 1.0.0 us-east-1 arm64 ami-0000000000000000c",
        "r-research 1.0.0 us-east-1 x86_64 ami-0000000000000000b",
        "r-research v1.2.0 us-west-2 x86_64 ami-0000000000000000a",
      ]);
      expect(lines[2]).toMatch(/2026-01-02T00:00:00Z\s+no\s+8 GiB$/);
      const amiColumn = lines[0]!.indexOf("AMI");
      for (const line of lines.slice(1)) expect(line.slice(amiColumn, amiColumn + 4)).toBe("ami-");
      expect(result.stdout).not.toContain("\u001b[");
    } finally {
      cleanup();
    }
  });

  it("filters with --template, --region, --architecture; --json prints the rows as an array", () => {
    const { dir, cleanup } = scratchDir({ "registry/amis.json": SAMPLE });
    try {
      const filtered = runCli(["ami", "list", "--template", "r-research", "--region", "us-east-1", "--arch", "x86_64"], { cwd: dir });
      expect(filtered.status).toBe(0);
      expect(filtered.stdout.trimEnd().split("\n").slice(1)).toHaveLength(1);
      expect(filtered.stdout).toContain("ami-0000000000000000b");

      const json = runCli(["--json", "ami", "list", "--architecture", "arm64"], { cwd: dir });
      expect(json.status).toBe(0);
      const rows = JSON.parse(json.stdout) as Row[];
      expect(rows).toEqual([
        { template: "basic-ubuntu", version: "1.0.0", region: "eu-west-1", architecture: "arm64", ami_id: "ami-0000000000000000d", created: "2026-01-01T00:00:00Z", validated: true, size_gb: 30 },
        { template: "r-research", version: "1.0.0", region: "us-east-1", architecture: "arm64", ami_id: "ami-0000000000000000c", created: "2026-01-02T00:00:00Z", validated: false, size_gb: 8 },
      ]);

      const none = runCli(["ami", "list", "--template", "r-research", "--region", "eu-west-1", "--json"], { cwd: dir });
      expect(none.status).toBe(0);
      expect(JSON.parse(none.stdout)).toEqual([]);
      expect(none.stderr).toBe("no AMIs in ./registry/amis.json match --template r-research --region eu-west-1\n");

      // An id that is no template: exit 2 with the nearest, as every command that takes one.
      const unknown = runCli(["ami", "list", "--template", "r-reserch", "--json"], { cwd: dir });
      expect(unknown.status).toBe(2);
      expect(JSON.parse(unknown.stdout)).toEqual({
        error: {
          code: "TEMPLATE_NOT_FOUND",
          message: 'no template "r-reserch" in ./templates or ./registry/amis.json (did you mean "r-research"?)',
          value: "r-reserch",
          suggestion: "templates here: basic-ubuntu, r-research",
        },
        exitCode: 2,
      });
    } finally {
      cleanup();
    }
  });

  it("reads the registry named by --registry or CWS_REGISTRY", () => {
    const { dir, cleanup } = scratchDir({ "elsewhere/reg.json": SAMPLE });
    try {
      const byFlag = runCli(["ami", "list", "--registry", "elsewhere/reg.json", "--json"], { cwd: dir });
      expect(byFlag.status).toBe(0);
      expect(JSON.parse(byFlag.stdout)).toHaveLength(4);
      const byEnv = runCli(["ami", "list", "--json"], { cwd: dir, env: { CWS_REGISTRY: "elsewhere/reg.json" } });
      expect(JSON.parse(byEnv.stdout)).toHaveLength(4);
    } finally {
      cleanup();
    }
  });

  it("says a missing registry is missing and exits 0; an invalid one exits 2 naming the place", () => {
    const { dir, cleanup } = scratchDir();
    try {
      const missing = runCli(["ami", "list"], { cwd: dir });
      expect(missing.status).toBe(0);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toContain("no registry at ./registry/amis.json");
      expect(missing.stderr).toContain("cws ami build");
      expect(missing.stderr).toContain("cws ami update-registry --all");
      expect(JSON.parse(runCli(["ami", "list", "--json"], { cwd: dir }).stdout)).toEqual([]);

      mkdirSync(join(dir, "registry"));
      writeFileSync(join(dir, "registry", "amis.json"), SAMPLE.replace('"validated": false', '"validated": "no"'));
      const invalid = runCli(["ami", "list"], { cwd: dir });
      expect(invalid.status).toBe(2);
      expect(invalid.stdout).toBe("");
      expect(invalid.stderr).toMatch(/registry\/amis\.json:\d+:\d+ templates\.r-research\.amis\.us-east-1\.arm64\.validated: /);
    } finally {
      cleanup();
    }
  });

  it("rejects a wrong architecture or region with exit 2", () => {
    const { dir, cleanup } = scratchDir({ "registry/amis.json": SAMPLE });
    try {
      const arch = runCli(["ami", "list", "--architecture", "sparc"], { cwd: dir });
      expect(arch.status).toBe(2);
      expect(arch.stderr).toContain("x86_64");
      const region = runCli(["ami", "list", "--region", "us-esat-1"], { cwd: dir });
      expect(region.status).toBe(2);
      expect(region.stderr).toContain('did you mean "us-east-1"');
    } finally {
      cleanup();
    }
  });

  it("never loads the AWS SDK without --live (and the check would notice if it did)", () => {
    const { dir, cleanup } = scratchDir({ "registry/amis.json": SAMPLE });
    const forbid = { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` };
    try {
      for (const args of [["ami", "list"], ["ami", "list", "--json", "--template", "r-research"], ["ami", "list", "--registry", "absent.json"]]) {
        const result = runCli(args, { cwd: dir, env: forbid });
        expect(result.stderr, args.join(" ")).not.toContain("AWS SDK loaded");
        expect(result.status, args.join(" ")).toBe(0);
      }
      const live = runCli(["ami", "list", "--live"], { cwd: dir, env: { ...forbid, AWS_REGION: "us-east-1" } });
      expect(live.stderr).toContain("AWS SDK loaded");
      expect(live.status).not.toBe(0);
    } finally {
      cleanup();
    }
  });

  it("documents --live's drift kinds and exit codes in its help", () => {
    const help = runCli(["ami", "list", "--help"]);
    expect(help.status).toBe(0);
    for (const word of ["--live", "gone", "not-available", "newer", "untracked", "1 drift found with --live"]) expect(help.stdout).toContain(word);
  });
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function client(h: Harness, region: string): EC2Client {
  return new EC2Client({ endpoint: h.emulator.url, region, credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 });
}

/** The tags `cws ami build` puts on an image (src/builder/context.ts imageTags). */
function cwsTags(template: string, arch: string, version: string, name: string, validated = true): Tag[] {
  const tags: Record<string, string> = {
    Name: name,
    "cws:template": template,
    "cws:version": version,
    "cws:arch": arch,
    "cws:build-id": `build-${name}`,
    "cws:base-ami": "ami-0123456789abcdef0",
    "cws:content-hash": "0".repeat(64),
    "cws:validated": String(validated),
    "cws:managed-by": "cws",
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function publicImage(h: Harness, region: string, arch: string): string {
  const found = h.emulator.images(region, { includePublic: true }).find((i) => i.public && i.architecture === arch && i.name.includes("ubuntu-jammy"));
  if (!found) throw new Error(`no seeded ${arch} Ubuntu image in ${region}`);
  return found.id;
}

/** A cws image the way the builder makes one: an instance, then CreateImage with the cws tags. */
async function builtImage(h: Harness, ec2: EC2Client, instanceId: string, tags: Tag[], name: string): Promise<string> {
  const made = await ec2.send(
    new CreateImageCommand({ InstanceId: instanceId, Name: name, NoReboot: true, TagSpecifications: [{ ResourceType: "image", Tags: tags }, { ResourceType: "snapshot", Tags: tags }] }),
  );
  return made.ImageId!;
}

/** A cws-tagged copy of a seeded public image: cheap (no files), for volume. */
async function copiedImage(h: Harness, region: string, name: string, tags: Tag[] | undefined, arch = "x86_64"): Promise<string> {
  const made = await client(h, region).send(
    new CopyImageCommand({ SourceRegion: region, SourceImageId: publicImage(h, region, arch), Name: name, ...(tags ? { TagSpecifications: [{ ResourceType: "image", Tags: tags }] } : {}) }),
  );
  return made.ImageId!;
}

async function inBatches<T>(count: number, size: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, i) => make(start + i)))));
  }
  return out;
}

/** Every DescribeImages request, seen through a fault that never fires. */
function watchDescribeImages(h: Harness): { region: string; nextToken: boolean; byId: boolean }[] {
  const seen: { region: string; nextToken: boolean; byId: boolean }[] = [];
  h.emulator.faults.add({
    service: "ec2",
    action: "DescribeImages",
    code: "Never",
    times: 1,
    match: ({ region, params }) => {
      const keys = Object.keys(params);
      // A lookup of registry AMIs the listing lacks: by the image-id filter (ids that do not exist are left out).
      const byIdFilter = keys.some((k) => /^Filter\.\d+\.Name$/.test(k) && params[k] === "image-id");
      seen.push({ region, nextToken: keys.includes("NextToken"), byId: byIdFilter || keys.some((k) => k.startsWith("ImageId")) });
      return false;
    },
  });
  return seen;
}

const BULK = 1005;

describe("cws ami list --live (end to end, emulator)", () => {
  it("finds gone, not-available, newer and untracked AMIs across regions and pages, and exits 1", { timeout: 120_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const east = client(h, "us-east-1");

    // emu-basic x86_64 in us-east-1, built twice the builder's way; the registry names the older one.
    const launched = await east.send(new RunInstancesCommand({ ImageId: publicImage(h, "us-east-1", "x86_64"), InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }));
    const instanceId = launched.Instances![0]!.InstanceId!;
    await h.emulator.settled("us-east-1"); // its disk is laid out
    h.emulator.clock.advance(30);
    const recorded = await builtImage(h, east, instanceId, cwsTags("emu-basic", "x86_64", "v1.0.0", "cws-emu-basic-v1.0.0-x86_64-1"), "cws-emu-basic-v1.0.0-x86_64-1");
    h.emulator.clock.advance(3600);
    const newer = await builtImage(h, east, instanceId, cwsTags("emu-basic", "x86_64", "v1.1.0", "cws-emu-basic-v1.1.0-x86_64-2"), "cws-emu-basic-v1.1.0-x86_64-2");
    // An even newer one that failed validation is not a candidate.
    h.emulator.clock.advance(3600);
    await copiedImage(h, "us-east-1", "cws-emu-basic-v1.2.0-x86_64-3", cwsTags("emu-basic", "x86_64", "v1.2.0", "x", false));

    // More cws images of a template the registry has never heard of than one DescribeImages page holds.
    const bulk = await inBatches(BULK, 100, (i) => copiedImage(h, "us-east-1", `cws-emu-bulk-v1-x86_64-${i}`, cwsTags("emu-bulk", "x86_64", "v1", `bulk-${i}`)));

    // us-west-2: an AMI recorded by hand without cws tags (it exists: not gone), and one still pending.
    const untagged = await copiedImage(h, "us-west-2", "hand-made-image", undefined);
    // eu-west-1 is not in the registry: its cws image is not looked at unless asked for with --region.
    const elsewhere = await copiedImage(h, "eu-west-1", "cws-emu-basic-v1-x86_64-eu", cwsTags("emu-basic", "x86_64", "v1", "eu"));
    await h.emulator.settled("us-east-1");
    h.emulator.clock.advance(10_000); // everything so far is available
    const pending = await copiedImage(h, "us-west-2", "cws-emu-steps-v1-arm64-1", cwsTags("emu-steps", "arm64", "v1", "p"), "arm64");
    h.emulator.clock.setMsPerSimSecond(1e9); // hold the clock: the last copy stays pending

    const registryFile = join(h.dir, "registry", "amis.json");
    mkdirSync(join(h.dir, "registry"));
    writeFileSync(
      registryFile,
      registryJson({
        "emu-basic": {
          "us-east-1": { x86_64: entry(recorded, "2026-01-01T00:00:00Z", { version: "v1.0.0" }), arm64: entry("ami-0deadbeefdeadbeef", "2026-01-01T00:00:00Z") },
        },
        "emu-steps": { "us-west-2": { arm64: entry(pending, "2026-01-01T00:00:00Z"), x86_64: entry(untagged, "2026-01-01T00:00:00Z") } },
      }),
    );

    const seen = watchDescribeImages(h);
    const result = await h.cws(["ami", "list", "--live", "--json"]);
    expect(result.status, result.stderr).toBe(1);
    const rows = JSON.parse(result.stdout) as Row[];
    const at = (template: string, region: string, arch: string) => rows.find((r) => r.template === template && r.region === region && r.architecture === arch);

    expect(rows.map((r) => `${r.template} ${r.region} ${r.architecture}`)).toEqual([
      "emu-basic us-east-1 arm64",
      "emu-basic us-east-1 x86_64",
      "emu-bulk us-east-1 x86_64",
      "emu-steps us-west-2 arm64",
      "emu-steps us-west-2 x86_64",
    ]);
    expect(at("emu-basic", "us-east-1", "arm64")!.drift).toEqual([{ kind: "gone" }]);
    expect(at("emu-basic", "us-east-1", "x86_64")!.drift).toEqual([expect.objectContaining({ kind: "newer", ami_id: newer, name: "cws-emu-basic-v1.1.0-x86_64-2", version: "v1.1.0" })]);
    expect(at("emu-steps", "us-west-2", "arm64")!.drift).toEqual([{ kind: "not-available", state: "pending" }]);
    expect(at("emu-steps", "us-west-2", "x86_64")!.drift).toEqual([]);
    const untracked = at("emu-bulk", "us-east-1", "x86_64")!;
    expect(untracked.drift).toHaveLength(1);
    const found = untracked.drift![0] as { kind: string; ami_ids: string[] };
    expect(found.kind).toBe("untracked");
    expect(found.ami_ids).toHaveLength(BULK);
    expect(new Set(found.ami_ids)).toEqual(new Set(bulk));
    expect(untracked).toMatchObject({ version: "v1", validated: true });
    expect(rows.some((r) => r.ami_id === elsewhere)).toBe(false);
    expect(result.stderr).toContain("drift: 1 gone, 1 not available, 1 newer, 1 untracked (1005 AMIs) in 2 regions (us-east-1, us-west-2)");

    // Both regions asked, eu-west-1 not; us-east-1's listing took a second page.
    const listings = seen.filter((s) => !s.byId);
    expect(new Set(listings.map((s) => s.region))).toEqual(new Set(["us-east-1", "us-west-2"]));
    expect(listings.filter((s) => s.region === "us-east-1" && s.nextToken)).toHaveLength(1);
    // Only the AMIs missing from the cws listing were looked up by id.
    expect(seen.filter((s) => s.byId).map((s) => s.region).sort()).toEqual(["us-east-1", "us-west-2"]);

    // The table says the same, with a DRIFT column and the summary on stdout.
    const table = await h.cws(["ami", "list", "--live", "--template", "emu-basic"]);
    expect(table.status).toBe(1);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toMatch(/SIZE\s+DRIFT$/);
    expect(lines[1]).toMatch(/^emu-basic\s.*\sus-east-1\s+arm64\s+ami-0deadbeefdeadbeef\s.*\sgone$/);
    expect(lines[2]).toMatch(new RegExp(`^emu-basic\\s.*\\sx86_64\\s+${recorded}\\s.*\\snewer: ${newer} \\(v1\\.1\\.0\\)$`));
    expect(table.stdout).toContain("✖ drift: 1 gone, 1 newer in 2 regions (us-east-1, us-west-2)");
    expect(table.stdout).not.toContain("emu-bulk");

    // --region asks that region even when the registry has nothing there.
    const eu = await h.cws(["ami", "list", "--live", "--region", "eu-west-1", "--json"]);
    expect(eu.status).toBe(1);
    expect(JSON.parse(eu.stdout)).toEqual([expect.objectContaining({ template: "emu-basic", region: "eu-west-1", ami_id: elsewhere, drift: [{ kind: "untracked", ami_ids: [elsewhere] }] })]);
  });

  it("exits 0 with 'no drift' when AWS and the registry agree", { timeout: 60_000 }, async () => {
    harness = await startHarness();
    const h = harness;
    const image = await copiedImage(h, "us-east-1", "cws-emu-basic-v1-x86_64-1", cwsTags("emu-basic", "x86_64", "v1", "one"));
    h.emulator.clock.advance(10_000);
    mkdirSync(join(h.dir, "registry"));
    writeFileSync(join(h.dir, "registry", "amis.json"), registryJson({ "emu-basic": { "us-east-1": { x86_64: entry(image, "2026-01-01T00:00:00Z") } } }));
    const result = await h.cws(["ami", "list", "--live"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${image}\\s.*\\sok\\n`));
    expect(result.stdout).toContain("✔ no drift: 1 registry AMI checked against AWS in 1 region (us-east-1)");
  });

  it("turns rejected credentials into exit 2 with what to do", { timeout: 60_000 }, async () => {
    harness = await startHarness({ rejectCredentials: true });
    mkdirSync(join(harness.dir, "registry"));
    writeFileSync(join(harness.dir, "registry", "amis.json"), SAMPLE);
    const result = await harness.cws(["ami", "list", "--live"]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("AWS credentials are missing, expired or not accepted");
    expect(result.stderr).toContain("aws configure");
    expect(result.stderr).not.toContain("internal error");
  });
});
