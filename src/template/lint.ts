import { isMap, isPair, isScalar, isSeq, Scalar, type Document, type LineCounter } from "yaml";
import type { ParsedTemplate } from "./load.js";
import { formatPath, type Problem } from "./problems.js";
import type { Template } from "./schema.js";

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

const INSTANCE_TYPE_RULE = "instance-type-arch";

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

interface ScriptLocation {
  path: (string | number)[];
  script: string;
  /** File line and column of each script line's first character. */
  lineStart: (index: number) => { line: number; column: number };
}

function scriptLocations(parsed: ParsedTemplate, template: Template): ScriptLocation[] {
  const doc = parsed.document;
  const out: ScriptLocation[] = [];
  if (template.setup_script !== undefined) {
    out.push({ path: ["setup_script"], script: template.setup_script, lineStart: lineMapper(doc, parsed.lineCounter, parsed.source, ["setup_script"]) });
  }
  template.build_steps?.forEach((step, index) => {
    const path = ["build_steps", index, "script"];
    out.push({ path, script: step.script, lineStart: lineMapper(doc, parsed.lineCounter, parsed.source, path) });
  });
  return out;
}

/**
 * Map a line of a script back to the file. For block scalars (`|`, `>`) the
 * content starts on the line after the indicator, indented; other scalars
 * start where the value does.
 */
function lineMapper(
  doc: Document | undefined,
  lineCounter: LineCounter,
  source: string,
  path: (string | number)[],
): (index: number) => { line: number; column: number } {
  const node = doc ? findNode(doc, path) : undefined;
  if (!node?.range) return () => ({ line: 1, column: 1 });
  const start = lineCounter.linePos(node.range[0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const lines = source.split("\n");
    let indent = 0;
    for (let i = start.line; i < lines.length; i++) {
      const text = lines[i]!;
      if (text.trim() === "") continue;
      indent = text.length - text.trimStart().length;
      break;
    }
    return (index) => ({ line: start.line + 1 + index, column: indent + 1 });
  }
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return (index) => (index === 0 ? { line: start.line, column: start.col + quoted } : { line: start.line + index, column: 1 });
}

function findNode(doc: Document, path: (string | number)[]): Scalar | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      node = pair?.value;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment];
    } else {
      return undefined;
    }
  }
  return isScalar(node) ? node : undefined;
}

/** Warnings for a template that passed the schema. */
export function lintTemplate(parsed: ParsedTemplate): Problem[] {
  const template = parsed.template;
  if (!template) return [];
  const problems: Problem[] = [];
  const warn = (line: number, column: number, path: (string | number)[], rule: string, message: string, suggestion: string) =>
    problems.push({ file: parsed.file, line, column, severity: "warning", path: formatPath(path), rule, message, suggestion });

  for (const location of scriptLocations(parsed, template)) {
    const lines = location.script.split("\n");
    if (!hasStrictMode(location.script)) {
      const first = lines[0]?.startsWith("#!") && lines.length > 1 ? 1 : 0;
      const at = location.lineStart(first);
      warn(at.line, at.column, location.path, STRICT_MODE_RULE.id, STRICT_MODE_RULE.message, STRICT_MODE_RULE.suggestion);
    }
    lines.forEach((text, index) => {
      if (/^\s*#/.test(text)) return;
      for (const rule of LINE_RULES) {
        const match = rule.test.exec(text);
        if (!match) continue;
        const at = location.lineStart(index);
        warn(at.line, at.column + match.index, location.path, rule.id, rule.message, rule.suggestion);
      }
    });
  }

  for (const [arch, instanceType] of Object.entries(template.instance_type ?? {})) {
    if (instanceType === undefined) continue;
    const arm = isArmInstanceType(instanceType);
    if ((arch === "arm64") !== arm) {
      const node = parsed.document ? findNode(parsed.document, ["instance_type", arch]) : undefined;
      const pos = node?.range ? parsed.lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
      warn(
        pos.line,
        pos.col,
        ["instance_type", arch],
        INSTANCE_TYPE_RULE,
        `${instanceType} looks like ${arm ? "an arm64 (Graviton)" : "an x86_64"} instance type, but it is listed for ${arch}`,
        arch === "arm64" ? "use a Graviton type such as t4g.medium" : "use an x86_64 type such as t3.medium",
      );
    }
  }
  return problems;
}
