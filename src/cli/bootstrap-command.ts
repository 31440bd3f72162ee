import { readSharedConfig } from "../aws/shared-config.js";
import { bootstrap } from "../bootstrap/bootstrap.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { InterruptedError } from "../builder/runner.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig, resolveInstanceProfile } from "../config/settings.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
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
  const say = (line: string) => io.stderr.write(`${line}\n`);
  // Ctrl-C (or SIGTERM, SIGHUP) while waiting for EC2: the security group made for the check is deleted before exiting.
  const controller = new AbortController();
  const unsubscribe = io.onSignal?.((signal) => {
    if (!controller.signal.aborted) say(`${signal}: stopping; removing what the check made`);
    controller.abort(signal);
  });
  try {
    const result = await bootstrap(aws, {
      region,
      instanceProfile: resolveInstanceProfile(options.instanceProfile, globals.project).value,
      poll: pollSettingsFromEnv(io.env),
      signal: controller.signal,
      report: say,
    });
    if (globals.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(result.changed.length ? `Bootstrapped account ${result.account}: ${result.changed.join(", ")}\n` : `Account ${result.account} was already bootstrapped; nothing changed\n`);
    return EXIT.ok;
  } catch (error) {
    // A stop signal also aborts a read under way (its error is the SDK's abort): stopped, whatever the error says.
    if (error instanceof InterruptedError || controller.signal.aborted) {
      throw new CwsError("INTERRUPTED", `${new InterruptedError(controller.signal).message}: bootstrap stopped while waiting for EC2 to accept the instance profile`, {
        suggestion: "run cws ami bootstrap again: it keeps what is in place and waits again",
        exitCode: exitCodeOfSignal(controller.signal.reason),
        cause: error,
      });
    }
    const described = describeAwsError(error);
    if (described) throw described;
    throw error;
  } finally {
    unsubscribe?.();
  }
}
