import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, runCli, scratchDir } from "../helpers/cli.js";

/**
 * Which templates build-all takes, as a user types them, checked offline (--dry-run needs no AWS): ids
 * as build and lint take them, --templates lists (repeated, spaced), and a parent included for its
 * child said to be included only where the child needs it.
 */
const FLEET = join(ROOT, "test", "fixtures", "fleet-templates");
const fixture = (name: string) => readFileSync(join(FLEET, `${name}.yml`), "utf8");
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function project() {
  const scratch = scratchDir({
    "templates/fleet-base.yml": fixture("fleet-base"),
    "templates/fleet-child.yml": fixture("fleet-child"),
    "templates/fleet-other.yml": fixture("fleet-other"),
  });
  cleanup = scratch.cleanup;
  // No AWS at all: the dry run must not need it.
  const env = { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };
  return (...args: string[]) => runCli(["ami", "build-all", "--dry-run", "--json", ...args], { cwd: scratch.dir, env });
}

const planned = (stdout: string) => (JSON.parse(stdout) as { targets: { template: string; architecture: string }[] }).targets.map((t) => `${t.template}/${t.architecture}`);

describe("build-all: which templates", () => {
  it("takes an id written with .yml, as build and lint do", () => {
    const run = project();
    const result = run("fleet-other.yml", "--architecture", "x86_64");
    expect(result.status, result.stderr).toBe(0);
    expect(planned(result.stdout)).toEqual(["fleet-other/x86_64"]);
  });

  it("takes every --templates given, with spaces around the commas, each id once", () => {
    const run = project();
    const result = run("--templates", "fleet-base", "--templates", " fleet-other , fleet-base ", "--architecture", "x86_64");
    expect(result.status, result.stderr).toBe(0);
    expect(planned(result.stdout)).toEqual(["fleet-base/x86_64", "fleet-other/x86_64"]);
  });

  it("says that ids separated by spaces should be separated by commas", () => {
    const run = project();
    const result = run("--templates", "fleet-base fleet-other");
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: "TEMPLATE_ID_INVALID", suggestion: "write --templates fleet-base,fleet-other" });
  });

  it("says a parent included for its child is made only where the child needs it", () => {
    const run = project();
    const result = run("fleet-child", "--architecture", "x86_64");
    expect(result.status, result.stderr).toBe(0);
    expect(planned(result.stdout)).toEqual(["fleet-base/x86_64", "fleet-child/x86_64"]);
    expect(result.stderr).toContain("Included: fleet-base/x86_64 in us-east-1 only (of its 4 regions), since fleet-child builds on it; cws ami build-all fleet-base updates the rest");
  });
});
