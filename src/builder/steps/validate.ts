import { BuildFailure, remoteWorkDir, type PipelineStep } from "../context.js";
import { runCommand } from "../remote.js";
import { evaluateTest, parseValidationOutput, TESTS_PER_COMMAND, validationScript, type RawTestResult } from "../validation.js";

export const validate: PipelineStep = {
  id: "validate",
  title: "Running validation tests",
  describe({ request }) {
    const tests = request.template.validation_tests;
    return { run: `Validation: ${tests.length} test(s), all run: ${tests.map((t) => t.name).join("; ") || "none"}` };
  },
  async run(ctx, signal) {
    const tests = ctx.request.template.validation_tests;
    ctx.validation = [];
    const fresh = ctx.purpose === "validate" ? ` on a fresh instance of ${ctx.baseImage?.imageId ?? "the image"}` : "";
    if (tests.length === 0) {
      ctx.reporter.warn(fresh ? `the template has no validation_tests: only that the image boots and its SSM agent comes online was checked` : "the template has no validation_tests: the image is made untested");
      return "No validation tests";
    }
    const raw: RawTestResult[] = [];
    for (let first = 0; first < tests.length; first += TESTS_PER_COMMAND) {
      const batch = tests.slice(first, first + TESTS_PER_COMMAND);
      const timeoutSeconds = batch.reduce((sum, t) => sum + t.timeout_seconds + 10, 60);
      const invocation = await runCommand(
        ctx.ssm,
        ctx.instance!.instanceId,
        validationScript(batch, remoteWorkDir(ctx), first),
        { timeoutSeconds, comment: "cws validation" },
        ctx.poll,
        signal,
      );
      raw.push(...parseValidationOutput(invocation.stdout));
    }
    let failed = 0;
    const log: string[] = [];
    tests.forEach((test, index) => {
      const result = raw.find((r) => r.index === index);
      const verdict = evaluateTest(test, result);
      if (!verdict.passed) failed++;
      const detail = verdict.failures.join("; ");
      ctx.validation!.push({
        name: test.name,
        passed: verdict.passed,
        exitCode: result?.exitCode ?? -1,
        stdout: result?.stdout ?? "",
        ...(verdict.passed ? {} : { detail }),
      });
      ctx.reporter.test(test.name, verdict.passed, verdict.passed ? undefined : detail);
      log.push(`${verdict.passed ? "PASS" : "FAIL"} ${test.name}\n$ ${test.command}\nexit ${result?.exitCode ?? "none"}\n${result?.stdout ?? ""}${result?.stderr ? `\n[stderr]\n${result.stderr}` : ""}${verdict.passed ? "" : `\n=> ${detail}`}\n`);
    });
    await ctx.writeLog("validation.log", log.join("\n"));
    if (failed > 0) {
      throw new BuildFailure(
        `${failed} of ${tests.length} validation test${tests.length === 1 ? "" : "s"} failed${fresh || "; no image was made"}`,
        `details: ${ctx.logPath("validation.log")}`,
        ctx.logPath("validation.log"),
      );
    }
    return `All ${tests.length} tests passed${fresh}`;
  },
};
