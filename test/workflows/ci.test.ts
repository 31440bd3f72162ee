import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

/**
 * .github/workflows/ci.yml, pinned: what it runs on (never pull_request_target, which would run a
 * fork's code with the base repository's token and secrets), what it checks, on which Node
 * versions, and that it holds nothing but a read-only token.
 */

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: unknown;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}

const TEXT = readFileSync(join(ROOT, ".github/workflows/ci.yml"), "utf8");
const ci = parse(TEXT) as { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> };
const steps = Object.values(ci.jobs).flatMap((job) => job.steps);

function stepRunning(command: string): Step {
  const found = steps.filter((step) => step.run?.split("\n").some((line) => line.trim() === command));
  expect(found, `one step runs ${command}`).toHaveLength(1);
  return found[0]!;
}

describe("ci.yml", () => {
  it("runs on pull requests and pushes to main, never on pull_request_target", () => {
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    expect(ci.on.push).toEqual({ branches: ["main"] });
    expect(TEXT).not.toContain("pull_request_target");
  });

  it("holds a read-only token and no secrets or variables", () => {
    expect(ci.permissions).toEqual({ contents: "read" });
    for (const [id, job] of Object.entries(ci.jobs)) expect(job.permissions, id).toBeUndefined();
    expect(TEXT).not.toMatch(/\b(secrets|vars)\.|id-token/);
  });

  it("runs npm test on Node 20, 22 and 24, each to the end", () => {
    const tests = Object.values(ci.jobs).filter((job) => job.steps.some((s) => s.run === "npm test"));
    expect(tests).toHaveLength(1);
    const job = tests[0]!;
    expect(job.strategy?.matrix).toEqual({ "node-version": [20, 22, 24] });
    expect(job.strategy).toMatchObject({ "fail-fast": false });
    expect(job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with).toMatchObject({ "node-version": "${{ matrix.node-version }}" });
  });

  it("lints the templates strictly, and on pull requests checks the amis blocks against the registry", () => {
    expect(stepRunning("node bin/cws.js ami lint --strict").if).toBeUndefined();
    expect(stepRunning("node bin/cws.js ami update-templates --check").if).toBe("github.event_name == 'pull_request'");
  });
});
