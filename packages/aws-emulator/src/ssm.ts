import { randomUUID } from "node:crypto";
import {
  MAX_STDERR_CHARS,
  MAX_STDOUT_CHARS,
  cancelInvocation,
  isoDuration,
  refreshInvocation,
  scheduleInvocation,
} from "./commands.js";
import { ApiError } from "./errors.js";
import { isOnline, pingStatus } from "./lifecycle.js";
import { BASE_IMAGE_FAMILIES } from "./public-amis.js";
import { publicParameter } from "./seed.js";
import type { Command, Instance, Invocation, Parameter, RegionState, World } from "./state.js";

export interface SsmContext {
  world: World;
  region: RegionState;
  body: Record<string, unknown>;
  action: string;
  requestId: string;
}

type Handler = (ctx: SsmContext) => unknown;

// ---------------------------------------------------------------------------
// helpers

function validation(message: string): ApiError {
  return new ApiError("ValidationException", message);
}

function optString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw validation(`1 validation error detected: Value at '${key}' must be a string`);
  return v;
}

function reqString(body: Record<string, unknown>, key: string): string {
  const v = optString(body, key);
  if (v === undefined || v === "") {
    throw validation(`1 validation error detected: Value null at '${lowerFirst(key)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

function optNumber(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number") throw validation(`1 validation error detected: Value at '${key}' must be a number`);
  return v;
}

function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw validation(`1 validation error detected: Value at '${key}' must be a boolean`);
  return v;
}

function stringArray(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw validation(`1 validation error detected: Value at '${key}' must be a list of strings`);
  return v as string[];
}

function lowerFirst(s: string): string {
  return s.slice(0, 1).toLowerCase() + s.slice(1);
}

function epoch(world: World, sim: number): number {
  return world.clock.date(sim).getTime() / 1000;
}

function paginate<T>(ctx: SsmContext, items: readonly T[], min: number, max: number): { page: T[]; nextToken?: string } {
  const maxResults = optNumber(ctx.body, "MaxResults");
  const token = optString(ctx.body, "NextToken");
  let offset = 0;
  if (token) {
    try {
      const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { a?: unknown; o?: unknown };
      if (decoded.a !== ctx.action || typeof decoded.o !== "number" || decoded.o < 0) throw new Error("bad");
      offset = decoded.o;
    } catch {
      throw new ApiError("InvalidNextToken", "The specified token isn't valid.");
    }
  }
  if (maxResults !== undefined && (maxResults < min || maxResults > max)) {
    throw validation(
      `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value ${maxResults < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  }
  const size = maxResults ?? max;
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  return { page, nextToken: next < items.length ? Buffer.from(JSON.stringify({ a: ctx.action, o: next })).toString("base64url") : undefined };
}

// ---------------------------------------------------------------------------
// instances

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/;

function platformOf(inst: Instance): { name: string; version: string } {
  const family = BASE_IMAGE_FAMILIES.find((f) => f.key === inst.family);
  return { name: family?.os.platformName ?? "Linux", version: family?.os.platformVersion ?? "" };
}

const describeInstanceInformation: Handler = (ctx) => {
  const { world, region, body } = ctx;
  type Check = (inst: Instance, ping: string) => boolean;
  const checks: Check[] = [];
  const addCheck = (key: string, values: string[], source: "Filters" | "InstanceInformationFilterList") => {
    if (values.length === 0) throw new ApiError("InvalidInstanceInformationFilterValue", `The filter ${key} has no values.`);
    switch (key) {
      case "InstanceIds":
        for (const v of values) if (!INSTANCE_ID.test(v)) throw new ApiError("InvalidInstanceInformationFilterValue", `${v} is not a valid instance id.`);
        checks.push((i) => values.includes(i.id));
        break;
      case "PingStatus":
        checks.push((_, ping) => values.includes(ping));
        break;
      case "PlatformTypes":
        checks.push(() => values.includes("Linux"));
        break;
      case "ResourceType":
        checks.push(() => values.includes("EC2Instance"));
        break;
      case "AgentVersion":
        checks.push(() => values.includes(AGENT_VERSION));
        break;
      default:
        if (source === "Filters" && key.startsWith("tag:")) {
          const tagKey = key.slice(4);
          checks.push((i) => i.tags.has(tagKey) && values.includes(i.tags.get(tagKey) as string));
        } else if (source === "Filters" && key === "tag-key") {
          checks.push((i) => values.some((v) => i.tags.has(v)));
        } else if (source === "Filters") {
          throw new ApiError("InvalidFilterKey", `The filter key ${key} is not valid.`);
        } else {
          throw validation(`1 validation error detected: Value '${key}' at 'instanceInformationFilterList.1.member.key' failed to satisfy constraint`);
        }
    }
  };
  const legacy = body.InstanceInformationFilterList;
  const modern = body.Filters;
  if (legacy !== undefined && modern !== undefined) {
    throw new ApiError("InvalidFilter", "You can use either InstanceInformationFilterList or Filters, not both.");
  }
  if (Array.isArray(legacy)) {
    for (const f of legacy as Array<Record<string, unknown>>) addCheck(String(f.key), stringArray(f.valueSet, "valueSet"), "InstanceInformationFilterList");
  }
  if (Array.isArray(modern)) {
    for (const f of modern as Array<Record<string, unknown>>) addCheck(String(f.Key), stringArray(f.Values, "Values"), "Filters");
  }
  const rows: Array<{ inst: Instance; ping: "Online" | "ConnectionLost" }> = [];
  for (const inst of region.instances.values()) {
    const ping = pingStatus(world, inst);
    if (!ping) continue;
    if (checks.every((c) => c(inst, ping))) rows.push({ inst, ping });
  }
  const { page, nextToken } = paginate(ctx, rows, 5, 50);
  const now = world.clock.now();
  return {
    InstanceInformationList: page.map(({ inst, ping }) => {
      const platform = platformOf(inst);
      return {
        InstanceId: inst.id,
        PingStatus: ping,
        LastPingDateTime: epoch(world, ping === "Online" ? now : inst.stateSince),
        AgentVersion: AGENT_VERSION,
        IsLatestVersion: false,
        PlatformType: "Linux",
        PlatformName: platform.name,
        PlatformVersion: platform.version,
        ResourceType: "EC2Instance",
        IPAddress: inst.privateIp,
        ComputerName: inst.privateDnsName,
        SourceId: inst.id,
        SourceType: "AWS::EC2::Instance",
      };
    }),
    NextToken: nextToken,
  };
};

const AGENT_VERSION = "3.3.1142.0";

// ---------------------------------------------------------------------------
// commands

const RUN_SHELL_SCRIPT = "AWS-RunShellScript";
const SHELL_PARAMETERS = ["commands", "workingDirectory", "executionTimeout"];

function commandXml(world: World, cmd: Command): Record<string, unknown> {
  const invs = [...cmd.invocations.values()];
  const done = invs.filter((i) => i.finished);
  const failed = done.filter((i) => i.status !== "Success");
  let status = "Pending";
  if (done.length === invs.length) status = failed.length ? (failed.every((i) => i.status === "Cancelled") ? "Cancelled" : failed.some((i) => i.status === "TimedOut") ? "TimedOut" : "Failed") : "Success";
  else if (invs.some((i) => i.started)) status = "InProgress";
  return {
    CommandId: cmd.id,
    DocumentName: cmd.documentName,
    DocumentVersion: "$DEFAULT",
    Comment: cmd.comment,
    ExpiresAfter: epoch(world, cmd.requestedAt + cmd.timeoutSeconds + cmd.executionTimeout),
    Parameters: cmd.parameters,
    InstanceIds: cmd.instanceIds,
    Targets: [],
    RequestedDateTime: epoch(world, cmd.requestedAt),
    Status: status,
    StatusDetails: status,
    OutputS3Region: cmd.region,
    OutputS3BucketName: "",
    OutputS3KeyPrefix: "",
    MaxConcurrency: "50",
    MaxErrors: "0",
    TargetCount: invs.length,
    CompletedCount: done.length,
    ErrorCount: failed.length,
    DeliveryTimedOutCount: 0,
    ServiceRole: "",
    NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: "", CloudWatchOutputEnabled: false },
    TimeoutSeconds: cmd.timeoutSeconds,
    TriggeredAlarms: [],
  };
}

const sendCommand: Handler = (ctx) => {
  const { world, region, body } = ctx;
  const documentName = reqString(body, "DocumentName");
  const shortName = documentName.replace(/^arn:aws:ssm:[^:]*:[^:]*:document\//, "");
  if (shortName !== RUN_SHELL_SCRIPT) {
    throw new ApiError("InvalidDocument", `Document with name ${documentName} does not exist. (The cws emulator runs ${RUN_SHELL_SCRIPT} only.)`);
  }
  if (body.Targets !== undefined) throw validation("cws emulator: SendCommand supports InstanceIds, not Targets");
  const instanceIds = stringArray(body.InstanceIds, "InstanceIds");
  if (instanceIds.length === 0) throw validation("InstanceIds or Targets must be specified");
  if (instanceIds.length > 50) throw validation("1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50");
  const comment = optString(body, "Comment") ?? "";
  if (comment.length > 100) throw validation("1 validation error detected: Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100");
  const timeoutSeconds = optNumber(body, "TimeoutSeconds") ?? 3600;
  if (timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
    throw validation(`1 validation error detected: Value '${timeoutSeconds}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value ${timeoutSeconds < 30 ? "greater than or equal to 30" : "less than or equal to 2592000"}`);
  }
  const rawParams = body.Parameters ?? {};
  if (typeof rawParams !== "object" || rawParams === null || Array.isArray(rawParams)) throw validation("Parameters must be a map");
  const parameters: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(rawParams as Record<string, unknown>)) {
    if (!SHELL_PARAMETERS.includes(k)) throw new ApiError("InvalidParameters", `document ${RUN_SHELL_SCRIPT} does not support parameter ${k}.`);
    parameters[k] = stringArray(v, `Parameters.${k}`);
  }
  const commands = parameters.commands ?? [];
  if (commands.length === 0) throw new ApiError("InvalidParameters", "Parameter \"commands\" is required and must not be empty.");
  let executionTimeout = 3600;
  if (parameters.executionTimeout) {
    const t = parameters.executionTimeout;
    if (t.length !== 1 || !/^\d+$/.test(t[0] as string) || Number(t[0]) < 1 || Number(t[0]) > 172_800) {
      throw new ApiError("InvalidParameters", `Parameter "executionTimeout" must be a single value between 1 and 172800; got ${JSON.stringify(t)}.`);
    }
    executionTimeout = Number(t[0]);
  }
  const workingDirectory = parameters.workingDirectory?.[0] || undefined;
  if (workingDirectory !== undefined && !workingDirectory.startsWith("/")) {
    throw new ApiError("InvalidParameters", `Parameter "workingDirectory" must be an absolute path; got ${workingDirectory}.`);
  }

  const notOnline = instanceIds.filter((id) => {
    const inst = region.instances.get(id);
    return !inst || !isOnline(world, inst);
  });
  if (notOnline.length) {
    throw new ApiError("InvalidInstanceId", `Instances [[${notOnline.join(", ")}]] not in a valid state for account ${world.accountId}`);
  }

  const now = world.clock.now();
  const cmd: Command = {
    id: randomUUID(),
    region: region.name,
    documentName,
    comment,
    parameters,
    instanceIds,
    requestedAt: now,
    timeoutSeconds,
    executionTimeout,
    workingDirectory,
    script: commands.join("\n") + "\n",
    invocations: new Map(),
  };
  region.commands.set(cmd.id, cmd);
  for (const instanceId of instanceIds) {
    const inv: Invocation = {
      commandId: cmd.id,
      instanceId,
      visibleAt: now + world.latencies.invocationNotFound,
      startAt: now + world.latencies.commandPending,
      started: false,
      finished: false,
      status: "Pending",
      statusDetails: "Pending",
      responseCode: -1,
      stdout: "",
      stderr: "",
    };
    cmd.invocations.set(instanceId, inv);
    scheduleInvocation(world, region, cmd, inv);
    world.stats.recordWait(`${cmd.id}/${instanceId}`, "invocation-not-found", world.latencies.invocationNotFound, now);
    world.stats.recordWait(`${cmd.id}/${instanceId}`, "command-pending", world.latencies.commandPending, now);
  }
  return { Command: commandXml(world, cmd) };
};

function visibleInvocation(ctx: SsmContext, commandId: string, instanceId: string): { cmd: Command; inv: Invocation } {
  const cmd = ctx.region.commands.get(commandId);
  const inv = cmd?.invocations.get(instanceId);
  if (!cmd || !inv || ctx.world.clock.now() < inv.visibleAt) {
    throw new ApiError("InvocationDoesNotExist", `The command ${commandId} has no invocation for ${instanceId} (yet).`);
  }
  refreshInvocation(ctx.world, ctx.region, cmd, inv);
  return { cmd, inv };
}

const getCommandInvocation: Handler = (ctx) => {
  const { world, body } = ctx;
  const commandId = reqString(body, "CommandId");
  const instanceId = reqString(body, "InstanceId");
  const pluginName = optString(body, "PluginName");
  if (!/^[0-9a-f-]{36}$/.test(commandId)) {
    throw validation(`1 validation error detected: Value '${commandId}' at 'commandId' failed to satisfy constraint: Member must have length greater than or equal to 36`);
  }
  const { cmd, inv } = visibleInvocation(ctx, commandId, instanceId);
  if (pluginName !== undefined && pluginName !== "aws:runShellScript") {
    throw new ApiError("InvalidPluginName", `The plugin name ${pluginName} is not valid for ${cmd.documentName}.`);
  }
  const ended = inv.finished && inv.endedSim !== undefined;
  return {
    CommandId: cmd.id,
    InstanceId: inv.instanceId,
    Comment: cmd.comment,
    DocumentName: cmd.documentName,
    DocumentVersion: "$DEFAULT",
    PluginName: "aws:runShellScript",
    ResponseCode: inv.responseCode,
    ExecutionStartDateTime: inv.startedSim !== undefined ? world.clock.date(inv.startedSim).toISOString() : "",
    ExecutionElapsedTime: inv.startedSim !== undefined ? isoDuration((inv.endedSim ?? world.clock.now()) - inv.startedSim) : "",
    ExecutionEndDateTime: ended ? world.clock.date(inv.endedSim as number).toISOString() : "",
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    StandardOutputContent: inv.finished ? inv.stdout.slice(0, MAX_STDOUT_CHARS) : "",
    StandardOutputUrl: "",
    StandardErrorContent: inv.finished ? inv.stderr.slice(0, MAX_STDERR_CHARS) : "",
    StandardErrorUrl: "",
    CloudWatchOutputConfig: { CloudWatchLogGroupName: "", CloudWatchOutputEnabled: false },
  };
};

const cancelCommand: Handler = (ctx) => {
  const { world, region, body } = ctx;
  const commandId = reqString(body, "CommandId");
  const cmd = region.commands.get(commandId);
  if (!cmd) throw new ApiError("InvalidCommandId", `The command ${commandId} does not exist.`);
  const ids = stringArray(body.InstanceIds, "InstanceIds");
  for (const id of ids) if (!cmd.invocations.has(id)) throw new ApiError("InvalidInstanceId", `The command ${commandId} was not sent to ${id}.`);
  let cancelled = 0;
  for (const inv of cmd.invocations.values()) {
    if (ids.length && !ids.includes(inv.instanceId)) continue;
    if (cancelInvocation(world, inv)) cancelled++;
  }
  if (cancelled === 0) throw new ApiError("DuplicateInstanceId", `Nothing left to cancel for command ${commandId}: its invocations have finished.`);
  return {};
};

// ---------------------------------------------------------------------------
// parameters

const PARAMETER_NAME = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

function parameterArn(world: World, region: RegionState, name: string, isPublic: boolean): string {
  return `arn:aws:ssm:${region.name}:${isPublic ? "" : world.accountId}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
}

function parameterNameFrom(input: string): string {
  const m = /^arn:aws:ssm:[^:]*:[^:]*:parameter(\/.*)$/.exec(input);
  if (!m) return input;
  const name = m[1] as string;
  // ARNs of names without a leading slash carry one anyway.
  return name.split("/").length === 2 ? name.slice(1) : name;
}

function lookupParameter(ctx: SsmContext, input: string): { p: Parameter; isPublic: boolean } | undefined {
  const name = parameterNameFrom(input);
  const own = ctx.region.parameters.get(name);
  if (own) return { p: own, isPublic: false };
  const pub = publicParameter(ctx.region, name, ctx.world.clock);
  return pub ? { p: pub, isPublic: true } : undefined;
}

function parameterXml(ctx: SsmContext, p: Parameter, isPublic: boolean): Record<string, unknown> {
  return {
    Name: p.name,
    Type: p.type,
    Value: p.value,
    Version: p.version,
    LastModifiedDate: epoch(ctx.world, p.lastModified),
    ARN: parameterArn(ctx.world, ctx.region, p.name, isPublic),
    DataType: p.dataType,
  };
}

const getParameter: Handler = (ctx) => {
  const name = reqString(ctx.body, "Name");
  const found = lookupParameter(ctx, name);
  if (!found) throw new ApiError("ParameterNotFound", `Parameter ${name} not found.`);
  return { Parameter: parameterXml(ctx, found.p, found.isPublic) };
};

function checkWritableName(name: string): void {
  if (!PARAMETER_NAME.test(name)) {
    throw validation(
      "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
    );
  }
  if (/^\/?(aws|ssm)/i.test(name)) {
    throw validation("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
  }
}

const putParameter: Handler = (ctx) => {
  const { world, region, body } = ctx;
  const name = reqString(body, "Name");
  const value = reqString(body, "Value");
  const type = optString(body, "Type");
  const overwrite = optBool(body, "Overwrite") ?? false;
  const dataType = optString(body, "DataType") ?? "text";
  checkWritableName(name);
  if (type !== undefined && !["String", "StringList", "SecureString"].includes(type)) {
    throw validation(`1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
  }
  if (!["text", "aws:ec2:image", "aws:ssm:integration"].includes(dataType)) throw validation(`The data type ${dataType} is not supported.`);
  if (dataType === "aws:ec2:image" && !/^ami-[0-9a-f]{8,17}$/.test(value)) {
    throw new ApiError("InvalidParameterValue", `The value ${value} is not a valid image id for data type aws:ec2:image.`);
  }
  if (value.length > 4096) throw validation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to 4096");
  if (body.Tags !== undefined && overwrite) throw validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.");
  const existing = region.parameters.get(name);
  if (existing && !overwrite) {
    throw new ApiError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
  }
  const p: Parameter = {
    name,
    type: type ?? existing?.type ?? "String",
    value,
    version: (existing?.version ?? 0) + 1,
    lastModified: world.clock.now(),
    dataType,
    description: optString(body, "Description") ?? existing?.description,
  };
  region.parameters.set(name, p);
  return { Version: p.version, Tier: "Standard" };
};

export const SSM_HANDLERS: Readonly<Record<string, Handler>> = {
  DescribeInstanceInformation: describeInstanceInformation,
  SendCommand: sendCommand,
  GetCommandInvocation: getCommandInvocation,
  CancelCommand: cancelCommand,
  GetParameter: getParameter,
  PutParameter: putParameter,
};
