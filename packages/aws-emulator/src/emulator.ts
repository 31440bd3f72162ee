import http from "node:http";
import type { AddressInfo } from "node:net";
import { authorizationsFor, type Authorization } from "./authorization.js";
import { SimClock } from "./clock.js";
import { EC2_HANDLERS, capacityMessage, runInstancesPlacement } from "./ec2.js";
import { ApiError } from "./errors.js";
import { Faults, type FaultRequest, type ServiceName } from "./faults.js";
import { IAM_HANDLERS, STS_HANDLERS, seedInstanceProfile } from "./iam.js";
import { randomId, requestId as newRequestId } from "./ids.js";
import { imageState, pingStatus, refreshInstance, snapshotState } from "./lifecycle.js";
import { parseForm } from "./query.js";
import { Sandbox, type ShellMode } from "./sandbox.js";
import { RequestLog, loggedParams, type RequestLogOptions, type RequestLogView } from "./request-log.js";
import { REGION_NAME, createRegion, publicParameter } from "./seed.js";
import { SSM_HANDLERS } from "./ssm.js";
import { BASE_IMAGE_FAMILIES, PUBLIC_AMI_PARAMETERS, type FamilyKey } from "./public-amis.js";
import { DEFAULT_LATENCIES, IamState, type InstanceStateName, type Latencies, type RegionState, type ResolvedOptions, type Snapshot, type World } from "./state.js";
import { Stats, type EmulatorStats } from "./stats.js";
import { Throttle, throttlingCode, type ThrottleOptions } from "./throttle.js";
import { XML_DECLARATION, escapeXml, renderChildren, type XmlNode } from "./xml.js";

export interface EmulatorOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Real milliseconds per simulated second (default 10: a 30 s wait takes 300 ms). */
  msPerSimSecond?: number;
  /** Override any of the simulated latencies (in simulated seconds). */
  latencies?: Partial<Latencies>;
  /** Where instance and image trees live; a fresh folder is made inside it (default: the OS temp dir) and removed by stop(). */
  scratchDir?: string;
  /** Instance profiles (each with a same-named role that has AmazonSSMManagedInstanceCore) present from the start. Default ["cws-ami-builder"]. */
  instanceProfiles?: string[];
  /** Answer InvalidClientTokenId (HTTP 403) to every request of every service. */
  rejectCredentials?: boolean;
  /** Default "123456789012". */
  accountId?: string;
  /**
   * How scripts run: "bash" (default) runs the commands with /bin/bash; "agent"
   * mimics the real SSM agent, which runs `sh -c _script.sh` so that a script
   * without a shebang line runs under /bin/sh (dash on Debian and Ubuntu).
   */
  shell?: ShellMode;
  /** executionTimeout is in real seconds by default; set this to scale it like the other waits. */
  scaleExecutionTimeout?: boolean;
  /** The SSM agent registers only when the instance's role has AmazonSSMManagedInstanceCore (default true). */
  requireSsmPolicy?: boolean;
  /** Path of util-linux `unshare` (default "unshare"). */
  unsharePath?: string;
  /**
   * Request throttling: a token bucket per region and API action (EC2's
   * model); off when left out. See `ThrottleOptions` (throttle.ts).
   */
  throttle?: ThrottleOptions;
  /**
   * Record every request as AWS would receive it (service, action, region,
   * decoded parameters, the answer's status and error code): `true` keeps the
   * records in memory (`emulator.requestLog`); `{ file }` also appends each as
   * a line of JSON to the file. Off when left out. See `RequestRecord` (request-log.ts).
   */
  requestLog?: boolean | RequestLogOptions;
  /** Receives diagnostic lines (default: none). */
  log?: (line: string) => void;
}

export interface InstanceView {
  id: string;
  state: InstanceStateName;
  imageId: string;
  instanceType: string;
  architecture: string;
  subnetId: string;
  availabilityZone: string;
  privateIp: string;
  profileName?: string;
  securityGroupIds: string[];
  volumeIds: string[];
  tags: Record<string, string>;
  /** Online / ConnectionLost, or undefined while SSM does not know the instance. */
  ssmPingStatus?: string;
  /** Scratch folder holding the instance's etc/, var/, root/ ... */
  root: string;
}

export interface ImageView {
  id: string;
  name: string;
  state: string;
  ownerId: string;
  architecture: string;
  public: boolean;
  snapshotIds: string[];
  tags: Record<string, string>;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
  /** Set by EnableImageDeprecation (ISO 8601). */
  deprecationTime?: string;
  /** Scratch folder with the image's files (undefined for the seeded base images). */
  tree?: string;
}

/**
 * An image of the account made without a build (`addImage`), for tests that
 * need many images, or old ones: CreateImage would take an instance and a
 * real snapshot of its files for each.
 */
export interface AddImageSpec {
  name: string;
  architecture?: "x86_64" | "arm64";
  /** On the image, and on each of its snapshots unless `snapshotTags` says otherwise. */
  tags?: Record<string, string>;
  snapshotTags?: Record<string, string>;
  /** ISO 8601 (its snapshots' StartTime too); default now. */
  creationDate?: string;
  /** GiB of each snapshot (default 8). */
  sizeGb?: number;
  /** How many EBS snapshots (block devices) it has (default 1). */
  snapshots?: number;
  /** Default "available"; "pending" stays pending (a copy or image being made), "failed" failed. */
  state?: "available" | "pending" | "failed";
  /** The files an instance launched from it starts with (default ubuntu-24.04's). */
  family?: FamilyKey;
  /** The image it was made from (DescribeImages' SourceImageId and SourceImageRegion), as a copy or CreateImage records it. */
  source?: { region: string; imageId: string };
}

export interface SnapshotView {
  id: string;
  state: string;
  ownerId: string;
  volumeSize: number;
  imageId?: string;
  tags: Record<string, string>;
}

export interface SecurityGroupView {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  isDefault: boolean;
  tags: Record<string, string>;
}

export interface ParameterView {
  name: string;
  value: string;
  type: string;
  version: number;
  public: boolean;
}

export interface InvocationView {
  commandId: string;
  instanceId: string;
  status: string;
  statusDetails: string;
  responseCode: number;
  /** Full output (GetCommandInvocation truncates it). */
  stdout: string;
  stderr: string;
}

export interface EmulatorClock {
  /** Simulated seconds since the emulator started. */
  now(): number;
  /** Jumps simulated time forward (pending things become ready as if that time had passed). */
  advance(simSeconds: number): void;
  readonly msPerSimSecond: number;
  setMsPerSimSecond(ms: number): void;
}

export interface Emulator {
  /** http://127.0.0.1:PORT — use as AWS_ENDPOINT_URL / the clients' `endpoint`. */
  readonly url: string;
  readonly port: number;
  readonly accountId: string;
  readonly faults: Faults;
  readonly stats: EmulatorStats;
  /** Every request answered, when the `requestLog` option is on (else `enabled` is false and `records` stays empty). */
  readonly requestLog: RequestLogView;
  readonly clock: EmulatorClock;
  /** The simulated latencies in force; assign to change them from now on. */
  readonly latencies: Latencies;
  /** The emulator's own scratch folder (removed by stop()). */
  readonly scratchDir: string;
  /** Problems met while copying trees and the like (for debugging). */
  readonly warnings: readonly string[];
  setRejectCredentials(reject: boolean): void;
  /** Turns request throttling on with these limits (full buckets), or off with undefined. */
  setThrottle(options: ThrottleOptions | undefined): void;
  instances(region: string): InstanceView[];
  images(region: string, options?: { includePublic?: boolean }): ImageView[];
  snapshots(region: string): SnapshotView[];
  securityGroups(region: string): SecurityGroupView[];
  /** Parameters put by clients, plus the public AMI parameters. */
  parameters(region: string): ParameterView[];
  invocations(region: string): InvocationView[];
  /** Reads a file as an instance sees it (it must be in the instance's own trees: /etc, /var, /root ...). */
  instanceFile(region: string, instanceId: string, absPath: string): Promise<string>;
  /** Resolves once the instance's and images' file trees of a region are laid out (for inspection). */
  settled(region: string): Promise<void>;
  /** Makes an image of the account (with its snapshots) directly, as if built earlier; see AddImageSpec. */
  addImage(region: string, spec: AddImageSpec): { imageId: string; snapshotIds: string[] };
  stop(): Promise<void>;
}

const EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/";
const QUERY_NAMESPACES: Record<string, string> = {
  sts: "https://sts.amazonaws.com/doc/2011-06-15/",
  iam: "https://iam.amazonaws.com/doc/2010-05-08/",
};
const VERSION_SERVICES: Record<string, ServiceName> = {
  "2016-11-15": "ec2",
  "2011-06-15": "sts",
  "2010-05-08": "iam",
};


function tagRecord(tags: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(tags);
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = new SimClock(options.msPerSimSecond ?? 10);
  const latencies: Latencies = { ...DEFAULT_LATENCIES, ...options.latencies };
  const resolved: ResolvedOptions = {
    accountId: options.accountId ?? "123456789012",
    rejectCredentials: options.rejectCredentials ?? false,
    shell: options.shell ?? "bash",
    scaleExecutionTimeout: options.scaleExecutionTimeout ?? false,
    requireSsmPolicy: options.requireSsmPolicy ?? true,
  };
  const runTag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const sandbox = await Sandbox.create(options.scratchDir, options.unsharePath ?? "unshare", runTag);
  // From the moment the folder exists, however the process ends (stop() or not, a signal that exits,
  // an uncaught error, a failed start below), it kills the instances' processes and removes the folder.
  const onExit = () => sandbox.destroySync();
  process.on("exit", onExit);
  try {
    return await serve(options, resolved, clock, latencies, sandbox, onExit);
  } catch (error) {
    process.off("exit", onExit);
    sandbox.destroySync();
    throw error;
  }
}

async function serve(
  options: EmulatorOptions,
  resolved: ResolvedOptions,
  clock: SimClock,
  latencies: Latencies,
  sandbox: Sandbox,
  onExit: () => void,
): Promise<Emulator> {
  const stats = new Stats();
  const faults = new Faults();
  const throttle = new Throttle(options.throttle);
  const requestLog = new RequestLog(options.requestLog);
  const log = options.log ?? (() => undefined);
  const regions = new Map<string, RegionState>();

  const world: World = {
    accountId: resolved.accountId,
    clock,
    latencies,
    options: resolved,
    iam: new IamState(),
    sandbox,
    stats,
    regions,
    log,
    region(name: string): RegionState {
      let r = regions.get(name);
      if (!r) {
        if (!REGION_NAME.test(name)) throw new ApiError("InvalidParameterValue", `Invalid region: ${name}`);
        r = createRegion(world, name);
        regions.set(name, r);
      }
      return r;
    },
  };
  for (const name of options.instanceProfiles ?? ["cws-ami-builder"]) seedInstanceProfile(world, name);

  const server = http.createServer((req, res) => {
    handle(world, faults, throttle, requestLog, req, res).catch((err: unknown) => {
      log(`internal error: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`cws emulator internal error: ${(err as Error).message}`);
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  }).catch((error: unknown) => {
    requestLog.close();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  let stopped = false;

  const region = (name: string) => world.region(name);

  const emulator: Emulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    accountId: resolved.accountId,
    faults,
    stats,
    requestLog,
    clock: {
      now: () => clock.now(),
      advance: (s: number) => clock.advance(s),
      get msPerSimSecond() {
        return clock.msPerSimSecond;
      },
      setMsPerSimSecond: (ms: number) => clock.setMsPerSimSecond(ms),
    },
    latencies,
    scratchDir: sandbox.dir,
    warnings: sandbox.warnings,
    setRejectCredentials(reject: boolean) {
      resolved.rejectCredentials = reject;
    },
    setThrottle(limits: ThrottleOptions | undefined) {
      throttle.set(limits);
    },
    instances(name) {
      const r = region(name);
      return [...r.instances.values()].map((i) => {
        refreshInstance(world, i);
        return {
          id: i.id,
          state: i.state,
          imageId: i.imageId,
          instanceType: i.instanceType,
          architecture: i.architecture,
          subnetId: i.subnetId,
          availabilityZone: i.availabilityZone,
          privateIp: i.privateIp,
          profileName: i.profile?.name,
          securityGroupIds: [...i.securityGroupIds],
          volumeIds: [...i.volumeIds],
          tags: tagRecord(i.tags),
          ssmPingStatus: pingStatus(world, i),
          root: i.root,
        };
      });
    },
    images(name, opts) {
      const r = region(name);
      return [...r.images.values()]
        .filter((img) => opts?.includePublic || img.ownerId === world.accountId)
        .map((img) => ({
          id: img.id,
          name: img.name,
          state: imageState(world, img),
          ownerId: img.ownerId,
          architecture: img.architecture,
          public: img.public,
          snapshotIds: img.devices.map((d) => d.snapshotId),
          tags: tagRecord(img.tags),
          sourceInstanceId: img.sourceInstanceId,
          sourceImageId: img.sourceImageId,
          sourceImageRegion: img.sourceImageRegion,
          deprecationTime: img.deprecationTime,
          tree: img.tree,
        }));
    },
    snapshots(name) {
      const r = region(name);
      return [...r.snapshots.values()]
        .filter((s) => s.ownerId === world.accountId)
        .map((s) => ({
          id: s.id,
          state: snapshotState(world, s, r),
          ownerId: s.ownerId,
          volumeSize: s.volumeSize,
          imageId: s.imageId,
          tags: tagRecord(s.tags),
        }));
    },
    securityGroups(name) {
      return [...region(name).securityGroups.values()].map((g) => ({
        id: g.id,
        name: g.name,
        description: g.description,
        vpcId: g.vpcId,
        isDefault: g.isDefault,
        tags: tagRecord(g.tags),
      }));
    },
    parameters(name) {
      const r = region(name);
      const own = [...r.parameters.values()].map((p) => ({ name: p.name, value: p.value, type: p.type, version: p.version, public: false }));
      const pub = PUBLIC_AMI_PARAMETERS.map((p) => publicParameter(r, p.name, clock))
        .filter((p): p is NonNullable<typeof p> => !!p)
        .map((p) => ({ name: p.name, value: p.value, type: p.type, version: p.version, public: true }));
      return [...own, ...pub];
    },
    invocations(name) {
      const r = region(name);
      const out: InvocationView[] = [];
      for (const cmd of r.commands.values()) {
        for (const inv of cmd.invocations.values()) {
          out.push({
            commandId: cmd.id,
            instanceId: inv.instanceId,
            status: inv.status,
            statusDetails: inv.statusDetails,
            responseCode: inv.responseCode,
            stdout: inv.stdout,
            stderr: inv.stderr,
          });
        }
      }
      return out;
    },
    async instanceFile(name, instanceId, absPath) {
      const inst = region(name).instances.get(instanceId);
      if (!inst) throw new Error(`no instance ${instanceId} in ${name}`);
      await inst.treePromise;
      return sandbox.readInstanceFile(inst.root, absPath);
    },
    async settled(name) {
      const r = region(name);
      await Promise.all([...r.instances.values()].map((i) => i.treePromise.catch(() => undefined)));
      await Promise.all([...r.images.values()].map((i) => i.treePromise.catch(() => undefined)));
    },
    addImage(name, spec) {
      return addImage(world, region(name), spec);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const r of regions.values()) {
        for (const cmd of r.commands.values()) {
          for (const inv of cmd.invocations.values()) {
            clearTimeout(inv.startTimer);
            clearTimeout(inv.timeoutTimer);
            inv.finished = true;
          }
        }
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      requestLog.close();
      // Let pending tree copies finish before removing the folder they write to (destroy kills any still running).
      for (const r of regions.values()) await emulator.settled(r.name).catch(() => undefined);
      await sandbox.destroy();
      // Only now: a process that ends while stop() is under way still removes the folder on its way out.
      process.off("exit", onExit);
    },
  };
  return emulator;
}

function addImage(world: World, region: RegionState, spec: AddImageSpec): { imageId: string; snapshotIds: string[] } {
  const family = BASE_IMAGE_FAMILIES.find((f) => f.key === (spec.family ?? "ubuntu-24.04"));
  if (!family) throw new Error(`no image family ${spec.family}`);
  const now = world.clock.now();
  // Its snapshots were started when it was created, however long ago.
  const startedAt = spec.creationDate === undefined ? now : Math.min(now, world.clock.simAt(Date.parse(spec.creationDate)));
  const imageId = randomId("ami");
  // A pending image stays pending (as long as anyone will look); its snapshots too.
  const readyAt = spec.state === "pending" ? Number.MAX_SAFE_INTEGER : now;
  const snapshotTags = spec.snapshotTags ?? spec.tags ?? {};
  const devices = Array.from({ length: spec.snapshots ?? 1 }, (_, i) => {
    const snapshot: Snapshot = {
      id: randomId("snap"),
      region: region.name,
      volumeSize: spec.sizeGb ?? 8,
      ownerId: world.accountId,
      startedAt,
      completeAt: readyAt,
      encrypted: true,
      imageId,
      tags: new Map(Object.entries(snapshotTags)),
    };
    region.snapshots.set(snapshot.id, snapshot);
    return {
      deviceName: i === 0 ? family.rootDeviceName : `/dev/sd${String.fromCharCode(0x66 + i)}`,
      snapshotId: snapshot.id,
      size: snapshot.volumeSize,
      type: "gp3",
      encrypted: true,
      deleteOnTermination: true,
    };
  });
  region.images.set(imageId, {
    id: imageId,
    region: region.name,
    name: spec.name,
    ownerId: world.accountId,
    public: false,
    architecture: spec.architecture ?? "x86_64",
    family: family.key,
    availableAt: readyAt,
    creationDate: spec.creationDate ?? world.clock.date(now).toISOString(),
    rootDeviceName: family.rootDeviceName,
    devices,
    tags: new Map(Object.entries(spec.tags ?? {})),
    ...(spec.source ? { sourceImageId: spec.source.imageId, sourceImageRegion: spec.source.region } : {}),
    imdsSupport: family.imdsSupport,
    bootMode: family.bootMode,
    treeReady: true,
    ...(spec.state === "failed" ? { treeError: "failed as the test asked" } : {}),
    treePromise: Promise.resolve(),
  });
  return { imageId, snapshotIds: devices.map((d) => d.snapshotId) };
}

// ---------------------------------------------------------------------------
// HTTP

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

type Protocol = "ec2" | "query" | "json";

function protocolOf(service: ServiceName): Protocol {
  return service === "ec2" ? "ec2" : service === "ssm" ? "json" : "query";
}

async function handle(world: World, faults: Faults, throttle: Throttle, requestLog: RequestLog, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const arrived = requestLog.enabled ? new Date().toISOString() : "";
  const body = await readBody(req);
  const requestId = newRequestId();
  // A health check, not an AWS call: not in the request log.
  if (req.method === "GET" && (req.url === "/" || req.url === "")) {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("cws AWS emulator: EC2, SSM, STS and IAM for tests\n");
    return;
  }

  const auth = req.headers.authorization ?? "";
  const scope = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  const target = String(req.headers["x-amz-target"] ?? "");
  const form = (req.headers["content-type"] ?? "").includes("x-www-form-urlencoded") ? parseForm(body) : undefined;

  let service: string | undefined = scope?.[2];
  if (!service) {
    if (target.startsWith("AmazonSSM.")) service = "ssm";
    else if (form?.get("Version")) service = VERSION_SERVICES[form.get("Version") as string];
  }
  const signedRegion = scope?.[1];
  const regionName = signedRegion ?? "us-east-1";
  let action = "";
  /** What IAM would be asked (computed only when the log is on, before the handler changes anything). */
  let authorizations: Authorization[] | undefined;
  /** Every answer goes out here, logged first (when the log is on) so that the line is written before the client reads the answer. */
  const reply = (status: number, contentType: string, text: string, error?: string): void => {
    if (requestLog.enabled) {
      requestLog.add({
        time: arrived,
        requestId,
        service: service ?? null,
        action: action || null,
        region: regionName,
        ...loggedParams(form, body),
        status,
        ...(error === undefined ? {} : { error }),
        ...(authorizations === undefined ? {} : { authorizations }),
      });
    }
    send(res, status, contentType, requestId, text);
  };
  if (service !== "ec2" && service !== "ssm" && service !== "sts" && service !== "iam") {
    action = form?.get("Action") ?? "";
    const msg = `cws emulator: cannot tell which service this request is for (credential scope service '${service ?? ""}', X-Amz-Target '${target}'); it serves ec2, ssm, sts and iam`;
    return reply(400, "text/xml", `${XML_DECLARATION}<ErrorResponse><Error><Type>Sender</Type><Code>UnknownService</Code><Message>${escapeXml(msg)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`, "UnknownService");
  }
  const protocol = protocolOf(service);
  let json: Record<string, unknown> = {};
  action = protocol === "json" ? target.replace(/^AmazonSSM\./, "") : (form?.get("Action") ?? "");
  world.stats.countCall(service, action || "(none)");

  try {
    if (protocol === "json" && body.trim()) {
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new ApiError("SerializationException", "The request body is not valid JSON");
      }
    }
    if (world.options.rejectCredentials) {
      throw new ApiError("InvalidClientTokenId", "The security token included in the request is invalid.", 403);
    }
    if (!auth) throw new ApiError("MissingAuthenticationToken", "Request is missing Authentication Token", 403);
    if (!action) throw new ApiError(protocol === "json" ? "UnknownOperationException" : "MissingAction", "The request names no action");
    const region = service === "iam" || service === "sts" ? undefined : world.region(regionName);
    // As AWS, from the request and what exists when it arrives (a group the call deletes still has its tags).
    if (requestLog.enabled) authorizations = authorizationsFor({ world, service, action, region, params: form ?? new Map(), body: json });
    // Throttled before anything else is looked at, as AWS does.
    if (!throttle.take(service, regionName, action)) {
      world.stats.countThrottled();
      const code = throttlingCode(service);
      throw new ApiError(code, defaultFaultMessage(code, service, action, region, form));
    }

    const faultRequest: FaultRequest = {
      service,
      action,
      region: regionName,
      params: protocol === "json" ? json : Object.fromEntries(form ?? []),
    };
    if (service === "ec2" && action === "RunInstances" && region && form) Object.assign(faultRequest, runInstancesPlacement(region, form));
    const fault = faults.take(faultRequest);
    if (fault) {
      world.stats.countFault();
      throw new ApiError(fault.code, fault.message ?? defaultFaultMessage(fault.code, service, action, region, form), fault.status);
    }

    if (service === "ec2") {
      const handler = EC2_HANDLERS[action];
      if (!handler) throw new ApiError("InvalidAction", `The action ${action} is not valid for this web service. (The cws emulator does not implement ec2:${action}.)`);
      const result = await handler({ world, region: region as RegionState, params: form ?? new Map(), action, requestId });
      return reply(200, "text/xml;charset=UTF-8", ec2Success(action, requestId, result));
    }
    if (service === "ssm") {
      const handler = SSM_HANDLERS[action];
      if (!handler) throw new ApiError("UnknownOperationException", `The cws emulator does not implement ssm:${action}.`);
      const result = await handler({ world, region: region as RegionState, body: json, action, requestId });
      return reply(200, "application/x-amz-json-1.1", JSON.stringify(result ?? {}));
    }
    const handlers = service === "sts" ? STS_HANDLERS : IAM_HANDLERS;
    const handler = handlers[action];
    if (!handler) throw new ApiError("InvalidAction", `The action ${action} is not valid for this web service. (The cws emulator does not implement ${service}:${action}.)`);
    const result = handler({ world, params: form ?? new Map(), action, requestId });
    return reply(200, "text/xml", querySuccess(service, action, requestId, result));
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError("InternalError", `cws emulator: ${(err as Error).message}`, 500);
    if (!(err instanceof ApiError)) world.log(`internal error in ${service}:${action}: ${(err as Error).stack ?? String(err)}`);
    if (protocol === "json") {
      return reply(e.status, "application/x-amz-json-1.1", JSON.stringify({ __type: e.code, message: e.message }), e.code);
    }
    if (protocol === "ec2") {
      return reply(
        e.status,
        "text/xml;charset=UTF-8",
        `${XML_DECLARATION}<Response><Errors><Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
        e.code,
      );
    }
    return reply(
      e.status,
      "text/xml",
      `<ErrorResponse xmlns="${QUERY_NAMESPACES[service]}"><Error><Type>${e.status >= 500 ? "Receiver" : "Sender"}</Type><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      e.code,
    );
  }
}

function defaultFaultMessage(code: string, service: ServiceName, action: string, region: RegionState | undefined, form: Map<string, string> | undefined): string {
  switch (code) {
    case "RequestLimitExceeded":
      return "Request limit exceeded.";
    case "ThrottlingException":
    case "Throttling":
      return "Rate exceeded";
    case "InsufficientInstanceCapacity":
      if (service === "ec2" && action === "RunInstances" && region && form) return capacityMessage(region, form);
      return "Insufficient capacity.";
    default:
      return `Injected fault ${code} for ${service}:${action}`;
  }
}

function ec2Success(action: string, requestId: string, node: XmlNode): string {
  return `${XML_DECLARATION}<${action}Response xmlns="${EC2_NAMESPACE}"><requestId>${requestId}</requestId>${renderChildren(node, "item")}</${action}Response>`;
}

function querySuccess(service: string, action: string, requestId: string, result: XmlNode | undefined): string {
  const inner = result === undefined ? "" : `<${action}Result>${renderChildren(result, "member")}</${action}Result>`;
  return `<${action}Response xmlns="${QUERY_NAMESPACES[service]}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

function send(res: http.ServerResponse, status: number, contentType: string, requestId: string, body: string): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": requestId,
  });
  res.end(body);
}
