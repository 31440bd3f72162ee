import { InterruptedError } from "./runner.js";

/**
 * Polling. Each wait has a schedule tuned to how long the thing usually takes
 * in AWS: a first look when it could plausibly be done, then short, slowly
 * growing intervals. That keeps both the time lost after the event and the
 * number of API calls low (see docs/decisions.md).
 *
 * CWS_POLL_INTERVAL_MS replaces every delay with one fixed interval (tests);
 * CWS_TIME_SCALE multiplies every delay and timeout (an emulator whose
 * simulated second lasts less than a second runs the real schedule faster).
 */
export interface PollSettings {
  /** A fixed interval for every poll, when set. */
  overrideMs: number | undefined;
  /** Multiplies every delay and timeout (default 1). */
  timeScale?: number;
  /** Multiplies every wait's timeout (tests shrink them; default 1). */
  timeoutScale?: number;
}

function positive(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function pollSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): PollSettings {
  const timeScale = positive(env.CWS_TIME_SCALE);
  return { overrideMs: positive(env.CWS_POLL_INTERVAL_MS), ...(timeScale === undefined ? {} : { timeScale, timeoutScale: timeScale }) };
}

export interface WaitPlan {
  /** The first look, ms after the wait starts. */
  firstMs: number;
  /** Then every intervalMs, growing by `factor` up to maxMs. */
  intervalMs: number;
  factor: number;
  maxMs: number;
}

/**
 * Default schedules for real AWS. Typical durations: an instance is running
 * 10-20 s after launch and its SSM agent online 20-60 s later; a stop or a
 * termination takes 15-60 s; an image 1-10 minutes, longer for bigger volumes
 * (imageAvailable's first look is moved later per GiB by the create-image step);
 * a copy to another region several minutes more (imageCopied, moved later per
 * GiB by the copy, src/fleet/copy.ts).
 */
export const WAITS = {
  instanceRunning: { firstMs: 10_000, intervalMs: 3_000, factor: 1.2, maxMs: 10_000 },
  ssmOnline: { firstMs: 15_000, intervalMs: 5_000, factor: 1.1, maxMs: 10_000 },
  commandResult: { firstMs: 2_000, intervalMs: 1_000, factor: 1.15, maxMs: 5_000 },
  logRead: { firstMs: 2_000, intervalMs: 2_000, factor: 1.5, maxMs: 15_000 },
  instanceStopped: { firstMs: 10_000, intervalMs: 5_000, factor: 1.2, maxMs: 15_000 },
  imageAvailable: { firstMs: 40_000, intervalMs: 10_000, factor: 1.1, maxMs: 30_000 },
  imageCopied: { firstMs: 60_000, intervalMs: 15_000, factor: 1.2, maxMs: 30_000 },
  instanceTerminated: { firstMs: 15_000, intervalMs: 5_000, factor: 1.2, maxMs: 15_000 },
  securityGroupDelete: { firstMs: 5_000, intervalMs: 5_000, factor: 1.5, maxMs: 15_000 },
} as const satisfies Record<string, WaitPlan>;

export class Delays {
  private nextMs: number;
  private interval: number;
  private readonly scale: number;
  constructor(
    private readonly plan: WaitPlan,
    private readonly settings: PollSettings,
  ) {
    this.scale = settings.timeScale ?? 1;
    this.nextMs = plan.firstMs;
    this.interval = plan.intervalMs;
  }
  next(): number {
    if (this.settings.overrideMs !== undefined) return this.settings.overrideMs;
    const value = this.nextMs;
    this.nextMs = this.interval;
    this.interval = Math.min(this.plan.maxMs, this.interval * this.plan.factor);
    return value * this.scale;
  }
  /** Back to short intervals (new output arrived), without the first long look. */
  reset(): void {
    this.nextMs = this.plan.intervalMs;
    this.interval = this.plan.intervalMs;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new InterruptedError(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError(signal));
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
  options: { plan: WaitPlan; settings: PollSettings; timeoutMs: number; signal?: AbortSignal; now?: () => number; lookFirst?: boolean },
): Promise<T> {
  const now = options.now ?? (() => Date.now());
  const started = now();
  const timeoutMs = options.timeoutMs * (options.settings.timeoutScale ?? 1);
  const delays = new Delays(options.plan, options.settings);
  let lastSeen: string | undefined;
  // Usually the thing cannot be done yet, so the first look waits (lookFirst: look at once).
  if (!options.lookFirst) await sleep(delays.next(), options.signal);
  for (;;) {
    const result = await probe();
    if (result.done) return result.value;
    lastSeen = result.seen ?? lastSeen;
    const elapsed = now() - started;
    if (elapsed >= timeoutMs) throw new WaitTimeoutError(what, elapsed / 1000, lastSeen);
    await sleep(Math.min(delays.next(), Math.max(1, timeoutMs - elapsed)), options.signal);
  }
}
