import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/**
 * The built CLI picks its region as the AWS CLI would, from a home directory
 * of its own: `[default]` and `[profile dev]` in ~/.aws/config, and another
 * config file for AWS_CONFIG_FILE. The template builds in all of their regions
 * but ap-south-1, so each answer shows which one was taken.
 */
const TEMPLATE = VALID_TEMPLATE.replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-west-2, eu-west-1]");

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = scratchDir({
    "templates/multi.yml": TEMPLATE,
    "home/.aws/config": "[default]\nregion = us-west-2\n\n[profile dev]\nregion = eu-west-1\n\n[profile far]\nregion = ap-south-1\n",
    "elsewhere/config": "[default]\nregion = us-east-1\n",
    "home/.aws/mars": "[default]\nregion = mars-1\n",
    // rollback reads the registry before it needs a region.
    "registry/amis.json": JSON.stringify(registryWith({ multi: { "us-east-1": { x86_64: record("ami-0123456789abcdef0", "2026-01-01T00:00:00Z") } } })),
  }));
});
afterAll(() => cleanup());

/** `cws ami build multi --dry-run`, offline: a home with no credentials, and no instance metadata to ask. */
function dryRun(env: Record<string, string> = {}, args: string[] = []) {
  return runCli(["ami", "build", "multi", "--architecture", "x86_64", "--dry-run", ...args], {
    cwd: dir,
    env: { HOME: join(dir, "home"), AWS_EC2_METADATA_DISABLED: "true", ...env },
  });
}

describe("the region from the shared config file (built CLI, offline dry run)", () => {
  it("takes the default profile's region from ~/.aws/config", () => {
    const result = dryRun();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Plan for multi v1.0.0 (x86_64, us-west-2)");
  });

  it("takes [profile dev]'s region with AWS_PROFILE=dev, and --profile over AWS_PROFILE", () => {
    expect(dryRun({ AWS_PROFILE: "dev" }).stdout).toContain("(x86_64, eu-west-1)");
    expect(dryRun({ AWS_PROFILE: "dev" }, ["--profile", "default"]).stdout).toContain("(x86_64, us-west-2)");
  });

  it("honours AWS_CONFIG_FILE", () => {
    const result = dryRun({ AWS_CONFIG_FILE: join(dir, "elsewhere", "config") });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("(x86_64, us-east-1)");
  });

  it("puts --region, AWS_REGION and AWS_DEFAULT_REGION first, and counts an empty one as unset", () => {
    expect(dryRun({ AWS_REGION: "us-east-1" }, ["--region", "eu-west-1"]).stdout).toContain("(x86_64, eu-west-1)");
    expect(dryRun({ AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "eu-west-1" }).stdout).toContain("(x86_64, us-east-1)");
    expect(dryRun({ AWS_REGION: "", AWS_DEFAULT_REGION: "eu-west-1" }).stdout).toContain("(x86_64, eu-west-1)");
    expect(dryRun({ AWS_REGION: "", AWS_DEFAULT_REGION: "", AWS_PROFILE: "" }).stdout).toContain("(x86_64, us-west-2)");
  });

  it("says where a region the template does not build came from", () => {
    const result = dryRun({ AWS_PROFILE: "far" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`multi is not built in ap-south-1 (from profile far in ${join(dir, "home", ".aws", "config")}; regions: us-east-1, us-west-2, eu-west-1)`);
  });

  it("without a region anywhere, names the profile and the file it looked at (build, bootstrap, rollback)", () => {
    const config = join(dir, "home", ".aws", "config");
    const build = dryRun({ AWS_PROFILE: "ci" });
    expect(build.status).toBe(2);
    expect(build.stderr).toContain(`no region: pass --region or set AWS_REGION (looked at profile ci in ${config}: no such profile)`);
    const env = { HOME: join(dir, "nowhere"), AWS_EC2_METADATA_DISABLED: "true" };
    const missing = `no region: pass --region or set AWS_REGION (looked at profile default in ${join(dir, "nowhere", ".aws", "config")}: no such file)`;
    for (const args of [["ami", "bootstrap"], ["ami", "rollback", "multi", "--architecture", "x86_64"]]) {
      const result = runCli(args, { cwd: dir, env });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain(missing);
    }
  });

  it("refuses a region that is not one wherever it came from, naming where, before any AWS call (build, bootstrap, rollback, config)", () => {
    const home = join(dir, "home");
    const sources: [Record<string, string>, string][] = [
      [{ AWS_REGION: "us-esat-1" }, '"us-esat-1" (from AWS_REGION) is not an AWS region (did you mean "us-east-1"?)'],
      [{ AWS_DEFAULT_REGION: "mars-1" }, '"mars-1" (from AWS_DEFAULT_REGION) is not an AWS region'],
      [{ AWS_CONFIG_FILE: join(home, ".aws", "mars") }, `"mars-1" (from profile default in ${join(home, ".aws", "mars")}) is not an AWS region`],
    ];
    for (const args of [["ami", "build", "multi", "--arch", "x86_64", "--dry-run"], ["ami", "bootstrap"], ["ami", "rollback", "multi"], ["config"]]) {
      for (const [env, message] of sources) {
        const result = runCli(args, { cwd: dir, env: { HOME: home, AWS_EC2_METADATA_DISABLED: "true", ...env } });
        expect(result.status, `${args.join(" ")} ${JSON.stringify(env)}`).toBe(2);
        expect(result.stderr, `${args.join(" ")} ${JSON.stringify(env)}`).toBe(`error: ${message}\n  → fix ${message.slice(message.indexOf("(from ") + 6, message.indexOf(")"))}, or pass --region\n`);
      }
    }
  });
});
