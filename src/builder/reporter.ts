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
