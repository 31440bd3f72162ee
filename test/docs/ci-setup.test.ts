/**
 * docs/ci.md and the OIDC role it sets up: the CloudFormation template is valid (offline, by
 * structure), trusts exactly what docs/ci/github-oidc-trust-policy.json trusts, carries
 * docs/iam/cws-ci-policy.json as it is, and the variables and secrets the workflows read are
 * the ones the guide tells a newcomer to set.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WEEKLY_MAX_AGE } from "../../src/pipeline/plan.js";
import { ROOT } from "../helpers/cli.js";
import {
  checkCiRoleTemplate,
  checkTemplate,
  evaluate,
  parseTemplateYaml,
  type CiRoleExpectations,
  type Evaluation,
  type Json,
} from "../helpers/cloudformation.js";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const TEMPLATE_TEXT = read("docs/ci/github-oidc-role.cfn.yaml");
const TRUST_TEXT = read("docs/ci/github-oidc-trust-policy.json");
const GUIDE = read("docs/ci.md");
const { template, problems: yamlProblems } = parseTemplateYaml(TEMPLATE_TEXT);
const tpl = template as { [key: string]: Json } & { Parameters: Record<string, { AllowedPattern?: string }> };

const ACCOUNT = "123456789012";
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
/** The placeholders the trust policy file is written with. */
const PLACEHOLDERS: Evaluation = {
  parameters: { GitHubOwner: "OWNER", GitHubRepository: "REPO" },
  pseudo: { "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::StackName": "cws-ami-github-actions", "AWS::URLSuffix": "amazonaws.com" },
  attributes: { "GitHubOidcProvider.Arn": PROVIDER },
};
const EXPECTED: CiRoleExpectations = {
  trustPolicy: JSON.parse(TRUST_TEXT) as Json,
  ciPolicy: JSON.parse(read("docs/iam/cws-ci-policy.json")) as Json,
  placeholders: PLACEHOLDERS,
  // Creating the provider or trusting the account's existing one must give the same trust.
  variants: { CreateOidcProvider: ["true", "false"] },
  minSessionSeconds: 21600,
};

describe("the OIDC role's CloudFormation template", () => {
  it("parses as plain YAML, without custom tags, so any YAML parser reads it", () => {
    expect(yamlProblems).toEqual([]);
    expect(parseTemplateYaml("Value: !Sub '${AWS::Region}'\n").problems.join("\n")).toMatch(/the tag !Sub/);
  });

  it("is a valid template: known types and properties, every reference resolves", () => {
    expect(checkTemplate(template)).toEqual([]);
  });

  it("is the role docs/ci.md describes: the trust policy file's trust, the CLI policy, a 6-hour session, its ARN as output", () => {
    expect(checkCiRoleTemplate(template, EXPECTED)).toEqual([]);
  });

  it("with real values, trusts what the trust policy file does after the guide's sed", () => {
    const owner = "octo-org";
    const repository = "cloud-images";
    const account = "210987654321";
    const real: Evaluation = {
      parameters: { GitHubOwner: owner, GitHubRepository: repository },
      pseudo: { ...PLACEHOLDERS.pseudo, "AWS::AccountId": account },
      attributes: { "GitHubOidcProvider.Arn": PROVIDER.replace(ACCOUNT, account) },
    };
    const role = (tpl.Resources as Record<string, { Properties: { AssumeRolePolicyDocument: Json } }>).CwsAmiRole!;
    const fromStack = evaluate(tpl, role.Properties.AssumeRolePolicyDocument, real);
    // The guide's CLI way: sed -e "s/123456789012/$ACCOUNT_ID/" -e "s#repo:OWNER/REPO:#repo:$OWNER/$REPO:#"
    expect(GUIDE).toContain(`sed -e "s/${ACCOUNT}/$ACCOUNT_ID/" -e "s#repo:OWNER/REPO:#repo:$OWNER/$REPO:#"`);
    expect(TRUST_TEXT.split(ACCOUNT)).toHaveLength(2);
    expect(TRUST_TEXT.split("repo:OWNER/REPO:")).toHaveLength(2);
    const fromFile = JSON.parse(TRUST_TEXT.replace(ACCOUNT, account).replace("repo:OWNER/REPO:", `repo:${owner}/${repository}:`)) as Json;
    expect(fromStack).toEqual(fromFile);
  });

  it("its parameters take real owners, repositories and branches, and refuse wildcards", () => {
    const accepts = (name: string, value: string) => new RegExp(`^(?:${tpl.Parameters[name]!.AllowedPattern!})$`).test(value);
    expect(["octo-org", "OWNER", "a"].every((v) => accepts("GitHubOwner", v))).toBe(true);
    expect(["octo-*", "octo/org", "", "-octo"].some((v) => accepts("GitHubOwner", v))).toBe(false);
    expect(["cloud-images", "REPO", "x.github.io", "a_b"].every((v) => accepts("GitHubRepository", v))).toBe(true);
    expect(["*", "cloud images", "a/b", ""].some((v) => accepts("GitHubRepository", v))).toBe(false);
    expect(["main", "release/2.x", "feature_a-b"].every((v) => accepts("Branch", v))).toBe(true);
    expect(["*", "release/*", "ma?n", ""].some((v) => accepts("Branch", v))).toBe(false);
  });
});

/** A template to mutate, reached into freely: a mutation may break any part of its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

/** Each mutation of the template and a piece of what the check must say about it. */
const MUTATIONS: { what: string; mutate: (t: Loose) => void; reported: RegExp }[] = [
  { what: "an unknown Ref", mutate: (t) => (t.Resources.CwsAmiRole.Properties.RoleName = { Ref: "RoleNmae" }), reported: /"RoleNmae" is not a declared parameter or resource/ },
  {
    what: "an unknown name in Fn::Sub",
    mutate: (t) => (t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] = { "Fn::Sub": "repo:${GitHubOrg}/${GitHubRepository}:ref:refs/heads/${Branch}" }),
    reported: /\$\{GitHubOrg\}: "GitHubOrg" is not a declared parameter/,
  },
  { what: "an unknown Fn::GetAtt attribute", mutate: (t) => (t.Outputs.RoleArn.Value = { "Fn::GetAtt": ["CwsAmiRole", "Name"] }), reported: /AWS::IAM::Role has no attribute "Name"/ },
  { what: "a Fn::GetAtt of no resource", mutate: (t) => (t.Outputs.RoleArn.Value = { "Fn::GetAtt": ["CwsRole", "Arn"] }), reported: /"CwsRole" is not a declared resource/ },
  { what: "an undeclared condition in Fn::If", mutate: (t) => (t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Federated["Fn::If"][0] = "CreateTheProvider"), reported: /"CreateTheProvider" is not a declared condition/ },
  { what: "an undeclared resource Condition", mutate: (t) => (t.Resources.GitHubOidcProvider.Condition = "MakeProvider"), reported: /Condition: "MakeProvider" is not a declared condition/ },
  {
    what: "a conditional resource referred to where it may not exist",
    mutate: (t) => (t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Federated = { "Fn::GetAtt": ["GitHubOidcProvider", "Arn"] }),
    reported: /GitHubOidcProvider exists only when CreateProvider holds/,
  },
  { what: "a misspelt intrinsic function", mutate: (t) => (t.Outputs.RoleArn.Value = { "Fn::GetAttr": ["CwsAmiRole", "Arn"] }), reported: /Fn::GetAttr: not an intrinsic function/ },
  { what: "a property the type does not have", mutate: (t) => (t.Resources.CwsAmiRole.Properties.MaxSessionDurationSeconds = 21600), reported: /MaxSessionDurationSeconds: not a property of this type/ },
  { what: "a required property missing", mutate: (t) => delete t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument, reported: /the required property AssumeRolePolicyDocument is missing/ },
  { what: "an inline policy without its name", mutate: (t) => delete t.Resources.CwsAmiRole.Properties.Policies[0].PolicyName, reported: /Policies\[0\]: the required property PolicyName is missing/ },
  { what: "an unknown resource type", mutate: (t) => (t.Resources.GitHubOidcProvider.Type = "AWS::IAM::OpenIDConnectProvider"), reported: /"AWS::IAM::OpenIDConnectProvider" is not a type this check knows/ },
  { what: "a parameter without a Type", mutate: (t) => delete t.Parameters.Branch.Type, reported: /Parameters\.Branch: no Type/ },
  { what: "a String parameter that takes anything", mutate: (t) => delete t.Parameters.GitHubOwner.AllowedPattern, reported: /GitHubOwner: a String parameter needs an AllowedPattern or AllowedValues/ },
  { what: "a default its pattern refuses", mutate: (t) => (t.Parameters.Branch.Default = "release/*"), reported: /Branch\.Default: "release\/\*" does not match its AllowedPattern/ },
  { what: "another format version", mutate: (t) => (t.AWSTemplateFormatVersion = "2010-09-10"), reported: /AWSTemplateFormatVersion/ },
  {
    what: "a policy that differs from docs/iam/cws-ci-policy.json",
    mutate: (t) => t.Resources.CwsAmiRole.Properties.Policies[0].PolicyDocument.Statement[0].Action.pop(),
    reported: /no policy attached to the role equals docs\/iam\/cws-ci-policy\.json \(statements that differ: DescribeForBuilds\)/,
  },
  {
    what: "a StringLike wildcard subject",
    mutate: (t) => {
      const condition = t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition;
      condition.StringLike = { "token.actions.githubusercontent.com:sub": { "Fn::Sub": "repo:${GitHubOwner}/${GitHubRepository}:*" } };
      delete condition.StringEquals["token.actions.githubusercontent.com:sub"];
    },
    reported: /StringLike: only StringEquals[\s\S]*:sub must be one branch of one repository/,
  },
  {
    what: "a trust that differs when the provider already exists",
    mutate: (t) => (t.Resources.CwsAmiRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Federated["Fn::If"][2] = { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/github.com" }),
    reported: /with CreateOidcProvider=false: differs from docs\/ci\/github-oidc-trust-policy\.json/,
  },
  { what: "a session shorter than the workflows ask for", mutate: (t) => (t.Resources.CwsAmiRole.Properties.MaxSessionDuration = 3600), reported: /MaxSessionDuration: 3600; at least 21600/ },
  { what: "no output with the role's ARN", mutate: (t) => delete t.Outputs.RoleArn, reported: /none gives the role's ARN/ },
];

describe("the template check catches", () => {
  it.each(MUTATIONS)("$what", ({ mutate, reported }) => {
    const copy = structuredClone(template) as Loose;
    mutate(copy);
    expect(checkCiRoleTemplate(copy as Json, EXPECTED).join("\n")).toMatch(reported);
  });

  it("and leaves a literal ${!Name} in Fn::Sub alone", () => {
    const copy = structuredClone(template) as Loose;
    copy.Resources.CwsAmiRole.Properties.Description = { "Fn::Sub": "in ${AWS::Region}, not ${!NotAParameter}" };
    expect(checkTemplate(copy as Json)).toEqual([]);
  });
});

/** The `vars.X` and `secrets.X` each workflow reads (GITHUB_TOKEN is GitHub's own, set by nobody). */
function workflowSettings(): Set<string> {
  const dir = join(ROOT, ".github", "workflows");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const match of readFileSync(join(dir, file), "utf8").matchAll(/\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
      if (match[0] !== "secrets.GITHUB_TOKEN") names.add(match[0]);
    }
  }
  return names;
}

describe("docs/ci.md", () => {
  it("has JSON code blocks that parse", () => {
    const blocks = [...GUIDE.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(() => JSON.parse(block) as unknown, block).not.toThrow();
  });

  it("documents every variable and secret the workflows read, and no other", () => {
    const start = GUIDE.indexOf("<!-- ci-settings:start -->");
    const end = GUIDE.indexOf("<!-- ci-settings:end -->");
    expect(start).toBeGreaterThan(0);
    const table = GUIDE.slice(start, end);
    const documented = new Set([...table.matchAll(/^\|[^|]*\|\s*`((?:vars|secrets)\.[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
    expect(documented.size).toBeGreaterThan(0);
    expect([...workflowSettings()].sort()).toEqual([...documented].sort());
  });

  it("says what the workflow runs: each reap and cleanup command as written, the weekly --max-age, jobs by family and architecture", () => {
    const workflow = read(".github/workflows/ami-build.yml");
    const commands = [...workflow.matchAll(/node bin\/cws\.js (ami (?:reap|cleanup)[^|>\n]*?)\s*(?:[|>]|$)/gm)].map((m) => `cws ${m[1]!.trim()}`);
    expect(commands).toContain("cws ami reap --yes --older-than 6h");
    for (const command of new Set(commands)) expect(GUIDE.replace(/\s+/g, " "), command).toContain(`\`${command}\``);
    expect(GUIDE.replace(/\s+/g, " ")).toContain(`--max-age ${WEEKLY_MAX_AGE}`);
    expect(GUIDE).toMatch(/one job per family and architecture/);
    // The registry command with why it matches templates, and the cancel window the reap steps live with.
    const registry = /node bin\/cws\.js (ami update-registry [^|>\n]*?)\s*[|>]/.exec(workflow)![1]!;
    expect(registry).toBe("ami update-registry --all --match-templates");
    expect(GUIDE.replace(/\s+/g, " ")).toContain(`\`cws ${registry}\``);
    expect(GUIDE.replace(/\s+/g, " ")).toMatch(/after a revert, the older image of the reverted-to content is the right one/);
    expect(GUIDE.replace(/\s+/g, " ")).toMatch(/\*\*5 minutes\*\*.*\*\*Force cancel\*\*/);
    expect(GUIDE).not.toMatch(/jobs split by architecture|fewer templates per (run|job)|or per job/);
  });

  it("says what the last-built lookup reads and what moving off main takes", () => {
    const text = GUIDE.replace(/\s+/g, " ");
    const workflow = read(".github/workflows/ami-build.yml");
    const perPage = /status=completed&per_page=(\d+)/.exec(workflow)![1]!;
    expect(text).toContain(`the newest ${perPage} completed runs`);
    expect(text).toContain("**`Branch` alone does not move the pipeline to another branch:**");
    expect(text).toMatch(/`on\.push\.branches`.*`branch=main`.*`MAIN_BRANCH`/);
    expect(read(".github/scripts/plan.mjs")).toContain('const MAIN_BRANCH = "main";');
  });

    it("names only files that exist", () => {
    const paths = new Set([...GUIDE.matchAll(/(?:^|[\s`(/])((?:docs|\.github|templates|registry)\/[\w./-]*\.(?:json|ya?ml|md))/gm)].map((m) => m[1]!));
    expect(paths.size).toBeGreaterThan(0);
    expect([...paths].filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });
});
