import { Chalk, type ChalkInstance } from "chalk";
import type { BuildReporter } from "../builder/reporter.js";
import type { BuildResult } from "../builder/build.js";
import type { KeptInstance } from "../builder/context.js";
import type { OutputStream } from "../cli/io.js";
import { formatDuration } from "../duration.js";
import { describeBuildCost, describeStorageCost } from "../fleet/cost.js";

export interface ReporterOptions {
  stream: OutputStream;
  color: 0 | 1 | 2 | 3;
  /** Spinners: only on an interactive terminal outside CI (some CI systems report a TTY). */
  fancy: boolean;
  /** Only warnings and the result. */
  quiet: boolean;
  now?: () => Date;
}

interface Spinner {
  text: string;
  start(): Spinner;
  stop(): Spinner;
  stopAndPersist(options: { symbol?: string; text?: string }): Spinner;
  clear(): Spinner;
  render(): Spinner;
  isSpinning: boolean;
}

/**
 * Progress on stderr, as in the design doc's example output: emoji, one line
 * per step with its duration. On a TTY the running step is an ora spinner;
 * elsewhere (CI, pipes) every line is plain and timestamped, so logs read well.
 */
export async function createBuildReporter(options: ReporterOptions): Promise<BuildReporter> {
  const chalk = new Chalk({ level: options.color });
  if (options.fancy && !options.quiet) {
    const { default: ora } = await import("ora");
    return new TtyReporter(chalk, options.stream, (text) => ora({ text, stream: options.stream as NodeJS.WritableStream, discardStdin: false }) as unknown as Spinner);
  }
  return new PlainReporter(chalk, options.stream, options.quiet, options.now ?? (() => new Date()));
}

class PlainReporter implements BuildReporter {
  constructor(
    private readonly chalk: ChalkInstance,
    private readonly out: OutputStream,
    private readonly quiet: boolean,
    private readonly now: () => Date,
  ) {}
  private line(text: string, always = false) {
    if (this.quiet && !always) return;
    const stamp = this.now().toISOString().slice(11, 19);
    for (const part of text.split("\n")) this.out.write(`${this.chalk.dim(`[${stamp}]`)} ${part}\n`);
  }
  stepStarted(title: string) {
    this.line(`⏳ ${title}...`);
  }
  stepSucceeded(text: string, seconds: number) {
    this.line(`✅ ${text} ${this.chalk.dim(`(${formatDuration(seconds)})`)}`);
  }
  stepFailed(text: string, seconds: number) {
    this.line(`❌ ${this.chalk.red(text)} ${this.chalk.dim(`(${formatDuration(seconds)})`)}`, true);
  }
  detail(text: string) {
    this.line(`   ${text}`);
  }
  output(text: string) {
    if (this.quiet) return;
    for (const part of text.split("\n")) this.line(this.chalk.dim(`   │ ${part}`));
  }
  test(name: string, passed: boolean, detail?: string) {
    this.line(passed ? `   ✅ ${name}` : `   ❌ ${name}${detail ? `: ${detail}` : ""}`, !passed);
  }
  warn(text: string) {
    this.line(`⚠️  ${this.chalk.yellow(text)}`, true);
  }
  cleanup(text: string) {
    this.line(`🧹 ${text}`);
  }
  close() {}
}

class TtyReporter implements BuildReporter {
  private spinner: Spinner | undefined;
  constructor(
    private readonly chalk: ChalkInstance,
    private readonly out: OutputStream,
    private readonly makeSpinner: (text: string) => Spinner,
  ) {}
  /** Print above the spinner without breaking it. */
  private print(text: string) {
    const spinning = this.spinner?.isSpinning;
    if (spinning) this.spinner!.clear();
    this.out.write(`${text}\n`);
    if (spinning) this.spinner!.render();
  }
  stepStarted(title: string) {
    this.spinner?.stop();
    this.spinner = this.makeSpinner(`${title}...`).start();
  }
  stepSucceeded(text: string, seconds: number) {
    this.finish("✅", `${text} ${this.chalk.dim(`(${formatDuration(seconds)})`)}`);
  }
  stepFailed(text: string, seconds: number) {
    this.finish("❌", `${this.chalk.red(text)} ${this.chalk.dim(`(${formatDuration(seconds)})`)}`);
  }
  private finish(symbol: string, text: string) {
    if (this.spinner) this.spinner.stopAndPersist({ symbol, text });
    else this.out.write(`${symbol} ${text}\n`);
    this.spinner = undefined;
  }
  detail(text: string) {
    this.print(`   ${text}`);
  }
  output(text: string) {
    for (const part of text.split("\n")) this.print(this.chalk.dim(`   │ ${part}`));
  }
  test(name: string, passed: boolean, detail?: string) {
    this.print(passed ? `   ✅ ${name}` : `   ❌ ${name}${detail ? this.chalk.red(`: ${detail}`) : ""}`);
  }
  warn(text: string) {
    this.print(`⚠️  ${this.chalk.yellow(text)}`);
  }
  cleanup(text: string) {
    if (this.spinner?.isSpinning) this.spinner.text = text;
    else this.print(`🧹 ${text}`);
  }
  close() {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}

/** The header the design doc shows before the steps. */
export function buildHeader(request: { templateId: string; architecture: string; region: string; version: string }): string {
  return [
    `🏗️  Building AMI for template: ${request.templateId}`,
    `   Architecture: ${request.architecture}`,
    `   Region: ${request.region}`,
    `   Version: ${request.version}`,
    "",
  ].join("\n");
}

/** What the instances --on-error abort kept go on costing: a running one its instance-hours, a stopped one its volume. */
function keptBilling(kept: readonly KeptInstance[]): string {
  if (kept.length === 0) return "";
  const each = kept.map((k) => `${k.instanceId} ${k.state}${k.state === "stopped" ? ": its volume" : ""}`).join(", ");
  return `; the kept instance${kept.length === 1 ? " is" : "s are"} billed until terminated (${each})`;
}

/** The final result, for stdout. */
export function formatBuildResult(result: BuildResult, chalk: ChalkInstance): string {
  const lines: string[] = [];
  const key = `${result.template}.${result.region}.${result.architecture}`;
  if (result.status === "succeeded" && result.upToDate) {
    const built = result.imageCreated ? `built ${result.imageCreated.replace(/\.\d{3}Z$/, "Z")}; ` : "";
    lines.push("", `✅ ${chalk.green.bold(`${key} is up to date`)}: ${result.imageId} (${built}use --force to rebuild)`);
    lines.push("   An image of the same content (template and base AMI) exists: nothing was launched.");
  } else if (result.status === "succeeded") {
    lines.push("", `🎉 ${chalk.green.bold("Build complete!")}`);
    lines.push(`   AMI ID: ${result.imageId}${result.imageState === "pending" ? " (still pending)" : ""}`);
    if (result.imageName) lines.push(`   Name: ${result.imageName}`);
    lines.push(`   Total time: ${formatDuration(result.durationSeconds)}`);
    if (result.logDir) lines.push(`   Logs: ${result.logDir}`);
  } else {
    const word = result.status === "interrupted" ? "Build interrupted" : "Build failed";
    lines.push("", `❌ ${chalk.red.bold(word)}${result.failedStep ? ` (step: ${result.failedStep})` : ""}`);
    // An interrupted build's error only says what the heading does.
    if (result.error && result.status === "failed") {
      lines.push(`   ${result.error.message}`);
      if (result.error.suggestion) lines.push(...result.error.suggestion.split("\n").map((l) => `   → ${l}`.replace("→   ", "  ")));
    }
    lines.push(`   Total time: ${formatDuration(result.durationSeconds)}`, ...(result.logDir ? [`   Logs: ${result.logDir}`] : []));
  }
  if (result.cost) {
    lines.push("", `💰 Cost: ${describeBuildCost(result.cost.build)}${keptBilling(result.billing?.keptInstances ?? [])}`);
    if (result.cost.snapshotsPerMonth) lines.push(`   Image storage: ${describeStorageCost(result.cost.snapshotsPerMonth)} in ${result.region}`);
    lines.push(`   Prices: ${result.cost.prices}, on-demand estimates`);
  }
  // What was written, and nothing when nothing was (--no-registry-update; builds never edit templates).
  if (result.written.registry) lines.push("", `Registry updated (${result.written.registry}):`, `   ${key} = ${result.imageId}`);
  if (result.written.ssmParameter) lines.push("", "SSM Parameter Store updated:", `   ${result.written.ssmParameter} = ${result.imageId}`);
  if (result.cleaned.length) lines.push(`🧹 Cleaned up: ${result.cleaned.join(", ")}`);
  if (result.kept.length) lines.push(`📌 Kept: ${result.kept.join(", ")}`);
  if (result.cleanupErrors.length) {
    lines.push(`⚠️  Cleanup problems (find leftovers by tag cws:build-id=${result.buildId}):`, ...result.cleanupErrors.map((e) => `   ${e}`));
  }
  return `${lines.join("\n")}\n`;
}
