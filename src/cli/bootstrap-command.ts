import { readSharedConfig } from "../aws/shared-config.js";
import { bootstrap } from "../bootstrap/bootstrap.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig, resolveInstanceProfile } from "../config/settings.js";
import { EXIT, type ExitCode } from "../errors.js";
import type { CliIO, GlobalOptions } from "./io.js";

export async function runBootstrapCommand(
  options: { region?: string; profile?: string; instanceProfile?: string },
  globals: GlobalOptions,
  io: CliIO,
): Promise<ExitCode> {
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env, { readSharedConfig, suggestion: "e.g. cws ami bootstrap --region us-east-1" });
  const { region } = context;
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws = createAwsPorts(awsClientProfile(context));
  try {
    const result = await bootstrap(aws, {
      region,
      instanceProfile: resolveInstanceProfile(options.instanceProfile, globals.project).value,
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
