import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/template/load.js";
import { hasStrictMode, isArmInstanceType } from "../../src/template/lint.js";
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
