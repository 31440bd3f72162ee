/**
 * The build runner, after Packer's multistep: steps run in order; a step's
 * cleanup is registered before its run starts, so whatever the run created
 * (and recorded on the context the moment it existed) is cleaned up even when
 * the run fails or is interrupted half-way. Cleanups unwind in reverse order
 * on success, failure and interrupt alike, and each is idempotent.
 */
export type Outcome = "succeeded" | "failed" | "interrupted";

/**
 * A step that ends the run early, successfully: the steps after it do not run,
 * but those that finish any successful run (`finishes`: recording the image),
 * and the cleanups unwind as after any success. `stop` names why, for the
 * result (`up-to-date`: the image already exists); what the step found, it
 * records on the context.
 */
export interface StopHere {
  message: string;
  stop: string;
}

export interface Step<C> {
  /** Stable id, e.g. `launch`. */
  id: string;
  /** What the user sees, e.g. "Launching build instance". */
  title: string;
  /** Returns the line that reports its success, e.g. "Instance launched: i-0abc (t3.medium)", or that line and a reason to stop here. */
  run(ctx: C, signal: AbortSignal): Promise<string | void | StopHere>;
  /** Runs also after a step ended the run early (StopHere): it finishes every successful run, e.g. records the image. */
  finishes?: boolean;
  /** Undo what run created, judging by what it recorded on the context. Never aborted. */
  cleanup?(ctx: C, outcome: Outcome): Promise<void>;
}

export interface StepEvents {
  stepStarted?(step: { id: string; title: string }): void;
  stepSucceeded?(step: { id: string; title: string }, seconds: number, message: string | undefined): void;
  stepFailed?(step: { id: string; title: string }, error: unknown, seconds: number): void;
  cleanupStarted?(step: { id: string; title: string }): void;
  cleanupFailed?(step: { id: string; title: string }, error: unknown): void;
}

export interface PipelineResult {
  outcome: Outcome;
  /** The error that failed the run (absent on success). */
  error?: unknown;
  /** The step that failed or was interrupted. */
  failedStep?: string;
  /** The step that ended a successful run early, and why (StopHere). */
  stopped?: { step: string; reason: string };
  /** Cleanups that threw; the runner carries on with the rest. */
  cleanupErrors: { step: string; error: unknown }[];
}

export class InterruptedError extends Error {
  /** `signal`: an AbortSignal whose reason names what stopped the build ("SIGTERM"), or that name itself. */
  constructor(signal: AbortSignal | string | undefined = undefined) {
    const reason = typeof signal === "string" ? signal : signal?.reason;
    super(`interrupted by ${typeof reason === "string" && reason !== "" ? reason : "SIGINT"}`);
    this.name = "InterruptedError";
  }
}

/** The cleanups a list of steps has, in the order they run: the reverse of the steps'. */
export function cleanupOrder<S extends { cleanup?: unknown }>(steps: readonly S[]): (S & Required<Pick<S, "cleanup">>)[] {
  return steps.filter((step): step is S & Required<Pick<S, "cleanup">> => step.cleanup !== undefined).reverse();
}

export async function runPipeline<C>(
  steps: readonly Step<C>[],
  ctx: C,
  signal: AbortSignal,
  events: StepEvents = {},
  now: () => number = () => performance.now(),
): Promise<PipelineResult> {
  const registered: Step<C>[] = [];
  let outcome: Outcome = "succeeded";
  let error: unknown;
  let failedStep: string | undefined;
  let stopped: { step: string; reason: string } | undefined;

  for (const step of steps) {
    if (stopped && !step.finishes) continue;
    if (signal.aborted) {
      outcome = "interrupted";
      error = new InterruptedError(signal);
      failedStep = step.id;
      break;
    }
    registered.push(step);
    const started = now();
    events.stepStarted?.(step);
    try {
      const returned = await step.run(ctx, signal);
      const stop = typeof returned === "object" ? returned : undefined;
      events.stepSucceeded?.(step, (now() - started) / 1000, stop ? stop.message : typeof returned === "string" ? returned : undefined);
      // The first stop counts; a finishing step cannot stop a run again.
      if (stop && !stopped) stopped = { step: step.id, reason: stop.stop };
    } catch (caught) {
      outcome = signal.aborted || caught instanceof InterruptedError ? "interrupted" : "failed";
      error = caught;
      failedStep = step.id;
      events.stepFailed?.(step, caught, (now() - started) / 1000);
      break;
    }
  }

  const cleanupErrors: { step: string; error: unknown }[] = [];
  for (const step of cleanupOrder(registered)) {
    events.cleanupStarted?.(step);
    try {
      await step.cleanup(ctx, outcome);
    } catch (caught) {
      cleanupErrors.push({ step: step.id, error: caught });
      events.cleanupFailed?.(step, caught);
    }
  }
  return {
    outcome,
    ...(error === undefined ? {} : { error }),
    ...(failedStep === undefined ? {} : { failedStep }),
    ...(stopped === undefined ? {} : { stopped }),
    cleanupErrors,
  };
}
