import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * Templates for the agreement test of the JSON Schema and the CLI
 * (json-schema.test.ts): each a variation of VALID_TEMPLATE that changes one
 * thing. A variation replaces or adds whole top-level fields (`patch`, YAML
 * text), removes some (`omit`), or is a whole file of its own (`yaml`).
 */
export interface Variation {
  patch?: string;
  omit?: string[];
  yaml?: string;
}

export interface InvalidCase extends Variation {
  name: string;
  /** The cross-field rule (rules.ts) the case breaks, or "field" for a field's own schema. */
  rule: string;
  /** Every path the CLI reports an error at, so a case breaks only what it says. */
  at: string[];
}

/** The template a variation describes. */
export function templateText(variation: Variation): string {
  if (variation.yaml !== undefined) return variation.yaml;
  const blocks = topLevelBlocks(VALID_TEMPLATE);
  for (const key of variation.omit ?? []) {
    if (!blocks.delete(key)) throw new Error(`VALID_TEMPLATE has no field ${key} to omit`);
  }
  for (const [key, text] of topLevelBlocks(variation.patch ?? "")) blocks.set(key, text);
  return [...blocks.values()].join("");
}

/** A YAML file's top-level fields, each with its text (its line and the indented lines under it). */
function topLevelBlocks(yaml: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let key: string | undefined;
  for (const line of (yaml.endsWith("\n") || yaml === "" ? yaml : `${yaml}\n`).split(/(?<=\n)/)) {
    const field = /^([^\s#-][^:]*):/.exec(line)?.[1];
    if (field !== undefined) {
      key = field;
      blocks.set(key, line);
    } else if (key !== undefined) {
      blocks.set(key, blocks.get(key)! + line);
    }
  }
  return blocks;
}

const X86_ONLY = "base_ami:\n  source: ubuntu-22.04-lts\n  architecture: [x86_64]\n";
const ARM_ONLY = "base_ami:\n  source: ubuntu-22.04-lts\n  architecture: [arm64]\n";
const STEPS = "build_steps:\n  - name: install\n    script: |\n      set -euo pipefail\n      echo ready > /var/tmp/ready\n";
const test = (fields: string) => `validation_tests:\n  - name: "ready file"\n    command: "cat /var/tmp/ready"\n${fields}`;
const lookup = (fields: string) => `base_ami:\n  source:\n${fields}  architecture: [x86_64, arm64]\n`;
const emoji = (count: number) => "\u{1F600}".repeat(count);
/**
 * A base_ami built on another template. The built CLI lints the corpus as one
 * templates directory, where each case is a template of its own (valid-1 is
 * the first VALID case, the base template, which builds every architecture
 * and region the variations do): lint's checks across templates find the
 * parent there.
 */
const onParent = (parent: string, extra = "") => `base_ami:\n  template: ${parent}\n${extra}  architecture: [x86_64, arm64]\n`;
const manyTags = (count: number) => `tags:\n${Array.from({ length: count }, (_, i) => `  team-${i}: v\n`).join("")}`;

/** Templates both the CLI and the schema must refuse (or, for a rule JSON Schema cannot say, the CLI alone). */
export const INVALID: InvalidCase[] = [
  // The fields everyone needs.
  { name: "name missing", rule: "field", omit: ["name"], at: ["name"] },
  { name: "name empty", rule: "field", patch: 'name: ""', at: ["name"] },
  { name: "name a number", rule: "field", patch: "name: 42", at: ["name"] },
  { name: "description missing", rule: "field", omit: ["description"], at: ["description"] },
  { name: "description only spaces", rule: "field", patch: 'description: "   "', at: ["description"] },
  { name: "description of 256 characters", rule: "field", patch: `description: ${"d".repeat(256)}`, at: ["description"] },
  { name: "name only a line break", rule: "field", patch: 'name: "\\n"', at: ["name"] },
  { name: "name of 129 characters", rule: "field", patch: `name: ${"n".repeat(129)}`, at: ["name"] },
  { name: "a misspelt field", rule: "field", patch: "descripton: typo", at: ["descripton"] },
  { name: "version with two parts", rule: "field", patch: 'version: "1.2"', at: ["version"] },
  { name: "version 1.10 unquoted (a number)", rule: "field", patch: "version: 1.10", at: ["version"] },
  { name: "version with a leading v", rule: "field", patch: 'version: "v1.2.3"', at: ["version"] },
  { name: "version with a leading zero", rule: "field", patch: 'version: "1.02.3"', at: ["version"] },
  // The base image.
  { name: "base_ami missing", rule: "field", omit: ["base_ami"], at: ["base_ami"] },
  { name: "an unknown base image alias", rule: "field", patch: "base_ami:\n  source: ubuntu-20.04-lts\n  architecture: [x86_64, arm64]", at: ["base_ami.source"] },
  { name: "an AMI id of 9 hex digits", rule: "field", patch: "base_ami:\n  source: ami-123456789\n  architecture: [x86_64, arm64]", at: ["base_ami.source"] },
  { name: "an AMI id in capitals", rule: "field", patch: "base_ami:\n  source: ami-0ABCD123\n  architecture: [x86_64, arm64]", at: ["base_ami.source"] },
  { name: "a lookup without owners", rule: "field", patch: lookup("    name: ubuntu/images/*\n"), at: ["base_ami.source.owners"] },
  { name: "a lookup with no owner", rule: "field", patch: lookup("    name: ubuntu/images/*\n    owners: []\n"), at: ["base_ami.source.owners"] },
  { name: "a lookup owned by a stranger's name", rule: "field", patch: lookup("    name: ubuntu/images/*\n    owners: [evil]\n"), at: ["base_ami.source.owners[0]"] },
  { name: "a lookup owned by an 11-digit account", rule: "field", patch: lookup("    name: ubuntu/images/*\n    owners: ['09972010947']\n"), at: ["base_ami.source.owners[0]"] },
  { name: "a lookup with a blank name", rule: "field", patch: lookup("    name: ' '\n    owners: [amazon]\n"), at: ["base_ami.source.name"] },
  { name: "a lookup with an unknown field", rule: "field", patch: lookup("    name: ubuntu/images/*\n    owners: [amazon]\n    owner: self\n"), at: ["base_ami.source.owner"] },
  { name: "no architecture", rule: "field", patch: "base_ami:\n  source: ubuntu-22.04-lts\n  architecture: []", omit: ["estimated_cost_per_hour"], at: ["base_ami.architecture"] },
  { name: "architecture amd64", rule: "field", patch: "base_ami:\n  source: ubuntu-22.04-lts\n  architecture: [amd64, arm64]", at: ["base_ami.architecture[0]"] },
  { name: "an architecture twice", rule: "no-duplicate-list-items", patch: "base_ami:\n  source: ubuntu-22.04-lts\n  architecture: [x86_64, arm64, arm64]", at: ["base_ami.architecture[2]"] },
  { name: "base_ami with both source and template", rule: "base-image-source-or-template", patch: onParent("valid-1", "  source: ubuntu-22.04-lts\n"), at: ["base_ami.template"] },
  { name: "base_ami with neither source nor template", rule: "base-image-source-or-template", patch: "base_ami:\n  architecture: [x86_64, arm64]", at: ["base_ami"] },
  { name: "a parent template id in capitals", rule: "field", patch: onParent("Python-Research"), at: ["base_ami.template"] },
  { name: "a parent template id with an underscore", rule: "field", patch: onParent("python_research"), at: ["base_ami.template"] },
  { name: "a parent template id of 33 characters", rule: "field", patch: onParent(`a${"b".repeat(32)}`), at: ["base_ami.template"] },
  { name: "a parent template id that is a number", rule: "field", patch: onParent("42"), at: ["base_ami.template"] },
  { name: "a parent template named with .yml", rule: "field", patch: onParent("valid-1.yml"), at: ["base_ami.template"] },
  { name: "base_ami with an unknown field", rule: "field", patch: `${X86_ONLY}  arch: arm64`, omit: ["estimated_cost_per_hour"], at: ["base_ami.arch"] },
  // Regions.
  { name: "no region", rule: "field", patch: "regions: []", at: ["regions"] },
  { name: "an unknown region", rule: "field", patch: "regions: [us-east-1, us-east-7]", at: ["regions[1]"] },
  { name: "a region twice", rule: "no-duplicate-list-items", patch: "regions: [us-east-1, eu-west-1, us-east-1]", at: ["regions[2]"] },
  { name: "regions as one string", rule: "field", patch: "regions: us-east-1", at: ["regions"] },
  // Provisioning.
  { name: "neither setup_script nor build_steps", rule: "setup-script-or-build-steps", omit: ["setup_script"], at: [""] },
  { name: "setup_script and build_steps", rule: "setup-script-or-build-steps", patch: STEPS, at: ["build_steps"] },
  { name: "setup_script empty", rule: "field", patch: 'setup_script: ""', at: ["setup_script"] },
  { name: "setup_script left blank (null)", rule: "field", patch: "setup_script:", at: ["setup_script"] },
  { name: "setup_script only blank lines", rule: "field", patch: "setup_script: |+\n\n\n", at: ["setup_script"] },
  { name: "a build step whose script is spaces", rule: "field", patch: "build_steps:\n  - name: install\n    script: '  '", omit: ["setup_script"], at: ["build_steps[0].script"] },
  { name: "no build step", rule: "field", patch: "build_steps: []", omit: ["setup_script"], at: ["build_steps"] },
  { name: "a build step without a script", rule: "field", patch: "build_steps:\n  - name: install", omit: ["setup_script"], at: ["build_steps[0].script"] },
  { name: "a build step timeout of 0", rule: "field", patch: `${STEPS}    timeout_seconds: 0`, omit: ["setup_script"], at: ["build_steps[0].timeout_seconds"] },
  { name: "a build step timeout over 48 hours", rule: "field", patch: `${STEPS}    timeout_seconds: 172801`, omit: ["setup_script"], at: ["build_steps[0].timeout_seconds"] },
  { name: "setup_timeout_seconds with build_steps", rule: "setup-timeout-needs-setup-script", patch: `${STEPS}setup_timeout_seconds: 600`, omit: ["setup_script"], at: ["setup_timeout_seconds"] },
  { name: "setup_timeout_seconds a fraction", rule: "field", patch: "setup_timeout_seconds: 1.5", at: ["setup_timeout_seconds"] },
  { name: "two build steps with one name", rule: "unique-step-names", patch: `${STEPS}  - name: install\n    script: echo again`, omit: ["setup_script"], at: ["build_steps[1].name"] },
  // Validation tests.
  { name: "a test without a command", rule: "field", patch: 'validation_tests:\n  - name: "ready file"', at: ["validation_tests[0].command"] },
  { name: "a test whose command is a tab", rule: "field", patch: 'validation_tests:\n  - name: "ready file"\n    command: "\\t"', at: ["validation_tests[0].command"] },
  { name: "a test with a misspelt field", rule: "field", patch: test('    expect: "ready"\n'), at: ["validation_tests[0].expect"] },
  { name: "exit_code 256", rule: "field", patch: test("    exit_code: 256\n"), at: ["validation_tests[0].exit_code"] },
  { name: "exit_code -1", rule: "field", patch: test("    exit_code: -1\n"), at: ["validation_tests[0].exit_code"] },
  { name: "a test timeout of 0", rule: "field", patch: test("    timeout_seconds: 0\n"), at: ["validation_tests[0].timeout_seconds"] },
  { name: "expected as a number", rule: "field", patch: test("    expected: 42\n"), at: ["validation_tests[0].expected"] },
  { name: "expected_regex with an open group", rule: "valid-expected-regex", patch: test('    expected_regex: "rea(dy"\n'), at: ["validation_tests[0].expected_regex"] },
  { name: "expected_regex with a range backwards", rule: "valid-expected-regex", patch: test("    expected_regex: '[z-a]'\n"), at: ["validation_tests[0].expected_regex"] },
  { name: "expected_regex with a quantifier on nothing", rule: "valid-expected-regex", patch: test("    expected_regex: '*ready'\n"), at: ["validation_tests[0].expected_regex"] },
  { name: "expected_regex ending in PCRE's \\Z", rule: "valid-expected-regex", patch: test("    expected_regex: 'ready\\Z'\n"), at: ["validation_tests[0].expected_regex"] },
  { name: "expected_regex starting with PCRE's \\A", rule: "valid-expected-regex", patch: test("    expected_regex: '\\Aready'\n"), at: ["validation_tests[0].expected_regex"] },
  { name: "expected_regex ending in Ruby's \\z after an escaped backslash", rule: "valid-expected-regex", patch: test("    expected_regex: 'a\\\\\\z'\n"), at: ["validation_tests[0].expected_regex"] },
  { name: "two tests with one name", rule: "unique-test-names", patch: `${test("")}  - name: "ready file"\n    command: "true"`, at: ["validation_tests[1].name"] },
  // Ports.
  { name: "a port twice", rule: "no-duplicate-list-items", patch: "ports: [22, 8787, 22]", at: ["ports[2]"] },
  { name: "a port written twice as 22 and 22.0", rule: "no-duplicate-list-items", patch: "ports: [22, 22.0]", at: ["ports[1]"] },
  { name: "port 0", rule: "field", patch: "ports: [0]", at: ["ports[0]"] },
  { name: "port 65536", rule: "field", patch: "ports: [65536]", at: ["ports[0]"] },
  { name: "a port in quotes", rule: "field", patch: 'ports: ["22"]', at: ["ports[0]"] },
  { name: "a fractional port", rule: "field", patch: "ports: [22.5]", at: ["ports[0]"] },
  { name: "a port that is not a number (.nan)", rule: "field", patch: "ports: [.nan]", at: ["ports[0]"] },
  // Per architecture.
  { name: "a negative cost", rule: "field", patch: "estimated_cost_per_hour:\n  x86_64: -0.1\n  arm64: 0.03", at: ["estimated_cost_per_hour.x86_64"] },
  { name: "an infinite cost (.inf)", rule: "field", patch: "estimated_cost_per_hour:\n  x86_64: .inf\n  arm64: 0.03", at: ["estimated_cost_per_hour.x86_64"] },
  { name: "a cost for amd64", rule: "field", patch: "estimated_cost_per_hour:\n  amd64: 0.04", at: ["estimated_cost_per_hour.amd64"] },
  { name: "a cost for arm64, building x86_64 only", rule: "entries-only-for-built-architectures", patch: X86_ONLY, at: ["estimated_cost_per_hour.arm64"] },
  {
    name: "an instance type for arm64, building x86_64 only",
    rule: "entries-only-for-built-architectures",
    patch: `${X86_ONLY}estimated_cost_per_hour:\n  x86_64: 0.04\ninstance_type:\n  x86_64: t3.large\n  arm64: t4g.large`,
    at: ["instance_type.arm64"],
  },
  {
    name: "an instance type for x86_64, building arm64 only",
    rule: "entries-only-for-built-architectures",
    patch: `${ARM_ONLY}estimated_cost_per_hour:\n  arm64: 0.03\ninstance_type:\n  x86_64: t3.large`,
    at: ["instance_type.x86_64"],
  },
  { name: "an instance type without a size", rule: "field", patch: "instance_type:\n  x86_64: t3large", at: ["instance_type.x86_64"] },
  // Volume.
  { name: "a volume of 7 GiB", rule: "field", patch: "volume_size_gb: 7", at: ["volume_size_gb"] },
  { name: "a volume over 16 TiB", rule: "field", patch: "volume_size_gb: 16385", at: ["volume_size_gb"] },
  { name: "a volume size in quotes", rule: "field", patch: 'volume_size_gb: "30"', at: ["volume_size_gb"] },
  // Tags.
  { name: "a tag key starting aws:", rule: "field", patch: "tags:\n  aws:owner: me", at: ["tags.aws:owner"] },
  { name: "a tag key starting CWS: in capitals", rule: "field", patch: "tags:\n  CWS:template: mine", at: ["tags.CWS:template"] },
  { name: "a tag key starting Aws: in mixed case", rule: "field", patch: "tags:\n  Aws:x: y", at: ["tags.Aws:x"] },
  { name: "a tag key of 129 characters", rule: "field", patch: `tags:\n  ${"k".repeat(129)}: v`, at: [`tags.${"k".repeat(129)}`] },
  { name: "a tag key of 129 emoji", rule: "field", patch: `tags:\n  ${emoji(129)}: v`, at: [`tags.${emoji(129)}`] },
  { name: "a tag value of 257 characters", rule: "field", patch: `tags:\n  team: ${"v".repeat(257)}`, at: ["tags.team"] },
  { name: "a tag value that is a number", rule: "field", patch: "tags:\n  cost-center: 4711", at: ["tags.cost-center"] },
  { name: "tags as a list", rule: "field", patch: "tags: [team, research]", at: ["tags"] },
  { name: "a tag key Name, which cws sets", rule: "field", patch: "tags:\n  Name: mine", at: ["tags.Name"] },
  { name: "a tag key __proto__", rule: "field", patch: "tags:\n  __proto__: x\n  team: y", at: [""] },
  { name: "a tag key __proto__ through a merge key", rule: "field", patch: "tags:\n  <<: {__proto__: x}\n  team: y", at: [""] },
  { name: "an empty tag key", rule: "field", patch: "tags:\n  '': x", at: ['tags[""]'] },
  { name: "a tag key written null", rule: "field", patch: "tags:\n  null: w", at: [""] },
  { name: "38 tags: with cws's 13, more than EC2's 50", rule: "tags-fit-on-an-image", patch: manyTags(38), at: ["tags"] },
  // How a key is written is YAML's: the schema sees the text it was read as.
  { name: "a tag key written 1.10 (a number)", rule: "keys-are-text", patch: "tags:\n  1.10: x", at: [""] },
  { name: "a tag key written 0x1F (a number)", rule: "keys-are-text", patch: "tags: {0x1F: y}", at: [""] },
  { name: "a tag key written true (a boolean)", rule: "keys-are-text", patch: "tags:\n  true: z", at: [""] },
  // The amis: block.
  { name: "an AMI for an unknown region", rule: "field", patch: "amis:\n  us-east-7:\n    x86_64: ami-0abcd1234ef567890", at: ["amis.us-east-7"] },
  { name: "an AMI for an unknown architecture", rule: "field", patch: "amis:\n  us-east-1:\n    aarch64: ami-0abcd1234ef567890", at: ["amis.us-east-1.aarch64"] },
  { name: "an AMI id of 3 hex digits", rule: "field", patch: "amis:\n  us-east-1:\n    x86_64: ami-abc", at: ["amis.us-east-1.x86_64"] },
  // Not a mapping at all.
  { name: "a list instead of a mapping", rule: "field", yaml: "- name: x\n- description: y\n", at: [""] },
  { name: "a string instead of a mapping", rule: "field", yaml: "just some text\n", at: [""] },
];

/** Templates both must accept: edges of each rule that are still right. */
export const VALID: (Variation & { name: string })[] = [
  { name: "the base template" },
  { name: "only the required fields", omit: ["version", "validation_tests", "ports", "estimated_cost_per_hour"] },
  { name: "build_steps instead of setup_script", patch: STEPS, omit: ["setup_script"] },
  { name: "setup_timeout_seconds with setup_script", patch: "setup_timeout_seconds: 7200" },
  { name: "one architecture, with its own entries", patch: `${ARM_ONLY}estimated_cost_per_hour:\n  arm64: 0.03\ninstance_type:\n  arm64: t4g.large` },
  { name: "both architectures, each with entries", patch: "instance_type:\n  x86_64: t3.large\n  arm64: t4g.large" },
  { name: "an AMI id of 8 hex digits", patch: "base_ami:\n  source: ami-0abcd123\n  architecture: [x86_64, arm64]" },
  { name: "built on another template (valid-1 in the corpus directory)", patch: onParent("valid-1") },
  { name: "a { name, owners } lookup", patch: lookup("    name: ubuntu/images/*\n    owners: [amazon, '099720109477']\n") },
  { name: "a prerelease version with build metadata", patch: 'version: "1.0.0-rc.1+build.5"' },
  { name: "version 1.2.3 unquoted (YAML reads it as text)", patch: "version: 1.2.3" },
  { name: "tag keys that only look reserved", patch: "tags:\n  awsome: yes\n  aws: plain\n  cws-team: data\n  team:aws:x: y" },
  { name: "a tag key of 128 characters and a value of 256", patch: `tags:\n  ${"k".repeat(128)}: ${"v".repeat(256)}` },
  { name: "37 tags: with cws's 13, EC2's 50", patch: manyTags(37) },
  { name: "a tag key name (Name is cws's, name is not) and keys quoted as numbers", patch: "tags:\n  name: mine\n  '1.10': x\n  \"null\": y" },
  { name: "a lookup owned by self, aws-marketplace and aws-backup-vault", patch: lookup("    name: ubuntu/images/*\n    owners: [self, aws-marketplace, aws-backup-vault]\n") },
  { name: "a name of 128 and a description of 255 characters", patch: `name: ${"n".repeat(128)}\ndescription: ${"d".repeat(255)}` },
  { name: "a tag key of 128 emoji (256 UTF-16 units)", patch: `tags:\n  ${emoji(128)}: ${emoji(256)}` },
  { name: "expected_regex with a lookbehind and anchors", patch: test("    expected_regex: '(?<=v)\\d+\\.\\d+$'\n") },
  { name: "expected_regex with an escaped backslash before Z", patch: test("    expected_regex: 'C:\\\\Z'\n") },
  { name: "the amis: block for built regions", patch: "amis:\n  us-east-1:\n    x86_64: ami-0abcd1234ef567890\n    arm64: ami-0abcd123" },
  { name: "a script lint only warns about", patch: "setup_script: |\n  curl -fsSL https://example.com/install.sh | bash" },
  { name: "ports at both ends of the range", patch: "ports: [1, 65535]" },
  { name: "the smallest volume", patch: "volume_size_gb: 8" },
  { name: "the largest volume", patch: "volume_size_gb: 16384" },
  { name: "exit_code 255 and the longest timeout", patch: test("    exit_code: 255\n    timeout_seconds: 172800\n") },
  { name: "a cost of 0", patch: "estimated_cost_per_hour:\n  x86_64: 0\n  arm64: 0" },
];
