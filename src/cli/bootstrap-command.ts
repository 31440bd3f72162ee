import { bootstrap } from "../bootstrap/bootstrap.js";
import { pollSettingsFromEnv } from "../build/poll.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import type { CliIO, GlobalOptions } from "./io.js";

export async function runBootstrapCommand(
  options: { region?: string; profile?: string; instanceProfile: string },
  globals: GlobalOptions,
  io: CliIO,
): Promise<ExitCode> {
  const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  if (!region) throw new CwsError("REGION_REQUIRED", "no region: pass --region or set AWS_REGION", { suggestion: "e.g. cws ami bootstrap --region us-east-1" });
  const profile = options.profile ?? io.env.AWS_PROFILE;
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws = createAwsPorts(profile ? { profile } : {});
  try {
    const result = await bootstrap(aws, {
      region,
      instanceProfile: options.instanceProfile,
      poll: pollSettingsFromEnv(io.env),
      report: (line) => io.stderr.write(`${line}\n`),
    });
    if (globals.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(result.changed.length ? `Bootstrapped account ${result.account}: ${result.changed.join(", ")}\n` : `Account ${result.account} was already bootstrapped; nothing changed\n`);
    return EXIT.ok;
  } catch (error) {
    const described = describeAwsError(error);
    if (described) throw described;
    throw error;
  }
}
