import type { Architecture } from "./architectures.js";

/**
 * Script lint rules. Each looks at one line of a provisioning script (comment
 * lines are skipped) or at the script as a whole. They are warnings: `--strict`
 * turns them into errors for CI.
 */
interface LineRule {
  id: string;
  test: RegExp;
  message: string;
  suggestion: string;
}

export const LINE_RULES: readonly LineRule[] = [
  {
    id: "literal-password",
    test: /\bchpasswd\b|--password\b|--passwd\b|\bpasswd\s+--stdin\b|\|\s*passwd\b/,
    message: "sets a password at build time: every instance launched from this image would share it",
    suggestion: "create credentials per instance at first boot (a oneshot systemd unit that generates them), and log in with SSH keys or Session Manager",
  },
  {
    id: "pipe-to-shell",
    test: /\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:ba|z|k|da)?sh\b|(?:ba|z|da)?sh\s+(?:-c\s+)?["']?(?:<\(|\$\()\s*(?:curl|wget)\b/,
    message: "pipes a download straight into a shell: whatever the server sends runs as root",
    suggestion: "download to a file, check its sha256sum, then run it; or install from a signed package repository",
  },
  {
    id: "or-true",
    test: /\|\|\s*(?:true|:)\s*(?:$|[;#)&|])/,
    message: "`|| true` hides a failed command, so a broken install still produces an image",
    suggestion: "fix the command, or test the condition you expect explicitly (e.g. `id ubuntu >/dev/null 2>&1 || useradd ubuntu`)",
  },
  {
    id: "plain-http",
    test: /\bhttp:\/\/(?!(?:localhost|127\.\d+\.\d+\.\d+|169\.254\.169\.254|\[fd00:ec2::254\])(?:[:/]|$))/,
    message: "downloads over plain http://, which anyone on the path can tamper with",
    suggestion: "use https://",
  },
];

const STRICT_MODE_RULE = {
  id: "strict-mode",
  message: "the script does not start with `set -euo pipefail`, so a failing command does not stop it",
  suggestion: "add `set -euo pipefail` after the #! line",
};

export const INSTANCE_TYPE_RULE = "instance-type-arch";

export const RULE_IDS = [...LINE_RULES.map((r) => r.id), STRICT_MODE_RULE.id, INSTANCE_TYPE_RULE] as const;

/** `set -euo pipefail`, in any of its spellings (`set -eu -o pipefail`, `set -o errexit -o nounset -o pipefail`, …). */
export function hasStrictMode(script: string): boolean {
  let errexit = false;
  let nounset = false;
  let pipefail = false;
  for (const raw of script.split("\n")) {
    const line = raw.trim();
    if (!/^set\s/.test(line)) continue;
    const words = line.split(/\s+/).slice(1);
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      if (word === "-o" || word === "+o") {
        const option = words[i + 1];
        if (word === "-o" && option === "errexit") errexit = true;
        if (word === "-o" && option === "nounset") nounset = true;
        if (word === "-o" && option === "pipefail") pipefail = true;
        i++;
      } else if (/^-[a-zA-Z]+$/.test(word)) {
        if (word.includes("e")) errexit = true;
        if (word.includes("u")) nounset = true;
        if (word.endsWith("o") && words[i + 1] === "pipefail") {
          pipefail = true;
          i++;
        }
      }
    }
  }
  return errexit && nounset && pipefail;
}

/**
 * Graviton families carry a `g` after the generation digit (t4g, m7g, c7gn,
 * r8gd, x2gd, g5g); GPU families put it first (g4dn, g5) and are x86_64. `a1`
 * is the first Graviton generation.
 */
export function isArmInstanceType(instanceType: string): boolean {
  const family = instanceType.split(".")[0] ?? "";
  return family === "a1" || /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family);
}

/**
 * A finding before it has a place in the file: the script it is in and its
 * line and column there (0-based), or a field's path. Finding them needs no
 * YAML syntax tree, so a clean template never pays for one; lint-positions.ts
 * maps findings to file lines and columns when there are any.
 */
export interface LintFinding {
  path: (string | number)[];
  rule: string;
  message: string;
  suggestion: string;
  /** Within the script at `path`; absent for findings about a field's value. */
  scriptLine?: number;
  scriptColumn?: number;
}

/**
 * The template's fields as written: a validated `Template`, or the raw data
 * of one with errors, where any field may be missing or of the wrong type.
 */
export type TemplateFields = Readonly<Record<string, unknown>>;

/** Every provisioning script that is text, wherever the rest of the template is wrong. */
export function scriptsOf(fields: TemplateFields): { path: (string | number)[]; script: string }[] {
  const scripts: { path: (string | number)[]; script: string }[] = [];
  if (typeof fields.setup_script === "string") scripts.push({ path: ["setup_script"], script: fields.setup_script });
  if (Array.isArray(fields.build_steps)) {
    fields.build_steps.forEach((step: unknown, index) => {
      const script = step !== null && typeof step === "object" ? (step as Record<string, unknown>).script : undefined;
      if (typeof script === "string") scripts.push({ path: ["build_steps", index, "script"], script });
    });
  }
  return scripts;
}

/**
 * The lint rules' findings. Each rule looks at one field at a time, so a
 * template with errors elsewhere is linted too: an author sees every warning
 * with the errors, not after fixing them. A field that is not text is left
 * to its error, and placeFindings drops a finding about a field that has an
 * error of its own (an unknown architecture, a malformed instance type).
 */
export function findLintIssues(fields: TemplateFields): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const { path, script } of scriptsOf(fields)) {
    const lines = script.split("\n");
    if (!hasStrictMode(script)) {
      const first = lines[0]?.startsWith("#!") && lines.length > 1 ? 1 : 0;
      findings.push({ path, rule: STRICT_MODE_RULE.id, message: STRICT_MODE_RULE.message, suggestion: STRICT_MODE_RULE.suggestion, scriptLine: first, scriptColumn: 0 });
    }
    lines.forEach((text, index) => {
      if (/^\s*#/.test(text)) return;
      for (const rule of LINE_RULES) {
        const match = rule.test.exec(text);
        if (match) findings.push({ path, rule: rule.id, message: rule.message, suggestion: rule.suggestion, scriptLine: index, scriptColumn: match.index });
      }
    });
  }
  const instanceTypes = fields.instance_type;
  if (instanceTypes === null || typeof instanceTypes !== "object" || Array.isArray(instanceTypes)) return findings;
  for (const [arch, instanceType] of Object.entries(instanceTypes as Record<string, unknown>)) {
    if (typeof instanceType !== "string") continue;
    const mismatch = instanceTypeMismatch(instanceType, arch as Architecture, "it is listed for");
    if (mismatch) findings.push({ path: ["instance_type", arch], rule: INSTANCE_TYPE_RULE, ...mismatch });
  }
  return findings;
}

/**
 * The instance-type-arch rule for one instance type: what is wrong when
 * `instanceType` cannot run `architecture`, else undefined. Lint applies it to
 * a template's instance_type (a warning); build applies it to the instance
 * type it is about to launch, whatever named it (an error, before anything is
 * launched). `context` ends the message: "it is listed for", "the build is".
 */
export function instanceTypeMismatch(instanceType: string, architecture: Architecture, context: string): { message: string; suggestion: string } | undefined {
  const arm = isArmInstanceType(instanceType);
  if ((architecture === "arm64") === arm) return undefined;
  return {
    message: `${instanceType} looks like ${arm ? "an arm64 (Graviton)" : "an x86_64"} instance type, but ${context} ${architecture}`,
    suggestion: architecture === "arm64" ? "use a Graviton type such as t4g.medium" : "use an x86_64 type such as t3.medium",
  };
}
