import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { everyCommand } from "../helpers/commands.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";
import { startHarness } from "./harness.js";

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

describe("a profile that is not there (built CLI, emulator)", () => {
  it("--profile naming no profile of the shared files exits 2 naming it and the files, for every command that takes it, before any AWS call; the SDK's own warning never shows", { timeout: 120_000 }, async () => {
    const h = await startHarness();
    try {
      const { dir: files, cleanup: done } = scratchDir({
        config: "[default]\nregion = us-east-1\n\n[profile dev]\nregion = us-east-1\n",
        "home/.aws/credentials": "[dev]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = secret\n",
      });
      try {
        const config = join(files, "config");
        const credentials = join(files, "home", ".aws", "credentials");
        // Keys in the environment too (the harness's): with a profile named, the SDK printed 9 lines of WARNING about them.
        const env = { HOME: join(files, "home"), AWS_CONFIG_FILE: config, AWS_EC2_METADATA_DISABLED: "true" };
        const withProfile = everyCommand().filter(({ spec }) => spec.options?.some((o) => o.value === "profile"));
        expect(withProfile.map(({ words }) => words.join(" "))).toEqual(expect.arrayContaining(["ami reap", "ami cleanup", "ami validate", "ami build", "ami list", "config"]));
        for (const { words, spec } of withProfile) {
          const args = [...words, ...(spec.arguments ?? []).filter((a) => a.syntax.startsWith("<")).map(() => "emu-basic"), "--profile", "nosuch"];
          const result = await h.cws(args, { env });
          expect(result.status, args.join(" ")).toBe(2);
          expect(result.stderr, args.join(" ")).toBe(
            `error: --profile "nosuch": no such profile in ${config} (AWS_CONFIG_FILE) or ${credentials}\n` +
              "  → aws configure list-profiles lists the profiles there; create it with aws configure --profile nosuch (or aws configure sso), or name another\n",
          );
        }
        expect(h.emulator.stats.totalCalls).toBe(0);

        // A profile that is there: used, with no warning about the keys beside it.
        const dev = await h.cws(["ami", "reap", "--dry-run", "--region", "us-east-1", "--profile", "dev"], { env });
        expect(dev.status, dev.stderr).toBe(0);
        expect(dev.stderr).not.toMatch(/WARNING|Multiple credential sources/);
        const fromEnv = await h.cws(["ami", "reap", "--dry-run", "--region", "us-east-1"], { env: { ...env, AWS_PROFILE: "dev" } });
        expect(fromEnv.status, fromEnv.stderr).toBe(0);
        expect(fromEnv.stderr).not.toMatch(/WARNING|Multiple credential sources/);

        // AWS_PROFILE naming a profile that is not there is left to the SDK (an instance's role may still answer), whose failure names it.
        const ghost = await h.cws(["ami", "reap", "--dry-run", "--region", "us-east-1"], { env: { ...env, AWS_PROFILE: "ghost" } });
        expect(ghost.status).toBe(2);
        expect(ghost.stderr).not.toMatch(/WARNING|Multiple credential sources/);
        expect(ghost.stderr).toMatch(/\nerror: AWS credentials of profile ghost are missing, expired or not accepted \(Describe\w+\): CredentialsProviderError: .*\n {2}→ aws configure list --profile ghost shows where its credentials come from;/);
      } finally {
        done();
      }
    } finally {
      await h.close();
    }
  });
});
