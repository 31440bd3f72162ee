import { basename } from "node:path";
import type { AwsPorts } from "../aws/ports.js";
import { awsClientProfile, resolveAwsContext } from "../config/aws-context.js";
import { projectAwsConfig } from "../config/settings.js";
import { parseDuration } from "../duration.js";
import { CwsError, EXIT, exitCodeOfSignal, type ExitCode } from "../errors.js";
import { describePrices } from "../fleet/prices.js";
import { applyCleanup, gatherCleanupFacts, type CleanupOutcome } from "../lifecycle/cleanup.js";
import { changedImages, planCleanup, recheckPlan, type CleanupPlan, type CleanupScope } from "../lifecycle/cleanup-plan.js";
import { cleanupJson, formatCleanupEvent, formatCleanupPlan, formatCleanupResult, type CleanupResult, type RegistryWriteFailure } from "../output/cleanup-report.js";
import { ownValue } from "../own-keys.js";
import { liveRegions } from "../registry/list.js";
import { dropFromHistory, type DroppedRecord } from "../registry/operations.js";
import type { Registry } from "../registry/schema.js";
import { checkRegistryWritable, readRegistry, updateRegistryFile } from "../registry/store.js";
import { templateIdProblem } from "../template/template-id.js";
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
  withoutRegistry?: boolean;
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

/**
 * The registry, or why cleanup will not go on without one. Without it nothing
 * is current or in a history, so a missing file (cws run outside the
 * repository, a mistyped --registry) would let cleanup delete the images in
 * use: it is refused (exit 2) unless the user says the project keeps none
 * (--without-registry); --dry-run shows the plan with a warning. A registry
 * cleanup will write (the history loses the deleted AMIs) is checked now,
 * before anything is read from AWS or changed, as a build checks it before it
 * creates anything.
 */
async function registryFor(options: CleanupOptions, globals: GlobalOptions): Promise<{ registry: Registry | undefined; warnings: string[] }> {
  const registry = await readRegistry(globals.registry);
  if (registry !== undefined && options.withoutRegistry) {
    throw new CwsError("REGISTRY_NOT_EXPECTED", `--without-registry, but there is a registry at ${globals.registry}`, {
      value: globals.registry,
      suggestion: "leave --without-registry out: cleanup then keeps the registry's current images and the first N of each history",
    });
  }
  if (registry === undefined && !options.withoutRegistry) {
    const missing = `${globals.registry}: no registry there, so cleanup cannot tell which images are current or in a history (rollback targets)`;
    if (options.dryRun) return { registry, warnings: [`⚠️  ${missing}: nothing is kept for the registry's sake; without --dry-run cleanup refuses to go on (pass --without-registry if this project keeps none)`] };
    throw new CwsError("REGISTRY_MISSING", `${missing}; nothing was looked at or changed`, {
      value: globals.registry,
      suggestion: "run cws from the repository root, or pass --registry FILE; if this project keeps no registry, pass --without-registry",
    });
  }
  if (registry !== undefined && !options.dryRun && !options.deprecate) {
    checkRegistryWritable(
      globals.registry,
      `cleanup removes deleted AMIs from the registry's history in ${globals.registry} (creating ${basename(globals.registry)}.lock and a temporary file beside it): make that directory writable, or pass --registry FILE`,
    );
  }
  return { registry, warnings: [] };
}

export async function runCleanupCommand(options: CleanupOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  if (options.keepLatest === undefined) {
    throw new CwsError("KEEP_LATEST_REQUIRED", "cleanup needs --keep-latest N: how many of the newest images of each template, region and architecture to keep", {
      suggestion: "e.g. cws ami cleanup --keep-latest 3 --dry-run, to see the plan first",
    });
  }
  const { registry, warnings } = await registryFor(options, globals);
  const registryRegions = registry ? liveRegions(registry) : [];
  const { regions, templateIds } = await regionsToLookIn(options, globals, io, registryRegions);
  const knownHere = [...new Set([...templateIds, ...Object.keys(registry?.templates ?? {})])];
  // A template known only from its images' tags (its file and records gone) is checked once the images are listed.
  if (options.template !== undefined && !knownHere.includes(options.template) && templateIdProblem(options.template) !== undefined) {
    throw templateNotFound(options.template, `${globals.templatesDir} or ${globals.registry}`, knownHere);
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
  if (options.template !== undefined && !knownHere.includes(options.template)) {
    const tagged = new Set(facts.images.flatMap(({ image }) => ownValue(image.tags, "cws:template") ?? []));
    if (!tagged.has(options.template)) {
      throw templateNotFound(options.template, `${globals.templatesDir}, ${globals.registry} or the cws:template tags of the images in ${regions.join(", ")}`, [...new Set([...knownHere, ...tagged])]);
    }
  }
  const plan = planCleanup(facts, registry, scope, prices);
  const shown = { prices: pricesText, regions, dryRun: options.dryRun === true, warnings };
  const planText = formatCleanupPlan(plan, shown);
  const awsChanges = changedImages(plan).length > 0 || plan.orphans.length > 0;

  if (options.dryRun || (!awsChanges && plan.goneFromHistory.length === 0)) {
    io.stdout.write(globals.json ? `${JSON.stringify(cleanupJson(plan, { ...shown, exitCode: EXIT.ok }), null, 2)}\n` : planText);
    return EXIT.ok;
  }
  // The plan is shown before anything is asked or done; with --json it goes to stderr, the document to stdout at the end.
  (globals.json ? io.stderr : io.stdout).write(planText);
  const verb = scope.deprecate ? "Deprecate" : "Delete";
  // Only records of AMIs that no longer exist to remove from the registry's history: nothing in AWS changes, nothing is asked.
  const answer = awsChanges
    ? await confirmChanges(io, { yes: options.yes === true, question: `${verb} what the plan above marks ${scope.deprecate ? "deprecate" : "delete"}?`, command: "cws ami cleanup" })
    : "yes";
  if (answer !== "yes") {
    const code = answer === "interrupted" ? EXIT.interrupted : EXIT.failed;
    say(answer === "interrupted" ? "Interrupted: nothing was changed." : "Cancelled: nothing was changed.");
    if (globals.json) io.stdout.write(`${JSON.stringify(cleanupJson(plan, { ...shown, exitCode: code }), null, 2)}\n`);
    return code;
  }

  // The registry again: a rollback or build while the question waited may have made a planned image current.
  const latest = await readRegistry(globals.registry);
  const { plan: confirmed, nowKept } = recheckPlan(plan, facts, latest, prices);
  const { outcome, stoppedBy, dropped, registryFailure } = await act(confirmed, aws, now, io, say, registry && !scope.deprecate ? { globals, latest } : undefined);
  const result: CleanupResult = { outcome, dropped, registryFailure, nowKept };
  // A signal wins (128 + its number); then a deletion that failed (an image, or a snapshot left behind by its deregistered
  // image), or a registry that could not be written after AWS changed: 1.
  const failed = outcome.events.some((e) => e.kind === "failed" || (e.kind === "deleted" && e.snapshotsLeft.length > 0));
  const code = outcome.interrupted ? exitCodeOfSignal(stoppedBy) : failed || registryFailure !== undefined ? EXIT.failed : EXIT.ok;
  io.stdout.write(globals.json ? `${JSON.stringify(cleanupJson(confirmed, { ...shown, result, exitCode: code }), null, 2)}\n` : formatCleanupResult(result));
  return code;
}

/**
 * Acts on the plan, a line per thing done on stderr, then removes from the
 * registry's history what is gone (`registry`: when there is one to write).
 * The first signal (Ctrl-C, SIGTERM, a closed terminal) from the first
 * deletion to the registry written stops after what is under way, and makes
 * the run interrupted, even if nothing was left to do by then: one rule for
 * the exit code (exitCodeOfSignal: 130, 143, 129) and the result's
 * `interrupted`.
 */
async function act(
  plan: CleanupPlan,
  aws: AwsPorts,
  now: Date,
  io: CliIO,
  say: (message: string) => void,
  registry: { globals: GlobalOptions; latest: Registry | undefined } | undefined,
): Promise<{ outcome: CleanupOutcome; stoppedBy: unknown; dropped: DroppedRecord[]; registryFailure: RegistryWriteFailure | undefined }> {
  const controller = new AbortController();
  const unsubscribe = io.onSignal?.((signal) => {
    if (!controller.signal.aborted) say(`${signal}: stopping after the image under way (its snapshots are deleted with it)`);
    controller.abort(signal);
  });
  try {
    const outcome = await applyCleanup(plan, { aws, now, signal: controller.signal, onEvent: (event) => say(formatCleanupEvent(event)) });
    const pruned = registry ? await pruneRegistry(outcome, plan, registry.globals, registry.latest, io) : { dropped: [], registryFailure: undefined };
    return { outcome: { ...outcome, interrupted: controller.signal.aborted }, stoppedBy: controller.signal.reason, ...pruned };
  } finally {
    unsubscribe?.();
  }
}

/**
 * The deleted images, and the AMIs the plan found gone, out of the registry's
 * history, so that no rollback is offered to an image that is gone. When the
 * registry cannot be written now (AWS has changed all the same), what it still
 * names and what to do come back as `registryFailure`, for the result.
 */
async function pruneRegistry(
  outcome: CleanupOutcome,
  plan: CleanupPlan,
  globals: GlobalOptions,
  latest: Registry | undefined,
  io: CliIO,
): Promise<{ dropped: DroppedRecord[]; registryFailure: RegistryWriteFailure | undefined }> {
  const gone = new Map<string, Set<string>>();
  const add = (region: string, amiId: string) => gone.set(region, (gone.get(region) ?? new Set()).add(amiId));
  for (const event of outcome.events) if (event.kind === "deleted") add(event.region, event.imageId);
  for (const record of plan.goneFromHistory) add(record.region, record.amiId);
  if (gone.size === 0) return { dropped: [], registryFailure: undefined };
  let dropped: DroppedRecord[] = [];
  try {
    await updateRegistryFile(
      globals.registry,
      new Date(),
      (registry) => {
        dropped = dropFromHistory(registry, gone);
      },
      registryLockOptions(io),
    );
    return { dropped, registryFailure: undefined };
  } catch (error) {
    const stillListed = latest ? dropFromHistory(structuredClone(latest), gone) : [];
    const message = error instanceof Error ? error.message : String(error);
    return { dropped: [], registryFailure: { message, suggestion: error instanceof CwsError ? error.suggestion : undefined, stillListed } };
  }
}
