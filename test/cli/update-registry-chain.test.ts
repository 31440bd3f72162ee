import { afterEach, describe, expect, it } from "vitest";
import { FORBID_AWS_SDK, runCli, scratchDir } from "../helpers/cli.js";

const CHILD = `name: "Child"
description: "Built on emu-basic, which is not there"
version: "1.0.0"
base_ami:
  template: emu-basic
  architecture: [x86_64]
regions: [us-east-1]
setup_script: |
  #!/bin/bash
  true
validation_tests:
  - name: "true"
    command: "true"
    expected: ""
`;

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe("update-registry --match-templates with a parent it cannot follow", () => {
  it("is bad input (exit 2) naming the missing parent, before any AWS call", () => {
    const scratch = scratchDir({ "templates/emu-child.yml": CHILD });
    cleanup = scratch.cleanup;
    const result = runCli(["ami", "update-registry", "emu-child", "--match-templates", "--json"], { cwd: scratch.dir, env: { NODE_OPTIONS: `--import=${FORBID_AWS_SDK}` } });
    expect(result.status, result.stderr).toBe(2);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string; value: string } };
    expect(error).toMatchObject({ code: "TEMPLATE_INVALID", value: "emu-child" });
    expect(error.message).toContain(`--match-templates follows emu-child's parents: no template "emu-basic" to build on`);
  });
});
