import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Ec2Port, ImageFilter, ImageInfo } from "../../src/aws/ports.js";
import { runBuild, type PipelineOptions } from "../../src/builder/build.js";
import { cacheTags, findUpToDateImage } from "../../src/builder/cache.js";
import type { BuildInput } from "../../src/builder/context.js";
import { dryRunPlan } from "../../src/builder/plan.js";
import { silentReporter, type BuildReporter } from "../../src/builder/reporter.js";
import { imageContentHash, templateImageHash } from "../../src/template/content-hash.js";
import { parseTemplate } from "../../src/template/load.js";
import { record, registryWith } from "../registry/fixtures.js";
import { ACCOUNT, buildInput, FAKE_BASE_AMI, FAKE_IMAGE_ID, FAST_POLL, fakeAws, SETUP_SCRIPT_TEMPLATE, type FakeAwsOptions } from "./fake-build.js";

/**
 * The build cache: after the base AMI, the build looks for an image of the
 * same content (the template's hash and the base AMI id); finding one, it
 * launches nothing and records that image. And a template built on another
 * starts from its parent's image.
 */
let dir: string;
let registryFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cws-cache-"));
  registryFile = join(dir, "registry", "amis.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const NOW = new Date("2026-11-26T12:00:00Z");
const DAY = 86_400_000;
const templateHash = templateImageHash(parseTemplate(SETUP_SCRIPT_TEMPLATE, "t.yml").template!);

/** An image of this account as a build tags it: the template's, for x86_64, with this content hash. */
function cwsImage(imageId: string, contentHash: string, created: string, extra: Partial<ImageInfo> = {}): ImageInfo {
  return {
    imageId,
    name: `cws-test-env-v0.9.0-x86_64-${imageId}`,
    architecture: "x86_64",
    state: "available",
    creationDate: created,
    ownerId: ACCOUNT,
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [`snap-${imageId}`],
    tags: { ...cacheTags({ templateId: "test-env", architecture: "x86_64", contentHash }), "cws:version": "v0.9.0", "cws:base-ami": FAKE_BASE_AMI, "cws:build-id": "old-build" },
    ...extra,
  };
}

/** The image a build of the test template on the fake's base AMI would make, built `daysAgo` before NOW. */
const sameContent = (imageId: string, daysAgo: number) => cwsImage(imageId, imageContentHash(templateHash, FAKE_BASE_AMI), new Date(NOW.getTime() - daysAgo * DAY).toISOString());

async function build(aws: FakeAwsOptions, pipeline: Partial<PipelineOptions> = {}, input: Partial<BuildInput> = {}, reporter: BuildReporter = silentReporter) {
  const fake = fakeAws(aws);
  const ran: string[] = [];
  const result = await runBuild(buildInput(dir, { templateHash, ...input }), {
    aws: fake.aws,
    reporter,
    poll: FAST_POLL,
    signal: new AbortController().signal,
    registryFile,
    now: () => NOW,
    onStep: (id, phase) => phase === "run" && ran.push(id),
    ...pipeline,
  });
  return { result, ran, calls: fake.calls, tags: fake.tags };
}

const registry = () => JSON.parse(readFileSync(registryFile, "utf8")) as { templates: Record<string, { amis: Record<string, Record<string, { ami_id: string; pinned?: boolean; content_hash?: string }>> }> };
function writeRegistry(value: unknown) {
  mkdirSync(join(dir, "registry"), { recursive: true });
  writeFileSync(registryFile, JSON.stringify(value));
}

describe("findUpToDateImage", () => {
  /** An Ec2Port that answers DescribeImages from a list, filtering as EC2 does, and remembers what it was asked. */
  function ec2With(images: ImageInfo[]): Ec2Port & { asked: ImageFilter[] } {
    const asked: ImageFilter[] = [];
    const port = fakeAws({ images }).aws.ec2("us-east-1");
    return { ...port, region: "us-east-1", asked, describeImages: (filter) => (asked.push(filter), port.describeImages(filter)) };
  }
  const query = { templateId: "test-env", architecture: "x86_64" as const, contentHash: "a".repeat(64), now: NOW };

  it("asks for this account's available images with the five tags, and takes the newest", async () => {
    const ec2 = ec2With([cwsImage("ami-0old", "a".repeat(64), "2026-11-01T00:00:00.000Z"), cwsImage("ami-0new", "a".repeat(64), "2026-11-20T00:00:00.000Z")]);
    const found = await findUpToDateImage(ec2, query);
    expect(ec2.asked).toEqual([
      {
        owners: ["self"],
        states: ["available"],
        tags: { "cws:managed-by": "cws", "cws:template": "test-env", "cws:arch": "x86_64", "cws:content-hash": "a".repeat(64), "cws:validated": "true" },
      },
    ]);
    expect(found).toMatchObject({ upToDate: true, image: { imageId: "ami-0new" }, reason: "ami-0new (built 2026-11-20T00:00:00.000Z)" });
  });

  it.each([
    ["another content hash", cwsImage("ami-0x", "b".repeat(64), "2026-11-20T00:00:00Z")],
    ["another architecture", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { tags: { ...cacheTags({ ...query, architecture: "arm64" }) } })],
    ["not validated", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { tags: { ...cacheTags(query), "cws:validated": "false" } })],
    ["not made by cws", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { tags: { ...cacheTags(query), "cws:managed-by": "someone" } })],
    ["another template", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { tags: { ...cacheTags({ ...query, templateId: "other" }) } })],
    ["still pending", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { state: "pending" })],
    ["another account's", cwsImage("ami-0x", "a".repeat(64), "2026-11-20T00:00:00Z", { ownerId: "999988887777" })],
  ])("does not take an image of %s", async (_name, image) => {
    expect(await findUpToDateImage(ec2With([image]), query)).toEqual({ upToDate: false, reason: `no image of this content (${"a".repeat(12)}…) in us-east-1` });
  });

  it("--max-age: an image older than that is not up to date, and says how old it is", async () => {
    const ec2 = ec2With([cwsImage("ami-0old", "a".repeat(64), new Date(NOW.getTime() - 9 * DAY - 60_000).toISOString())]);
    expect(await findUpToDateImage(ec2, { ...query, maxAgeMs: 7 * DAY })).toMatchObject({
      upToDate: false,
      image: { imageId: "ami-0old" },
      reason: "ami-0old is 9 days old, more than the 7 days --max-age allows",
    });
    expect((await findUpToDateImage(ec2, { ...query, maxAgeMs: 10 * DAY })).upToDate).toBe(true);
    // Exactly as old as allowed is still young enough.
    const edge = ec2With([cwsImage("ami-0edge", "a".repeat(64), new Date(NOW.getTime() - 7 * DAY).toISOString())]);
    expect((await findUpToDateImage(edge, { ...query, maxAgeMs: 7 * DAY })).upToDate).toBe(true);
  });
});

describe("cws ami build with an image of the same content", () => {
  it("launches nothing, records that image from its tags and says it is up to date", async () => {
    const image = sameContent("ami-0cac4e00", 2);
    const { result, ran, calls } = await build({ images: [image] });
    expect(result).toMatchObject({ status: "succeeded", upToDate: true, imageId: "ami-0cac4e00", imageCreated: image.creationDate, contentHash: imageContentHash(templateHash, FAKE_BASE_AMI) });
    expect(ran).toEqual(["preflight", "base-ami", "up-to-date", "record"]);
    expect(calls).toEqual([]);
    expect(result.written.registry).toBe(registryFile);
    expect(registry().templates["test-env"]!.amis["us-east-1"]!.x86_64).toMatchObject({ ami_id: "ami-0cac4e00", content_hash: imageContentHash(templateHash, FAKE_BASE_AMI) });
  });

  it("publishes it with --publish-ssm, and changes nothing when the registry already names it", async () => {
    writeRegistry(registryWith({ "test-env": { "us-east-1": { x86_64: record("ami-0cac4e00", "2026-11-24T12:00:00Z") } } }));
    const before = readFileSync(registryFile, "utf8");
    const { result, calls } = await build({ images: [sameContent("ami-0cac4e00", 2)] }, { publishSsm: true });
    expect(result.upToDate).toBe(true);
    expect(result.written.registry).toBeUndefined();
    expect(readFileSync(registryFile, "utf8")).toBe(before);
    expect(calls).toEqual(["put parameter /cloudworkstation/amis/test-env/us-east-1/x86_64 = ami-0cac4e00"]);
  });

  it("leaves an entry a rollback pinned, says so, and does not publish", async () => {
    writeRegistry(registryWith({ "test-env": { "us-east-1": { x86_64: { ...record("ami-0a1de500", "2026-11-01T00:00:00Z"), pinned: true } as never } } }));
    const warnings: string[] = [];
    const { result, calls } = await build({ images: [sameContent("ami-0cac4e00", 2)] }, { publishSsm: true }, {}, { ...silentReporter, warn: (text) => warnings.push(text) });
    expect(result.upToDate).toBe(true);
    expect(registry().templates["test-env"]!.amis["us-east-1"]!.x86_64).toMatchObject({ ami_id: "ami-0a1de500", pinned: true });
    expect(warnings.join("\n")).toContain("test-env.us-east-1.x86_64 stays ami-0a1de500: a rollback pinned it. Use --force");
    expect(calls).toEqual([]);
  });

  it("--force builds anyway, and the plan has no cache check", async () => {
    const { result, ran, calls } = await build({ images: [sameContent("ami-0cac4e00", 2)] }, { force: true });
    expect(result).toMatchObject({ status: "succeeded", upToDate: false, imageId: FAKE_IMAGE_ID });
    expect(ran).not.toContain("up-to-date");
    expect(calls).toContain("run instance i-1");
  });

  it("--max-age builds again when the image of the same content is older, and not when it is younger", async () => {
    const old = await build({ images: [sameContent("ami-0cac4e00", 8)] }, { maxAgeMs: 7 * DAY });
    expect(old.result.upToDate).toBe(false);
    expect(old.calls).toContain("run instance i-1");
    const young = await build({ images: [sameContent("ami-0cac4e00", 6)] }, { maxAgeMs: 7 * DAY });
    expect(young.result.upToDate).toBe(true);
    expect(young.calls).toEqual([]);
  });

  it("builds when the base AMI changed (a new Ubuntu release): the image of the old base has another content hash", async () => {
    const onOldBase = cwsImage("ami-0cac4e00", imageContentHash(templateHash, "ami-0b0b0b0b"), "2026-11-25T00:00:00Z");
    const { result, calls, tags } = await build({ images: [onOldBase] });
    expect(result.upToDate).toBe(false);
    expect(calls).toContain("run instance i-1");
    // The new image carries the new hash, and the template's own.
    expect(tags.image).toMatchObject({ "cws:content-hash": imageContentHash(templateHash, FAKE_BASE_AMI), "cws:template-hash": templateHash, "cws:base-ami": FAKE_BASE_AMI });
    // The next build finds it.
    const again = await build({ images: [onOldBase, cwsImage(FAKE_IMAGE_ID, tags.image!["cws:content-hash"]!, NOW.toISOString())] });
    expect(again.result).toMatchObject({ upToDate: true, imageId: FAKE_IMAGE_ID });
  });

  it("the dry run says whether the build would stop at its cache check", async () => {
    const { aws } = fakeAws({ images: [sameContent("ami-0cac4e00", 2)] });
    const plan = await dryRunPlan(buildInput(dir, { templateHash }), { registryFile }, aws, () => undefined, { now: NOW });
    expect(plan.json).toMatchObject({ upToDate: "ami-0cac4e00", contentHash: imageContentHash(templateHash, FAKE_BASE_AMI) });
    expect(plan.text).toContain("up to date: yes: ami-0cac4e00");
    expect(plan.text).toMatch(/ 3\. Up to date\? An available image in us-east-1 tagged cws:managed-by=cws, cws:template=test-env, cws:arch=x86_64, cws:validated=true and cws:content-hash=<content-hash>: if there is one, stop here/);
    const forced = await dryRunPlan(buildInput(dir, { templateHash }), { registryFile, force: true }, aws, () => undefined, { now: NOW });
    expect(forced.text).toContain("up to date: not looked for (--force)");
    expect(forced.text).not.toContain("Up to date?");
  });
});

describe("content hash", () => {
  it("changes with the base AMI id and with the template, and is stable otherwise", () => {
    const hash = imageContentHash(templateHash, FAKE_BASE_AMI);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(imageContentHash(templateHash, FAKE_BASE_AMI)).toBe(hash);
    expect(imageContentHash(templateHash, "ami-0a0a0a0a")).not.toBe(hash);
    expect(imageContentHash("b".repeat(64), FAKE_BASE_AMI)).not.toBe(hash);
  });

  it("does not change when only comments, formatting or the amis: block change", () => {
    const edited = `# a comment\n${SETUP_SCRIPT_TEMPLATE.replace("ports: [22]", "ports:\n  - 22   # ssh")}amis:\n  us-east-1:\n    x86_64: ami-0abcd1234ef567890\n`;
    const hashOf = (text: string) => imageContentHash(templateImageHash(parseTemplate(text, "t.yml").template!), FAKE_BASE_AMI);
    expect(hashOf(edited)).toBe(hashOf(SETUP_SCRIPT_TEMPLATE));
    expect(hashOf(SETUP_SCRIPT_TEMPLATE.replace("echo ready", "echo steady"))).not.toBe(hashOf(SETUP_SCRIPT_TEMPLATE));
  });
});

describe("a template built on another (base_ami.template)", () => {
  const CHILD = SETUP_SCRIPT_TEMPLATE.replace("  source: ubuntu-22.04-lts\n", "  template: python-research\n");
  const childInput = (extra: Partial<BuildInput> = {}) => buildInput(dir, { templateHash: templateImageHash(parseTemplate(CHILD, "c.yml").template!), ...extra }, CHILD);
  const parentImage = (imageId: string, architecture = "x86_64") =>
    cwsImage(imageId, "p".repeat(64), "2026-11-20T00:00:00Z", { architecture, tags: { "cws:template": "python-research", "cws:managed-by": "cws", "cws:validated": "true" } });

  async function buildChild(aws: FakeAwsOptions, input: Partial<BuildInput> = {}, pipeline: Partial<PipelineOptions> = {}) {
    const fake = fakeAws(aws);
    const result = await runBuild(childInput(input), { aws: fake.aws, reporter: silentReporter, poll: FAST_POLL, signal: new AbortController().signal, registryFile, now: () => NOW, ...pipeline });
    return { result, ...fake };
  }

  it("starts from the parent's current validated image in the registry, and hashes it as its base", async () => {
    writeRegistry(
      registryWith({
        "python-research": { "us-east-1": { x86_64: { ...record("ami-0ba5e200", "2026-11-25T00:00:00Z", { validated: false }), history: [record("ami-0ba5e100", "2026-11-20T00:00:00Z")] }, arm64: record("ami-0ba5e300", "2026-11-20T00:00:00Z") } },
      }),
    );
    const warnings: string[] = [];
    const fake = fakeAws({ images: [parentImage("ami-0ba5e100"), parentImage("ami-0ba5e200"), parentImage("ami-0ba5e300", "arm64")] });
    const result = await runBuild(childInput(), {
      aws: fake.aws,
      reporter: { ...silentReporter, warn: (text) => warnings.push(text) },
      poll: FAST_POLL,
      signal: new AbortController().signal,
      registryFile,
    });
    expect(result).toMatchObject({ status: "succeeded", baseAmi: "ami-0ba5e100", contentHash: imageContentHash(childInput().templateHash, "ami-0ba5e100") });
    // The current one is not validated: the newest validated one from its history, said so.
    expect(warnings).toContain("python-research.us-east-1.x86_64: the current AMI ami-0ba5e200 is not validated; using ami-0ba5e100 from its history");
    expect(fake.tags.image).toMatchObject({ "cws:base-ami": "ami-0ba5e100" });
  });

  it("starts from the image the request names (the one build-all has just made) over the registry's", async () => {
    writeRegistry(registryWith({ "python-research": { "us-east-1": { x86_64: record("ami-0ba5e100", "2026-11-20T00:00:00Z") } } }));
    const { result } = await buildChild({ images: [parentImage("ami-0ba5e100"), parentImage("ami-0ba5e400")] }, { parentImage: { templateId: "python-research", imageId: "ami-0ba5e400" } });
    expect(result.baseAmi).toBe("ami-0ba5e400");
  });

  it("reads the parent's image from parentRegistryFile, also when it records nowhere (--no-registry-update)", async () => {
    writeRegistry(registryWith({ "python-research": { "us-east-1": { x86_64: record("ami-0ba5e100", "2026-11-20T00:00:00Z") } } }));
    const { result } = await buildChild({ images: [parentImage("ami-0ba5e100")] }, {}, { registryFile: undefined, parentRegistryFile: registryFile });
    expect(result).toMatchObject({ status: "succeeded", baseAmi: "ami-0ba5e100", written: {} });
  });

  it("is a preflight failure, launching nothing, when the parent has no validated image there", async () => {
    writeRegistry(registryWith({ "python-research": { "us-west-2": { x86_64: record("ami-0ba5e100", "2026-11-20T00:00:00Z") } } }));
    const { result, calls } = await buildChild({});
    expect(result).toMatchObject({ status: "failed", failedStep: "base-ami" });
    expect(result).toMatchObject({ exitCode: 2 });
    expect(result.error).toEqual({
      code: "PREFLIGHT_FAILED",
      message: `python-research has no validated x86_64 image in us-east-1 (${registryFile})`,
      suggestion: "build it first (cws ami build python-research --architecture x86_64 --region us-east-1), or run cws ami build-all, which builds parents first",
      preflight: true,
    });
    expect(calls).toEqual([]);
  });

  it("says so when there is no registry at all, and when the registry names an image that is gone", async () => {
    const none = await buildChild({});
    expect(none.result.error?.message).toBe(`python-research has no validated x86_64 image in us-east-1: ${registryFile} does not exist`);
    writeRegistry(registryWith({ "python-research": { "us-east-1": { x86_64: record("ami-0dead000", "2026-11-20T00:00:00Z") } } }));
    const gone = await buildChild({});
    expect(gone.result.error).toMatchObject({ preflight: true, message: `base image ami-0dead000 (python-research's image, current in ${registryFile}) does not exist in us-east-1` });
    expect(gone.result.error?.suggestion).toContain("rebuild python-research");
  });

  it("is up to date when an image of its content on that parent image exists, and builds again when the parent has a new image", async () => {
    writeRegistry(registryWith({ "python-research": { "us-east-1": { x86_64: record("ami-0ba5e100", "2026-11-20T00:00:00Z") } } }));
    const hash = (base: string) => imageContentHash(childInput().templateHash, base);
    const childOnOldParent = cwsImage("ami-0c41d000", hash("ami-0ba5e100"), "2026-11-21T00:00:00Z");
    const images = [parentImage("ami-0ba5e100"), parentImage("ami-0ba5e500"), childOnOldParent];
    const same = await buildChild({ images });
    expect(same.result).toMatchObject({ upToDate: true, imageId: "ami-0c41d000" });
    const newParent = await buildChild({ images }, { parentImage: { templateId: "python-research", imageId: "ami-0ba5e500" } });
    expect(newParent.result).toMatchObject({ upToDate: false, imageId: FAKE_IMAGE_ID, baseAmi: "ami-0ba5e500", contentHash: hash("ami-0ba5e500") });
  });

  it("the plan says where the parent's image comes from", async () => {
    const { aws } = fakeAws();
    const plan = await dryRunPlan(childInput(), { registryFile }, aws, () => undefined, { now: NOW });
    expect(plan.text).toContain(` 2. Base AMI: python-research's x86_64 image (its current validated image in ${registryFile}); the image's content hash is the template's with the base AMI id`);
    expect(plan.text).toContain(`base AMI: not resolved: python-research has no validated x86_64 image in us-east-1: ${registryFile} does not exist`);
    const named = await dryRunPlan(childInput({ parentImage: { templateId: "python-research", imageId: "ami-0ba5e400" } }), { registryFile }, aws, () => undefined, { now: NOW });
    expect(named.text).toContain(" 2. Base AMI: python-research's x86_64 image (ami-0ba5e400, just built)");
  });
});
