import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProfile, readSharedConfig } from "../../src/aws/shared-config.js";
import { awsClientProfile, checkProfileExists, describeRegionSource, resolveAwsContext, sharedConfigFile, sharedCredentialsFile, type Env, type SharedConfigReader } from "../../src/config/aws-context.js";
import { CwsError } from "../../src/errors.js";

/** A home directory whose ~/.aws/config has a default and a dev profile, and another config file elsewhere. */
const CONFIG = `# comments and other settings are the SDK loader's business
[default]
region = us-west-2
output = json

[profile dev]
region = eu-west-1

[profile no-region]
output = text
`;
const OTHER_CONFIG = "[default]\nregion = ap-south-1\n\n[profile dev]\nregion = ca-central-1\n";

let root: string;
let home: string;
let homeConfig: string;
let other: string;
let emptyHome: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "cws-aws-context-"));
  home = join(root, "home");
  homeConfig = join(home, ".aws", "config");
  mkdirSync(join(home, ".aws"), { recursive: true });
  writeFileSync(homeConfig, CONFIG);
  other = join(root, "other-config");
  writeFileSync(other, OTHER_CONFIG);
  emptyHome = join(root, "empty-home");
  mkdirSync(emptyHome);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Row {
  name: string;
  flags?: { region?: string; profile?: string };
  env: () => Env;
  templateRegions?: string[];
  expected: { profile: string; profileFrom: string; region: string; regionFrom: string; configFile?: () => string };
  /** Whether the shared config file had to be read. */
  reads: boolean;
}

const home_ = () => ({ HOME: home });

const rows: Row[] = [
  { name: "--region wins over everything", flags: { region: "ca-central-1" }, env: () => ({ ...home_(), AWS_REGION: "us-east-2", AWS_DEFAULT_REGION: "us-east-1" }), templateRegions: ["sa-east-1"], expected: { profile: "default", profileFrom: "default", region: "ca-central-1", regionFrom: "--region" }, reads: false },
  { name: "AWS_REGION over AWS_DEFAULT_REGION and the profile", env: () => ({ ...home_(), AWS_REGION: "us-east-2", AWS_DEFAULT_REGION: "us-east-1" }), expected: { profile: "default", profileFrom: "default", region: "us-east-2", regionFrom: "AWS_REGION" }, reads: false },
  { name: "AWS_DEFAULT_REGION over the profile", env: () => ({ ...home_(), AWS_DEFAULT_REGION: "us-east-1" }), expected: { profile: "default", profileFrom: "default", region: "us-east-1", regionFrom: "AWS_DEFAULT_REGION" }, reads: false },
  { name: "the default profile's region in ~/.aws/config", env: home_, expected: { profile: "default", profileFrom: "default", region: "us-west-2", regionFrom: "config file", configFile: () => homeConfig }, reads: true },
  { name: "AWS_PROFILE selects [profile dev]", env: () => ({ ...home_(), AWS_PROFILE: "dev" }), expected: { profile: "dev", profileFrom: "AWS_PROFILE", region: "eu-west-1", regionFrom: "config file", configFile: () => homeConfig }, reads: true },
  { name: "--profile over AWS_PROFILE", flags: { profile: "default" }, env: () => ({ ...home_(), AWS_PROFILE: "dev" }), expected: { profile: "default", profileFrom: "--profile", region: "us-west-2", regionFrom: "config file", configFile: () => homeConfig }, reads: true },
  { name: "the profile's region over the template's only region", env: home_, templateRegions: ["sa-east-1"], expected: { profile: "default", profileFrom: "default", region: "us-west-2", regionFrom: "config file", configFile: () => homeConfig }, reads: true },
  { name: "AWS_CONFIG_FILE is honoured", env: () => ({ ...home_(), AWS_CONFIG_FILE: other, AWS_PROFILE: "dev" }), expected: { profile: "dev", profileFrom: "AWS_PROFILE", region: "ca-central-1", regionFrom: "config file", configFile: () => other }, reads: true },
  { name: "AWS_CONFIG_FILE with ~/ is in HOME", env: () => ({ HOME: root, AWS_CONFIG_FILE: "~/other-config" }), expected: { profile: "default", profileFrom: "default", region: "ap-south-1", regionFrom: "config file", configFile: () => other }, reads: true },
  { name: "a profile without a region falls through to the template's only region", env: () => ({ ...home_(), AWS_PROFILE: "no-region" }), templateRegions: ["sa-east-1"], expected: { profile: "no-region", profileFrom: "AWS_PROFILE", region: "sa-east-1", regionFrom: "template", configFile: () => homeConfig }, reads: true },
  { name: "a profile missing from the file falls through to the template's only region", env: () => ({ ...home_(), AWS_PROFILE: "nobody" }), templateRegions: ["sa-east-1"], expected: { profile: "nobody", profileFrom: "AWS_PROFILE", region: "sa-east-1", regionFrom: "template", configFile: () => homeConfig }, reads: true },
  { name: "no config file at all: the template's only region", env: () => ({ HOME: emptyHome }), templateRegions: ["sa-east-1"], expected: { profile: "default", profileFrom: "default", region: "sa-east-1", regionFrom: "template", configFile: () => join(emptyHome, ".aws", "config") }, reads: true },
  {
    name: "empty strings are unset: --region, AWS_REGION, AWS_DEFAULT_REGION, --profile, AWS_PROFILE, AWS_CONFIG_FILE",
    flags: { region: "", profile: "" },
    env: () => ({ ...home_(), AWS_REGION: "", AWS_DEFAULT_REGION: "", AWS_PROFILE: "", AWS_CONFIG_FILE: "" }),
    expected: { profile: "default", profileFrom: "default", region: "us-west-2", regionFrom: "config file", configFile: () => homeConfig },
    reads: true,
  },
  { name: "an empty AWS_REGION leaves AWS_DEFAULT_REGION", env: () => ({ ...home_(), AWS_REGION: "", AWS_DEFAULT_REGION: "us-east-1" }), expected: { profile: "default", profileFrom: "default", region: "us-east-1", regionFrom: "AWS_DEFAULT_REGION" }, reads: false },
  { name: "an empty --profile leaves AWS_PROFILE", flags: { profile: "" }, env: () => ({ ...home_(), AWS_PROFILE: "dev" }), expected: { profile: "dev", profileFrom: "AWS_PROFILE", region: "eu-west-1", regionFrom: "config file", configFile: () => homeConfig }, reads: true },
];

/** The real reader (the SDK's loader), counting its calls. */
function countingReader(): { read: SharedConfigReader; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    read: (file) => {
      calls.push(file);
      return readSharedConfig(file);
    },
  };
}

describe("resolveAwsContext: profile and region as the AWS CLI resolves them", () => {
  it.each(rows)("$name", async (row) => {
    const reader = countingReader();
    const context = await resolveAwsContext(row.flags ?? {}, row.env(), { readSharedConfig: reader.read, ...(row.templateRegions ? { templateRegions: row.templateRegions } : {}) });
    const { configFile, ...expected } = row.expected;
    expect(context).toEqual({ ...expected, ...(configFile ? { configFile: configFile() } : {}) });
    expect(reader.calls).toEqual(row.reads ? [configFile!()] : []);
  });

  it("without a region lookup, resolves the profile alone and reads nothing", async () => {
    const reader = countingReader();
    expect(await resolveAwsContext({}, { HOME: home })).toEqual({ profile: "default", profileFrom: "default" });
    expect(await resolveAwsContext({ profile: "" }, { HOME: home, AWS_PROFILE: "dev", AWS_REGION: "us-east-1" })).toEqual({ profile: "dev", profileFrom: "AWS_PROFILE" });
    expect(await resolveAwsContext({ profile: "ci" }, { AWS_PROFILE: "dev" })).toEqual({ profile: "ci", profileFrom: "--profile" });
    expect(reader.calls).toEqual([]);
  });

  const missing: { name: string; env: () => Env; templateRegions?: string[]; says: () => string }[] = [
    { name: "the profile has no region", env: () => ({ HOME: home, AWS_PROFILE: "no-region" }), says: () => `(looked at profile no-region in ${homeConfig}: no region there)` },
    { name: "the profile is not in the file", env: () => ({ HOME: home, AWS_PROFILE: "nobody" }), templateRegions: ["us-east-1", "us-west-2"], says: () => `(looked at profile nobody in ${homeConfig}: no such profile)` },
    { name: "there is no config file", env: () => ({ HOME: emptyHome, AWS_REGION: "" }), says: () => `(looked at profile default in ${join(emptyHome, ".aws", "config")}: no such file)` },
    { name: "AWS_CONFIG_FILE names a missing file", env: () => ({ HOME: home, AWS_CONFIG_FILE: join(root, "nope") }), says: () => `(looked at profile default in ${join(root, "nope")}: no such file)` },
  ];
  it.each(missing)("a missing region is a usage error naming the profile and file: $name", async (row) => {
    const error = await resolveAwsContext({}, row.env(), { readSharedConfig, ...(row.templateRegions ? { templateRegions: row.templateRegions } : {}) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({ code: "REGION_REQUIRED", exitCode: 2 });
    expect((error as CwsError).message).toBe(`no region: pass --region or set AWS_REGION ${row.says()}`);
  });

  it("suggests setting the region for the profile at fault, or what the command says", async () => {
    const dev = await resolveAwsContext({ profile: "nobody" }, { HOME: home }, { readSharedConfig }).catch((e: unknown) => e as CwsError);
    expect(dev).toMatchObject({ suggestion: "give the profile a region: aws configure set region us-east-1 --profile nobody" });
    const own = await resolveAwsContext({}, { HOME: emptyHome }, { readSharedConfig, suggestion: "e.g. --region us-east-1" }).catch((e: unknown) => e as CwsError);
    expect(own).toMatchObject({ suggestion: "e.g. --region us-east-1" });
  });
});

describe("around the resolver", () => {
  it("finds the shared config file as the SDK does", () => {
    expect(sharedConfigFile({ HOME: "/h" })).toBe(join("/h", ".aws", "config"));
    expect(sharedConfigFile({ HOME: "/h", AWS_CONFIG_FILE: "/etc/aws.conf" })).toBe("/etc/aws.conf");
    expect(sharedConfigFile({ HOME: "/h", AWS_CONFIG_FILE: "" })).toBe(join("/h", ".aws", "config"));
    expect(sharedConfigFile({ HOME: "", USERPROFILE: "/u" })).toBe(join("/u", ".aws", "config"));
    expect(sharedConfigFile({})).toBe("~/.aws/config");
  });

  it("finds the shared credentials file as the SDK does", () => {
    expect(sharedCredentialsFile({ HOME: "/h" })).toBe(join("/h", ".aws", "credentials"));
    expect(sharedCredentialsFile({ HOME: "/h", AWS_SHARED_CREDENTIALS_FILE: "/etc/keys", AWS_CONFIG_FILE: "/etc/aws.conf" })).toBe("/etc/keys");
    expect(sharedCredentialsFile({})).toBe("~/.aws/credentials");
  });

  it("knows a --profile from either shared file, as the SDK reads them, and names the profile and the files when neither has it", async () => {
    const keys = join(root, "credentials");
    writeFileSync(keys, "[ci]\naws_access_key_id = AKIA\naws_secret_access_key = s\n[profile dev2]\naws_access_key_id = AKIA\n");
    const env = { HOME: home, AWS_SHARED_CREDENTIALS_FILE: keys };
    for (const profile of ["default", "dev", "no-region", "ci"]) await expect(checkProfileExists(profile, env, findProfile), profile).resolves.toBeUndefined();
    // `[profile dev2]` names a profile in the config file only; `[ci]` in the credentials file only; `constructor` is no profile.
    for (const profile of ["dev2", "nosuch", "constructor"]) {
      const error = await checkProfileExists(profile, env, findProfile).catch((e: unknown) => e);
      expect(error, profile).toBeInstanceOf(CwsError);
      expect(error, profile).toMatchObject({ code: "NO_SUCH_PROFILE", value: profile, exitCode: 2, message: `--profile "${profile}": no such profile in ${homeConfig} or ${keys} (AWS_SHARED_CREDENTIALS_FILE)` });
    }
    await expect(checkProfileExists("dev", { HOME: emptyHome, AWS_CONFIG_FILE: join(root, "nowhere") }, findProfile)).rejects.toMatchObject({
      message: `--profile "dev": no such profile in ${join(root, "nowhere")} (AWS_CONFIG_FILE; no such file) or ${join(emptyHome, ".aws", "credentials")} (no such file)`,
      suggestion: "aws configure list-profiles lists the profiles there; create it with aws configure --profile dev (or aws configure sso), or name another",
    });
  });

  it("reads a ~/ path in the home the SDK finds, when the command's environment had none", async () => {
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      expect(await readSharedConfig("~/.aws/config")).toMatchObject({ default: { region: "us-west-2" }, dev: { region: "eu-west-1" } });
    } finally {
      process.env.HOME = saved;
    }
  });

  it("gives the SDK a profile only when one was named (a profile makes the SDK ignore keys in the environment)", () => {
    expect(awsClientProfile({ profile: "default", profileFrom: "default" })).toEqual({});
    expect(awsClientProfile({ profile: "default", profileFrom: "--profile" })).toEqual({ profile: "default" });
    expect(awsClientProfile({ profile: "dev", profileFrom: "AWS_PROFILE" })).toEqual({ profile: "dev" });
  });

  it("says where a region came from", () => {
    const base = { profile: "dev", profileFrom: "AWS_PROFILE" } as const;
    expect(describeRegionSource({ ...base, region: "eu-west-1", regionFrom: "config file", configFile: "/h/.aws/config" })).toBe("profile dev in /h/.aws/config");
    expect(describeRegionSource({ ...base, region: "eu-west-1", regionFrom: "AWS_DEFAULT_REGION" })).toBe("AWS_DEFAULT_REGION");
    expect(describeRegionSource({ ...base, region: "eu-west-1", regionFrom: "template" })).toBe("the template's only region");
  });
});
