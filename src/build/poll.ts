import { InterruptedError } from "./runner.js";

/**
 * Polling with sensible defaults per wait, all overridden by
 * CWS_POLL_INTERVAL_MS (tests and the emulator run on scaled time).
 */
export interface PollSettings {
  /** A fixed interval for every poll, when set. */
  overrideMs: number | undefined;
  /** Multiplies every wait's timeout (tests shrink them; default 1). */
  timeoutScale?: number;
}

export function pollSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): PollSettings {
  const raw = env.CWS_POLL_INTERVAL_MS;
  if (raw === undefined || raw === "") return { overrideMs: undefined };
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) return { overrideMs: undefined };
  return { overrideMs: value };
}

export interface WaitPlan {
  /** First delay, ms. */
  initialMs: number;
  /** Delays grow by this factor up to maxMs. */
  factor: number;
  maxMs: number;
}

/** Default delays, ms, for real AWS. */
export const WAITS = {
  instanceRunning: { initialMs: 5_000, factor: 1.2, maxMs: 10_000 },
  ssmOnline: { initialMs: 5_000, factor: 1.2, maxMs: 10_000 },
  commandResult: { initialMs: 1_000, factor: 1.5, maxMs: 5_000 },
  logRead: { initialMs: 2_000, factor: 1.5, maxMs: 15_000 },
  instanceStopped: { initialMs: 5_000, factor: 1.2, maxMs: 10_000 },
  imageAvailable: { initialMs: 10_000, factor: 1.2, maxMs: 20_000 },
  instanceTerminated: { initialMs: 5_000, factor: 1.2, maxMs: 10_000 },
  securityGroupDelete: { initialMs: 5_000, factor: 1.5, maxMs: 15_000 },
} as const satisfies Record<string, WaitPlan>;

export class Delays {
  private current: number;
  constructor(
    private readonly plan: WaitPlan,
    private readonly settings: PollSettings,
  ) {
    this.current = settings.overrideMs ?? plan.initialMs;
  }
  next(): number {
    if (this.settings.overrideMs !== undefined) return this.settings.overrideMs;
    const value = this.current;
    this.current = Math.min(this.plan.maxMs, this.current * this.plan.factor);
    return value;
  }
  reset(): void {
    this.current = this.settings.overrideMs ?? this.plan.initialMs;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new InterruptedError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly waitedSeconds: number,
    readonly lastSeen: string | undefined,
  ) {
    super(`timed out after ${Math.round(waitedSeconds)}s waiting for ${what}${lastSeen === undefined ? "" : ` (last seen: ${lastSeen})`}`);
    this.name = "WaitTimeoutError";
  }
}

/**
 * Call `probe` until it returns a value, sleeping between calls; `probe`
 * returns undefined to keep waiting and may report what it saw.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<{ done: true; value: T } | { done: false; seen?: string }>,
  options: { plan: WaitPlan; settings: PollSettings; timeoutMs: number; signal?: AbortSignal; now?: () => number },
): Promise<T> {
  const now = options.now ?? (() => Date.now());
  const started = now();
  const timeoutMs = options.timeoutMs * (options.settings.timeoutScale ?? 1);
  const delays = new Delays(options.plan, options.settings);
  let lastSeen: string | undefined;
  for (;;) {
    const result = await probe();
    if (result.done) return result.value;
    lastSeen = result.seen ?? lastSeen;
    const elapsed = now() - started;
    if (elapsed >= timeoutMs) throw new WaitTimeoutError(what, elapsed / 1000, lastSeen);
    await sleep(Math.min(delays.next(), Math.max(1, timeoutMs - elapsed)), options.signal);
  }
}
