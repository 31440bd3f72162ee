import { gunzipSync } from "node:zlib";
import type { CommandInvocation, SsmPort } from "../aws/ports.js";
import { BuildFailure } from "./context.js";
import { Delays, sleep, WAITS, type PollSettings } from "./poll.js";
import { InterruptedError } from "./runner.js";

/** What `aws ssm start-session` needs, which cws's policy does not grant (cws never opens a session): said where a message suggests it. */
export const SESSION_MANAGER = "Session Manager: ssm:StartSession on the instance";

/**
 * Running scripts on the build instance through SSM Run Command.
 *
 * SSM returns at most 24,000 characters of a command's output and nothing
 * until it finishes. So a provisioning script is started in the background on
 * the instance, writing everything to a log file there, and the CLI reads the
 * log in chunks with short follow-up commands: output shows while the script
 * runs, and the whole log reaches the local file however long it is, with no
 * S3 bucket. The script travels base64-encoded, so it arrives byte for byte,
 * never re-quoted by a shell.
 */

/**
 * A log read sends back gzip + base64 of the next piece of the log. It starts
 * with up to 256 KiB (build logs compress 5-10x, so a 100,000-line log takes a
 * handful of reads) and halves the piece on the instance until the encoded
 * text fits under SSM's 24,000 characters; 15,000 bytes always fit, even
 * incompressible (base64 makes 4/3 of it).
 */
export const READ_MAX_BYTES = 262_144;
export const READ_MIN_BYTES = 15_000;
const READ_MAX_CHARS = 22_000;
/** Base64 characters of script per upload command. */
const UPLOAD_CHUNK_CHARS = 20_000;

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface CommandOptions {
  timeoutSeconds: number;
  comment: string;
}

/** Send one command and wait for its final status. */
export async function runCommand(
  ssm: SsmPort,
  instanceId: string,
  script: string,
  options: CommandOptions,
  poll: PollSettings,
  signal?: AbortSignal,
): Promise<CommandInvocation> {
  const commandId = await ssm.sendShellCommand({ instanceId, script, timeoutSeconds: options.timeoutSeconds, comment: options.comment });
  const delays = new Delays(WAITS.commandResult, poll);
  const deadline = Date.now() + (options.timeoutSeconds + 120) * 1000;
  for (;;) {
    try {
      await sleep(delays.next(), signal);
    } catch (error) {
      if (error instanceof InterruptedError) await ssm.cancelCommand(commandId, instanceId).catch(() => undefined);
      throw error;
    }
    const invocation = await ssm.getCommandInvocation(commandId, instanceId);
    // undefined: SSM has not registered the invocation yet (InvocationDoesNotExist); wait it out.
    if (invocation && isFinal(invocation.status)) return invocation;
    if (Date.now() > deadline) {
      await ssm.cancelCommand(commandId, instanceId).catch(() => undefined);
      return { status: "TimedOut", statusDetails: "no result from SSM in time", responseCode: -1, stdout: "", stderr: "" };
    }
  }
}

export function isFinal(status: string): boolean {
  return status === "Success" || status === "Failed" || status === "TimedOut" || status === "Cancelled";
}

export interface StreamedScript {
  /** A directory on the instance for this build, e.g. /var/lib/cws-build/<build-id>. */
  workDir: string;
  /** File-name-safe name of this script, e.g. `setup` or `02-install-r`. */
  name: string;
  script: string;
  timeoutSeconds: number;
}

export interface StreamResult {
  exitCode: number;
  timedOut: boolean;
  bytes: number;
}

/**
 * Upload `script`, start it in the background under `timeout`, and stream its
 * combined output to `onOutput` until it exits.
 */
export async function runScriptStreaming(
  ssm: SsmPort,
  instanceId: string,
  job: StreamedScript,
  onOutput: (chunk: Uint8Array) => void | Promise<void>,
  poll: PollSettings,
  signal?: AbortSignal,
): Promise<StreamResult> {
  if (!SAFE_NAME.test(job.name)) throw new Error(`unsafe remote script name ${job.name}`);
  const dir = `${job.workDir}/${job.name}`;
  const qdir = shellQuote(dir);
  const encoded = Buffer.from(job.script, "utf8").toString("base64");
  const chunks: string[] = [];
  for (let i = 0; i < encoded.length; i += UPLOAD_CHUNK_CHARS) chunks.push(encoded.slice(i, i + UPLOAD_CHUNK_CHARS));
  if (chunks.length === 0) chunks.push("");

  const comment = `cws ${job.name}`;
  const check = (invocation: CommandInvocation, what: string) => {
    if (invocation.status !== "Success") {
      throw new BuildFailure(
        `could not ${what} on ${instanceId}: SSM status ${invocation.status}${invocation.stderr ? `: ${invocation.stderr.trim()}` : ""}`,
        `the SSM agent stopped running commands (the instance may be out of disk or memory); rerun with --on-error abort to keep the instance and look at it with aws ssm start-session (${SESSION_MANAGER}, beyond docs/iam/cws-cli-policy.json)`,
      );
    }
  };

  // Upload in pieces small enough for one SSM command each; the last piece starts the script.
  for (let i = 0; i < chunks.length; i++) {
    const first = i === 0;
    const last = i === chunks.length - 1;
    const lines = [
      "set -eu",
      ...(first ? [`rm -rf ${qdir}`, `mkdir -p ${qdir}`, `chmod 700 ${qdir}`] : []),
      `printf '%s' '${chunks[i]}' >> ${qdir}/script.b64`,
    ];
    if (last) {
      lines.push(
        `base64 -d ${qdir}/script.b64 > ${qdir}/script.sh`,
        `: > ${qdir}/output.log`,
        // setsid + nohup: the script outlives this SSM command; timeout enforces the template's limit.
        `nohup setsid bash -c 'cd / && timeout --kill-after=30 "$2" bash "$1/script.sh" > "$1/output.log" 2>&1 < /dev/null; echo "$?" > "$1/exit_code.tmp"; mv "$1/exit_code.tmp" "$1/exit_code"' cws-run ${qdir} ${job.timeoutSeconds} > /dev/null 2>&1 &`,
        "echo started",
      );
    }
    check(await runCommand(ssm, instanceId, lines.join("\n"), { timeoutSeconds: 120, comment }, poll, signal), "upload the script");
  }

  let offset = 0;
  const delays = new Delays(WAITS.logRead, poll);
  const deadline = Date.now() + (job.timeoutSeconds + 300) * 1000;
  for (;;) {
    const read = [
      `d=${qdir}`,
      // exit_code first: once it exists, the log is complete, so the size read after it is final.
      `rc=$(cat "$d/exit_code" 2>/dev/null || echo running)`,
      `size=$(stat -c %s "$d/output.log" 2>/dev/null || echo 0)`,
      `n=${READ_MAX_BYTES}`,
      "while :; do",
      `  data=$(tail -c +${offset + 1} "$d/output.log" | head -c "$n" | gzip -c -1 | base64 -w0)`,
      `  if [ "\${#data}" -le ${READ_MAX_CHARS} ] || [ "$n" -le ${READ_MIN_BYTES} ]; then break; fi`,
      "  n=$((n / 2))",
      "done",
      `echo "cws-log rc=$rc size=$size"`,
      `printf '%s\\n' "$data"`,
    ].join("\n");
    const invocation = await runCommand(ssm, instanceId, read, { timeoutSeconds: 60, comment: `${comment} log` }, poll, signal);
    check(invocation, "read the log");
    const parsed = parseLogRead(invocation.stdout);
    if (parsed.data.length > 0) {
      offset += parsed.data.length;
      await onOutput(parsed.data);
    }
    if (parsed.exitCode !== undefined && offset >= parsed.size) {
      return { exitCode: parsed.exitCode, timedOut: parsed.exitCode === 124, bytes: offset };
    }
    if (Date.now() > deadline) {
      return { exitCode: 124, timedOut: true, bytes: offset };
    }
    if (parsed.size > offset) {
      // More is waiting: read it straight away.
      delays.reset();
      continue;
    }
    if (parsed.data.length > 0) delays.reset();
    await sleep(delays.next(), signal);
  }
}

export function parseLogRead(stdout: string): { exitCode: number | undefined; size: number; data: Buffer } {
  const match = /cws-log rc=(\S+) size=(\d+)\n([A-Za-z0-9+/=]*)/.exec(stdout);
  if (!match) throw new Error(`unexpected log read output: ${stdout.slice(0, 200)}`);
  const rc = match[1]!;
  const packed = Buffer.from(match[3]!, "base64");
  return {
    exitCode: rc === "running" ? undefined : Number(rc),
    size: Number(match[2]),
    data: packed.length === 0 ? packed : gunzipSync(packed),
  };
}

/** Kill a streamed script that is still running (on interrupt). */
export function killScriptCommand(workDir: string): string {
  return `pkill -f ${shellQuote(`${workDir}/`)} 2>/dev/null; exit 0`;
}
