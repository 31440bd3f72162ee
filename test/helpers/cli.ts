import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CWS_BIN = join(ROOT, "bin", "cws.js");
/** A Node module hook that makes any import of the AWS SDK fail loudly. */
export const FORBID_AWS_SDK = join(ROOT, "test", "helpers", "forbid-aws-sdk.mjs");

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Environment for a child cws: no colours, no CI detection leaking in from the outer run, no AWS. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Run the built CLI as a user would: a child process, its own stdout, stderr and exit code. */
export function runCli(
  args: string[],
  /** `uid`: run as that user (and its group), e.g. to meet a permission denied as root does not. */
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string; uid?: number; timeout?: number } = {},
): CliResult {
  if (!existsSync(join(ROOT, "dist", "bin", "main.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  const result = spawnSync(process.execPath, [CWS_BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env),
    encoding: "utf8",
    input: options.input ?? "",
    timeout: options.timeout ?? 60_000,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The same, asynchronously, for tests that need to signal the child. */
export function startCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return spawn(process.execPath, [CWS_BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A scratch directory with the given files; removed by the returned function. */
export function scratchDir(files: Record<string, string | Uint8Array> = {}): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "cws-test-"));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Run the built CLI as a child process without blocking this process's event
 * loop (an in-process emulator must keep answering it). `onStderr` sees
 * progress as it arrives, e.g. to send a signal at the right moment.
 */
export function runCliAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`cws ${args.join(" ")} timed out\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}
