import { describe, expect, it } from "vitest";
import { silentFleetReporter, type FleetReporter, type TargetOutcome } from "../../src/fleet/reporter.js";
import { registryValidationTargets, runValidations, type ValidationRequest, type ValidationResult, type ValidationTarget } from "../../src/lifecycle/validate.js";
import { createFleetReporter } from "../../src/output/fleet-reporter.js";
import { formatValidationTable, validationSummaryJson } from "../../src/output/validation-report.js";
import { parseTemplate } from "../../src/template/load.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";
import { record, registryWith } from "../registry/fixtures.js";

/** `--all`: which images, and the run of many validations at once. */
const template = parseTemplate(VALID_TEMPLATE, "t.yml").template!;
const untested = { ...template, validation_tests: [] };

const registry = () =>
  registryWith({
    web: {
      "us-west-2": { x86_64: record("ami-000000b1", "2026-01-01T00:00:00Z") },
      "us-east-1": { x86_64: { ...record("ami-000000a1", "2026-01-02T00:00:00Z"), history: [record("ami-000000a0", "2026-01-01T00:00:00Z")] }, arm64: record("ami-000000a2", "2026-01-02T00:00:00Z") },
    },
    gone: { "us-east-1": { x86_64: record("ami-000000c1", "2026-01-01T00:00:00Z") } },
    bare: { "us-east-1": { x86_64: record("ami-000000d1", "2026-01-01T00:00:00Z") } },
  });

describe("registryValidationTargets", () => {
  const templates = new Map([
    ["web", template],
    ["bare", untested],
  ]);

  it("takes every template's current image, every region and architecture, in order; never one from history", () => {
    const { targets } = registryValidationTargets(registry(), templates);
    expect(targets.map((t) => `${t.key} ${t.imageId}`)).toEqual(["web/arm64@us-east-1 ami-000000a2", "web/x86_64@us-east-1 ami-000000a1", "web/x86_64@us-west-2 ami-000000b1"]);
    expect(targets.every((t) => t.template === template)).toBe(true);
  });

  it("leaves out, with why, an image whose template is not in the directory, is invalid (naming lint) or has no tests", () => {
    const { leftOut } = registryValidationTargets(registry(), templates);
    expect(leftOut.map((l) => `${l.templateId} ${l.imageId}: ${l.why}`)).toEqual([
      "bare ami-000000d1: bare has no validation_tests",
      "gone ami-000000c1: no template gone in the templates directory, so its tests are unknown",
    ]);
    const invalid = registryValidationTargets(registry(), templates, {}, new Map([["gone", "templates/gone.yml"]]));
    expect(invalid.leftOut.find((l) => l.templateId === "gone")?.why).toBe("its template templates/gone.yml is invalid, so its tests cannot be read (cws ami lint gone shows its problems)");
  });

  it("narrows to --region and --architecture", () => {
    expect(registryValidationTargets(registry(), templates, { region: "us-west-2" }).targets.map((t) => t.key)).toEqual(["web/x86_64@us-west-2"]);
    const arm = registryValidationTargets(registry(), templates, { architecture: "arm64" });
    expect(arm.targets.map((t) => t.key)).toEqual(["web/arm64@us-east-1"]);
    expect(arm.leftOut).toEqual([]);
  });
});

/** A validation that takes `ms` and passes, fails (exit 1 or 2) or is interrupted as `outcome` says for its image. */
function scripted(outcome: (imageId: string) => "ok" | 1 | 2, ms = 20) {
  let running = 0;
  const seen = { most: 0, order: [] as string[] };
  const validate = async (request: ValidationRequest, deps: { signal: AbortSignal }): Promise<ValidationResult> => {
    running++;
    seen.most = Math.max(seen.most, running);
    seen.order.push(request.imageId);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    const result = outcome(request.imageId);
    const base = {
      validationId: "v",
      template: request.templateId,
      region: request.region,
      architecture: request.architecture,
      imageId: request.imageId,
      instanceId: null,
      validatedAt: null,
      registry: null,
      registryRecord: null,
      durationSeconds: 1,
      logDir: `logs/${request.imageId}`,
      failedStep: null,
      error: null,
      cleaned: [],
      kept: [],
      cleanupErrors: [],
    };
    if (deps.signal.aborted) return { ...base, status: "interrupted", tests: [], exitCode: 130 };
    if (result === "ok") return { ...base, status: "succeeded", tests: [{ name: "a", passed: true, exitCode: 0, stdout: "" }], validatedAt: "2026-11-28T00:00:00Z", exitCode: 0 };
    return {
      ...base,
      status: "failed",
      tests: result === 1 ? [{ name: "a", passed: false, exitCode: 1, stdout: "", detail: "exit code: expected 0, got 1" }] : [],
      failedStep: result === 1 ? "validate" : "preflight",
      error: { code: result === 1 ? "VALIDATION_FAILED" : "PREFLIGHT_FAILED", message: result === 1 ? "1 of 1 validation test failed" : "instance profile x does not exist", preflight: result === 2 },
      exitCode: result,
    };
  };
  return { validate, seen };
}

function targetsOf(count: number): ValidationTarget[] {
  return Array.from({ length: count }, (_, i) => {
    const imageId = `ami-0000000${i}`;
    return { key: `web/x86_64@r${i}`, templateId: "web", template, region: `us-east-${i + 1}`, architecture: "x86_64" as const, imageId };
  });
}

function options(targets: ValidationTarget[], extra: { concurrency?: number; reporter?: FleetReporter; signal?: AbortSignal } = {}) {
  return {
    targets,
    leftOut: [{ templateId: "gone", region: "us-east-1", architecture: "x86_64", imageId: "ami-000000c1", why: "no template" }],
    aws: {} as never,
    poll: { overrideMs: 1 },
    signal: extra.signal ?? new AbortController().signal,
    reporter: extra.reporter ?? silentFleetReporter,
    concurrency: extra.concurrency ?? 2,
    registryFile: undefined,
    input: () => ({ version: "v1", instanceType: "t3.medium", subnetId: undefined, instanceProfile: "p", onError: "cleanup" as const, templateHash: "h", sourceCommit: undefined, logRoot: "logs" }),
  };
}

/** The reporter, with every verdict it is told also kept in `done`. */
function spyOn(reporter: FleetReporter, done: TargetOutcome[]): FleetReporter {
  return {
    targetQueued: (id, label) => reporter.targetQueued(id, label),
    targetStarted: (id, label) => reporter.targetStarted(id, label),
    targetStep: (id, step) => reporter.targetStep(id, step),
    log: (id, line) => reporter.log(id, line),
    notice: (line) => reporter.notice(line),
    targetDone: (id, outcome) => {
      done.push(outcome);
      reporter.targetDone(id, outcome);
    },
    finish: (summary) => reporter.finish(summary),
    close: () => reporter.close(),
  };
}

describe("runValidations", () => {
  it("runs at most --concurrency at once, each target once, and a row per image, left-out ones skipped", async () => {
    const { validate, seen } = scripted(() => "ok");
    const { summary, exitCode } = await runValidations(options(targetsOf(5), { concurrency: 2 }), validate);
    expect(seen.most).toBe(2);
    expect(seen.order.sort()).toEqual(targetsOf(5).map((t) => t.imageId));
    expect(summary.rows.map((r) => `${r.amiId} ${r.result}`)).toEqual([...targetsOf(5).map((t) => `${t.imageId} validated`), "ami-000000c1 skipped"]);
    expect(summary.rows[0]).toMatchObject({ tests: { passed: 1, total: 1 }, validatedAt: "2026-11-28T00:00:00Z" });
    // Left out: not everything was validated.
    expect(exitCode).toBe(1);
  });

  it("exits 0 when every image passed, 1 when one failed (the others finish), 2 when every failure was the user's setup", async () => {
    const all = { ...options(targetsOf(3)), leftOut: [] };
    expect((await runValidations(all, scripted(() => "ok").validate)).exitCode).toBe(0);
    const oneFails = await runValidations(all, scripted((id) => (id === "ami-00000001" ? 1 : "ok")).validate);
    expect(oneFails.exitCode).toBe(1);
    expect(oneFails.summary.rows.map((r) => r.result)).toEqual(["validated", "failed", "validated"]);
    expect(oneFails.summary.rows[1]).toMatchObject({ detail: "validate: 1 of 1 validation test failed", tests: { passed: 0, total: 1 }, logDir: "logs/ami-00000001" });
    expect((await runValidations(all, scripted(() => 2).validate)).exitCode).toBe(2);
    expect((await runValidations(all, scripted((id) => (id === "ami-00000000" ? 2 : 1)).validate)).exitCode).toBe(1);
  });

  it("on Ctrl-C stops the running ones (each cleans up), starts no other, and exits 130", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT"), 10);
    const { summary, exitCode } = await runValidations({ ...options(targetsOf(4), { concurrency: 2, signal: controller.signal }), leftOut: [] }, scripted(() => "ok", 40).validate);
    expect(exitCode).toBe(130);
    expect(summary.interrupted).toBe(true);
    expect(summary.rows.map((r) => r.result)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled"]);
    expect(summary.rows.map((r) => r.detail)).toEqual(["interrupted: stopped and cleaned up", "interrupted: stopped and cleaned up", "not started: interrupted", "not started: interrupted"]);
  });

  it("tells the fleet reporter each target's start and verdict, and the tally in validate's words", async () => {
    const lines: string[] = [];
    const reporter = createFleetReporter({ stream: { write: (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)) }, color: 0, fancy: false, clock: () => new Date("2026-11-28T10:00:00Z") });
    const done: TargetOutcome[] = [];
    const { summary } = await runValidations(
      { ...options(targetsOf(2), { reporter: spyOn(reporter, done) }), leftOut: [] },
      scripted((id) => (id === "ami-00000001" ? 1 : "ok")).validate,
    );
    reporter.finish(summary);
    expect(done.map((o) => o.result).sort()).toEqual(["failed", "validated"]);
    expect(lines).toContain("[10:00:00] [web/x86_64 us-east-1] ⏳ started");
    expect(lines.find((line) => line.startsWith("[10:00:00] [web/x86_64 us-east-1] ✅ validated: ami-00000000 in us-east-1"))).toBeDefined();
    expect(lines.find((line) => line.startsWith("[10:00:00] [web/x86_64 us-east-2] ❌ failed: validate: 1 of 1 validation test failed"))).toBeDefined();
    expect(lines.at(-1)).toMatch(/^\[10:00:00\] Finished: 1 validated, 1 failed \(2 images\) in /);
  });
});

describe("validate --all's result", () => {
  const summary = {
    rows: [
      { template: "web", architecture: "x86_64", region: "us-east-1", amiId: "ami-000000a1", result: "validated" as const, durationSeconds: 64, tests: { passed: 3, total: 3 }, validatedAt: "2026-11-28T00:00:00Z", logDir: "l/1" },
      { template: "web", architecture: "arm64", region: "us-east-1", amiId: "ami-000000a2", result: "failed" as const, durationSeconds: 70, tests: { passed: 2, total: 3 }, detail: "validate: 1 of 3 validation tests failed", logDir: "l/2" },
      { template: "gone", architecture: "x86_64", region: "us-east-1", amiId: "ami-000000c1", result: "skipped" as const, detail: "no valid template gone" },
    ],
    durationSeconds: 71,
  };

  it("is a table with a row per image, the tally, and why each failed or was skipped", () => {
    expect(formatValidationTable(summary)).toBe(
      [
        "TEMPLATE  ARCH    REGION     AMI           RESULT     TESTS  TIME",
        "web       x86_64  us-east-1  ami-000000a1  validated  3/3    1m 4s",
        "web       arm64   us-east-1  ami-000000a2  failed     2/3    1m 10s",
        "gone      x86_64  us-east-1  ami-000000c1  skipped    -      -",
        "",
        "3 images: 1 validated, 1 failed, 1 skipped in 1m 11s",
        "Failed:",
        "  web arm64 us-east-1 ami-000000a2: validate: 1 of 3 validation tests failed (logs: l/2)",
        "Skipped:",
        "  gone x86_64 us-east-1 ami-000000c1: no valid template gone",
        "",
      ].join("\n"),
    );
  });

  it("is one JSON document with every field of every row (null when empty) and every count", () => {
    const json = validationSummaryJson(summary, 1) as { rows: Record<string, unknown>[]; counts: Record<string, number> };
    expect(json.counts).toEqual({ validated: 1, failed: 1, skipped: 1, cancelled: 0 });
    for (const row of json.rows) expect(Object.keys(row)).toEqual(["template", "architecture", "region", "amiId", "result", "tests", "validatedAt", "durationSeconds", "detail", "logDir"]);
    expect(json.rows[2]).toMatchObject({ tests: null, validatedAt: null, durationSeconds: null, logDir: null });
    // The exit code, as every document of a command that exits with one (build-all's, a validation's).
    expect(json).toMatchObject({ durationSeconds: 71, interrupted: false, exitCode: 1 });
  });
});
