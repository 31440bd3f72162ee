import type { AwsPorts } from "../aws/ports.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig } from "../config/settings.js";
import { parseDuration } from "../duration.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import { describePrices } from "../fleet/prices.js";
import { applyCleanup, gatherCleanupFacts, type CleanupOutcome } from "../lifecycle/cleanup.js";
import { changedImages, planCleanup, recheckPlan, type CleanupPlan, type CleanupScope } from "../lifecycle/cleanup-plan.js";
import { cleanupJson, formatCleanupEvent, formatCleanupPlan, formatCleanupResult, type CleanupResult } from "../output/cleanup-report.js";
import { liveRegions } from "../registry/list.js";
import { dropFromHistory, type DroppedRecord } from "../registry/operations.js";
import { checkRegistryWritable, readRegistry, updateRegistryFile } from "../registry/store.js";
import { formatProblem } from "../template/problems.js";
import { listTemplateFilesIfAny, loadTemplateFile, templateNotFound } from "../template/repository.js";
import { confirmChanges } from "./confirm.js";
import type { CliIO, GlobalOptions } from "./io.js";
import { resolvePrices } from "./prices.js";
import { registryLockOptions } from "./registry-lock.js";

/** cleanup's options, as the command table declares them; values are checked before this module loads (option-values.ts). */
export interface CleanupOptions {
  keepLatest?: string;
  template?: string;
  region?: string[];
  olderThan?: string;
  dryRun?: boolean;
  yes?: boolean;
  deprecate?: boolean;
  profile?: string;
  prices?: string;
}

/**
 * Every region the templates name (all templates, whatever --template says:
 * an image of another template may protect one of this), the registry's, and
 * those --region names. A template that is not valid stops the command (exit
 * 2): its regions, and so what protects an image there, would not be known.
 */
async function regionsToLookIn(options: CleanupOptions, globals: GlobalOptions, io: CliIO, registryRegions: readonly string[]): Promise<{ regions: string[]; templateIds: string[] }> {
  const files = await listTemplateFilesIfAny(globals.templatesDir);
  const regions = new Set<string>(registryRegions);
  const invalid: string[] = [];
  for (const file of files) {
    const loaded = await loadTemplateFile(file);
    if (!loaded.template) {
      for (const problem of loaded.problems) io.stderr.write(`${formatProblem(problem)}\n`);
      invalid.push(file.file);
      continue;
    }
    for (const region of loaded.template.regions) regions.add(region);
  }
  if (invalid.length > 0) {
    throw new CwsError("TEMPLATE_INVALID", `${invalid.join(", ")}: not a valid template, so the regions it names are not known; nothing was looked at or changed`, {
      value: invalid.join(", "),
      suggestion: "fix the problems above (cws ami lint shows them again): cleanup looks in every region a template names",
    });
  }
  for (const region of options.region ?? []) regions.add(region);
  return { regions: [...regions].sort(), templateIds: [...new Set(files.map((file) => file.id))] };
}

export async function runCleanupCommand(options: CleanupOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  if (options.keepLatest === undefined) {
    throw new CwsError("KEEP_LATEST_REQUIRED", "cleanup needs --keep-latest N: how many of the newest images of each template, region and architecture to keep", {
      suggestion: "e.g. cws ami cleanup --keep-latest 3 --dry-run, to see the plan first",
    });
  }
  const registry = await readRegistry(globals.registry);
  const registryRegions = registry ? liveRegions(registry) : [];
  const { regions, templateIds } = await regionsToLookIn(options, globals, io, registryRegions);
  if (options.template !== undefined) {
    const known = [...new Set([...templateIds, ...Object.keys(registry?.templates ?? {})])];
    if (!known.includes(options.template)) throw templateNotFound(options.template, `${globals.templatesDir} or ${globals.registry}`, known);
  }
  if (regions.length === 0) {
    throw new CwsError("NO_REGIONS", `no region to look in: no template in ${globals.templatesDir} names one, and ${globals.registry} has no AMIs`, {
      suggestion: "name one with --region, e.g. --region us-east-1",
    });
  }
  const now = new Date();
  const scope: CleanupScope = {
    keepLatest: Number(options.keepLatest),
    olderThanMs: options.olderThan === undefined ? undefined : parseDuration(options.olderThan),
    templateId: options.template,
    regions: options.region?.length ? [...new Set(options.region)] : undefined,
    deprecate: options.deprecate === true,
    now,
  };
  const prices = await resolvePrices(options.prices, globals);
  const pricesText = describePrices(prices);

  // The regions come from the templates and the registry: only the profile is needed.
  const context = await resolveAwsContext({ profile: options.profile, project: projectAwsConfig(globals.project) }, io.env);
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  const aws: AwsPorts = createAwsPorts(awsClientProfile(context));
  const say = (message: string) => io.stderr.write(`${message}\n`);
  let facts;
  try {
    await aws.sts(regions[0]!).callerIdentity();
    facts = await gatherCleanupFacts({ aws, regions, registry, scope, prices, progress: say });
  } catch (error) {
    throw describeAwsError(error) ?? error;
  }
  const plan = planCleanup(facts, registry, scope, prices);
  const shown = { prices: pricesText, regions, dryRun: options.dryRun === true };
  const planText = formatCleanupPlan(plan, shown);
  const nothingToDo = changedImages(plan).length === 0 && plan.orphans.length === 0;

  if (options.dryRun || nothingToDo) {
    io.stdout.write(globals.json ? `${JSON.stringify(cleanupJson(plan, { ...shown, exitCode: EXIT.ok }), null, 2)}\n` : planText);
    return EXIT.ok;
  }
  // The plan is shown before anything is asked or done; with --json it goes to stderr, the document to stdout at the end.
  (globals.json ? io.stderr : io.stdout).write(planText);
  if (registry && !scope.deprecate) {
    checkRegistryWritable(globals.registry, `cleanup removes deleted AMIs from the registry's history in ${globals.registry}: make that directory writable, or pass --registry FILE`);
  }
  const verb = scope.deprecate ? "Deprecate" : "Delete";
  const answer = await confirmChanges(io, { yes: options.yes === true, question: `${verb} what the plan above marks ${scope.deprecate ? "deprecate" : "delete"}?`, command: "cws ami cleanup" });
  if (answer !== "yes") {
    const code = answer === "interrupted" ? EXIT.interrupted : EXIT.failed;
    say(answer === "interrupted" ? "Interrupted: nothing was changed." : "Cancelled: nothing was changed.");
    if (globals.json) io.stdout.write(`${JSON.stringify(cleanupJson(plan, { ...shown, exitCode: code }), null, 2)}\n`);
    return code;
  }

  // The registry again: a rollback or build while the question waited may have made a planned image current.
  const { plan: confirmed, nowKept } = recheckPlan(plan, facts, await readRegistry(globals.registry), prices);
  const { outcome, stoppedBy } = await act(confirmed, aws, now, io, say);
  const dropped = registry && !scope.deprecate ? await pruneRegistry(outcome, globals, io) : [];
  const result: CleanupResult = { outcome, dropped, nowKept };
  const code = outcome.interrupted ? exitCodeOfSignal(stoppedBy) : outcome.events.some((e) => e.kind === "failed") ? EXIT.failed : EXIT.ok;
  io.stdout.write(globals.json ? `${JSON.stringify(cleanupJson(confirmed, { ...shown, result, exitCode: code }), null, 2)}\n` : formatCleanupResult(result));
  return code;
}

/**
 * Acts on the plan, a line per thing done on stderr; the first signal (Ctrl-C, SIGTERM, a closed terminal) stops after
 * what is under way, and is returned for the exit code (exitCodeOfSignal: 130, 143, 129).
 */
async function act(plan: CleanupPlan, aws: AwsPorts, now: Date, io: CliIO, say: (message: string) => void): Promise<{ outcome: CleanupOutcome; stoppedBy: unknown }> {
  const controller = new AbortController();
  const unsubscribe = io.onSignal?.((signal) => {
    if (!controller.signal.aborted) say(`${signal}: stopping after the image under way (its snapshots are deleted with it)`);
    controller.abort(signal);
  });
  try {
    const outcome = await applyCleanup(plan, { aws, now, signal: controller.signal, onEvent: (event) => say(formatCleanupEvent(event)) });
    return { outcome, stoppedBy: controller.signal.reason };
  } finally {
    unsubscribe?.();
  }
}

/** The deleted images out of the registry's history, so that no rollback is offered to an image that is gone. */
async function pruneRegistry(outcome: CleanupOutcome, globals: GlobalOptions, io: CliIO): Promise<DroppedRecord[]> {
  const gone = new Map<string, Set<string>>();
  for (const event of outcome.events) if (event.kind === "deleted") gone.set(event.region, (gone.get(event.region) ?? new Set()).add(event.imageId));
  if (gone.size === 0) return [];
  let dropped: DroppedRecord[] = [];
  await updateRegistryFile(
    globals.registry,
    new Date(),
    (registry) => {
      dropped = dropFromHistory(registry, gone);
    },
    registryLockOptions(io),
  );
  return dropped;
}
