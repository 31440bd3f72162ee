import { appendFileSync, closeSync, openSync } from "node:fs";
import type { Authorization } from "./authorization.js";
import type { Params } from "./query.js";

/**
 * One request as AWS would have received it: what IAM authorizes and
 * CloudTrail records is the request (its action, region and parameters), not
 * what the client's code meant to send. So a test that asks "was the new
 * image tagged at creation?" reads it here, from the wire, after the SDK has
 * serialized it.
 */
export interface RequestRecord {
  /** 1, 2, 3 ... in the order the requests were answered. */
  seq: number;
  /** When it arrived (real time, ISO 8601). */
  time: string;
  requestId: string;
  /** "ec2", "ssm", "sts", "iam"; the credential scope's service for a request the emulator cannot serve; null when nothing names one. */
  service: string | null;
  /** "RunInstances" ...; null when the request names none. */
  action: string | null;
  /** The region of the request's credential scope (the emulator's default, us-east-1, when it has none). */
  region: string;
  /**
   * The parameters as they arrived, decoded: a query request's form
   * (EC2, STS, IAM) flat, `{ "TagSpecification.1.ResourceType": "instance",
   * "TagSpecification.1.Tag.1.Key": "cws:managed-by", ... }`, values strings;
   * a JSON request's body (SSM) as sent. null when the body could not be
   * decoded (then `body` has its text).
   */
  params: Record<string, unknown> | null;
  /** The body's text (its first 4,096 characters), only when it could not be decoded. */
  body?: string;
  /** The HTTP status answered. */
  status: number;
  /** The error code answered (RequestLimitExceeded, DryRunOperation, SerializationException ...), when it was one. */
  error?: string;
  /**
   * What IAM would have been asked for this request (EC2, SSM, IAM, STS),
   * computed from the request and the emulator's state when it arrived:
   * `[{ action: "ec2:RunInstances", resource: "arn:aws:ec2:…:instance/*",
   * context: { "aws:RequestTag/cws:managed-by": "cws", … } }, …]`. The
   * emulator does not evaluate them. Absent for a request it could not
   * read far enough (no service, action or region) and for the actions it
   * answers without modelling them (ACTIONS_CWS_DOES_NOT_CALL).
   */
  authorizations?: Authorization[];
}

/** What the handler knows of a request when it answers it. */
export type AnsweredRequest = Omit<RequestRecord, "seq">;

export interface RequestLogOptions {
  /** Append each record to this file as one line of JSON, written before the next request is answered. */
  file?: string;
  /** Keep the records in memory too (`emulator.requestLog.records`); default true. */
  inMemory?: boolean;
}

/** The emulator's view of its request log (`emulator.requestLog`). */
export interface RequestLogView {
  /** Whether requests are being recorded (the `requestLog` option). */
  readonly enabled: boolean;
  /** The records kept in memory, oldest first. */
  readonly records: readonly RequestRecord[];
  /** The records of one call, e.g. `of("ec2:RunInstances")`. */
  of(call: `${string}:${string}`): RequestRecord[];
  /** Forgets the records kept in memory (the file keeps its lines). */
  clear(): void;
}

/**
 * Parameters that carry credentials in the older ways of signing (SigV2, or
 * SigV4 in the query string). The SDK signs in the Authorization header,
 * which the log never reads; a client that sends these still gets them
 * redacted, since a log file is something people attach to issues.
 */
const CREDENTIAL_PARAMS = ["AWSAccessKeyId", "Signature", "SecurityToken", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Security-Token"];
const CREDENTIAL_KEYS = new Set(CREDENTIAL_PARAMS.map((key) => key.toLowerCase()));
const CREDENTIAL_TEXT = new RegExp(`\\b(${CREDENTIAL_PARAMS.join("|")})=[^&\\s]*`, "gi");
export const REDACTED = "(redacted)";
const MAX_BODY_CHARS = 4096;

/** The request's parameters as the log shows them: the form's, else the JSON body, else the body's text; credentials redacted. */
export function loggedParams(form: Params | undefined, body: string): Pick<RequestRecord, "params" | "body"> {
  if (form) {
    const params: Record<string, string> = {};
    for (const [key, value] of form) params[key] = CREDENTIAL_KEYS.has(key.toLowerCase()) ? REDACTED : value;
    return { params };
  }
  if (body.trim() === "") return { params: {} };
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return { params: parsed as Record<string, unknown> };
  } catch {
    // Not JSON: kept as text below.
  }
  return { params: null, body: body.slice(0, MAX_BODY_CHARS).replace(CREDENTIAL_TEXT, `$1=${REDACTED}`) };
}

/**
 * Every request answered, in memory and/or as JSON lines in a file. When off
 * (no `requestLog` option), `enabled` is false and the handler builds no record.
 */
export class RequestLog implements RequestLogView {
  private kept: RequestRecord[] = [];
  private seq = 0;
  private fd: number | undefined;
  private readonly inMemory: boolean;
  readonly enabled: boolean;

  constructor(options: RequestLogOptions | boolean | undefined) {
    const resolved = options === true ? {} : options === false || options === undefined ? undefined : options;
    this.enabled = resolved !== undefined;
    this.inMemory = resolved?.inMemory ?? true;
    // Appended to, never truncated: a file given to several runs keeps all of them.
    if (resolved?.file !== undefined) this.fd = openSync(resolved.file, "a");
  }

  get records(): readonly RequestRecord[] {
    return this.kept;
  }

  of(call: `${string}:${string}`): RequestRecord[] {
    return this.kept.filter((r) => `${r.service ?? ""}:${r.action ?? ""}` === call);
  }

  add(request: AnsweredRequest): void {
    const record: RequestRecord = { seq: ++this.seq, ...request };
    if (this.inMemory) this.kept.push(record);
    // A synchronous write to the file descriptor: the line is in the file (no buffer of ours) before
    // the client has the answer, so a test can read the log while the CLI runs.
    if (this.fd !== undefined) appendFileSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  clear(): void {
    this.kept = [];
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
