import type { StepEvents } from "./runner.js";

/** What a build tells the person watching it. Implementations live in src/output/. */
export interface BuildReporter {
  /** A step began ("⏳ Launching build instance..."). */
  stepStarted(title: string): void;
  /** The step's outcome line ("✅ Instance launched: i-0abc (t3.medium)"), with its duration. */
  stepSucceeded(text: string, seconds: number): void;
  stepFailed(text: string, seconds: number): void;
  /** An indented detail under the current step ("📦 Installing R"). */
  detail(text: string): void;
  /** Live output of a script running on the instance. */
  output(text: string): void;
  /** One validation test ("✅ RStudio Server running" / "❌ …"). */
  test(name: string, passed: boolean, detail?: string): void;
  warn(text: string): void;
  /** Cleanup progress ("🧹 Terminated i-0abc"). */
  cleanup(text: string): void;
  /** Release any spinner before the final result is printed. */
  close(): void;
}

export const silentReporter: BuildReporter = {
  stepStarted() {},
  stepSucceeded() {},
  stepFailed() {},
  detail() {},
  output() {},
  test() {},
  warn() {},
  cleanup() {},
  close() {},
};

/** A run's steps told to the person watching it: each start, success and failure, and a cleanup that failed. */
export function reportSteps(reporter: BuildReporter): Required<Pick<StepEvents, "stepStarted" | "stepSucceeded" | "stepFailed" | "cleanupFailed">> {
  return {
    stepStarted: (step) => reporter.stepStarted(step.title),
    stepSucceeded: (step, seconds, message) => reporter.stepSucceeded(message ?? step.title, seconds),
    stepFailed: (step, error, seconds) => reporter.stepFailed(`${step.title} failed: ${(error as Error).message}`, seconds),
    cleanupFailed: (step, error) => reporter.warn(`cleanup of ${step.title.toLowerCase()} failed: ${(error as Error).message}`),
  };
}
