import { join } from "node:path";
import { CreateSecurityGroupCommand, DeleteSecurityGroupCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scratchDir } from "../helpers/cli.js";
import { describeCall, queryParams, readRequestLog, tagSpecifications, tagsAt, type RequestRecord } from "../helpers/request-log.js";
import { HOME, startFleetHarness, tableRows } from "./fleet-harness.js";
import type { Harness } from "./harness.js";

/**
 * Issue 13: docs/iam/cws-cli-policy.json lets cws create only what carries
 * `cws:managed-by=cws` in the creating request itself (aws:RequestTag), and
 * launch only with the cws-ami-builder profile. So this test reads the
 * requests as AWS would receive them, from the emulator's request log, not
 * what the resources end up tagged with (a tag added afterwards by CreateTags
 * would satisfy that, and be denied by the policy). The built CLI runs a
 * build, its dry run, and a build-all that copies to three other regions.
 */
const MANAGED = { "cws:managed-by": "cws" };
const BUILDER_PROFILE = "cws-ami-builder";

/** What each creating call must tag in the request, per resource type (TagSpecifications). */
const CREATED_BY: Record<string, readonly string[]> = {
  RunInstances: ["instance", "volume"],
  CreateSecurityGroup: ["security-group"],
  CreateImage: ["image", "snapshot"],
  CopyImage: ["image", "snapshot"],
};

let h: Harness;
let logFile: string;
let removeLogFolder: () => void;
beforeAll(async () => {
  const folder = scratchDir();
  removeLogFolder = folder.cleanup;
  logFile = join(folder.dir, "requests.jsonl");
  h = await startFleetHarness({ requestLog: { file: logFile, inMemory: false } });
});
afterAll(async () => {
  await h?.close();
  removeLogFolder?.();
});

/** Runs cws and returns what it sent to AWS: the lines the log gained meanwhile. */
async function cwsCalls(args: string[]) {
  const before = readRequestLog(logFile).length;
  const result = await h.cws(args);
  return { result, calls: readRequestLog(logFile).slice(before).filter((call) => call.service === "ec2") };
}

/**
 * Every call that makes something is one of those above and tags what the policy asks at creation; CreateTags
 * never adds `cws:managed-by` to a resource that exists (the policy would deny it, and a resource created
 * without it would have been denied first). Returns the calls per action, for counting.
 */
function expectTaggedAtCreation(calls: RequestRecord[]): Record<string, RequestRecord[]> {
  const byAction: Record<string, RequestRecord[]> = {};
  for (const call of calls) {
    const action = call.action ?? "";
    (byAction[action] ??= []).push(call);
    const params = queryParams(call);
    const seen = describeCall(call);
    if (action === "CreateTags") {
      expect(Object.keys(tagsAt(params, "Tag")), `CreateTags must not add cws:managed-by after creation: ${seen}`).not.toContain("cws:managed-by");
      continue;
    }
    const resourceTypes = CREATED_BY[action];
    if (resourceTypes === undefined) {
      // A new kind of creating call would need a statement in the policy and a row above.
      expect(action, `a creating call this test does not check: ${seen}`).not.toMatch(/^(Create|Run|Copy|Import|Register|Allocate)/);
      continue;
    }
    // Answered as AWS would (a dry run's DryRunOperation says it would have been allowed).
    expect([200, 412], seen).toContain(call.status);
    const specs = tagSpecifications(params);
    for (const resourceType of resourceTypes) {
      expect(specs.get(resourceType), `${action} must tag the ${resourceType} with cws:managed-by=cws in its TagSpecifications: ${seen}`).toMatchObject(MANAGED);
      // The policy denies a created resource without these exact keys (IAM compares a key's case only through aws:TagKeys).
      expect(Object.keys(specs.get(resourceType) ?? {}), `${action} must tag the ${resourceType} with cws:build-id: ${seen}`).toEqual(expect.arrayContaining(["cws:managed-by", "cws:build-id"]));
    }
    if (action === "RunInstances") {
      expect(params["IamInstanceProfile.Name"], `RunInstances must launch with the ${BUILDER_PROFILE} profile: ${seen}`).toBe(BUILDER_PROFILE);
    }
    if (action === "CopyImage") {
      const from = `${params.SourceRegion}/${params.SourceImageId}`;
      for (const resourceType of resourceTypes) {
        expect(specs.get(resourceType)?.["cws:copied-from"], `CopyImage must tag the ${resourceType} with cws:copied-from=${from}: ${seen}`).toBe(from);
      }
    }
  }
  return byAction;
}

const count = (byAction: Record<string, RequestRecord[]>, action: string) => byAction[action]?.length ?? 0;

describe("every resource cws creates is tagged as the least-privilege policy requires, in the creating request (issue 13)", () => {
  it("cws ami build: the instances, their volumes, the security groups, the image and its snapshots", { timeout: 120_000 }, async () => {
    const { result, calls } = await cwsCalls(["ami", "build", "fleet-base", "--architecture", "x86_64", "--region", HOME, "--verify", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const build = JSON.parse(result.stdout) as { status: string; imageId: string };
    expect(build).toMatchObject({ status: "succeeded", imageId: expect.stringMatching(/^ami-[0-9a-f]+$/) });

    const byAction = expectTaggedAtCreation(calls);
    // The build's instance and the fresh one --verify launches from the image.
    expect(count(byAction, "RunInstances")).toBe(2);
    expect(count(byAction, "CreateSecurityGroup")).toBeGreaterThan(0);
    expect(count(byAction, "CreateImage")).toBe(1);
    // The verdict is tagged afterwards (cws:validated), with other keys only.
    expect(count(byAction, "CreateTags")).toBeGreaterThan(0);
    expect(h.emulator.images(HOME).find((image) => image.id === build.imageId)?.tags).toMatchObject(MANAGED);
  });

  it("cws ami build --dry-run: the permission checks (DryRun) send what the build would", { timeout: 60_000 }, async () => {
    // The launch is asked about only into a cws group of the VPC (src/builder/plan.ts): one a build would have left.
    const ec2 = new EC2Client({ endpoint: h.emulator.url, region: HOME, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const { GroupId: groupId } = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "cws-left-behind", Description: "x", TagSpecifications: [{ ResourceType: "security-group", Tags: [{ Key: "cws:managed-by", Value: "cws" }] }] }),
    );
    const { result, calls } = await cwsCalls(["ami", "build", "fleet-base", "--architecture", "x86_64", "--region", HOME, "--dry-run", "--json"]);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    expect(result.status, result.stderr).toBe(0);
    const byAction = expectTaggedAtCreation(calls);
    expect(byAction.RunInstances?.map((call) => call.error)).toEqual(["DryRunOperation"]);
    expect(queryParams(byAction.RunInstances![0]!)["SecurityGroupId.1"]).toBe(groupId);
    expect(byAction.CreateSecurityGroup?.map((call) => call.error)).toEqual(["DryRunOperation"]);
  });

  it("cws ami build-all: the build in its home region and each copy (image and snapshots, with cws:copied-from)", { timeout: 180_000 }, async () => {
    const { result, calls } = await cwsCalls(["ami", "build-all", "fleet-other", "--architecture", "x86_64"]);
    expect(result.status, result.stderr).toBe(0);
    const rows = tableRows(result.stdout);
    expect(rows.map((row) => `${row.region} ${row.result}`).sort()).toEqual([`ap-southeast-2 copied`, `eu-west-1 copied`, `${HOME} built`, `us-west-2 copied`].sort());
    const built = rows.find((row) => row.result === "built")!;
    expect(built.ami).toMatch(/^ami-[0-9a-f]+$/);

    const byAction = expectTaggedAtCreation(calls);
    expect(count(byAction, "CreateImage")).toBe(1);
    const copies = byAction.CopyImage ?? [];
    // One CopyImage per destination, sent there, of the image built at home.
    expect(copies.map((call) => call.region).sort()).toEqual(["ap-southeast-2", "eu-west-1", "us-west-2"]);
    for (const copy of copies) expect(queryParams(copy), describeCall(copy)).toMatchObject({ SourceRegion: HOME, SourceImageId: built.ami });
    for (const row of rows.filter((r) => r.result === "copied")) {
      expect(h.emulator.images(row.region).find((image) => image.id === row.ami)?.tags).toMatchObject({ ...MANAGED, "cws:copied-from": `${HOME}/${built.ami}` });
    }
  });
});
