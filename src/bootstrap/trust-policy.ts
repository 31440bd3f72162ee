/**
 * Whom the builder role trusts. Bootstrap creates `cws-ami-builder` trusted by
 * EC2 alone; a role of that name that already exists may have been created
 * by someone else, earlier, trusting another account (the people's policy
 * lets its holder create the role with any trust policy, docs/iam/README.md),
 * and whoever can assume it gets what builds give it. So an existing role is
 * accepted only when its trust policy means the same as bootstrap's own, by
 * bootstrap and by every build's preflight (the role in the instance profile).
 */
import { CwsError } from "../errors.js";

/** The builder role's trust policy: EC2 may assume it, nobody else, with no condition. */
export const BUILDER_TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
} as const;

/** BUILDER_TRUST_POLICY as bootstrap sends it to CreateRole, and as the suggestion to reset a role quotes it. */
export const BUILDER_TRUST_POLICY_JSON = JSON.stringify(BUILDER_TRUST_POLICY);

export interface TrustReview {
  /** Whom the policy lets assume the role besides EC2, as `AWS arn:aws:iam::444455556666:root`, `* (anyone)`. */
  otherPrincipals: string[];
  /** What else differs from BUILDER_TRUST_POLICY, in words: a Condition, another action, a Deny, EC2 missing. */
  differences: string[];
}

export const trustMatches = (review: TrustReview): boolean => review.otherPrincipals.length === 0 && review.differences.length === 0;

/**
 * One thing a policy says: an effect, for one principal, on one action, under
 * any other keys of its statement (a Condition, NotAction, ...). A statement
 * lists principals and actions as a string or an array, in any order, with
 * any Sid; these facts do not depend on how it is written, so two policies
 * mean the same when their sets of grants are equal.
 */
interface Grant {
  effect: string;
  /** `Service ec2.amazonaws.com`, `AWS arn:...`, `*` */
  principal: string;
  /** As written, for messages. */
  action: string;
  /** The statement's other keys with their values, as canonical JSON ("" when none). */
  extra: string;
  /** Their names, for messages: Condition, NotAction, ... */
  extraKeys: string[];
}

/** IAM matches action names case-insensitively. */
const key = (grant: Grant) => `${grant.effect}|${grant.principal}|${grant.action.toLowerCase()}|${grant.extra}`;

const STATEMENT_KEYS = new Set(["Sid", "Effect", "Principal", "Action"]);

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** JSON with object keys sorted, so that key order never makes two equal values differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, inner]) => `${JSON.stringify(name)}:${canonical(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function principalsOf(principal: unknown): string[] {
  if (principal === "*") return ["*"];
  if (typeof principal !== "object" || principal === null || Array.isArray(principal)) return [];
  return Object.entries(principal).flatMap(([type, ids]) => asList(ids).map((id) => (id === "*" ? "*" : `${type} ${String(id)}`)));
}

/** The grants of a policy document, and what in it grants nothing that can be compared. */
function grantsOf(document: unknown): { grants: Grant[]; unreadable: string[] } {
  const grants: Grant[] = [];
  const unreadable: string[] = [];
  if (typeof document !== "object" || document === null) return { grants, unreadable: ["it is not a policy document"] };
  for (const [index, statement] of asList((document as { Statement?: unknown }).Statement).entries()) {
    if (typeof statement !== "object" || statement === null) {
      unreadable.push(`statement ${index + 1} is not an object`);
      continue;
    }
    const fields = statement as Record<string, unknown>;
    const others = Object.entries(fields).filter(([name]) => !STATEMENT_KEYS.has(name));
    const extra = others.length === 0 ? "" : canonical(Object.fromEntries(others));
    const principals = principalsOf(fields.Principal);
    const actions = asList(fields.Action).map(String);
    // NotPrincipal or NotAction in place of Principal or Action: "everyone but", never the same as EC2 alone.
    if (principals.length === 0 || actions.length === 0) {
      unreadable.push(`statement ${index + 1} has ${Object.keys(fields).filter((name) => name !== "Sid").join(", ")}`);
    }
    for (const principal of principals) for (const action of actions) grants.push({ effect: String(fields.Effect), principal, action, extra, extraKeys: others.map(([name]) => name) });
  }
  return { grants, unreadable };
}

const EXPECTED = grantsOf(BUILDER_TRUST_POLICY).grants;

/** Compares a trust policy (JSON text) with BUILDER_TRUST_POLICY by meaning, and says how it differs. */
export function reviewTrustPolicy(document: string): TrustReview {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return { otherPrincipals: [], differences: ["its trust policy is not valid JSON"] };
  }
  const { grants, unreadable } = grantsOf(parsed);
  const expectedKeys = new Set(EXPECTED.map(key));
  const expectedPrincipals = new Set(EXPECTED.map((grant) => grant.principal));
  const trusted = grants.filter((grant) => grant.effect === "Allow" && !expectedPrincipals.has(grant.principal));
  const otherPrincipals = [...new Set(trusted.map((grant) => (grant.principal === "*" ? "* (anyone)" : grant.principal)))];
  const differences = [...unreadable];
  const say = (what: string) => {
    if (!differences.includes(what)) differences.push(what);
  };
  for (const grant of grants) {
    if (expectedKeys.has(key(grant)) || trusted.includes(grant)) continue;
    if (grant.effect !== "Allow") say(`a ${grant.effect} statement`);
    else if (grant.extra !== "") say(`a statement with ${grant.extraKeys.join(", ")}`);
    else say(`action ${grant.action}`);
  }
  const actualKeys = new Set(grants.map(key));
  for (const grant of EXPECTED) if (!actualKeys.has(key(grant))) say(`no plain ${grant.action} for ${grant.principal}`);
  return { otherPrincipals, differences };
}

/**
 * A builder role that trusts more than EC2 (made by someone else, perhaps before
 * bootstrap) is refused: whoever can assume it gets what build instances have.
 * `BUILDER_ROLE_TRUST`, exit 2: cws cannot change the trust
 * (iam:UpdateAssumeRolePolicy is not granted), and deleting a role someone made
 * is an administrator's decision. Bootstrap asks before it attaches anything, a
 * build's preflight before it launches anything; both say it in these words.
 */
export function checkBuilderRoleTrust(roleName: string, trustPolicy: string): void {
  const review = reviewTrustPolicy(trustPolicy);
  if (trustMatches(review)) return;
  const beyond = review.otherPrincipals.length > 0 ? `it also trusts ${review.otherPrincipals.join(", ")}` : undefined;
  const what = [beyond, ...review.differences].filter((part) => part !== undefined).join("; ");
  throw new CwsError("BUILDER_ROLE_TRUST", `role ${roleName} exists, but its trust policy is not EC2 alone (ec2.amazonaws.com, sts:AssumeRole, no conditions): ${what}`, {
    value: roleName,
    suggestion:
      `as an administrator, inspect it with aws iam get-role --role-name ${roleName}; then delete the role (aws iam delete-role, after detaching its policies and removing it from its instance profile) ` +
      `or reset its trust with aws iam update-assume-role-policy --role-name ${roleName} --policy-document '${BUILDER_TRUST_POLICY_JSON}', and run cws ami bootstrap again`,
  });
}
