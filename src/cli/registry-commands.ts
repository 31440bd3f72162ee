import type { AwsPorts, ImageInfo } from "../aws/ports.js";
import { readSharedConfig } from "../aws/shared-config.js";
import { awsClientProfile, resolveAwsContext, type AwsContext } from "../config/aws-context.js";
import { projectAwsConfig, resolvePublishSsm, typedPath } from "../config/settings.js";
import { CwsError, EXIT, type ExitCode } from "../errors.js";
import { listCwsImages, newestValidated, recordFromImage } from "../registry/aws-images.js";
import { entryAt, isPinned, mergeRegistries, rollbackEntry } from "../registry/operations.js";
import { publishAmiToSsm } from "../registry/publish.js";
import { readRegistryText } from "../registry/registry-file.js";
import { emptyRegistry, type Registry } from "../registry/schema.js";
import { isoSeconds, parseRegistry, readRegistry, recordAmi, serializeRegistry, updateRegistryFile, withRegistryLock, writeRegistryAtomically } from "../registry/store.js";
import { checkTemplateIdArgument, loadTemplates } from "../template/repository.js";
import { ARCHITECTURES, type Architecture, type Template } from "../template/schema.js";
import { didYouMean } from "../template/suggest.js";
import type { CliIO, GlobalOptions } from "./io.js";
import { registryLockOptions } from "./registry-lock.js";

async function awsPorts(context: AwsContext): Promise<{ aws: AwsPorts; describe: (e: unknown) => CwsError | undefined }> {
  const { createAwsPorts, describeAwsError } = await import("../aws/sdk.js");
  return { aws: createAwsPorts(awsClientProfile(context)), describe: describeAwsError };
}

function checkArchitecture(value: string | undefined): Architecture | undefined {
  if (value === undefined) return undefined;
  if (!(ARCHITECTURES as readonly string[]).includes(value)) {
    throw new CwsError("BAD_OPTION", `--architecture ${JSON.stringify(value)}: expected one of ${ARCHITECTURES.join(", ")}${didYouMean(value, ARCHITECTURES)}`, { value });
  }
  return value as Architecture;
}

/** `--publish-ssm`: the AMI id where running systems read it, and a line saying so. */
async function publish(aws: AwsPorts, target: { templateId: string; region: string; architecture: Architecture }, amiId: string, io: CliIO): Promise<void> {
  const name = await publishAmiToSsm(aws.ssm(target.region), target, amiId);
  io.stderr.write(`📣 Published ${name} = ${amiId}\n`);
}

interface UpdateRegistryOptions {
  region?: string;
  architecture?: string;
  all?: boolean;
  publishSsm?: boolean;
  unpin?: boolean;
  profile?: string;
}

/**
 * From AWS tags alone, record the newest available, validated cws AMI of each
 * target. Works from a fresh checkout (only the templates are needed) and is
 * idempotent; the way CI matrix jobs update the registry without passing files.
 */
export async function runUpdateRegistry(templateId: string | undefined, options: UpdateRegistryOptions, globals: GlobalOptions, io: CliIO): Promise<ExitCode> {
  if (!templateId && !options.all) {
    throw new CwsError("TEMPLATE_REQUIRED", "name a template, or pass --all for every template", { suggestion: "cws ami update-registry r-research --region us-east-1 --architecture x86_64" });
  }
  const architecture = checkArchitecture(options.architecture);
  const loaded = await loadTemplates(globals.templatesDir, templateId ? [templateId] : []);
  const templates: { id: string; template: Template }[] = [];
  for (const t of loaded) {
    if (!t.template) {
      throw new CwsError("TEMPLATE_INVALID", `template ${t.id} is invalid (${t.problems[0]?.file}:${t.problems[0]?.line}:${t.problems[0]?.column} ${t.problems[0]?.message})`, {
        value: t.file,
        suggestion: `cws ami lint ${t.id}`,
      });
    }
    templates.push({ id: t.id, template: t.template });
  }
  const targets = templates.flatMap(({ id, template }) =>
    template.regions
      .filter((r) => options.region === undefined || r === options.region)
      .flatMap((region) => template.base_ami.architecture.filter((a) => architecture === undefined || a === architecture).map((arch) => ({ id, template, region, arch }))),
  );
  if (targets.length === 0) {
    throw new CwsError("NO_TARGETS", `nothing to update: no template builds ${[options.region, architecture].filter(Boolean).join(" / ")}`, { suggestion: "check --region and --architecture against the templates" });
  }
  // The targets name their regions (--region only narrows them): only the profile is needed.
  const { aws, describe } = await awsPorts(await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env));
  const publishSsm = resolvePublishSsm(options.publishSsm, globals.project).value;
  const regions = [...new Set(targets.map((t) => t.region))];
  let imagesByRegion: Map<string, ImageInfo[]>;
  try {
    imagesByRegion = new Map(
      await Promise.all(regions.map(async (region) => [region, await listCwsImages(aws.ec2(region), templateId)] as const)),
    );
  } catch (error) {
    throw describe(error) ?? error;
  }
  const changes: { target: string; from?: string; to: string }[] = [];
  const missing: string[] = [];
  const pinned: string[] = [];
  const now = new Date();
  await updateRegistryFile(globals.registry, now, (registry) => {
    for (const t of targets) {
      const where = `${t.id}.${t.region}.${t.arch}`;
      const image = newestValidated(imagesByRegion.get(t.region) ?? [], t.id, t.arch);
      if (!image) {
        missing.push(where);
        continue;
      }
      const current = entryAt(registry, t.id, t.region, t.arch);
      if (isPinned(current) && !options.unpin && current!.ami_id !== image.imageId) {
        pinned.push(`${where} (pinned to ${current!.ami_id} by a rollback; --unpin to replace it with ${image.imageId})`);
        continue;
      }
      if (current?.ami_id === image.imageId && !(isPinned(current) && options.unpin)) continue;
      recordAmi(registry, t.id, { ...t.template, version: image.tags["cws:version"] ?? t.template.version }, t.region, t.arch, recordFromImage(image));
      changes.push({ target: where, ...(current ? { from: current.ami_id } : {}), to: image.imageId });
    }
  }, registryLockOptions(io));
  for (const change of changes) io.stdout.write(`Registry updated: ${change.target} = ${change.to}${change.from ? ` (was ${change.from})` : ""}\n`);
  for (const note of pinned) io.stderr.write(`📌 kept ${note}\n`);
  if (publishSsm) {
    const registry = (await readRegistry(globals.registry)) ?? emptyRegistry(now);
    for (const t of targets) {
      const entry = entryAt(registry, t.id, t.region, t.arch);
      if (entry) await publish(aws, { templateId: t.id, region: t.region, architecture: t.arch }, entry.ami_id, io).catch((e: unknown) => Promise.reject(describe(e) ?? e));
    }
  }
  if (globals.json) io.stdout.write(`${JSON.stringify({ updated: changes, missing, pinned }, null, 2)}\n`);
  if (changes.length === 0 && !globals.json) io.stdout.write(`Registry already current (${targets.length - missing.length} of ${targets.length} targets have a validated AMI)\n`);
  if (missing.length > 0) {
    io.stderr.write(`no available, validated cws AMI in AWS for: ${missing.join(", ")}\n`);
    // A single named target with nothing to record is a failure (the CI step after a build); --all just reports.
    if (!options.all && targets.length === missing.length) return EXIT.failed;
  }
  return EXIT.ok;
}

export async function runRollback(
  templateId: string,
  options: { region?: string; architecture?: string; to?: string; publishSsm?: boolean; profile?: string },
  globals: GlobalOptions,
  io: CliIO,
): Promise<ExitCode> {
  const context = await resolveAwsContext({ ...options, project: projectAwsConfig(globals.project) }, io.env, { readSharedConfig });
  const { region } = context;
  const architecture = checkArchitecture(options.architecture);
  if (!architecture) throw new CwsError("ARCHITECTURE_REQUIRED", "pass --architecture x86_64 or arm64");
  const registry = await readRegistry(globals.registry);
  if (!registry) throw new CwsError("REGISTRY_MISSING", `no registry at ${globals.registry}`, { suggestion: "cws ami update-registry --all builds it from AWS" });
  checkTemplateIdArgument(templateId, Object.keys(registry.templates));
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
    io.stderr.write(
      `error: refusing to roll back ${templateId}.${region}.${architecture} to ${preview.to.ami_id}: it is ${image ? image.state : "gone"} in AWS\n  → pick another with --to (cws ami list --template ${templateId} --live)\n`,
    );
    return EXIT.failed;
  }
  let result!: ReturnType<typeof rollbackEntry>;
  await updateRegistryFile(globals.registry, new Date(), (current) => {
    result = rollbackEntry(current, templateId, region, architecture, options.to, isoSeconds(new Date()));
  }, registryLockOptions(io));
  io.stdout.write(`Rolled back ${templateId}.${region}.${architecture}: ${result.from} → ${result.to.ami_id}${result.to.version ? ` (${result.to.version})` : ""}\n`);
  io.stderr.write("📌 The entry is pinned: update-registry keeps it until the next build (or --unpin).\n");
  if (resolvePublishSsm(options.publishSsm, globals.project).value) await publish(aws, { templateId, region, architecture }, result.to.ami_id, io).catch((e: unknown) => Promise.reject(describe(e) ?? e));
  if (globals.json) io.stdout.write(`${JSON.stringify({ template: templateId, region, architecture, from: result.from, to: result.to }, null, 2)}\n`);
  return EXIT.ok;
}

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
      inputs.push(await parseRegistry(readRegistryText(file, "the file to merge", "error"), file));
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
    io.stdout.write(serializeRegistry(mergeRegistries(inputs)));
    return EXIT.ok;
  }
  const target = options.output ?? globals.registry;
  await withRegistryLock(target, async () => {
    const base = await readRegistry(target);
    const merged = mergeRegistries(base ? [base, ...inputs] : inputs);
    await writeRegistryAtomically(target, merged);
  }, registryLockOptions(io));
  io.stdout.write(`Merged ${files.length} file${files.length === 1 ? "" : "s"} into ${target}\n`);
  return EXIT.ok;
}

