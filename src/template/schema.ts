import * as z from "zod";
import { AMI_ID_PATTERN, AMI_ID_RULE, ARCHITECTURES, INSTANCE_TYPE_PATTERN } from "./architectures.js";
import { AWS_REGIONS } from "./regions.js";
import { TEMPLATE_ID_MAX_LENGTH, TEMPLATE_ID_PATTERN, TEMPLATE_ID_RULE } from "./template-id.js";
import { CWS_IMAGE_TAG_KEYS, EC2_MAX_TAGS_PER_RESOURCE, MAX_TEMPLATE_TAGS } from "../builder/context.js";

/**
 * The template format (design doc §1) as a zod schema. It is the single source
 * of truth: the loader validates with it, `schemas/template.schema.json` is
 * generated from it (input side), and the README's template reference is
 * generated from its descriptions.
 *
 * Rules that need more than one field, and duplicate list items, (setup_script vs build_steps, costs for
 * architectures that are not built) are `crossFieldRules` in rules.ts,
 * because zod does not run an object's refinements once a field inside it has
 * failed, and a template author must see every problem at once; each of them
 * adds its own keywords to the generated JSON Schema. A check on one field is
 * written here so that `z.toJSONSchema` can say it (a pattern, not a refinement).
 */

// zod compiles a fast path for object schemas with `new Function` on first use.
// A CLI run validates a handful of templates once, so the compile costs more
// than it saves (measured: see docs/decisions.md).
z.config({ jitless: true });

export { ARCHITECTURES, type Architecture } from "./architectures.js";

export const BASE_AMI_ALIASES = [
  "ubuntu-22.04-lts",
  "ubuntu-24.04-lts",
  "amazon-linux-2023",
  "debian-12",
] as const;
export type BaseAmiAlias = (typeof BASE_AMI_ALIASES)[number];

export { AMI_ID_PATTERN };
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
export { INSTANCE_TYPE_PATTERN };
/** SSM's AWS-RunShellScript accepts an executionTimeout of at most 48 hours. */
export const MAX_TIMEOUT_SECONDS = 172_800;
export const DEFAULT_STEP_TIMEOUT_SECONDS = 3_600;
export const DEFAULT_TEST_TIMEOUT_SECONDS = 120;

/**
 * Text with something in it: not empty, not only spaces and line breaks
 * (a pattern, so the generated JSON Schema says it too).
 */
const text = () =>
  z
    .string()
    .min(1, { abort: true })
    .regex(/\S/, { message: "must not be blank (only spaces or line breaks)" });

/**
 * Who may own a base image found by name: what DescribeImages' Owners takes,
 * a 12-digit account id or one of its aliases.
 */
export const IMAGE_OWNER_PATTERN = /^(?:\d{12}|self|amazon|aws-marketplace|aws-backup-vault)$/;

const architecture = z
  .enum(ARCHITECTURES)
  .describe("CPU architecture: `x86_64` (Intel/AMD) or `arm64` (Graviton).");

const amiId = z
  .string()
  .regex(AMI_ID_PATTERN, { message: AMI_ID_RULE })
  .describe("A literal AMI id, `ami-` followed by 8 or 17 hex digits.");

// An enum rather than a refined string so the generated JSON Schema lets editors complete region names.
// Exported so that the loader knows it by identity, to say "not an AWS region" rather than list 38 of them.
export const awsRegion = z.enum(AWS_REGIONS).describe("An AWS region name, e.g. `us-east-1`.");

const baseAmiLookup = z
  .strictObject({
    name: text()
      .describe("Image name pattern for DescribeImages; `*` matches any characters. The most recent match is used."),
    owners: z
      .array(z.string().regex(IMAGE_OWNER_PATTERN, { message: "expected a 12-digit AWS account id or self, amazon, aws-marketplace, aws-backup-vault" }))
      .min(1)
      .describe(
        "Who may own the image: 12-digit account ids (quoted, e.g. `'099720109477'`) or `self`, `amazon`, `aws-marketplace`, `aws-backup-vault`; required so a look-alike image from a stranger is never picked.",
      ),
  })
  .describe("Find the most recent image whose name matches `name`, owned by one of `owners`.");

export const baseAmiSource = z
  .union([z.enum(BASE_AMI_ALIASES), amiId, baseAmiLookup])
  .describe(
    `Where the build starts from: an alias (${BASE_AMI_ALIASES.join(", ")}) resolved through the distribution's public SSM parameter, a literal \`ami-…\` id, or \`{ name, owners }\` for the most recent matching image.`,
  );

/** Another template of the templates directory, whose current image this one builds on. */
export const parentTemplate = z
  .string()
  .max(TEMPLATE_ID_MAX_LENGTH)
  .regex(TEMPLATE_ID_PATTERN, { message: `expected a template id: ${TEMPLATE_ID_RULE}` })
  .describe(
    "Build on another template's current validated image for the same architecture and region (e.g. `python-research`), instead of `source`. The parent must build every architecture and region this template does; `cws ami build-all` builds parents first.",
  );

const validationTest = z
  .strictObject({
    name: text().describe("Shown with a check or a cross in the build output."),
    command: text().describe("Shell command run as root with bash on the build instance."),
    expected: z
      .string()
      .optional()
      .describe("Passes when the command's standard output, trimmed, equals this exactly."),
    expected_contains: z
      .string()
      .optional()
      .describe("Passes when the standard output contains this text."),
    expected_regex: z
      .string()
      .optional()
      .describe("Passes when the standard output matches this JavaScript regular expression (`^` and `$` anchor it; `\\A`, `\\Z` and `\\z`, which JavaScript reads as letters, are refused)."),
    exit_code: z
      .int()
      .min(0)
      .max(255)
      .default(0)
      .describe("The exit code the command must return."),
    timeout_seconds: z
      .int()
      .min(1)
      .max(MAX_TIMEOUT_SECONDS)
      .default(DEFAULT_TEST_TIMEOUT_SECONDS)
      .describe(`Seconds before the test is stopped and fails.`),
  })
  .describe("A check run on the build instance after setup; every test runs, and any failure means no image.");

const buildStep = z
  .strictObject({
    name: text().describe("Shown as a progress line while the step runs."),
    script: text().describe("Bash script run as root, byte for byte as written."),
    timeout_seconds: z
      .int()
      .min(1)
      .max(MAX_TIMEOUT_SECONDS)
      .default(DEFAULT_STEP_TIMEOUT_SECONDS)
      .describe(`Seconds before the step is stopped and the build fails.`),
  })
  .describe("One named provisioning step.");

/**
 * Not a reserved tag key: `aws:` and `cws:` in any case. A pattern rather than
 * a refinement, so the generated JSON Schema says it too; spelt out letter by
 * letter because a JSON Schema pattern takes no `i` flag.
 */
const RESERVED_TAG_KEY = /^(?![aA][wW][sS]:|[cC][wW][sS]:)/;

/** Keys cws sets on every image outside `cws:` (`Name`, the image name): builder/context.ts lists them. */
export const CWS_SET_TAG_KEYS: readonly string[] = CWS_IMAGE_TAG_KEYS.filter((key) => !/^cws:/i.test(key));

/** A pattern for a text that is none of `words` exactly. */
const noneOf = (words: readonly string[]) => new RegExp(`^(?!(?:${words.map((word) => word.replace(/\W/g, "\\$&")).join("|")})$)`);

/**
 * At most `max` characters, counted as AWS counts a tag's length and JSON
 * Schema's maxLength counts: in Unicode code points. zod's `.max()` counts
 * UTF-16 units, which would refuse a key of 100 emoji that AWS and editors
 * accept; `.meta()` puts the limit in the generated JSON Schema.
 */
const maxCharacters = (schema: z.ZodString, max: number) =>
  schema.refine((text) => [...text].length <= max, { message: `must be at most ${max} characters long` }).meta({ maxLength: max });

/**
 * The image's EC2 description (255 characters at most) is "<name> <version>
 * (<arch>), built by cws <build id>": 112 characters besides the name with the
 * longest --version (64), so a name of 128 always fits.
 */
export const MAX_NAME_CHARACTERS = 128;
/** The registry's copy is shown in lists; as long as an EC2 description may be, so it could become one. */
export const MAX_DESCRIPTION_CHARACTERS = 255;

const perArchitecture = <T extends z.ZodType>(value: T) => z.partialRecord(architecture, value);

export const templateSchema = z
  .strictObject({
    name: maxCharacters(text(), MAX_NAME_CHARACTERS).describe(
      `Human-readable name, e.g. "R Research Environment"; at most ${MAX_NAME_CHARACTERS} characters, as it begins the EC2 image's description (255 at most).`,
    ),
    description: maxCharacters(text(), MAX_DESCRIPTION_CHARACTERS).describe(
      `One line on what the image contains, at most ${MAX_DESCRIPTION_CHARACTERS} characters (recorded in the registry for CloudWorkstation's listing).`,
    ),
    version: z
      .string()
      .regex(SEMVER_PATTERN, { message: "expected a semantic version such as 1.2.3" })
      .optional()
      .describe("Semantic version of the template (e.g. `1.2.3`); used in image names unless `--version` overrides it."),
    base_ami: z
      .strictObject({
        source: baseAmiSource.optional(),
        template: parentTemplate.optional(),
        architecture: z
          .array(architecture)
          .min(1)
          .describe("Architectures to build, at least one."),
      })
      .describe("The image the build starts from: `source` (a distribution's image) or `template` (another template's image), exactly one."),
    regions: z
      .array(awsRegion)
      .min(1)
      .describe("Regions the image is built in (or copied to), at least one."),
    setup_script: text()
      .optional()
      .describe("Bash script run as root to provision the instance. Use this or `build_steps`, not both."),
    build_steps: z
      .array(buildStep)
      .min(1)
      .optional()
      .describe("Named provisioning steps run in order, each with its own timeout. An alternative to `setup_script`."),
    setup_timeout_seconds: z
      .int()
      .min(1)
      .max(MAX_TIMEOUT_SECONDS)
      .default(DEFAULT_STEP_TIMEOUT_SECONDS)
      .describe(`Seconds \`setup_script\` may run before the build fails.`),
    validation_tests: z
      .array(validationTest)
      .default([])
      .describe("Checks run after setup; all must pass before an image is made."),
    ports: z
      .array(z.int().min(1).max(65_535))
      .default([])
      .describe("TCP ports the environment serves (e.g. 22, 8787), recorded in the registry for CloudWorkstation."),
    estimated_cost_per_hour: perArchitecture(z.number().nonnegative())
      .optional()
      .describe("Estimated on-demand USD per hour of a workstation from this image, per architecture."),
    instance_type: perArchitecture(
      z
        .string()
        .regex(INSTANCE_TYPE_PATTERN, { message: "expected an EC2 instance type such as t3.medium" }),
    )
      .optional()
      .describe("Build instance type per architecture (default t3.medium for x86_64, t4g.medium for arm64)."),
    volume_size_gb: z
      .int()
      .min(8)
      .max(16_384)
      .optional()
      .describe("Root volume size in GiB (encrypted gp3); default: the base image's size."),
    tags: z
      .record(
        maxCharacters(
          z
            .string()
            .min(1)
            .regex(RESERVED_TAG_KEY, { message: "tag keys starting with aws: or cws: are reserved" })
            .regex(noneOf(CWS_SET_TAG_KEYS), { message: `cws sets ${CWS_SET_TAG_KEYS.join(", ")} on every image itself (the image name); use another key` })
            // For editors: zod skips a __proto__ key without a word, so the CLI refuses it where it reads the YAML (yaml-document.ts).
            .regex(noneOf(["__proto__"]), { message: "__proto__ cannot be a tag key in cws (JavaScript gives the name a meaning of its own)" }),
          128,
        ),
        maxCharacters(z.string(), 256),
      )
      .optional()
      .describe(
        `Extra tags for the image and its snapshots, at most ${MAX_TEMPLATE_TAGS} (EC2 allows ${EC2_MAX_TAGS_PER_RESOURCE} and cws sets ${CWS_IMAGE_TAG_KEYS.length}); keys starting with \`aws:\` or \`cws:\`, and \`Name\`, are cws's or AWS's.`,
      ),
    amis: z
      .partialRecord(awsRegion, perArchitecture(amiId))
      .optional()
      .describe("Written by `cws ami update-templates`: the current AMI per region and architecture. Not part of the content hash."),
  })
  .describe("A CloudWorkstation AMI template.");

/** A template as written (defaults not yet applied). */
export type TemplateInput = z.input<typeof templateSchema>;
/** A validated template with defaults applied. */
export type Template = z.output<typeof templateSchema>;
export type ValidationTest = Template["validation_tests"][number];
export type BuildStep = NonNullable<Template["build_steps"]>[number];
export type BaseAmiSource = NonNullable<Template["base_ami"]["source"]>;

/**
 * The schema of the value at `path` in a template (optional and default
 * unwrapped; through the base image union, its `{ name, owners }` form), or
 * undefined where the schema has no such place. The loader uses it to know
 * what an issue is about by the schema's identity, not by its field's name.
 */
export const { schemaAt, knownKeysAt, keyEnumAt } = schemaViewOf(templateSchema);

/** What the issue rules (zod-issues.ts) ask of a schema: the schema at a path, the field names there, the enum a map's keys come from. */
export interface SchemaView {
  schemaAt(path: readonly PropertyKey[]): z.ZodType | undefined;
  /** Field names at `path`, for "did you mean" on unknown keys. */
  knownKeysAt(path: readonly PropertyKey[]): string[];
  /** The enum a map's keys come from (`awsRegion` for `amis`, the architectures for `instance_type`), when the value at `path` is such a map. */
  keyEnumAt(path: readonly PropertyKey[]): z.ZodEnum | undefined;
}

/** The view of any zod schema: the template's, the registry's (so its problems are worded as a template's are). */
export function schemaViewOf(root: z.ZodType): SchemaView {
  const schemaAtPath = (path: readonly PropertyKey[]): z.ZodType | undefined => {
    let schema: z.ZodType = unwrap(root);
    for (const segment of path) {
      if (schema instanceof z.ZodUnion) {
        const object = (schema.options as z.ZodType[]).find((option) => option instanceof z.ZodObject);
        if (!object) return undefined;
        schema = object;
      }
      let next: z.ZodType | undefined;
      if (schema instanceof z.ZodObject) next = Object.hasOwn(schema.shape, String(segment)) ? (schema.shape as Record<string, z.ZodType>)[String(segment)] : undefined;
      else if (schema instanceof z.ZodArray) next = schema.element as z.ZodType;
      else if (schema instanceof z.ZodRecord) next = schema.valueType as z.ZodType;
      if (!next) return undefined;
      schema = unwrap(next);
    }
    return schema;
  };
  return {
    schemaAt: schemaAtPath,
    knownKeysAt(path) {
      let schema = schemaAtPath(path);
      if (schema instanceof z.ZodUnion) {
        schema = (schema.options as z.ZodType[]).find((option) => option instanceof z.ZodObject) ?? schema;
      }
      return schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
    },
    keyEnumAt(path) {
      const schema = schemaAtPath(path);
      return schema instanceof z.ZodRecord && schema.keyType instanceof z.ZodEnum ? (schema.keyType as z.ZodEnum) : undefined;
    },
  };
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}
