import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exec } from "../../src/cli/main.js";
import { VERSION } from "../../src/cli/version.js";
import { ROOT } from "../helpers/cli.js";

// The built CLI gets the version written in by the build: test/cli/cli.test.ts.
describe("the version, when the sources run unbundled (vitest, tsx)", () => {
  it("is package.json's", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(VERSION).toBe(version);
    let stdout = "";
    const status = await exec(["--version"], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => true }, env: {}, cwd: ROOT });
    expect({ status, stdout }).toEqual({ status: 0, stdout: `${version}\n` });
  });
});
