import { hostname } from "node:os";
import { BUILD_OWNERS_DIR, readBuildOwners, removeBuildOwner } from "../builder/build-owner.js";
import { pollSettingsFromEnv } from "../builder/poll.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig } from "../config/settings.js";
import { parseDuration } from "../duration.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import { applyReap, findLeftovers, type ReapOutcome } from "../lifecycle/reap.js";
import { LEFTOVER_KIND_ORDER, planReap, spentOwners, type Leftover } from "../lifecycle/reap-plan.js";
import { describeToReap, formatReapPlan, formatReapResults, reapJson, type ReapReport } from "../output/reap-report.js";
import { liveRegions } from "../registry/list.js";
import { readRegistry } from "../registry/store.js";
import { listTemplateFilesIfAny, loadTemplateFile } from "../template/repository.js";
import { checkConfirmable, confirmChanges } from "./confirm.js";
import { signalsDelivered } from "./interrupts.js";
import type { CliIO, GlobalOptions } from "./io.js";

/** reap's options, as the command table declares them; values are checked before this module loads (option-values.ts). */
export interface ReapOptions {
  olderThan?: string;
  /** Every --region given, in order (repeatable). */
  region?: string[];
  profile?: string;
  dryRun?: boolean;
  yes?: boolean;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A build that no process of this machine owns is reaped once older than this: longer than a build takes. */
export const DEFAULT_OLDER_THAN = "2h";

/**
 * Where builds may have left something: every region a template names (a
 * build or a copy goes only there) and every region the registry has an AMI
 * in (a template since removed or narrowed). A template that cannot be read
 * stops the command (exit 2): its regions would go unsearched.
 */
async function regionsToSearch(globals: GlobalOptions): Promise<string[]> {
  const regions = new Set<string>();
  for (const file of await listTemplateFilesIfAny(globals.templatesDir)) {
    const loaded = await loadTemplateFile(file);
    if (!loaded.template) {
      const problem = loaded.problems[0];
      throw new CwsError("TEMPLATE_INVALID", `template ${loaded.id} is invalid${problem ? ` (${problem.file}:${problem.line}:${problem.column} ${problem.message})` : ""}, so cws cannot tell which regions it builds in`, {
        value: loaded.file,
        suggestion: `fix it (cws ami lint ${loaded.id} shows every problem), or search one region with --region`,
      });
    }
    for (const region of loaded.template.regions) regions.add(region);
  }
  const registry = await readRegistry(globals.registry);
  if (registry) for (const region of liveRegions(registry)) regions.add(region);
  return [...regions].sort();
}

/**
 * `cws ami reap`: find the instances, security groups and unfinished images
 * that builds left behind (tagged cws:managed-by=cws and cws:build-id) in
 * every region the templates and the registry name, decide for each whether
 * its build is still running (reap-plan.ts), print the table, ask (or take
 * --yes), and remove what no running build owns.
 */
export async function runReapCommand(options: ReapOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  // Before anything is read or asked of AWS: a script without --yes learns at once that it must say so.
  checkConfirmable(io, { yes: options.yes, dryRun: options.dryRun, command: "cws ami reap" });
  const olderThanMs = parseDuration(options.olderThan ?? DEFAULT_OLDER_THAN)!;
  const regions = options.region !== undefined ? [...new Set(options.region)] : await regionsToSearch(globals);
  if (regions.length === 0) {
    throw new CwsError("NO_REGIONS", `no region to search: no template in ${globals.templatesDir} names one, and ${globals.registry} has no AMI`, {
      suggestion: "pass --region R, or run cws from the repository root (or pass --templates-dir)",
    });
  }
  const context = await resolveAwsContext({ profile: options.profile, project: projectAwsConfig(globals.project) }, io.env);
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws = createAwsPorts(awsClientProfile(context));
  const say = (line: string) => io.stderr.write(`${line}\n`);

  say(`Searching ${regions.join(", ")} for what builds left behind (tagged cws:managed-by=cws and cws:build-id)`);
  const searches = await Promise.allSettled(regions.map((region) => findLeftovers(aws.ec2(region))));
  const leftovers: Leftover[] = [];
  const regionErrors: ReapReport["regionErrors"][number][] = [];
  for (const [index, search] of searches.entries()) {
    if (search.status === "fulfilled") leftovers.push(...search.value);
    else {
      // Credentials, permissions, no network: the same in every region, and the user's to fix.
      const described = describeAwsError(search.reason);
      if (described) throw described;
      regionErrors.push({ region: regions[index]!, message: search.reason instanceof Error ? search.reason.message : String(search.reason) });
    }
  }
  const searched = regions.filter((region) => !regionErrors.some((e) => e.region === region));
  // The table reads build by build: region, build, then instance, group, image, as a build makes them.
  const order = (l: Leftover) => [regions.indexOf(l.region), l.buildId, LEFTOVER_KIND_ORDER[l.kind], l.id] as const;
  leftovers.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || compare(x[1], y[1]) || x[2] - y[2] || compare(x[3], y[3]);
  });

  const owners = readBuildOwners(BUILD_OWNERS_DIR);
  for (const { file, why } of owners.ignored) say(`⚠️  ${file}: ${why}; ignored (remove it if no build of this cws wrote it)`);
  const planContext = { now: new Date(), olderThanMs, host: hostname(), owners: owners.owners, processes: io.processes };
  const decisions = planReap(leftovers, planContext);
  let outcomes: ReapOutcome[] = decisions.map((decision) => ({ decision, result: undefined }));
  const report = (ending: ReapReport["ending"], exitCode: ExitCode): ReapReport => ({ regions, olderThanMs, dryRun: options.dryRun === true, outcomes, regionErrors, ending, exitCode });

  const plan = formatReapPlan(report("nothing-to-do", EXIT.ok));
  if (!globals.json) io.stdout.write(plan);
  const toReap = decisions.filter((d) => d.action === "reap").length;
  let ending: ReapReport["ending"];
  // Set when a signal stopped the removal: the command exits 128 + its number (130, 143, 129), as build does.
  let stoppedBy: unknown;
  if (toReap === 0) ending = "nothing-to-do";
  else if (options.dryRun === true) ending = "dry-run";
  else {
    // With --json the table is not on stdout; whoever answers must still see what they agree to.
    if (globals.json && options.yes !== true) io.stderr.write(plan);
    const consent = await confirmChanges(io, { yes: options.yes === true, question: `Remove ${describeToReap(outcomes)}?`, command: "cws ami reap" });
    if (consent === "yes") {
      const controller = new AbortController();
      const unsubscribe = io.onSignal?.((signal) => {
        if (!controller.signal.aborted) say(`${signal}: finishing the calls under way and starting no more (what is left is listed at the end)`);
        controller.abort(signal);
      });
      try {
        outcomes = await applyReap(decisions, { ec2: (region) => aws.ec2(region), poll: pollSettingsFromEnv(io.env), signal: controller.signal, progress: say });
        // A signal that came during the last removal counts: it stopped the command, whose exit code and summary say so.
        await signalsDelivered();
      } finally {
        unsubscribe?.();
      }
      for (const buildId of spentOwners(outcomes, searched, planContext)) await removeBuildOwner(BUILD_OWNERS_DIR, buildId);
      if (controller.signal.aborted) stoppedBy = controller.signal.reason;
      ending = controller.signal.aborted ? "interrupted" : "done";
    } else ending = consent === "no" ? "declined" : "interrupted";
  }

  const failed = outcomes.some((o) => o.decision.action === "reap" && o.result?.status !== "removed");
  const exitCode: ExitCode =
    ending === "interrupted" ? exitCodeOfSignal(stoppedBy) : ending === "declined" || regionErrors.length > 0 || (ending === "done" && failed) ? EXIT.failed : EXIT.ok;
  const final = report(ending, exitCode);
  io.stdout.write(globals.json ? `${JSON.stringify(reapJson(final), null, 2)}\n` : formatReapResults(final));
  return exitCode;
}
