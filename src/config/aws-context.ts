/**
 * The one place that decides which AWS profile and region a command uses
 * (after aws-cdk-cli's SdkProvider), the way the AWS CLI decides them:
 *
 *   profile: --profile, else AWS_PROFILE, else cws.config.json's `profile`,
 *            else "default";
 *   region:  --region, else AWS_REGION, else AWS_DEFAULT_REGION, else
 *            cws.config.json's `region`, else the profile's `region` in the
 *            shared config file (AWS_CONFIG_FILE, else ~/.aws/config), else
 *            the template's only region (commands about one template).
 *
 * The project's config file sits after the environment (a session's own
 * choice) and before ~/.aws/config (the person's, not the project's).
 *
 * An empty string counts as unset everywhere (`AWS_REGION= cws …`). This
 * module is pure: the environment is passed in, and so is the reader of the
 * shared config file (the SDK's own loader, in src/aws/shared-config.ts), which
 * is called only when a region is needed and neither a flag nor the
 * environment named one.
 */
import { join } from "node:path";
import { CwsError } from "../errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

export type ProfileSource = "--profile" | "AWS_PROFILE" | "cws.config.json" | "default";
/** "config file" is the AWS shared config file (the profile's region); "cws.config.json" the project's. */
export type RegionSource = "--region" | "AWS_REGION" | "AWS_DEFAULT_REGION" | "cws.config.json" | "config file" | "template";

/** What the project's cws.config.json says about the AWS context, and where it is. */
export interface ProjectAwsConfig {
  file: string;
  profile?: string | undefined;
  region?: string | undefined;
}

/** The flags, and the project config when there is one. */
export interface AwsContextOptions {
  profile?: string | undefined;
  region?: string | undefined;
  project?: ProjectAwsConfig | undefined;
}

/** What every command that calls AWS needs: the profile, and where it came from. */
export interface AwsContext {
  profile: string;
  profileFrom: ProfileSource;
  /** The project's config file, when a value came from it. */
  projectConfig?: string;
}

/** The same, for a command that works in one region. */
export interface AwsRegionContext extends AwsContext {
  region: string;
  regionFrom: RegionSource;
  /** The shared config file, when it was consulted (flags and environment named no region). */
  configFile?: string;
}

/**
 * The profiles of a shared config file by name (`[default]` as "default",
 * `[profile dev]` as "dev"), or undefined when there is no such file.
 */
export type SharedConfigReader = (file: string) => Promise<Readonly<Record<string, { readonly region?: string }>> | undefined>;

export interface RegionLookup {
  readSharedConfig: SharedConfigReader;
  /** The regions of the template the command is about; its only one is the last resort. */
  templateRegions?: readonly string[];
  /** What to do about a missing region, for this command. */
  suggestion?: string;
}

/** Flag and environment values: an empty string is no value. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The shared config file the AWS CLI and SDKs read: AWS_CONFIG_FILE, else
 * ~/.aws/config, with ~ the HOME of `env`. Without HOME (or USERPROFILE) it
 * stays "~/…" and the reader asks the operating system.
 */
export function sharedConfigFile(env: Env): string {
  return sharedFile(env, "AWS_CONFIG_FILE", "~/.aws/config");
}

/** The shared credentials file the AWS CLI and SDKs read: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
export function sharedCredentialsFile(env: Env): string {
  return sharedFile(env, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials");
}

function sharedFile(env: Env, variable: string, fallback: string): string {
  const file = given(env[variable]) ?? fallback;
  const home = given(env.HOME) ?? given(env.USERPROFILE);
  return home !== undefined && file.startsWith("~/") ? join(home, file.slice(2)) : file;
}

/**
 * Whether each shared file holds a profile of this name, as the SDK reads them (`[profile NAME]` or
 * `[default]` in the config file, `[NAME]` in the credentials file); undefined for a file that is not there.
 */
export type ProfileFinder = (profile: string, files: { config: string; credentials: string }) => Promise<{ config: boolean | undefined; credentials: boolean | undefined }>;

/**
 * A profile named with `--profile` exists in the shared config or credentials file, or the command
 * stops here (exit 2), before any AWS call: the SDK would go down its credential chain and end with
 * "Could not load credentials from any providers", naming neither the profile nor the files. Only the
 * flag is held to this: a profile from AWS_PROFILE or cws.config.json that is in neither file can
 * still work (the chain goes on to a web identity token, a container's or an instance's role), as it
 * does for the AWS CLI, and is named by the credentials error if it does not.
 */
export async function checkProfileExists(profile: string, env: Env, find: ProfileFinder): Promise<void> {
  const files = { config: sharedConfigFile(env), credentials: sharedCredentialsFile(env) };
  const found = await find(profile, files);
  if (found.config === true || found.credentials === true) return;
  const describe = (file: string, variable: string, has: boolean | undefined) => {
    const notes = [...(given(env[variable]) === undefined ? [] : [variable]), ...(has === undefined ? ["no such file"] : [])];
    return notes.length === 0 ? file : `${file} (${notes.join("; ")})`;
  };
  throw new CwsError(
    "NO_SUCH_PROFILE",
    `--profile ${JSON.stringify(profile)}: no such profile in ${describe(files.config, "AWS_CONFIG_FILE", found.config)} or ${describe(files.credentials, "AWS_SHARED_CREDENTIALS_FILE", found.credentials)}`,
    {
      value: profile,
      suggestion: `aws configure list-profiles lists the profiles there; create it with aws configure --profile ${profile} (or aws configure sso), or name another`,
    },
  );
}

function resolveProfile(options: AwsContextOptions, env: Env): AwsContext {
  const fromFlag = given(options.profile);
  if (fromFlag !== undefined) return { profile: fromFlag, profileFrom: "--profile" };
  const fromEnv = given(env.AWS_PROFILE);
  if (fromEnv !== undefined) return { profile: fromEnv, profileFrom: "AWS_PROFILE" };
  const fromProject = given(options.project?.profile);
  if (fromProject !== undefined) return { profile: fromProject, profileFrom: "cws.config.json", projectConfig: options.project!.file };
  return { profile: "default", profileFrom: "default" };
}

export function resolveAwsContext(options: AwsContextOptions, env: Env): Promise<AwsContext>;
export function resolveAwsContext(options: AwsContextOptions, env: Env, lookup: RegionLookup): Promise<AwsRegionContext>;
export async function resolveAwsContext(options: AwsContextOptions, env: Env, lookup?: RegionLookup): Promise<AwsContext | AwsRegionContext> {
  const context = resolveProfile(options, env);
  if (lookup === undefined) return context;
  const found = await resolveRegion(context, options, env, lookup);
  // One rule for a region from anywhere (a flag, AWS_REGION, a config file): the templates' list. Loaded only now.
  const problem = (await import("../template/regions.js")).regionProblem(found.region);
  if (problem !== undefined) {
    throw new CwsError("BAD_REGION", `"${found.region}" (from ${describeRegionSource(found)}) is ${problem}`, {
      value: found.region,
      suggestion: found.regionFrom === "--region" ? "AWS regions look like us-east-1 or eu-west-2" : `fix ${describeRegionSource(found)}, or pass --region`,
    });
  }
  return found;
}

async function resolveRegion(context: AwsContext, options: AwsContextOptions, env: Env, lookup: RegionLookup): Promise<AwsRegionContext> {

  const named: [string | undefined, RegionSource][] = [
    [options.region, "--region"],
    [env.AWS_REGION, "AWS_REGION"],
    [env.AWS_DEFAULT_REGION, "AWS_DEFAULT_REGION"],
  ];
  for (const [value, from] of named) {
    const region = given(value);
    if (region !== undefined) return { ...context, region, regionFrom: from };
  }
  const fromProject = given(options.project?.region);
  if (fromProject !== undefined) return { ...context, region: fromProject, regionFrom: "cws.config.json", projectConfig: options.project!.file };

  const configFile = sharedConfigFile(env);
  const profiles = await lookup.readSharedConfig(configFile);
  // A profile is a user-named key, looked up as the file's own (as own-keys.ts does; inline, since `cws ami list` loads this
  // module on every run): --profile constructor is no profile unless the file has one of that name.
  const profile = profiles !== undefined && Object.hasOwn(profiles, context.profile) ? profiles[context.profile] : undefined;
  const fromConfig = given(profile?.region);
  if (fromConfig !== undefined) return { ...context, region: fromConfig, regionFrom: "config file", configFile };

  const templateRegions = lookup.templateRegions ?? [];
  if (templateRegions.length === 1) return { ...context, region: templateRegions[0]!, regionFrom: "template", configFile };

  const found = profiles === undefined ? "no such file" : profile === undefined ? "no such profile" : "no region there";
  throw new CwsError("REGION_REQUIRED", `no region: pass --region or set AWS_REGION (looked at profile ${context.profile} in ${configFile}: ${found})`, {
    suggestion: lookup.suggestion ?? `give the profile a region: aws configure set region us-east-1${context.profileFrom === "default" ? "" : ` --profile ${context.profile}`}`,
  });
}

/** Where the region came from, for messages: "--region", "AWS_REGION", "profile dev in ~/.aws/config", ... */
export function describeRegionSource(context: AwsRegionContext): string {
  if (context.regionFrom === "config file") return `profile ${context.profile} in ${context.configFile}`;
  if (context.regionFrom === "cws.config.json") return context.projectConfig ?? "cws.config.json";
  if (context.regionFrom === "template") return "the template's only region";
  return context.regionFrom;
}

/**
 * What the SDK clients are told. The profile is passed only when one was
 * named: the SDK's credential chain skips keys in the environment
 * (AWS_ACCESS_KEY_ID) whenever a profile is given, so when none was named
 * the chain is left to find the credentials as it always has.
 */
export function awsClientProfile(context: AwsContext): { profile?: string } {
  return context.profileFrom === "default" ? {} : { profile: context.profile };
}
