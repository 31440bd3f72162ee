/**
 * build-all's orchestrator in a unit test: an account's images in many regions
 * behind the ports (CopyImage and DescribeImages as EC2 answers them, SSM's
 * PutParameter recorded), the real copy (copyImageToRegion) over them, and a
 * fake build in place of runBuild that does what each job's script says:
 * build an image tagged as the pipeline tags it, find one of the same content
 * up to date (the real cache check, findUpToDateImage), fail, or run until it
 * is interrupted. It records every start and end, and how many builds and
 * copies ran at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AwsCallError, type AwsPorts, type Ec2Port, type ImageInfo, type SsmPort } from "../../src/aws/ports.js";
import type { BuildDeps, BuildResult } from "../../src/builder/build.js";
import { findUpToDateImage } from "../../src/builder/cache.js";
import { imageTags, requestFor, type BuildInput } from "../../src/builder/context.js";
import { EXIT } from "../../src/errors.js";
import { copyImageToRegion } from "../../src/fleet/copy.js";
import { buildCost } from "../../src/fleet/cost.js";
import { imageJobId, type FleetDeps } from "../../src/fleet/orchestrator.js";
import { recordFromImage } from "../../src/registry/aws-images.js";
import { entryAt, isPinned } from "../../src/registry/operations.js";
import { recordAmi, updateRegistryFile } from "../../src/registry/store.js";
import { imageContentHash } from "../../src/template/content-hash.js";
import { ACCOUNT, ec2PortWith, FAKE_BASE_AMI, imageMatches } from "../builder/fake-build.js";

/**
 * What a job's build does: make an image (default), fail (exit 1), fail for the user's setup (exit 2, a
 * preflight problem), run until interrupted, or run until the fleet is cancelled and then end failed, as a
 * build does whose image the fresh instance judged failed just as the stop came (`verdict-at-stop`).
 */
export type BuildScript = "build" | "fail" | "usage" | "hang" | "verdict-at-stop";

export interface FleetScript {
  /** By job id (`template/arch@region`). */
  builds?: Record<string, BuildScript>;
  /** CopyImage into this region fails with this error. */
  copyErrors?: Record<string, Error>;
  /** Images of this account already in a region (e.g. of the same content, for the cache to find). */
  images?: Record<string, ImageInfo[]>;
  /** How long each build and each CopyImage takes, ms. */
  ms?: number;
  /** How long a job's build takes, by job id, when not `ms`. */
  buildMs?: Record<string, number>;
}

export const FAKE_NOW = new Date("2026-11-26T12:00:00Z");

/** An image of this account as a build tags it (`tags`), available. */
export function accountImage(imageId: string, tags: Record<string, string>, extra: Partial<ImageInfo> = {}): ImageInfo {
  return {
    imageId,
    name: tags.Name ?? imageId,
    architecture: tags["cws:arch"] ?? "x86_64",
    state: "available",
    creationDate: "2026-11-20T08:00:00.000Z",
    ownerId: ACCOUNT,
    rootDeviceName: "/dev/sda1",
    rootVolumeSizeGb: 8,
    snapshotIds: [`snap-${imageId.slice(4)}`],
    encrypted: true,
    tags,
    ...extra,
  };
}

export function fakeFleet(script: FleetScript = {}) {
  const images = new Map<string, ImageInfo[]>(Object.entries(script.images ?? {}).map(([region, list]) => [region, [...list]]));
  const inRegion = (region: string) => images.get(region) ?? images.set(region, []).get(region)!;
  /** `start build a/x86_64@us-east-1`, `end copy a/x86_64@us-west-2`, in order. */
  const log: string[] = [];
  /** Calls that change AWS: `copy <source> to <region> = <copy>`, `deregister <id> in <region>`, `put <name> = <id>`. */
  const calls: string[] = [];
  const requests: BuildInput[] = [];
  /** The signal each build was given, by job id. */
  const signals = new Map<string, AbortSignal>();
  let running = 0;
  let peak = 0;
  let made = 0;
  const newImageId = () => `ami-0f1ee7${(++made).toString(16).padStart(11, "0")}`;
  const ms = script.ms ?? 5;

  const unused = (what: string) => () => Promise.reject(new Error(`the fleet fake does not do ${what}`));
  const ports = new Map<string, { ec2: Ec2Port; ssm: SsmPort }>();
  const portsFor = (region: string) => {
    const existing = ports.get(region);
    if (existing) return existing;
    const ec2 = ec2PortWith(region, {
      async describeImages(filter) {
        // A copy (pending when made) is available by the time its wait first looks for it.
        if (filter.imageIds) for (const image of inRegion(region)) if (filter.imageIds.includes(image.imageId) && image.state === "pending") image.state = "available";
        return inRegion(region)
          .filter((image) => imageMatches(image, filter))
          .map((image) => ({ ...image }));
      },
      async copyImage(request) {
        await sleep(ms);
        const error = script.copyErrors?.[region];
        if (error) throw error;
        // Names are unique per region, as EC2 has them.
        const holder = inRegion(region).find((image) => image.name === request.name);
        if (holder) throw new AwsCallError("InvalidAMIName.Duplicate", "CopyImage", `AMI name ${request.name} is already in use by AMI ${holder.imageId}`, 400);
        const source = inRegion(request.sourceRegion).find((image) => image.imageId === request.sourceImageId);
        if (!source) throw new AwsCallError("InvalidAMIID.NotFound", "CopyImage", `The image id '[${request.sourceImageId}]' does not exist`, 400);
        const copy = accountImage(newImageId(), request.tags, { name: request.name, state: "pending", architecture: source.architecture, rootVolumeSizeGb: source.rootVolumeSizeGb, creationDate: FAKE_NOW.toISOString() });
        inRegion(region).push(copy);
        calls.push(`copy ${request.sourceImageId} to ${region} = ${copy.imageId}`);
        return copy.imageId;
      },
      async deregisterImage(imageId) {
        calls.push(`deregister ${imageId} in ${region}`);
        images.set(region, inRegion(region).filter((image) => image.imageId !== imageId));
      },
      async deleteSnapshot(snapshotId) {
        calls.push(`delete ${snapshotId} in ${region}`);
      },
    });
    const ssm: SsmPort = {
      region,
      async putParameter(name, value) {
        calls.push(`put ${name} = ${value}`);
      },
      getParameter: unused("GetParameter"),
      pingStatus: unused("DescribeInstanceInformation"),
      sendShellCommand: unused("SendCommand"),
      getCommandInvocation: unused("GetCommandInvocation"),
      cancelCommand: unused("CancelCommand"),
    };
    ports.set(region, { ec2, ssm });
    return { ec2, ssm };
  };
  const aws: AwsPorts = {
    ec2: (region) => portsFor(region).ec2,
    ssm: (region) => portsFor(region).ssm,
    sts: () => ({ callerIdentity: unused("GetCallerIdentity") }),
    iam: () => {
      throw new Error("the fleet fake does not do IAM");
    },
  };

  const track = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    log.push(`start ${what}`);
    running++;
    peak = Math.max(peak, running);
    try {
      return await run();
    } finally {
      running--;
      log.push(`end ${what}`);
    }
  };

  /** runBuild's stand-in: the cache check and the record step as the pipeline runs them, the rest as the job's script says. */
  async function runBuild(input: BuildInput, deps: BuildDeps): Promise<BuildResult> {
    const id = imageJobId(input.templateId, input.architecture, input.region);
    requests.push(input);
    signals.set(id, deps.signal);
    return track(`build ${id}`, async () => {
      const buildId = `b-${input.templateId}-${input.architecture}-${input.region}`;
      const request = requestFor(input, buildId);
      const baseAmi = input.parentImage?.imageId ?? FAKE_BASE_AMI;
      const contentHash = imageContentHash(input.templateHash, baseAmi);
      const outcome = script.builds?.[id] ?? "build";
      const result = (fields: Partial<BuildResult>): BuildResult => ({
        status: "succeeded",
        upToDate: false,
        buildId,
        template: input.templateId,
        region: input.region,
        architecture: input.architecture,
        version: input.version,
        baseAmi,
        contentHash,
        instanceType: input.instanceType,
        durationSeconds: 600,
        validation: [],
        logDir: request.logDir,
        exitCode: EXIT.ok,
        written: {},
        cleaned: [],
        kept: [],
        cleanupErrors: [],
        ...fields,
      });
      const interrupted = () => result({ status: "interrupted", exitCode: EXIT.interrupted, failedStep: "Waiting for the instance", cleaned: ["instance i-1"] });
      const ec2 = aws.ec2(input.region);

      if (!deps.force) {
        const found = await findUpToDateImage(ec2, { templateId: input.templateId, architecture: input.architecture, contentHash, maxAgeMs: deps.maxAgeMs, now: FAKE_NOW });
        if (found.upToDate && found.image) {
          const image = found.image;
          let pinnedTo: string | undefined;
          if (deps.registryFile) {
            await updateRegistryFile(deps.registryFile, FAKE_NOW, (registry) => {
              const entry = entryAt(registry, input.templateId, input.region, input.architecture);
              if (entry?.ami_id !== image.imageId && isPinned(entry)) pinnedTo = entry!.ami_id;
              if (entry?.ami_id !== image.imageId && !isPinned(entry)) recordAmi(registry, input.templateId, input.template, input.region, input.architecture, recordFromImage(image));
            });
          }
          return result({ upToDate: true, imageId: image.imageId, imageName: image.name, imageState: image.state, imageCreated: image.creationDate, ...(pinnedTo ? { pinnedTo } : {}) });
        }
      }
      if (outcome === "hang" || outcome === "verdict-at-stop") {
        await new Promise<void>((resolve) => deps.signal.addEventListener("abort", () => resolve(), { once: true }));
        if (outcome === "hang") return interrupted();
        return result({
          status: "failed",
          exitCode: EXIT.failed,
          failedStep: "verify",
          error: { code: "BUILD_FAILED", message: "1 of 1 validation test failed on a fresh instance of ami-0f1ee700000000000", preflight: false },
          kept: ["image ami-0f1ee700000000000 (failed on a fresh instance; tagged cws:validated=false, not in the registry)"],
        });
      }
      await sleep(script.buildMs?.[id] ?? ms);
      if (deps.signal.aborted) return interrupted();
      const cost = deps.prices ? { build: buildCost({ region: input.region, instanceType: input.instanceType, seconds: 600, volumeGb: 8 }, deps.prices), prices: "test" } : undefined;
      if (outcome === "fail") {
        return result({ status: "failed", exitCode: EXIT.failed, failedStep: "Provisioning", error: { code: "BUILD_FAILED", message: "setup script exited 1", preflight: false }, ...(cost ? { cost } : {}) });
      }
      if (outcome === "usage") {
        return result({
          status: "failed",
          exitCode: EXIT.usage,
          failedStep: "Preflight",
          error: { code: "PREFLIGHT_FAILED", message: "instance profile cws-ami-builder does not exist", suggestion: "run cws ami bootstrap", preflight: true },
        });
      }
      const imageId = newImageId();
      const name = `cws-${input.templateId}-${input.version}-${input.architecture}-${made}`;
      const image = accountImage(imageId, imageTags({ request, buildId }, name, { baseAmiId: baseAmi, contentHash }), { creationDate: FAKE_NOW.toISOString(), architecture: input.architecture });
      inRegion(input.region).push(image);
      if (deps.registryFile) {
        await updateRegistryFile(deps.registryFile, FAKE_NOW, (registry) => recordAmi(registry, input.templateId, input.template, input.region, input.architecture, recordFromImage(image)));
      }
      return result({ imageId, imageName: name, imageState: "available", ...(cost ? { cost } : {}) });
    });
  }

  const deps: FleetDeps = {
    runBuild,
    copyImageToRegion: (input) => track(`copy ${imageJobId(input.source.tags["cws:template"] ?? "?", input.source.tags["cws:arch"] ?? "?", input.destinationRegion)}`, () => copyImageToRegion(input)),
  };
  return { aws, deps, log, calls, requests, signals, peak: () => peak, imagesIn: (region: string) => inRegion(region) };
}
