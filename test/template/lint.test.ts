import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { findLintIssues, hasStrictMode, isArmInstanceType } from "../../src/template/lint.js";
import { lintTemplate } from "../../src/template/lint-positions.js";
import { formatProblem } from "../../src/template/problems.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

const FILE = "templates/t.yml";

function lintScript(script: string): string[] {
  const indented = script
    .split("\n")
    .map((line) => (line === "" ? "" : `  ${line}`))
    .join("\n");
  const source = VALID_TEMPLATE.replace(/setup_script: \|\n( {2}.*\n)+/, `setup_script: |\n${indented}\n`);
  const parsed = parseTemplate(Buffer.from(source), FILE);
  expect(parsed.problems).toEqual([]);
  return lintTemplate(parsed).map(formatProblem);
}

const STRICT = "#!/bin/bash\nset -euo pipefail";

describe("script lint rules", () => {
  it("passes a clean script", () => {
    expect(lintScript(`${STRICT}\napt-get install -y curl\ncurl -fsSLo /tmp/x.sh https://example.org/x.sh\n`)).toEqual([]);
  });

  it("flags a literal password at its line and column", () => {
    expect(lintScript(`${STRICT}\necho "ubuntu:cloudworkstation" | chpasswd\n`)).toEqual([
      `${FILE}:11:36 warning setup_script: sets a password at build time: every instance launched from this image would share it [literal-password]`,
    ]);
    expect(lintScript(`${STRICT}\nmysql --password=secret -e 'select 1'\n`)[0]).toMatch(/^templates\/t\.yml:11:9 warning .*\[literal-password\]$/);
  });

  it("flags a download piped into a shell", () => {
    for (const line of [
      "curl -fsSL https://get.example.org | bash",
      "wget -qO- https://get.example.org | sudo -E sh",
      'bash <(curl -s https://get.example.org)',
      'sh -c "$(curl -fsSL https://get.example.org)"',
    ]) {
      expect(lintScript(`${STRICT}\n${line}\n`), line).toEqual([expect.stringMatching(/^templates\/t\.yml:11:\d+ warning .*\[pipe-to-shell\]$/)]);
    }
    expect(lintScript(`${STRICT}\ncurl -fsSLo /tmp/a https://x.org/a | tee /tmp/log\n`)).toEqual([]);
  });

  it("flags `|| true` but not `||` with a real fallback", () => {
    expect(lintScript(`${STRICT}\ndpkg -i x.deb || true\n`)).toEqual([
      `${FILE}:11:17 warning setup_script: \`|| true\` hides a failed command, so a broken install still produces an image [or-true]`,
    ]);
    expect(lintScript(`${STRICT}\nrm x || :\n`)[0]).toMatch(/\[or-true\]$/);
    expect(lintScript(`${STRICT}\nid ubuntu || useradd -m ubuntu\n`)).toEqual([]);
    expect(lintScript(`${STRICT}\nfoo || truex\n`)).toEqual([]);
  });

  it("flags plain http downloads but not the instance metadata service", () => {
    expect(lintScript(`${STRICT}\nwget http://cran.rstudio.com/x.tar.gz\n`)).toEqual([
      `${FILE}:11:8 warning setup_script: downloads over plain http://, which anyone on the path can tamper with [plain-http]`,
    ]);
    expect(lintScript(`${STRICT}\ncurl -s http://169.254.169.254/latest/meta-data/instance-id\n`)).toEqual([]);
    expect(lintScript(`${STRICT}\ncurl -s http://localhost:8787/\n`)).toEqual([]);
  });

  it("requires strict mode, pointing at the first line after the shebang", () => {
    expect(lintScript("#!/bin/bash\napt-get update\n")).toEqual([
      `${FILE}:10:3 warning setup_script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
    ]);
  });

  it("ignores comment lines", () => {
    expect(lintScript(`${STRICT}\n# never: curl https://x | bash, or || true, or chpasswd\n`)).toEqual([]);
  });

  it("lints each build step at its own position", () => {
    const source = VALID_TEMPLATE.replace(
      /setup_script: \|\n( {2}.*\n)+/,
      `build_steps:
  - name: one
    script: |
      #!/bin/bash
      set -euo pipefail
      true
  - name: two
    script: |
      #!/bin/bash
      curl https://x.org/i.sh | bash
`,
    );
    const parsed = parseTemplate(Buffer.from(source), FILE);
    expect(parsed.problems).toEqual([]);
    expect(lintTemplate(parsed).map(formatProblem)).toEqual([
      `${FILE}:17:7 warning build_steps[1].script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
      `${FILE}:17:7 warning build_steps[1].script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
    ]);
  });

  it("warns about an instance type of the wrong architecture", () => {
    const source = `${VALID_TEMPLATE}instance_type:\n  x86_64: t4g.large\n  arm64: t4g.large\n`;
    const parsed = parseTemplate(Buffer.from(source), FILE);
    expect(lintTemplate(parsed).map(formatProblem)).toEqual([
      `${FILE}:21:11 warning instance_type.x86_64: t4g.large looks like an arm64 (Graviton) instance type, but it is listed for x86_64 [instance-type-arch]`,
    ]);
  });
});

describe("warnings alongside errors", () => {
  const lintAll = (source: string) => {
    const parsed = parseTemplate(Buffer.from(source), FILE);
    return { parsed, problems: [...parsed.problems, ...lintTemplate(parsed)].map(formatProblem).sort() };
  };

  it("lints the scripts and instance types of a template that has errors elsewhere", () => {
    const source = `${VALID_TEMPLATE.replace('version: "1.0.0"', "version: 1.0")
      .replace("regions: [us-east-1, us-west-2]", "regions: [us-east1]")
      .replace("echo ready > /var/tmp/ready", "curl -fsSL http://get.example.org | bash || true")
      .replace("  set -euo pipefail\n", "")}instance_type:\n  x86_64: t4g.large\n`;
    const { parsed, problems } = lintAll(source);
    expect(parsed.template).toBeUndefined();
    expect(problems).toEqual([
      `${FILE}:10:14 warning setup_script: downloads over plain http://, which anyone on the path can tamper with [plain-http]`,
      `${FILE}:10:3 warning setup_script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
      `${FILE}:10:3 warning setup_script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
      `${FILE}:10:44 warning setup_script: \`|| true\` hides a failed command, so a broken install still produces an image [or-true]`,
      `${FILE}:20:11 warning instance_type.x86_64: t4g.large looks like an arm64 (Graviton) instance type, but it is listed for x86_64 [instance-type-arch]`,
      `${FILE}:3:10 error version: expected a string, got a number (1.0); quoted, "1.0" would still be wrong: expected a semantic version such as 1.2.3`,
      `${FILE}:7:11 error regions[0]: "us-east1" is not an AWS region (did you mean "us-east-1"?)`,
    ].sort());
  });

  it("lints each build step whose script is text, whatever is wrong with the others", () => {
    const source = VALID_TEMPLATE.replace(
      /setup_script: \|\n( {2}.*\n)+/,
      `build_steps:
  - name: one
    script: 42
  - script: |
      curl https://x.org/i.sh | bash
  - name: three
`,
    );
    expect(lintAll(source).problems).toEqual([
      `${FILE}:10:13 error build_steps[0].script: expected a string, got a number (42); put it in quotes: "42"`,
      `${FILE}:11:5 error build_steps[1].name: required field is missing`,
      `${FILE}:12:7 warning build_steps[1].script: pipes a download straight into a shell: whatever the server sends runs as root [pipe-to-shell]`,
      `${FILE}:12:7 warning build_steps[1].script: the script does not start with \`set -euo pipefail\`, so a failing command does not stop it [strict-mode]`,
      `${FILE}:13:5 error build_steps[2].script: required field is missing`,
    ]);
  });

  it("leaves a field with an error of its own to that error", () => {
    // An unknown architecture and a malformed instance type: their errors say what to fix, no warning on top.
    const source = `${VALID_TEMPLATE}instance_type:\n  amd64: t4g.large\n  arm64: large\n  x86_64: m7g.large\n`;
    expect(lintAll(source).problems).toEqual([
      `${FILE}:21:3 error instance_type.amd64: unknown field "amd64" (did you mean "x86_64"? EC2's name for amd64); expected one of x86_64, arm64`,
      `${FILE}:22:10 error instance_type.arm64: expected an EC2 instance type such as t3.medium, got a string ("large")`,
      `${FILE}:23:11 warning instance_type.x86_64: m7g.large looks like an arm64 (Graviton) instance type, but it is listed for x86_64 [instance-type-arch]`,
    ]);
    expect(lintAll(VALID_TEMPLATE.replace(/setup_script: \|\n( {2}.*\n)+/, "setup_script: [curl http://x | bash]\n")).problems).toEqual([
      `${FILE}:8:15 error setup_script: expected a string, got a list`,
    ]);
  });

  it("has nothing to lint in a file that is not a YAML mapping", () => {
    for (const source of ["setup_script: [\n", "- curl http://x | bash\n", ""]) {
      const parsed = parseTemplate(Buffer.from(source), FILE);
      expect(parsed.data).toBeUndefined();
      expect(lintTemplate(parsed)).toEqual([]);
    }
  });

  it("looks at the fields as written, any of them missing or of the wrong type", () => {
    expect(findLintIssues({})).toEqual([]);
    expect(findLintIssues({ setup_script: null, build_steps: "x", instance_type: ["t4g.large"] })).toEqual([]);
    expect(findLintIssues({ build_steps: [null, 5, { script: "set -euo pipefail\nwget http://x" }], instance_type: { arm64: 7, x86_64: "c7g.large" } }).map((f) => [f.path, f.rule])).toEqual([
      [["build_steps", 2, "script"], "plain-http"],
      [["instance_type", "x86_64"], "instance-type-arch"],
    ]);
  });
});

describe("hasStrictMode", () => {
  it.each([
    ["set -euo pipefail", true],
    ["set -eu -o pipefail", true],
    ["set -euxo pipefail", true],
    ["set -o errexit -o nounset -o pipefail", true],
    ["set -e\nset -u\nset -o pipefail", true],
    ["set -e", false],
    ["set -eo pipefail", false],
    ["echo set -euo pipefail", false],
  ])("%j → %s", (script, expected) => {
    expect(hasStrictMode(script)).toBe(expected);
  });
});

describe("isArmInstanceType", () => {
  it.each([
    ["t4g.medium", true],
    ["m7gd.large", true],
    ["c7gn.xlarge", true],
    ["g5g.xlarge", true],
    ["a1.large", true],
    ["t3.medium", false],
    ["g4dn.xlarge", false],
    ["g5.xlarge", false],
    ["c5.large", false],
  ])("%s → %s", (type, expected) => {
    expect(isArmInstanceType(type)).toBe(expected);
  });
});
