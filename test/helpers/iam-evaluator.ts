/**
 * One authorization (an action on a resource, with the context keys AWS sends
 * for it) decided by an independent IAM policy evaluator,
 * @cloud-copilot/iam-simulate (AGPL, a devDependency used only by tests:
 * docs/decisions.md §48). It ships the Service Authorization Reference and
 * reports a context key it does not accept for that action and resource as
 * ignored, which the callers treat as a test failure.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { ROOT } from "./cli.js";

export type Context = Record<string, string | string[]>;

/** What the emulator's request log records (`authorizations`) and the policy tables write by hand. */
export interface Authorization {
  action: string;
  resource: string;
  context?: Context;
}

export interface Decision {
  allowed: boolean;
  /** Context keys the evaluator did not use because AWS does not send them for this action and resource. */
  ignored: string[];
}

/** A policy file of the repository, parsed (docs/iam/cws-cli-policy.json ...). */
export const readPolicy = (path: string): unknown => JSON.parse(readFileSync(join(ROOT, path), "utf8"));

/**
 * Whether `principal` (an IAM ARN, whose account the resources are taken to
 * be in) holding exactly `policies` is allowed `authorization`, evaluated as
 * AWS does (explicit deny wins, then any allow).
 */
export async function decide(authorization: Authorization, policies: readonly unknown[], principal: string): Promise<Decision> {
  const accountId = principal.split(":")[4] ?? "";
  const result = await runSimulation(
    {
      request: {
        principal,
        action: authorization.action,
        resource: { resource: authorization.resource, accountId },
        // AWS sends the principal's account with every request (policy variables read it).
        contextVariables: { "aws:PrincipalAccount": accountId, ...authorization.context },
      },
      identityPolicies: policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: "Strict" },
  );
  if (result.resultType === "error") throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
  const ignored = result.resultType === "single" ? (result.result.ignoredContextKeys ?? []) : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
  return { allowed: result.overallResult === "Allowed", ignored };
}
