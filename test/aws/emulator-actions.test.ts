/**
 * Keeps the emulator (packages/aws-emulator) in step with the code: it answers
 * every AWS action the source calls, and nothing else unless its
 * ACTIONS_CWS_DOES_NOT_CALL says why. A call added to src/aws fails here until
 * the emulator answers it; a handler nobody calls fails here until it is
 * removed or justified.
 */
import { join } from "node:path";
import { ACTIONS_CWS_DOES_NOT_CALL, HANDLED_ACTIONS } from "@cws/aws-emulator";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { sdkCallsUnder } from "../helpers/sdk-calls.js";

const called = new Set(sdkCallsUnder(join(ROOT, "src"), ROOT).uses.map((use) => use.action));
const handled = new Set(HANDLED_ACTIONS);
const justified = Object.entries(ACTIONS_CWS_DOES_NOT_CALL);

describe("the emulator's handlers", () => {
  it("are read from the dispatch tables of every service, and the calls from src", () => {
    for (const action of ["ec2:RunInstances", "ssm:SendCommand", "sts:GetCallerIdentity", "iam:CreateRole"]) {
      expect(handled).toContain(action);
      expect(called).toContain(action);
    }
  });

  it("answer every action the source calls", () => {
    const missing = [...called].filter((action) => !handled.has(action)).sort();
    expect(missing, `src calls these; add a handler to packages/aws-emulator:\n${missing.join("\n")}`).toEqual([]);
  });

  it("answer nothing else, unless ACTIONS_CWS_DOES_NOT_CALL says why", () => {
    const unjustified = [...handled].filter((action) => !called.has(action) && !(action in ACTIONS_CWS_DOES_NOT_CALL)).sort();
    expect(unjustified, `no code calls these; remove their handlers (and tests) from packages/aws-emulator or justify them:\n${unjustified.join("\n")}`).toEqual([]);
  });

  it("justify only actions they answer and the source does not call, each with a reason", () => {
    for (const [action, why] of justified) {
      expect(handled, `${action} is justified but not handled`).toContain(action);
      expect(called, `src calls ${action} now: drop its entry from ACTIONS_CWS_DOES_NOT_CALL`).not.toContain(action);
      expect(why.trim().length, action).toBeGreaterThan(20);
    }
  });
});
