import type { AwsPorts, ImageInfo } from "../aws/ports.js";
import { readSharedConfig } from "../aws/shared-config.js";
import { awsClientProfile, resolveAwsContext, type AwsContext } from "../config/aws-context.js";
import { projectAwsConfig, resolvePublishSsm, typedPath } from "../config/settings.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import { listCwsImages, recordFromImage, taggedValidatedAt, TEMPLATE_HASH_TAG } from "../registry/aws-images.js";
import { mergeRegistries } from "../registry/merge.js";
import { entryAt, rollbackEntry, takeTaggedValidation, templateAt } from "../registry/operations.js";
import { publishAmiToSsm } from "../registry/publish.js";
import { readRegistryText } from "../registry/registry-file.js";
import { emptyRegistry, type Registry } from "../registry/schema.js";
import { isoSeconds, parseRegistry, readRegistry, recordAmi, serializeRegistry, updateRegistryFile, withRegistryLock, writeRegistryAtomically } from "../registry/store.js";
import { BASE_AMI_TAG, templateMatcher, type MatchTemplate, type Mismatch } from "../registry/template-match.js";
import { updateOutcome } from "../registry/update-outcome.js";
import { templateImageHash } from "../template/content-hash.js";
import { dependencyGraph } from "../template/graph.js";
import { listTemplateFilesIfAny, loadTemplateFile, loadTemplates, templateNotFound } from "../template/repository.js";
import { ARCHITECTURES, type Architecture, type Template } from "../template/schema.js";
import type { CliIO, GlobalOptions } from "./io.js";
import { registryLockOptions } from "./registry-lock.js";
import { checkRegionBuilt, chooseArchitecture } from "./targets.js";

async function awsPorts(context: AwsContext): Promise<{ aws: AwsPorts; describe: (e: unknown) => CwsError | undefined }> {
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  return { aws: createAwsPorts(awsClientProfile(context)), describe: describeAwsError };
}

/** `--publish-ssm`: the AMI id where running systems read it, and a line saying so. */
async function publish(aws: AwsPorts, target: { templateId: string; region: string; architecture: Architecture }, amiId: string, io: CliIO): Promise<void> {
  const name = await publishAmiToSsm(aws.ssm(target.region), target, amiId);
  io.stderr.write(`📣 Published ${name} = ${amiId}\n`);
}

interface UpdateRegistryOptions {
  region?: string;
  architecture?: Architecture;
  all?: boolean;
  publishSsm?: boolean;
  unpin?: boolean;
  matchTemplates?: boolean;
  profile?: string;
}

/** A target with validated images, none of them built from the template as it is now (--match-templates). */
interface UnmatchedTarget {
  target: string;
  /** The newest validated image, of another version of the template. */
  newest: string;
  version?: string;
  /** It has no cws:template-hash tag (an older cws built it), so what it was built from is unknown. */
  untagged?: true;
  /** Its template hash is the template's, but it was built on `builtOn` (none: no cws:base-ami tag), not an image of `parent` as it is now. */
  parent?: string;
  builtOn?: string;
}

/**
 * From AWS tags alone, record the newest available, validated cws AMI of each
 * target. Works from a fresh checkout (only the templates are needed) and is
 * idempotent; the way CI matrix jobs update the registry without passing files.
 * With --match-templates only images built from the templates as they are now
 * count (their `cws:template-hash` tag, and for a child a base image that is a
 * matching image of its parent, up the chain), so a reverted template gets its
 * older image back rather than the newer one of the content it reverted.
 */
export async function runUpdateRegistry(templateId: string | undefined, options: UpdateRegistryOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  if (!templateId && !options.all) {
    throw new CwsError("TEMPLATE_REQUIRED", "name a template, or pass --all for every template", { suggestion: "cws ami update-registry r-research --region us-east-1 --architecture x86_64" });
  }
  const { architecture } = options;
  const templates = await loadValidTemplates(globals.templatesDir, templateId ? [templateId] : []);
  // A named template is asked about its own regions and architectures: one it does not build is a mistake in the command line.
  const named = templateId ? templates[0] : undefined;
  if (named) {
    if (options.region !== undefined) checkRegionBuilt(named.id, named.template.regions, options.region);
    if (architecture !== undefined) chooseArchitecture(architecture, named.template.base_ami.architecture, { subject: `${named.id} builds`, command: `cws ami update-registry ${named.id}` });
  }
  const targets = templates.flatMap(({ id, template }) =>
    template.regions
      .filter((r) => options.region === undefined || r === options.region)
      .flatMap((region) => template.base_ami.architecture.filter((a) => architecture === undefined || a === architecture).map((arch) => ({ id, template, region, arch }))),
  );
  if (targets.length === 0) {
    throw new CwsError("NO_TARGETS", `nothing to update: no template builds ${[options.region, architecture].filter(Boolean).join(" / ")}`, { suggestion: "check --region and --architecture against the templates" });
  }
  // --match-templates follows each template's parents: their images are needed too, in every region of the chain.
  const chain = options.matchTemplates ? await parentChain(templates, globals.templatesDir) : undefined;
  // The targets name their regions (--region only narrows them): only the profile is needed.
  const { aws, describe } = await awsPorts(await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env));
  const publishSsm = resolvePublishSsm(options.publishSsm, globals.project).value;
  const regions = [...new Set([...targets.map((t) => t.region), ...(chain?.regions ?? [])])];
  // One DescribeImages (more pages for many images) per region; of the named template alone, unless its parents are needed.
  const listed = chain && chain.templates.size > 1 ? undefined : templateId;
  let imagesByRegion: Map<string, ImageInfo[]>;
  try {
    imagesByRegion = new Map(
      await Promise.all(regions.map(async (region) => [region, await listCwsImages(aws.ec2(region), listed)] as const)),
    );
  } catch (error) {
    throw describe(error) ?? error;
  }
  const matcher = chain ? templateMatcher(chain.templates, chain.order, [...imagesByRegion.values()].flat()) : undefined;
  const changes: { target: string; from?: string; to: string }[] = [];
  const current: string[] = [];
  const missing: string[] = [];
  const unmatched: UnmatchedTarget[] = [];
  const pinned: string[] = [];
  const validations: { target: string; amiId: string; validatedAt: string; record: "current" | "history" }[] = [];
  const now = new Date();
  await updateRegistryFile(globals.registry, now, (registry) => {
    for (const t of targets) {
      const where = `${t.id}.${t.region}.${t.arch}`;
      const entry = entryAt(registry, t.id, t.region, t.arch);
      const outcome = updateOutcome(imagesByRegion.get(t.region) ?? [], entry, {
        templateId: t.id,
        architecture: t.arch,
        ...(options.unpin ? { unpin: true } : {}),
        ...(matcher ? { match: matcher(t.id) } : {}),
      });
      if (outcome.kind === "missing") {
        missing.push(where);
        continue;
      }
      if (outcome.kind === "unmatched") {
        unmatched.push(unmatchedTarget(where, outcome.newest, outcome.why));
        continue;
      }
      const { image } = outcome;
      if (outcome.kind === "pinned") {
        pinned.push(`${where} (pinned to ${outcome.pinnedTo} by a rollback; --unpin to replace it with ${image.imageId})`);
        continue;
      }
      if (outcome.kind === "current") {
        current.push(where);
        continue;
      }
      recordAmi(registry, t.id, { ...t.template, version: image.tags["cws:version"] ?? t.template.version }, t.region, t.arch, recordFromImage(image));
      changes.push({ target: where, ...(entry ? { from: entry.ami_id } : {}), to: image.imageId });
    }
    // A validation tagged on an image the registry holds (current or in history) but has not recorded: `cws ami validate`
    // tags first and marks the registry after, so a registry it could not write catches up here, from the tag.
    for (const t of targets) {
      for (const image of imagesByRegion.get(t.region) ?? []) {
        const at = taggedValidatedAt(image);
        if (at === undefined || image.tags["cws:template"] !== t.id || (image.tags["cws:arch"] ?? image.architecture) !== t.arch) continue;
        const record = takeTaggedValidation(registry, t.id, t.region, t.arch, image.imageId, at);
        if (record) validations.push({ target: `${t.id}.${t.region}.${t.arch}`, amiId: image.imageId, validatedAt: at, record });
      }
    }
  }, registryLockOptions(io));
  if (missing.length > 0) io.stderr.write(`no available, validated cws AMI in AWS for: ${missing.join(", ")}\n`);
  for (const u of unmatched) io.stderr.write(`${unmatchedLine(u)}\n`);
  for (const note of pinned) io.stderr.write(`📌 kept ${note}\n`);
  // Named targets of which none has an AMI to record: the CI step after a build that made none. --all only reports.
  if (!options.all && missing.length + unmatched.length === targets.length) {
    const none = [...missing, ...unmatched.map((u) => u.target)].join(", ");
    const what = unmatched.length > 0 ? "available, validated cws AMI of the template as it is now" : "available, validated cws AMI";
    throw new CwsError("NO_VALIDATED_AMI", `nothing recorded: AWS has no ${what} for ${none}; ${globals.registry} is unchanged`, {
      value: none,
      exitCode: EXIT.failed,
      suggestion: `build one (cws ami build ${targets[0]!.id} --region ${targets[0]!.region} --architecture ${targets[0]!.arch}), or check its tags with cws ami list --live`,
    });
  }
  // What was written is said before publishing, which may fail.
  if (!globals.json) {
    for (const change of changes) io.stdout.write(`Registry updated: ${change.target} = ${change.to}${change.from ? ` (was ${change.from})` : ""}\n`);
    for (const v of validations) {
      io.stdout.write(`Registry updated: ${v.target}: ${v.amiId} validated at ${v.validatedAt} (from its cws:validated-at tag; ${v.record === "current" ? "the current AMI" : "in the entry's history"})\n`);
    }
    if (changes.length === 0 && validations.length === 0) io.stdout.write(`${unchangedSummary(targets.length, current.length, pinned.length, missing.length, unmatched.length)}\n`);
  }
  if (publishSsm) {
    const registry = (await readRegistry(globals.registry)) ?? emptyRegistry(now);
    for (const t of targets) {
      const entry = entryAt(registry, t.id, t.region, t.arch);
      if (entry) await publish(aws, { templateId: t.id, region: t.region, architecture: t.arch }, entry.ami_id, io).catch((e: unknown) => Promise.reject(describe(e) ?? e));
    }
  }
  if (globals.json) io.stdout.write(`${JSON.stringify({ updated: changes, validated: validations, current, missing, unmatched, pinned }, null, 2)}\n`);
  return EXIT.ok;
}

/** The last line when nothing was recorded: "already current" only when every target is. */
function unchangedSummary(targets: number, current: number, pinned: number, missing: number, unmatched: number): string {
  const of = (count: number) => `${count} of ${targets} target${targets === 1 ? "" : "s"}`;
  if (current === targets) return `Registry already current (${of(current)})`;
  const parts = [
    current > 0 ? `${current} already current` : "",
    pinned > 0 ? `${pinned} pinned by a rollback` : "",
    missing > 0 ? `${missing} with no validated AMI in AWS` : "",
    unmatched > 0 ? `${unmatched} with no validated AMI of the template as it is now` : "",
  ].filter(Boolean);
  return `Registry unchanged: ${parts.join(", ")} (${targets} target${targets === 1 ? "" : "s"})`;
}

function unmatchedTarget(target: string, newest: ImageInfo, why: Mismatch): UnmatchedTarget {
  const version = newest.tags["cws:version"];
  return {
    target,
    newest: newest.imageId,
    ...(version ? { version } : {}),
    ...(why.kind === "untagged" ? { untagged: true as const } : {}),
    ...(why.kind === "base" ? { parent: why.parent, ...(why.builtOn ? { builtOn: why.builtOn } : {}) } : {}),
  };
}

/** The stderr line for a target --match-templates leaves alone, saying why its newest image does not count. */
function unmatchedLine(u: UnmatchedTarget): string {
  const newest = `${u.newest}${u.version ? ` (${u.version})` : ""}`;
  const why = u.untagged
    ? `which has no ${TEMPLATE_HASH_TAG} tag (built by an older cws), so it never matches`
    : u.parent === undefined
      ? "of another version of the template"
      : u.builtOn === undefined
        ? `which has no ${BASE_AMI_TAG} tag, so what it was built on is unknown`
        : `built on ${u.builtOn} which is not an image of ${u.parent} as it is now`;
  return `${u.target}: no validated image of the template as it is now (newest is ${newest}, ${why}); left as it is`;
}

/** Templates by id, each valid: an invalid one is an error naming its first problem. */
async function loadValidTemplates(templatesDir: string, ids: readonly string[]): Promise<{ id: string; template: Template }[]> {
  const templates: { id: string; template: Template }[] = [];
  for (const t of await loadTemplates(templatesDir, ids)) {
    if (!t.template) {
      throw new CwsError("TEMPLATE_INVALID", `template ${t.id} is invalid (${t.problems[0]?.file}:${t.problems[0]?.line}:${t.problems[0]?.column} ${t.problems[0]?.message})`, {
        value: t.file,
        suggestion: `cws ami lint ${t.id}`,
      });
    }
    templates.push({ id: t.id, template: t.template });
  }
  return templates;
}

/**
 * What --match-templates matches against: the templates and every parent up their chains (loaded from the
 * templates directory when not among them), in dependency order, and every region of the chains. A parent that
 * is missing or a cycle is an error: which images of the child are of it as it is now cannot be said.
 */
async function parentChain(
  templates: readonly { id: string; template: Template }[],
  templatesDir: string,
): Promise<{ templates: Map<string, MatchTemplate>; order: readonly string[]; regions: string[] }> {
  const byId = new Map(templates.map((t) => [t.id, t.template]));
  const files = new Set((await listTemplateFilesIfAny(templatesDir)).map((f) => f.id));
  for (const pending = [...byId.values()]; pending.length > 0; ) {
    const parent = pending.pop()!.base_ami.template;
    if (parent === undefined || byId.has(parent) || !files.has(parent)) continue;
    const [loaded] = await loadValidTemplates(templatesDir, [parent]);
    byId.set(parent, loaded!.template);
    pending.push(loaded!.template);
  }
  const graph = dependencyGraph(byId);
  const problem = graph.problems.find((p) => p.kind === "missing-parent" || p.kind === "cycle");
  if (problem) {
    throw new CwsError("TEMPLATE_INVALID", `--match-templates follows ${problem.template}'s parents: ${problem.message}`, { value: problem.template, suggestion: problem.suggestion });
  }
  return {
    templates: new Map([...byId].map(([id, template]) => [id, { templateHash: templateImageHash(template), parent: template.base_ami.template }])),
    order: graph.order,
    // A parent's images count in any of its regions (a child's base image is where the child was built; a copy names its source's).
    regions: [...new Set([...byId.values()].flatMap((template) => (template.base_ami.template ? byId.get(template.base_ami.template)?.regions ?? [] : [])))],
  };
}

/**
 * What rollback knows of a template: from its file when it has a valid one
 * (the same regions and architectures build uses), else from the registry (a
 * template whose file is gone or broken can still be rolled back). An id
 * neither knows is a usage error with the nearest id.
 */
async function rollbackScope(templateId: string, registry: Registry, globals: GlobalOptions): Promise<{ regions: string[]; architecturesIn: (region: string) => Architecture[]; file?: string }> {
  const files = await listTemplateFilesIfAny(globals.templatesDir);
  const file = files.find((f) => f.id === templateId);
  const recorded = templateAt(registry, templateId);
  if (!recorded) {
    if (file) throw new CwsError("NO_REGISTRY_ENTRY", `${globals.registry} has no AMI for ${templateId}: nothing to roll back`, { value: templateId, suggestion: "cws ami list shows what it has" });
    const known = [...new Set([...files.map((f) => f.id), ...Object.keys(registry.templates)])];
    throw templateNotFound(templateId, `${globals.templatesDir} or ${globals.registry}`, known);
  }
  const template = file ? (await loadTemplateFile(file)).template : undefined;
  if (file && template) return { regions: template.regions, architecturesIn: () => template.base_ami.architecture, file: file.file };
  return {
    regions: Object.keys(recorded.amis),
    architecturesIn: (region) => ARCHITECTURES.filter((arch) => entryAt(registry, templateId, region, arch) !== undefined),
  };
}

export async function runRollback(
  templateId: string,
  options: { region?: string; architecture?: Architecture; to?: string; publishSsm?: boolean; profile?: string },
  globals: GlobalOptions,
  io: CliIO,
): Promise<ExitCode> {
  const registry = await readRegistry(globals.registry);
  if (!registry) throw new CwsError("REGISTRY_MISSING", `no registry at ${globals.registry}`, { suggestion: "cws ami update-registry --all builds it from AWS" });
  const scope = await rollbackScope(templateId, registry, globals);
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env, { readSharedConfig, templateRegions: scope.regions });
  const { region } = context;
  const architecture = chooseArchitecture(options.architecture, scope.architecturesIn(region), {
    subject: scope.file ? `${templateId} builds` : `the registry has ${templateId} in ${region} for`,
    command: `cws ami rollback ${templateId} --region ${region}`,
  });
  // Work out the target on a copy first, to check it in AWS before touching the file.
  const preview = rollbackEntry(structuredClone(registry), templateId, region, architecture, options.to, isoSeconds(new Date()));
  const { aws, describe } = await awsPorts(context);
  let image: ImageInfo | undefined;
  try {
    [image] = await aws.ec2(region).describeImages({ imageIds: [preview.to.ami_id] });
  } catch (error) {
    const described = describe(error);
    if (described) throw described;
    if (!(error as { code?: string }).code?.startsWith("InvalidAMIID")) throw error;
  }
  if (!image || image.state !== "available") {
    throw new CwsError("ROLLBACK_TARGET_UNAVAILABLE", `refusing to roll back ${templateId}.${region}.${architecture} to ${preview.to.ami_id}: it is ${image ? image.state : "gone"} in AWS`, {
      value: preview.to.ami_id,
      exitCode: EXIT.failed,
      suggestion: `pick another with --to (cws ami list --template ${templateId} --live)`,
    });
  }
  let result!: ReturnType<typeof rollbackEntry>;
  await updateRegistryFile(globals.registry, new Date(), (current) => {
    result = rollbackEntry(current, templateId, region, architecture, options.to, isoSeconds(new Date()));
  }, registryLockOptions(io));
  if (!globals.json) io.stdout.write(`Rolled back ${templateId}.${region}.${architecture}: ${result.from} → ${result.to.ami_id}${result.to.version ? ` (${result.to.version})` : ""}\n`);
  io.stderr.write("📌 The entry is pinned: update-registry keeps it until the next build (or --unpin).\n");
  if (resolvePublishSsm(options.publishSsm, globals.project).value) await publish(aws, { templateId, region, architecture }, result.to.ami_id, io).catch((e: unknown) => Promise.reject(describe(e) ?? e));
  if (globals.json) io.stdout.write(`${JSON.stringify({ template: templateId, region, architecture, from: result.from, to: result.to }, null, 2)}\n`);
  return EXIT.ok;
}

const PRINT_IT = "--output - prints the merged registry on standard output";
/** Names of standard output (Linux and macOS); what they lead to may be a terminal, a pipe or a file being written by the shell. */
const STDOUT_PATHS: ReadonlySet<string> = new Set(["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]);

/** Merge registry files (e.g. CI artifacts) into the registry, or print the merge with --output -. */
export async function runRegistryMerge(typedFiles: string[], typedOptions: { output?: string }, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  // Paths typed below the project root are relative to where they were typed.
  const typed = (path: string) => (globals.project ? typedPath(globals.project, path) : path);
  const files = typedFiles.map(typed);
  const options = { output: typedOptions.output === undefined || typedOptions.output === "-" ? typedOptions.output : typed(typedOptions.output) };
  const inputs: Registry[] = [];
  // Every file is checked before anything is written, and every unusable one is named.
  const unusable: CwsError[] = [];
  for (const file of files) {
    try {
      const text = readRegistryText(file, { role: "the file to merge", required: true, suggestion: "each argument is a registry file to merge, such as a CI job's registry/amis.json" });
      inputs.push(await parseRegistry(text, file));
    } catch (error) {
      if (!(error instanceof CwsError)) throw error;
      unusable.push(error);
    }
  }
  if (unusable.length === 1) throw unusable[0]!;
  if (unusable.length > 1) {
    throw new CwsError("MERGE_INPUT_INVALID", `${unusable.length} of the files cannot be merged; nothing was written:\n  ${unusable.map((e) => e.message).join("\n").split("\n").join("\n  ")}`, {
      suggestion: "fix the files named above, or leave them out",
    });
  }
  if (options.output === "-") {
    // The merged registry is the result, and a JSON document with or without --json.
    io.stdout.write(serializeRegistry(mergeRegistries(inputs)));
    return EXIT.ok;
  }
  const target = options.output ?? globals.registry;
  // The output is named as what it is, and checked before its lock is made beside it (in /dev, for /dev/stdout).
  const role = options.output === undefined ? { role: "the registry" } : { role: "the merge's output (--output)", suggestion: `name a registry file to merge into, or ${PRINT_IT}` };
  if (options.output !== undefined && STDOUT_PATHS.has(options.output)) {
    throw new CwsError("BAD_OPTION", `--output ${options.output}: the merged registry is written to a file, atomically (a temporary file renamed over it), and standard output is no file`, {
      value: options.output,
      suggestion: PRINT_IT,
    });
  }
  readRegistryText(target, role);
  let merged!: Registry;
  await withRegistryLock(target, async () => {
    const base = await readRegistry(target, role);
    merged = mergeRegistries(base ? [base, ...inputs] : inputs);
    await writeRegistryAtomically(target, merged);
  }, registryLockOptions(io));
  if (globals.json) io.stdout.write(`${JSON.stringify({ merged: files, into: target, templates: Object.keys(merged.templates).length }, null, 2)}\n`);
  else io.stdout.write(`Merged ${files.length} file${files.length === 1 ? "" : "s"} into ${target}\n`);
  return EXIT.ok;
}

