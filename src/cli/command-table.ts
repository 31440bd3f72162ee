import { DEFAULT_REGISTRY, DEFAULT_TEMPLATES_DIR } from "../config/defaults.js";
import { RULE_IDS } from "../template/lint.js";
import { command, type CommandSpec, type GroupSpec, type OptionSpec } from "./command-spec.js";

/**
 * Every `cws ami` command: the one place a command is declared (in the spirit
 * of aws-cdk-cli's cli-config.ts). program.ts builds commander's parser from
 * it; scripts/build.mjs builds a program of its own for each `fastProgram`
 * command and writes dist/bin/routes.json, which bin/cws.js follows. A
 * command's implementation (src/cli/*-command.ts) is loaded only when it runs.
 *
 * Nothing here may load much: the full CLI evaluates this table on every start.
 */

// Spelled out rather than imported: the architectures module would be one more file to load on every start
// (test/cli/command-table.test.ts holds the two together).
export const ARCHITECTURE_NAMES = "x86_64 or arm64";

/**
 * Options several commands take, declared once: every command that takes one
 * accepts the same spellings (`--arch` wherever `--architecture` is) and checks
 * its value the same way. Each command says what the option means for it.
 */
const shared = {
  architecture: { flags: "--architecture <arch>", aliases: ["--arch"], value: "architecture" },
  region: { flags: "--region <region>", value: "region" },
  profile: { flags: "--profile <name>", value: "profile" },
  instanceProfile: { flags: "--instance-profile <name>", value: "instanceProfile" },
  // The cache: build and build-all skip an image whose content (template and base AMI) is already built.
  force: { flags: "--force" },
  maxAge: { flags: "--max-age <duration>", value: "duration" },
  /** build's cost and build-all's: a JSON price file merged over the shipped table (src/fleet/price-file.ts). */
  prices: { flags: "--prices <file>" },
  // validate (issue 11): build --verify and build-all's default; both commands take both spellings (one switch, as
  // --publish-ssm and --no-publish-ssm), each with its own default.
  verify: { flags: "--verify" },
  noVerify: { flags: "--no-verify" },
} as const satisfies Record<string, Omit<OptionSpec, "description">>;

function option(base: Omit<OptionSpec, "description">, description: string): OptionSpec {
  return { ...base, description };
}

const PROFILE = option(shared.profile, "AWS profile (default: AWS_PROFILE, cws.config.json's profile, else default)");
const PUBLISH_SSM_PATH = "/cloudworkstation/amis/<template>/<region>/<arch>";
const PRICES = option(shared.prices, "JSON price file merged over the shipped on-demand price table, for the cost reported (default: cws.config.json's prices)");
const NO_PUBLISH_SSM = { flags: "--no-publish-ssm", description: "do not write to SSM, even if cws.config.json says publish_ssm" };
const TEMPLATE_IDS = { syntax: "[templates...]", description: "template ids (default: every template in the templates directory)" };

/** Options of `cws` itself, accepted before or after the command. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: "--templates-dir <dir>", description: `template directory (default: env CWS_TEMPLATES_DIR, cws.config.json's templates_dir, else ${DEFAULT_TEMPLATES_DIR})` },
  { flags: "--registry <file>", description: `AMI registry file (default: env CWS_REGISTRY, cws.config.json's registry, else ${DEFAULT_REGISTRY})` },
  { flags: "--json", description: "print the result, or the error, as one JSON document on stdout" },
  { flags: "--no-color", description: "no colours in the output (also: NO_COLOR=1)" },
];

export const COMMAND_TABLE: GroupSpec = {
  name: "ami",
  description: "build, lint and track AMIs",
  commands: [
    command({
      name: "bootstrap",
      description: "create the build instances' IAM role and instance profile (once per account; safe to re-run)",
      options: [
        option(shared.region, "region whose EC2 must accept the profile (default: AWS_REGION, AWS_DEFAULT_REGION, cws.config.json, or the AWS profile's region)"),
        PROFILE,
        option(shared.instanceProfile, "instance profile name (default: cws.config.json's instance_profile, else cws-ami-builder)"),
      ],
      helpAfter:
        "Creates role cws-ami-builder (trusted by ec2.amazonaws.com, with AmazonSSMManagedInstanceCore) and\nan instance profile holding it, then waits until EC2 accepts the profile (a dry-run launch into a\ncws security group; one it makes for that is deleted after). A role of that name that exists\nalready must trust EC2 alone. Your own permissions: docs/iam/cws-cli-policy.json.",
      load: () => import("./bootstrap-command.js"),
      run: ({ runBootstrapCommand }, { options, globals, io }) =>
        runBootstrapCommand(options as Parameters<typeof runBootstrapCommand>[0], globals, io),
    }),
    command({
      name: "build",
      description: "build one AMI from a template: launch, provision, validate, image, clean up",
      arguments: [{ syntax: "<template>", description: "template id, e.g. r-research" }],
      options: [
        option(shared.architecture, `${ARCHITECTURE_NAMES} (default: the template's only architecture)`),
        option(shared.region, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, cws.config.json, the AWS profile's region, or the template's only region)"),
        { flags: "--version <version>", value: "imageVersion", description: "version for the image name and tags, e.g. v1.2.3 or a commit (default: the template's version)" },
        PROFILE,
        {
          flags: "--instance-type <type>",
          value: "instanceType",
          description: "build instance type, for the build's architecture (default: the template's, cws.config.json's, else t3.medium / t4g.medium)",
        },
        { flags: "--subnet <subnet-id>", value: "subnet", description: "subnet for the build instance (default: cws.config.json's, else a default subnet of the default VPC)" },
        option(shared.instanceProfile, "IAM instance profile for the build instance (default: cws.config.json's, else cws-ami-builder)"),
        { flags: "--dry-run", description: "print the plan; with credentials also resolve the base AMI, check EC2 permissions and look for an up-to-date image" },
        option(shared.force, "build even when an image of the same content (template and base AMI) exists"),
        option(shared.maxAge, "build again when the image of the same content is older than this, e.g. 7d, 12h, 30m, 90s (the weekly security rebuild)"),
        { flags: "--on-error <mode>", description: "on failure: clean up everything, or keep the instance to debug (default: cws.config.json's, else cleanup)", choices: ["cleanup", "abort"] },
        { flags: "--quiet", description: "print only warnings, errors and the result" },
        { flags: "--no-registry-update", description: "do not record the AMI in the registry file" },
        { flags: "--publish-ssm", description: `also write the AMI id to SSM Parameter Store at ${PUBLISH_SSM_PATH}` },
        NO_PUBLISH_SSM,
        PRICES,
        // validate (issue 11): prove the new image on a fresh instance before it is recorded.
        option(shared.verify, "before recording the new image, run its tests on a fresh instance launched from it; one that fails is tagged cws:validated=false and kept out of the registry"),
        option(shared.noVerify, "record the new image once its tests pass on the build instance (build's default)"),
      ],
      helpAfter: [
        "Up to date: when an available, validated image tagged with the same cws:content-hash (the template's content and",
        "its base AMI) exists in the region, nothing is launched: the build records that image and exits 0 (--force builds anyway).",
        "Exit codes: 0 built or up to date, 1 the build failed (setup or validation), 2 bad template, option or AWS setup, 130 Ctrl-C (143 SIGTERM, 129 SIGHUP), cleaned up.",
        "Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL as in every AWS tool; CWS_POLL_INTERVAL_MS overrides every poll delay.",
        "Logs: .cws/logs/<build-id>/ (setup.log or one file per build step, validation.log).",
        "Cost: instance-hours and the gp3 volume at on-demand prices (shipped table, or --prices), and the image's monthly snapshot storage, at most.",
      ].join("\n"),
      load: () => import("./build-command.js"),
      run: ({ runBuildCommand }, { args: [templateId], options, globals, io }) => runBuildCommand(templateId as string, options, globals, io),
    }),
    command({
      name: "build-all",
      description: "build every template (or those named) for each architecture, once, copy the images to the other regions, skip what is up to date",
      arguments: [TEMPLATE_IDS],
      options: [
        { flags: "--templates <ids>", repeatable: true, description: "template ids separated by commas, as well as or instead of the arguments (e.g. r-research,python-research); may be repeated" },
        option(shared.architecture, `only this architecture (${ARCHITECTURE_NAMES})`),
        option(shared.region, "only this region gets an image (with the copy strategy the build stays in the home region, which gets one too)"),
        { flags: "--build-region <region>", value: "region", description: "build every target here and copy from here (default: each template's first region)" },
        { flags: "--strategy <strategy>", choices: ["copy", "per-region"], description: "copy: build once per architecture and copy to the other regions (default); per-region: build in every region" },
        { flags: "--concurrency <n>", value: "count", description: "builds and copies at once (default: 4)" },
        { flags: "--fail-fast", description: "on the first failure stop every other target and clean it up" },
        option(shared.force, "build even when an image of the same content exists"),
        option(shared.maxAge, "build again when the image of the same content is older than this, e.g. 7d, 12h, 90s (the weekly security rebuild)"),
        { flags: "--dry-run", description: "print the plan (builds, copies, up to date and why, from the registry) with its estimated cost; offline" },
        PROFILE,
        option(shared.instanceProfile, "IAM instance profile for the build instances (default: cws.config.json's, else cws-ami-builder)"),
        { flags: "--on-error <mode>", description: "a failed build: clean up everything, or keep its instance to debug (default: cws.config.json's, else cleanup)", choices: ["cleanup", "abort"] },
        { flags: "--no-registry-update", description: "do not record the images in the registry file" },
        { flags: "--publish-ssm", description: `also write each AMI id to SSM Parameter Store at ${PUBLISH_SSM_PATH}` },
        NO_PUBLISH_SSM,
        PRICES,
        // validate (issue 11): build-all proves every new image on a fresh instance unless told not to.
        option(shared.verify, "before recording or copying each new image, run its tests on a fresh instance launched from it (build-all's default)"),
        option(shared.noVerify, "record and copy each new image without first running its tests on a fresh instance launched from it"),
      ],
      helpAfter: [
        "Targets are template x architecture: each is built once in its home region (--build-region, else the template's first",
        "region), validated, and copied to the template's other regions. A template built on another (base_ami.template) is built",
        "after its parent, on the parent's new image; the parent is included when only the child is named.",
        "Up to date: an available, validated image with the same cws:content-hash (template content and base AMI) is not built",
        "again, only copied to regions that lack it (--force, --max-age).",
        "Exit codes: 0 every image is there, 1 a target failed (the others finish; each failure and its logs are named),",
        "2 bad template, option, dependency cycle or AWS setup (nothing was made), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (every target cleaned up).",
        "Output: one live line per target on a terminal, plain lines elsewhere; the table (or --json) on stdout; Markdown",
        "appended to $GITHUB_STEP_SUMMARY when set.",
      ].join("\n"),
      load: () => import("./build-all-command.js"),
      run: ({ runBuildAllCommand }, { args: [ids], options, globals, io }) => runBuildAllCommand(ids as string[], options as Parameters<typeof runBuildAllCommand>[1], globals, io),
    }),
    // validate (issue 11): prove existing images on a fresh instance.
    command({
      name: "validate",
      description: "launch a fresh instance from a template's current AMI (or --ami), run the template's tests on it, and record the verdict",
      arguments: [{ syntax: "[template]", description: "template id (or --all)" }],
      options: [
        option(shared.region, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, cws.config.json, the AWS profile's region, or the template's only region); with --all, only this region"),
        option(shared.architecture, `${ARCHITECTURE_NAMES} (default: the template's only architecture); with --all, only this architecture`),
        { flags: "--ami <ami-id>", value: "amiId", description: "validate this AMI (a cws image of the template, current or not) instead of the registry's current one" },
        { flags: "--all", description: "every template's current AMIs in the registry, every region and architecture, in parallel", conflicts: ["template", "--ami"] },
        { flags: "--concurrency <n>", value: "count", description: "with --all: validations at once (default: 4)" },
        PROFILE,
        option(shared.instanceProfile, "IAM instance profile for the fresh instance (default: cws.config.json's, else cws-ami-builder)"),
      ],
      helpAfter: [
        "The fresh instance is launched as a build's is (IMDSv2, the builder profile, a security group with no inbound rules,",
        "cws's tags with cws:purpose=validate), and terminated with its group whatever happens (Ctrl-C too).",
        "Passed: the image and its snapshots are tagged cws:validated=true and cws:validated-at, and its record in the registry",
        "(current or in history) gets validated: true and validated_at. Failed: nothing is recorded.",
        "Exit codes: 0 passed, 1 a test (or the instance) failed or AWS could not be reached, 2 bad input or AWS setup (no such image, no profile, a registry it cannot write), 130 Ctrl-C (143 SIGTERM, 129 SIGHUP), cleaned up.",
      ].join("\n"),
      load: () => import("./validate-command.js"),
      run: ({ runValidateCommand }, { args: [templateId], options, globals, io }) =>
        runValidateCommand(templateId as string | undefined, options as Parameters<typeof runValidateCommand>[1], globals, io),
    }),
    command({
      name: "cleanup",
      description: "deregister old cws AMIs and delete their snapshots: the newest N of each template, region and architecture stay, and so does whatever is in use",
      options: [
        { flags: "--keep-latest <n>", value: "keepCount", description: "how many of the newest images of each template, region and architecture stay (required; 1 to 1000)" },
        { flags: "--template <id>", description: "only this template's images (images of others still protect theirs)" },
        option({ ...shared.region, repeatable: true }, "only this region; repeat for several (default: every region the templates and the registry name)"),
        { flags: "--older-than <duration>", value: "duration", description: "only images (and orphaned snapshots) older than this, e.g. 30d" },
        { flags: "--dry-run", description: "print the plan (every image, keep or delete, and why) and change nothing" },
        { flags: "--yes", description: "act on the plan without asking (without a terminal, cleanup acts only with it)", conflicts: ["--dry-run"] },
        { flags: "--deprecate", description: "deprecate the images (EnableImageDeprecation) instead of deleting them, for a grace period" },
        { flags: "--without-registry", description: "this project keeps no registry: judge by AWS alone (otherwise a missing registry stops cleanup, exit 2)" },
        PROFILE,
        option(shared.prices, "JSON price file merged over the shipped table, for the snapshot storage the plan saves (default: cws.config.json's prices)"),
      ],
      helpAfter: [
        "Only images tagged cws:managed-by=cws are touched. Never deleted: an image the registry names as current (pinned or",
        "not) or among the first N of its history that still exist; one an instance that is not terminated runs from; one any",
        "launch template version names (an AMI id, or resolve:ssm: read through SSM); the base image of an image that stays;",
        "the source of any pending image of the account (a copy, tagged or not); one tagged cws:validated=pending in the last",
        "6 hours; one that is not available. Each image that goes is deregistered and every one of its snapshots deleted;",
        "cws snapshots no image names (a cleanup cut short) are deleted too. The registry's history loses the deleted AMIs,",
        "and any that no longer exist. A missing registry stops it (exit 2) unless --without-registry (--dry-run warns).",
        "On a terminal it asks before acting; without one it acts only with --yes (else exit 2, nothing changed).",
        "Exit codes: 0 done (or nothing to do), 1 a deletion failed, AWS could not be reached, the registry could not be written",
        "after AWS changed, or the answer was no (Ctrl-D too), 2 bad option, template, registry or AWS setup, 130 Ctrl-C",
        "(143 SIGTERM, 129 SIGHUP).",
      ].join("\n"),
      load: () => import("./cleanup-command.js"),
      run: ({ runCleanupCommand }, { options, globals, io }) => runCleanupCommand(options as Parameters<typeof runCleanupCommand>[0], globals, io),
    }),
    command({
      name: "lint",
      description: "check templates against the schema and for risky script patterns, without touching AWS",
      arguments: [TEMPLATE_IDS],
      options: [
        { flags: "--strict", description: "treat warnings as errors (for CI)" },
        { flags: "--no-cache", description: "lint every file afresh (by default unchanged files reuse .cws/cache/lint.json)" },
      ],
      helpAfter: `Exit codes: 0 clean, 1 warnings with --strict, 2 a template is invalid.\nRules: ${RULE_IDS.join(", ")}.`,
      fastProgram: true,
      load: () => import("./lint-command.js"),
      run: ({ runLintCommand }, { args: [ids], options, globals, io }) => runLintCommand(ids as string[], options as Parameters<typeof runLintCommand>[1], globals, io),
    }),
    command({
      name: "list",
      description: "list the AMIs in the registry; with --live, also check them against AWS",
      options: [
        { flags: "--template <id>", description: "only this template" },
        option(shared.region, "only this region"),
        option(shared.architecture, `only this architecture (${ARCHITECTURE_NAMES})`),
        { flags: "--live", description: "ask AWS (DescribeImages, every registry region in parallel) and mark drift" },
        option(shared.profile, "AWS profile for --live (default: AWS_PROFILE, cws.config.json's profile)"),
      ],
      helpAfter: [
        "Rows are sorted by template, region and architecture. --json prints them as a JSON array.",
        "A missing registry is not an error: it is reported on stderr and nothing is listed (exit 0).",
        "",
        "--live asks EC2 for the cws images (tag cws:managed-by=cws, owner self) in every region the",
        "registry has AMIs in (only --region when given) and adds a DRIFT column and a summary:",
        "  gone           the registry's AMI does not exist in AWS",
        "  not-available  it exists but its state is not available (pending, failed, ...)",
        "  newer          a newer validated, available cws AMI exists that the registry does not name",
        "  untracked      cws AMIs for a template/region/architecture the registry has no entry for",
        "",
        "Exit codes: 0 listed (with --live: no drift), 1 drift found with --live (gate CI on it) or an",
        "AWS call failed, 2 an invalid registry or option, or AWS credentials/permissions.",
      ].join("\n"),
      fastProgram: true,
      load: () => import("./list-command.js"),
      run: ({ runListCommand }, { options, globals, io }) => runListCommand(options, globals, io),
    }),
    command({
      name: "update-registry",
      description: "record the newest available, validated cws AMI from AWS tags (works from a fresh checkout; idempotent)",
      arguments: [{ syntax: "[template]", description: "template id (or --all)" }],
      options: [
        option(shared.region, "only this region (default: every region of the template)"),
        option(shared.architecture, `only this architecture (${ARCHITECTURE_NAMES}; default: every architecture of the template)`),
        { flags: "--all", description: "every template in the templates directory", conflicts: ["template"] },
        { flags: "--publish-ssm", description: `also write ${PUBLISH_SSM_PATH} in SSM Parameter Store` },
        NO_PUBLISH_SSM,
        { flags: "--unpin", description: "replace entries pinned by a rollback too" },
        {
          flags: "--match-templates",
          description:
            "only images built from the templates as they are now count (their cws:template-hash tag and, for a template built on another, a base image of the parent as it is now, up the chain), so a reverted template gets its older image back; untagged images (older cws) never match",
        },
        PROFILE,
      ],
      helpAfter: [
        "Without --match-templates the newest available, validated image of each target is recorded, whatever it was",
        "built from. With it, a target whose validated images are all of another version of its template (or untagged,",
        "or built on an image that is not of its parent template as it is now) is left as it is and named on stderr",
        "(--json: `unmatched`). A named template's parents' images are read too, in every region of the chain.",
        "",
        "Exit codes: 0 done (or already current; with --all also when some targets have no image, or none matching),",
        "1 none of the named template's targets has a validated AMI (with --match-templates: one matching) in AWS, 2 bad input.",
      ].join("\n"),
      load: () => import("./registry-commands.js"),
      run: ({ runUpdateRegistry }, { args: [templateId], options, globals, io }) => runUpdateRegistry(templateId as string | undefined, options as Parameters<typeof runUpdateRegistry>[1], globals, io),
    }),
    command({
      name: "rollback",
      description: "make the previous (or a named) AMI current again, keeping history",
      arguments: [{ syntax: "<template>", description: "template id" }],
      options: [
        option(shared.region, "region (default: AWS_REGION, AWS_DEFAULT_REGION, cws.config.json, the AWS profile's region, or the template's only region)"),
        option(shared.architecture, `${ARCHITECTURE_NAMES} (default: the template's only architecture)`),
        { flags: "--to <version-or-ami>", value: "amiOrVersion", description: "the AMI id or version to go back to (default: the one before the current)" },
        { flags: "--publish-ssm", description: `also update ${PUBLISH_SSM_PATH} in SSM Parameter Store` },
        NO_PUBLISH_SSM,
        PROFILE,
      ],
      helpAfter: "Refuses an AMI that is no longer available in AWS (exit 1). The entry is pinned until the next build.",
      load: () => import("./registry-commands.js"),
      run: ({ runRollback }, { args: [templateId], options, globals, io }) => runRollback(templateId as string, options as Parameters<typeof runRollback>[1], globals, io),
    }),
    command({
      name: "reap",
      description: "remove the instances, security groups and unfinished images that killed or cancelled builds left behind",
      options: [
        { flags: "--older-than <duration>", value: "duration", description: "reap a build no process of this machine runs once it is older than this, e.g. 2h, 12h, 1d (default: 2h)" },
        option({ ...shared.region, repeatable: true }, "search only this region; repeat for several (default: every region the templates and the registry name)"),
        PROFILE,
        { flags: "--dry-run", description: "print what was found and what would be removed, and why; remove nothing" },
        { flags: "--yes", description: "remove without asking (needed when standard input is not a terminal)" },
      ],
      helpAfter: [
        "Only resources tagged cws:managed-by=cws and cws:build-id are looked at: instances not yet terminated, security",
        "groups, and images still pending or failed. A build is reaped when the process that ran it on this machine is gone",
        "(.cws/builds/<build-id>.json names it), or, with no live process here to ask, once it is older than --older-than.",
        "Never reaped: a build whose process on this machine is alive, however old; a younger build of another machine or",
        "of none known here; a pending image a build or copy of its size may still be waiting for.",
        "Order: instances are terminated and waited for before their security groups are deleted; images are deregistered",
        "with their snapshots. On a terminal it asks first; without one it acts only with --yes.",
        "Exit codes: 0 nothing to reap or all removed (or --dry-run), 1 something could not be removed, a region could not be",
        "searched, AWS could not be reached, or the answer was no, 2 bad option, AWS setup, or no terminal without --yes (checked",
        "before anything is searched, so also when nothing would be reaped), 130 Ctrl-C (143 SIGTERM, 129 SIGHUP).",
      ].join("\n"),
      load: () => import("./reap-command.js"),
      run: ({ runReapCommand }, { options, globals, io }) => runReapCommand(options as Parameters<typeof runReapCommand>[0], globals, io),
    }),
    {
      name: "registry",
      description: "work on registry files",
      commands: [
        command({
          name: "merge",
          description: "merge registry files (e.g. artifacts of parallel CI jobs) into the registry: the newest AMI wins, the others go to history",
          arguments: [{ syntax: "<files...>", description: "registry files to merge" }],
          options: [{ flags: "--output <file>", description: "write here instead of the registry (- for stdout)" }],
          load: () => import("./registry-commands.js"),
          run: ({ runRegistryMerge }, { args: [files], options, globals, io }) => runRegistryMerge(files as string[], options as Parameters<typeof runRegistryMerge>[1], globals, io),
        }),
      ],
    },
    command({
      name: "update-templates",
      description: "write each template's current AMIs from the registry into its amis: block, keeping comments and formatting",
      arguments: [TEMPLATE_IDS],
      options: [{ flags: "--check", description: "change nothing; exit 1 and list every template AMI that differs from the registry (for CI)" }],
      helpAfter: [
        "Only the template's regions and base_ami.architecture are written; a template the registry has no entry for is left alone.",
        "Exit codes: 0 done (with --check: everything matches), 1 with --check: stale AMIs, 2 an invalid template or registry, or no registry.",
      ].join("\n"),
      load: () => import("./update-templates-command.js"),
      run: ({ runUpdateTemplatesCommand }, { args: [ids], options, globals, io }) => runUpdateTemplatesCommand(ids as string[], { check: options.check === true }, globals, io),
    }),
    // The build pipeline (issue 12): what a push changed, for build-all.
    command({
      name: "changed",
      description: "list the templates whose meaning changed since a git revision, with every template built on one, for build-all",
      options: [
        {
          flags: "--since <rev>",
          value: "revision",
          description: "compare with this revision: a sha, branch, tag, HEAD~3, origin/main (default: HEAD^, HEAD's first parent: for a merge, what it brought in)",
        },
      ],
      helpAfter: [
        "Now is the templates directory as it is, uncommitted edits included: exactly what build-all would build.",
        "Then is read from git at the revision (nothing is checked out), the templates directory's path followed there (a link too).",
        "A template is changed when what it means differs (every field but amis:, defaults applied; not the image's cws:content-hash):",
        "an edit to the amis: block only, comments, formatting or key order is no change; regions, ports and cost are part of it.",
        "Listed: edited, new and renamed templates, and every template built on one (base_ami.template), parents first.",
        "Deleted templates are named on stderr; nothing is built for them. An all-zero sha or a first commit: every template is new.",
        "Output: the ids on stdout, one a line, for build-all (none: nothing to build; build-all with no ids builds all); why each, on stderr.",
        "In a git submodule the revisions are the submodule's own (stderr says so).",
        "Exit codes: 0 done (also when nothing changed), 2 an invalid template, an unknown revision (a shallow clone?), not a git repository, or no git.",
      ].join("\n"),
      load: () => import("./changed-command.js"),
      run: ({ runChangedCommand }, { options, globals, io }) => runChangedCommand(options as Parameters<typeof runChangedCommand>[0], globals, io),
    }),
  ],
};

/**
 * Commands right under `cws`, beside the `cws ami` group. None has a fast
 * program: bin/cws.js sends them to the full CLI.
 */
export const TOP_LEVEL_COMMANDS: readonly CommandSpec[] = [
  command({
    name: "config",
    description: "print every effective setting and where it came from (flag, environment, cws.config.json, AWS profile, default)",
    options: [
      option(shared.region, "as build would be given it"),
      PROFILE,
    ],
    helpAfter: [
      "Precedence: flag > environment variable > cws.config.json > the AWS profile (region only) > default.",
      "The project root is the nearest directory upwards holding cws.config.json, else templates/ (not above the git root).",
      "Reads the AWS profile's region from ~/.aws/config only when nothing before it names a region.",
    ].join("\n"),
    load: () => import("./config-command.js"),
    run: ({ runConfigCommand }, { options, globals, io }) => runConfigCommand(options as Parameters<typeof runConfigCommand>[0], globals, io),
  }),
];
