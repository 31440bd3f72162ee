import { INSTANCE_PROFILE_PATTERN, SUBNET_PATTERN } from "../config/fields.js";
import { DURATION_EXAMPLES, parseDuration, ZERO_DURATION_PATTERN } from "../duration.js";
import { CwsError } from "../errors.js";
import { AMI_ID_PATTERN, AMI_ID_RULE, ARCHITECTURES, INSTANCE_TYPE_PATTERN } from "../template/architectures.js";
import { regionProblem } from "../template/regions.js";
import { didYouMean } from "../template/suggest.js";
import type { OptionSpec, ValueKind } from "./command-spec.js";

/**
 * The values of a command line's options, checked against what the command
 * table says they take (`value`, `choices`) before the command's
 * implementation is loaded: a wrong flag exits 2, naming the flag and the
 * value, with the nearest valid value for a typo, before anything reads a
 * template or calls AWS. What needs more than the value itself (is this
 * template built in that region? does the instance type fit the build's
 * architecture?) the command checks, with the same rules as lint.
 *
 * Loaded only when a command line gives an option a value.
 */

/** An option as it was typed: the flag (an alias if one was used) and its value. */
export interface GivenValue {
  flag: string;
  value: string;
  /** Typed as one word, `--since=-x`: the value is what follows `=`, whatever it looks like, never a flag taken for one. */
  attached?: boolean;
  spec: Pick<OptionSpec, "flags" | "choices" | "value">;
}

/**
 * A value that is itself an option (`--templates-dir --json`): the option was
 * given no value, and the next flag was taken for it. `-` alone (stdout, for
 * `--output -`) and negative numbers are values; anything else that starts
 * with `-` is a flag, known (`--json`) or mistyped (`--jsn`).
 */
export function looksLikeOption(value: string): boolean {
  return /^-(?![\d.]|$)/.test(value);
}

/** The version in image names and tags (`cws-<template>-<version>-…`): what an AMI name and a tag value may hold. */
export const IMAGE_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** The most of anything at once (--concurrency): more parallel builds than this only meets EC2's request limits sooner. */
export const MAX_COUNT = 64;

/** The most images of a target cleanup keeps (--keep-latest): beyond this it would be a typo, and EC2 allows far fewer AMIs per region anyway. */
export const MAX_KEEP = 1000;

interface ValueProblem {
  problem: string;
  suggestion: string;
}

const CHECKS: Record<ValueKind, (value: string) => ValueProblem | undefined> = {
  region: (value) => {
    const problem = regionProblem(value);
    return problem === undefined ? undefined : { problem, suggestion: "AWS regions look like us-east-1 or eu-west-2" };
  },
  architecture: (value) =>
    (ARCHITECTURES as readonly string[]).includes(value)
      ? undefined
      : { problem: `expected ${ARCHITECTURES.join(" or ")}${didYouMean(value, ARCHITECTURES)}`, suggestion: `EC2 names the architectures ${ARCHITECTURES.join(" and ")}` },
  instanceType: (value) =>
    INSTANCE_TYPE_PATTERN.test(value) ? undefined : { problem: "not an EC2 instance type", suggestion: "e.g. t3.medium for x86_64 or t4g.medium for arm64" },
  subnet: (value) => (SUBNET_PATTERN.test(value) ? undefined : { problem: "not a subnet id", suggestion: "e.g. subnet-0123456789abcdef0" }),
  instanceProfile: (value) =>
    INSTANCE_PROFILE_PATTERN.test(value)
      ? undefined
      : { problem: "not a valid instance profile name", suggestion: "up to 128 letters, digits and + = , . @ _ -" },
  imageVersion: (value) =>
    IMAGE_VERSION_PATTERN.test(value)
      ? undefined
      : { problem: "not usable in an image name", suggestion: "use letters, digits and . _ + - (e.g. v1.2.3 or a commit), at most 64" },
  duration: (value) =>
    parseDuration(value) !== undefined
      ? undefined
      : {
          problem: /^\d+$/.test(value) ? "a number without a unit" : ZERO_DURATION_PATTERN.test(value) ? "must be more than zero" : "not a duration",
          suggestion: `a whole number and a unit, s, m, h, d or w: ${DURATION_EXAMPLES}`,
        },
  count: (value) =>
    /^[1-9]\d*$/.test(value) && Number(value) <= MAX_COUNT
      ? undefined
      : { problem: /^-?\d+(\.\d+)?$/.test(value) ? `expected a whole number from 1 to ${MAX_COUNT}` : "not a number", suggestion: `e.g. 4; at most ${MAX_COUNT}` },
  keepCount: (value) =>
    /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_KEEP
      ? undefined
      : {
          problem: !/^-?\d+(\.\d+)?$/.test(value) ? "not a number" : /^\d+$/.test(value) && Number(value) > MAX_KEEP ? `at most ${MAX_KEEP}` : "expected a whole number, 1 or more",
          suggestion:
            "e.g. 3: the newest 3 images of each template, region and architecture stay; at least 1, since the newest may be a build's that is not recorded or copied yet",
        },
  amiId: (value) => (AMI_ID_PATTERN.test(value) ? undefined : { problem: AMI_ID_RULE, suggestion: "cws ami list shows the AMI ids of the registry" }),
  // The form here; whether the shared files have it, checkNamedProfiles.
  profile: (value) => (/\s/.test(value) ? { problem: "not a profile name", suggestion: "AWS profile names have no spaces (aws configure list-profiles lists yours)" } : undefined),
  // An AMI by its id or by the version in its name and tags (rollback --to): each by its own rule.
  amiOrVersion: (value) => {
    if (value.startsWith("ami-")) return AMI_ID_PATTERN.test(value) ? undefined : { problem: AMI_ID_RULE, suggestion: "or give a version such as v1.2.0; cws ami list shows the AMI ids" };
    return IMAGE_VERSION_PATTERN.test(value)
      ? undefined
      : { problem: "neither an AMI id nor an image version", suggestion: "give an AMI id such as ami-0abcd1234ef567890 or a version such as v1.2.0, as cws ami list shows them" };
  },
  // The form only (git is asked by the command): git must never take the value for an option, and a range is two revisions.
  revision: (value) => {
    if (value.startsWith("-")) return { problem: "a revision cannot start with -", suggestion: "give a commit, branch or tag, e.g. HEAD~1, origin/main or v1.2.0" };
    // A space is fine (`HEAD^{/fix bug}`, `:/two words`): git gets the value as one argument, never through a shell.
    if ([...value].some((c) => c < " " || c === "\x7f")) return { problem: "not a git revision (it holds a control character)", suggestion: "give a commit, branch or tag, e.g. HEAD~1, origin/main or v1.2.0" };
    if (value.includes("..")) return { problem: "a range, not one revision", suggestion: `give the older end alone: --since ${value.split("..")[0] || "HEAD~1"} compares it with the templates now` };
    // `^REV` (everything not reachable from REV), `REV^!`, `REV^@`, `REV^-` (`REV^-N`): ranges in git's notation too. `@{-1}` and `HEAD^2` are one revision.
    const range = /^\^/.test(value) ? value.slice(1) : /\^(!|@|-\d*)$/.exec(value) ? value.replace(/\^(!|@|-\d*)$/, "") : undefined;
    if (range !== undefined) return { problem: "a range, not one revision", suggestion: `give one revision: --since ${range || "HEAD~1"} compares it with the templates now` };
    return undefined;
  },
};

function problemWith(given: GivenValue): ValueProblem | undefined {
  if (given.value.trim() === "") return { problem: "empty value", suggestion: `give ${given.flag} a value, or leave the flag out (an unset variable in a script?)` };
  const { choices, value } = given.spec;
  if (choices !== undefined && !choices.includes(given.value)) {
    return { problem: `expected ${choices.join(" or ")}${didYouMean(given.value, choices)}`, suggestion: `${given.flag} takes ${choices.join(", ")}` };
  }
  return value === undefined ? undefined : CHECKS[value](given.value);
}

/** The first value that is wrong, as a usage error (exit 2): `--region "mars-1": not an AWS region`. */
export function checkOptionValues(values: readonly GivenValue[]): void {
  for (const given of values) {
    if (!given.attached && looksLikeOption(given.value)) {
      // Word for word what commander says when it notices (json-document.ts), whichever of the two does; `--arch <arch>` as typed.
      const usage = given.spec.flags.replace(/^--[\w-]+/, given.flag);
      // `--flag=-x` only where the option's kind takes a value starting with - (a revision never does).
      const asValue = problemWith({ ...given, attached: true });
      throw new CwsError("MISSING_OPTION_VALUE", `option '${usage}' argument missing`, {
        value: given.flag,
        suggestion:
          asValue === undefined
            ? `put the value right after the flag: ${usage} (the word after it, ${given.value}, starts with -: if it is the value, write ${given.flag}=${given.value})`
            : `put the value right after the flag: ${usage} (the word after it, ${given.value}, is a flag, and no value: ${asValue.problem})`,
      });
    }
  }
  for (const given of values) {
    const found = problemWith(given);
    if (found) throw new CwsError("BAD_OPTION", `${given.flag} ${JSON.stringify(given.value)}: ${found.problem}`, { value: given.value, suggestion: found.suggestion });
  }
}

/**
 * A profile named with `--profile` (kind `profile`) must be in the shared AWS config or credentials
 * file: one that is not exits 2 naming it and the files (config/aws-context.ts), before any AWS call.
 * The SDK's file loader is loaded only when a profile was named on the command line.
 */
export async function checkNamedProfiles(values: readonly GivenValue[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  for (const given of values) {
    if (given.spec.value !== "profile") continue;
    const [{ checkProfileExists }, { findProfile }] = await Promise.all([import("../config/aws-context.js"), import("../aws/shared-config.js")]);
    await checkProfileExists(given.value, env, findProfile);
  }
}
