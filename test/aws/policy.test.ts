/**
 * Keeps docs/iam/cws-cli-policy.json in step with the code: every AWS API the
 * source calls must be allowed, and nothing else may be (least privilege).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { VALIDATED_AT_TAG } from "../../src/registry/aws-images.js";
import { actionsUsedIn, sdkCallsUnder } from "../helpers/sdk-calls.js";

const POLICY_PATH = join(ROOT, "docs/iam/cws-cli-policy.json");

/**
 * Permissions AWS checks on top of an API call's own action, keyed by that
 * action. They appear in no `new XxxCommand(`, so they are listed here.
 */
const IMPLIED: Record<string, { action: string; why: string }[]> = {
  "ec2:RunInstances": [
    { action: "iam:PassRole", why: "launching with an instance profile passes its role to EC2" },
    { action: "ec2:CreateTags", why: "TagSpecifications on launch" },
  ],
  "ec2:CreateImage": [{ action: "ec2:CreateTags", why: "TagSpecifications on the image and its snapshots" }],
  "ec2:CopyImage": [{ action: "ec2:CreateTags", why: "TagSpecifications on the copy and its snapshots" }],
  "ec2:CreateSecurityGroup": [{ action: "ec2:CreateTags", why: "TagSpecifications on the group" }],
  "iam:AddRoleToInstanceProfile": [{ action: "iam:PassRole", why: "AWS requires PassRole on the role being added" }],
  "iam:CreateRole": [{ action: "iam:TagRole", why: "creating a role with Tags" }],
  "iam:CreateInstanceProfile": [{ action: "iam:TagInstanceProfile", why: "creating an instance profile with Tags" }],
};

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface Policy {
  Version: string;
  Statement: Statement[];
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

const policy = JSON.parse(readFileSync(POLICY_PATH, "utf8")) as Policy;
const granted = new Set(policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action)));
const statementsFor = (action: string) => policy.Statement.filter((s) => s.Effect === "Allow" && list(s.Action).includes(action));

const scanned = sdkCallsUnder(join(ROOT, "src"), ROOT);
const used = scanned.uses;
const usedActions = new Set(used.map((u) => u.action));
const required = new Map<string, string>(); // action → why
for (const use of used) required.set(use.action, `called in ${use.file}`);
for (const action of usedActions) {
  for (const implied of IMPLIED[action] ?? []) if (!required.has(implied.action)) required.set(implied.action, `${implied.why} (${action})`);
}

describe("the source scanner", () => {
  it("finds commands and paginators, through aliases, and only from SDK client packages", () => {
    const source = `
      import { RunInstancesCommand, EC2Client, type Image, paginateDescribeImages } from "@aws-sdk/client-ec2";
      import { SendCommandCommand as Send } from "@aws-sdk/client-ssm";
      import type { GetRoleCommand } from "@aws-sdk/client-iam";
      import { LocalCommand } from "./local.js";
      import { Command } from "commander";
      new EC2Client({});
      await client.send(new RunInstancesCommand({ MinCount: 1 }));
      await client.send(new  Send ({}));
      for await (const page of paginateDescribeImages({ client }, {})) void page;
      new LocalCommand();
      new Command("cws");
    `;
    const { uses, unresolved } = actionsUsedIn(source, "x.ts");
    expect(uses.map((u) => u.action).sort()).toEqual(["ec2:DescribeImages", "ec2:RunInstances", "ssm:SendCommand"]);
    expect(unresolved).toEqual(["x.ts: LocalCommand"]);
    expect(actionsUsedIn(`import { Command } from "commander"; new Command(); new FooCommand();`, "cli.ts").unresolved).toEqual([]);
  });

  it("resolves every command class in src to an SDK client package", () => {
    expect(scanned.unresolved).toEqual([]);
  });

  it("sees the adapters' calls (so an empty scan cannot pass for a clean one)", () => {
    for (const action of ["ec2:RunInstances", "ec2:DescribeImages", "ssm:SendCommand", "ssm:GetCommandInvocation", "sts:GetCallerIdentity", "iam:AddRoleToInstanceProfile"]) {
      expect(usedActions).toContain(action);
    }
  });
});

describe("docs/iam/cws-cli-policy.json", () => {
  it("is a valid policy document: 2012-10-17, unique Sids, no wildcard actions, Deny only to pin tag keys and copy sources", () => {
    expect(policy.Version).toBe("2012-10-17");
    const sids = policy.Statement.map((s) => s.Sid);
    expect(sids.every((sid) => typeof sid === "string" && /^[A-Za-z0-9]+$/.test(sid))).toBe(true);
    expect(new Set(sids).size).toBe(sids.length);
    expect(policy.Statement.filter((s) => s.Effect === "Deny").map((s) => s.Sid)).toEqual([
      "CreatedResourcesCarryManagedByExactly",
      "CreatedResourcesCarryTheirBuildId",
      "CopyOnlyFromThisAccount",
      "NoCaseTwinsOfCwsTagKeys",
    ]);
    for (const statement of policy.Statement) {
      expect(["Allow", "Deny"]).toContain(statement.Effect);
      expect(list(statement.Resource).length).toBeGreaterThan(0);
      for (const action of list(statement.Action)) expect(action).toMatch(/^(ec2|ssm|sts|iam):[A-Z][A-Za-z]+$/);
    }
  });

  it("grants every action the code calls", () => {
    const missing = [...required].filter(([action]) => !granted.has(action)).map(([action, why]) => `${action} (${why})`);
    expect(missing, `add to ${relative(ROOT, POLICY_PATH)}:\n${missing.join("\n")}`).toEqual([]);
  });

  it("grants nothing the code does not call (least privilege)", () => {
    const unused = [...granted].filter((action) => !required.has(action)).sort();
    expect(unused, `no code calls these; remove them from ${relative(ROOT, POLICY_PATH)} or add the call:\n${unused.join("\n")}`).toEqual([]);
  });

  it("passes only the builder role, and only to EC2 (bootstrap: to EC2 or where AWS names no service)", () => {
    const statements = statementsFor("iam:PassRole");
    expect(statements.map((s) => s.Sid).sort()).toEqual(["BootstrapPassBuilderRoleIntoProfile", "PassBuilderRoleToEc2"]);
    const pass = statements.find((s) => s.Sid === "PassBuilderRoleToEc2");
    const bootstrap = statements.find((s) => s.Sid === "BootstrapPassBuilderRoleIntoProfile");
    expect(pass?.Resource).toBe("arn:aws:iam::*:role/cws-ami-builder");
    expect(pass?.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } });
    // AddRoleToInstanceProfile's PassRole check may carry no iam:PassedToService (AWS does not say).
    expect(bootstrap?.Sid).toBe("BootstrapPassBuilderRoleIntoProfile");
    expect(bootstrap?.Resource).toBe("arn:aws:iam::*:role/cws-ami-builder");
    expect(bootstrap?.Condition).toEqual({ StringEqualsIfExists: { "iam:PassedToService": "ec2.amazonaws.com" } });
  });

  it("tags only while creating (with exactly the calls that tag what they create), or marks cws images validated", () => {
    const conditions = statementsFor("ec2:CreateTags").map((s) => s.Condition);
    expect(conditions).toHaveLength(2);
    const creating = [...usedActions]
      .filter((action) => (IMPLIED[action] ?? []).some((implied) => implied.action === "ec2:CreateTags"))
      .map((action) => action.replace(/^ec2:/, ""))
      .sort();
    expect(creating).toEqual(["CopyImage", "CreateImage", "CreateSecurityGroup", "RunInstances"]);
    expect(conditions).toContainEqual({ StringEquals: { "ec2:CreateAction": creating } });
    // After creation cws only records a validation verdict (tagImageAndSnapshots in src/builder).
    expect(conditions).toContainEqual({
      StringEquals: { "aws:ResourceTag/cws:managed-by": "cws" },
      "ForAllValues:StringEquals": { "aws:TagKeys": ["cws:validated", VALIDATED_AT_TAG] },
    });
  });

  it("stops and deletes only resources tagged cws:managed-by=cws", () => {
    for (const action of ["ec2:StopInstances", "ec2:TerminateInstances", "ec2:DeleteSecurityGroup", "ec2:DeregisterImage", "ec2:DeleteSnapshot", "ec2:EnableImageDeprecation"]) {
      const statements = statementsFor(action);
      expect(statements.length, action).toBeGreaterThan(0);
      for (const s of statements) expect(s.Condition, action).toEqual({ StringEquals: { "aws:ResourceTag/cws:managed-by": "cws" } });
    }
  });

  it("runs shell scripts only through AWS-RunShellScript, on cws instances", () => {
    const resources = statementsFor("ssm:SendCommand").map((s) => ({ resource: s.Resource, condition: s.Condition }));
    expect(resources).toEqual([
      { resource: "arn:aws:ssm:*:*:document/AWS-RunShellScript", condition: undefined },
      { resource: "arn:aws:ec2:*:*:instance/*", condition: { StringEquals: { "ssm:resourceTag/cws:managed-by": "cws" } } },
    ]);
  });

  it("changes IAM only for the builder role and profile, and attaches only the SSM core policy", () => {
    for (const statement of policy.Statement.filter((s) => list(s.Action).some((a) => a.startsWith("iam:")))) {
      for (const resource of list(statement.Resource)) {
        expect(["arn:aws:iam::*:role/cws-ami-builder", "arn:aws:iam::*:instance-profile/cws-ami-builder"]).toContain(resource);
      }
    }
    expect(statementsFor("iam:AttachRolePolicy").map((s) => s.Condition)).toEqual([
      { ArnEquals: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } },
    ]);
  });
});

describe("docs/iam/cws-ci-policy.json (the pipeline's: no bootstrap)", () => {
  const ci = JSON.parse(readFileSync(join(ROOT, "docs/iam/cws-ci-policy.json"), "utf8")) as Policy;

  it("is the CLI policy without the statements whose Sid starts with Bootstrap", () => {
    const bootstrap = policy.Statement.filter((s) => s.Sid?.startsWith("Bootstrap"));
    expect(bootstrap.map((s) => s.Sid)).toEqual([
      "BootstrapReadBuilderRole",
      "BootstrapBuilderRole",
      "BootstrapSsmPolicyOnly",
      "BootstrapBuilderInstanceProfile",
      "BootstrapBuilderRoleIntoProfile",
      "BootstrapPassBuilderRoleIntoProfile",
    ]);
    expect(ci).toEqual({ Version: policy.Version, Statement: policy.Statement.filter((s) => !s.Sid?.startsWith("Bootstrap")) });
  });

  it("grants every action the code calls outside bootstrap, and no IAM write", () => {
    const ciGranted = new Set(ci.Statement.flatMap((s) => list(s.Action)));
    const outsideBootstrap = new Set(used.filter((u) => !u.file.startsWith("src/bootstrap/") && !u.file.endsWith("src/aws/iam.ts")).map((u) => u.action));
    for (const action of outsideBootstrap) for (const implied of IMPLIED[action] ?? []) outsideBootstrap.add(implied.action);
    // The IAM adapter serves both: of its calls, builds use GetInstanceProfile (preflight).
    outsideBootstrap.add("iam:GetInstanceProfile");
    expect([...outsideBootstrap].filter((action) => !ciGranted.has(action)).sort()).toEqual([]);
    expect([...ciGranted].filter((action) => /^iam:(Create|Add|Attach|Tag|Put|Update|Delete)/.test(action)).sort()).toEqual([]);
  });
});

describe("the IAM evaluator stays a test tool", () => {
  it("is a devDependency that nothing shipped imports (it is AGPL-licensed)", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {}).filter((name) => name.startsWith("@cloud-copilot/"))).toEqual([]);
    expect(pkg.devDependencies?.["@cloud-copilot/iam-simulate"]).toBeDefined();
    const shipped = ["src", "bin"].flatMap((dir) =>
      (readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true }) as { name: string; parentPath: string; isFile(): boolean }[])
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name)),
    );
    expect(shipped.length).toBeGreaterThan(50);
    const importers = shipped.filter((file) => readFileSync(file, "utf8").includes("@cloud-copilot/"));
    expect(importers.map((file) => relative(ROOT, file))).toEqual([]);
  });
});
