/**
 * An offline, structural check of a CloudFormation template: what `aws cloudformation
 * validate-template` and cfn-lint would catch in a template like docs/ci/github-oidc-role.cfn.yaml,
 * without an AWS account or a Python tool. It returns every problem at once, each naming where
 * in the template it is. It knows only the resource types this project writes (RESOURCE_TYPES):
 * an unknown type is itself a problem, so a new type arrives with its property table.
 */
import { isDeepStrictEqual } from "node:util";
import { isNode, parseDocument, visit } from "yaml";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Parse a template as plain YAML: no `!Sub`-style tags, so any YAML parser reads it the same. */
export function parseTemplateYaml(text: string): { template: Json; problems: string[] } {
  const document = parseDocument(text, { uniqueKeys: true });
  const problems = [...document.errors, ...document.warnings].map((e) => `YAML: ${e.message.split("\n")[0]!}`);
  visit(document, {
    Node(_key, node) {
      if (isNode(node) && node.tag !== undefined) problems.push(`YAML: the tag ${node.tag} (write the long form, e.g. Fn::Sub:, so that any YAML parser reads it)`);
    },
  });
  return { template: document.toJS() as Json, problems };
}

/**
 * The properties of each resource type the project's templates use, from the CloudFormation
 * template reference (docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/), and
 * the attributes Fn::GetAtt can read. `items` describes the entries of a list property.
 */
interface ResourceType {
  properties: readonly string[];
  required: readonly string[];
  attributes: readonly string[];
  items?: Record<string, { properties: readonly string[]; required: readonly string[] }>;
}

const TAG_ITEMS = { properties: ["Key", "Value"], required: ["Key", "Value"] };

export const RESOURCE_TYPES: Record<string, ResourceType> = {
  "AWS::IAM::OIDCProvider": {
    properties: ["ClientIdList", "Tags", "ThumbprintList", "Url"],
    // The reference marks none required (ThumbprintList stopped being so), but IAM's
    // CreateOpenIDConnectProvider cannot create a provider without its URL.
    required: ["Url"],
    attributes: ["Arn"],
    items: { Tags: TAG_ITEMS },
  },
  "AWS::IAM::Role": {
    properties: ["AssumeRolePolicyDocument", "Description", "ManagedPolicyArns", "MaxSessionDuration", "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags"],
    required: ["AssumeRolePolicyDocument"],
    attributes: ["Arn", "RoleId"],
    items: { Policies: { properties: ["PolicyDocument", "PolicyName"], required: ["PolicyDocument", "PolicyName"] }, Tags: TAG_ITEMS },
  },
  "AWS::IAM::ManagedPolicy": {
    properties: ["Description", "Groups", "ManagedPolicyName", "Path", "PolicyDocument", "Roles", "Users"],
    required: ["PolicyDocument"],
    attributes: ["AttachmentCount", "CreateDate", "DefaultVersionId", "IsAttachable", "PermissionsBoundaryUsageCount", "PolicyArn", "PolicyId", "UpdateDate"],
  },
};

export const PSEUDO_PARAMETERS: readonly string[] = [
  "AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
];

const SECTIONS = ["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"];
const PARAMETER_KEYS = ["AllowedPattern", "AllowedValues", "ConstraintDescription", "Default", "Description", "MaxLength", "MaxValue", "MinLength", "MinValue", "NoEcho", "Type"];
const PARAMETER_TYPES = ["String", "Number", "List<Number>", "CommaDelimitedList"];
const RESOURCE_KEYS = ["Type", "Properties", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"];
const OUTPUT_KEYS = ["Value", "Description", "Export", "Condition"];
const FUNCTIONS = [
  "Fn::And", "Fn::Base64", "Fn::Cidr", "Fn::Equals", "Fn::FindInMap", "Fn::GetAZs", "Fn::GetAtt", "Fn::If", "Fn::ImportValue",
  "Fn::Join", "Fn::Length", "Fn::Not", "Fn::Or", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::ToJsonString", "Fn::Transform",
];

/** The names a Fn::Sub string refers to: `${Name}` and `${Resource.Attribute}`, not the literal `${!Name}`. */
export function subNames(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!.trim()).filter((name) => !name.startsWith("!"));
}

/** A parameter's AllowedPattern, which CloudFormation matches against the whole value. */
const fullMatch = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`).test(value);

interface Declared {
  parameters: Set<string>;
  conditions: Set<string>;
  /** Each resource's type and the condition it is created under, if any. */
  resources: Map<string, { type: string; condition?: string }>;
}

/** Where a value sits: its path, the conditions known true there (inside Fn::If), and whether it is in Conditions. */
interface Scope {
  path: string;
  holds: ReadonlySet<string>;
  inConditions?: boolean;
}

/** Every structural problem of a template; an empty list when there is none. */
export function checkTemplate(template: Json): string[] {
  const problems: string[] = [];
  if (!isObject(template)) return ["the template is not a mapping"];
  for (const key of Object.keys(template)) if (!SECTIONS.includes(key)) problems.push(`${key}: not a template section`);
  if (template.AWSTemplateFormatVersion !== "2010-09-09") problems.push(`AWSTemplateFormatVersion: "2010-09-09" (the only version), not ${JSON.stringify(template.AWSTemplateFormatVersion)}`);

  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  const resources = isObject(template.Resources) ? template.Resources : {};
  const outputs = isObject(template.Outputs) ? template.Outputs : {};
  if (Object.keys(resources).length === 0) problems.push("Resources: a template needs at least one resource");

  const declared: Declared = {
    parameters: new Set(Object.keys(parameters)),
    conditions: new Set(Object.keys(conditions)),
    resources: new Map(
      Object.entries(resources).map(([id, r]) => [id, { type: isObject(r) && typeof r.Type === "string" ? r.Type : "", ...(isObject(r) && typeof r.Condition === "string" ? { condition: r.Condition } : {}) }]),
    ),
  };
  for (const name of Object.keys(parameters)) {
    if (declared.resources.has(name)) problems.push(`Parameters.${name}: a resource has the same logical id`);
  }

  for (const [name, parameter] of Object.entries(parameters)) problems.push(...checkParameter(`Parameters.${name}`, parameter));
  for (const [name, condition] of Object.entries(conditions)) walk(condition, { path: `Conditions.${name}`, holds: new Set(), inConditions: true }, declared, problems);
  for (const [id, resource] of Object.entries(resources)) problems.push(...checkResource(id, resource, declared));
  for (const [name, output] of Object.entries(outputs)) {
    const path = `Outputs.${name}`;
    if (!isObject(output)) {
      problems.push(`${path}: not a mapping`);
      continue;
    }
    for (const key of Object.keys(output)) if (!OUTPUT_KEYS.includes(key)) problems.push(`${path}.${key}: not an output attribute (${OUTPUT_KEYS.join(", ")})`);
    if (output.Value === undefined) problems.push(`${path}: no Value`);
    const holds = checkConditionName(path, output.Condition, declared, problems);
    walk(output, { path, holds }, declared, problems);
  }
  return problems;
}

function checkParameter(path: string, parameter: Json): string[] {
  if (!isObject(parameter)) return [`${path}: not a mapping`];
  const problems: string[] = [];
  for (const key of Object.keys(parameter)) if (!PARAMETER_KEYS.includes(key)) problems.push(`${path}.${key}: not a parameter attribute`);
  const type = parameter.Type;
  if (typeof type !== "string") problems.push(`${path}: no Type`);
  else if (!PARAMETER_TYPES.includes(type) && !/^(List<)?AWS::/.test(type)) problems.push(`${path}.Type: "${type}" is not a parameter type`);
  if (type !== "String") return problems;
  const pattern = parameter.AllowedPattern;
  const values = parameter.AllowedValues;
  // A free-form string would let a typo (or a wildcard) through into an IAM policy.
  if (pattern === undefined && values === undefined) problems.push(`${path}: a String parameter needs an AllowedPattern or AllowedValues`);
  const fallback = parameter.Default;
  if (typeof fallback === "string") {
    if (typeof pattern === "string" && !fullMatch(pattern, fallback)) problems.push(`${path}.Default: "${fallback}" does not match its AllowedPattern`);
    if (Array.isArray(values) && !values.includes(fallback)) problems.push(`${path}.Default: "${fallback}" is not one of its AllowedValues`);
  }
  return problems;
}

function checkResource(id: string, resource: Json, declared: Declared): string[] {
  const path = `Resources.${id}`;
  if (!isObject(resource)) return [`${path}: not a mapping`];
  const problems: string[] = [];
  for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.includes(key)) problems.push(`${path}.${key}: not a resource attribute (${RESOURCE_KEYS.join(", ")})`);
  const type = typeof resource.Type === "string" ? RESOURCE_TYPES[resource.Type] : undefined;
  if (type === undefined) problems.push(`${path}.Type: ${JSON.stringify(resource.Type)} is not a type this check knows (${Object.keys(RESOURCE_TYPES).join(", ")})`);
  const properties = resource.Properties ?? {};
  if (!isObject(properties)) problems.push(`${path}.Properties: not a mapping`);
  else if (type !== undefined) problems.push(...checkProperties(`${path}.Properties`, properties, type, type.items ?? {}));
  for (const dependency of [resource.DependsOn ?? []].flat()) {
    if (typeof dependency !== "string" || !declared.resources.has(dependency)) problems.push(`${path}.DependsOn: ${JSON.stringify(dependency)} is not a resource`);
  }
  const holds = checkConditionName(path, resource.Condition, declared, problems);
  walk(properties, { path: `${path}.Properties`, holds }, declared, problems);
  return problems;
}

function checkProperties(path: string, properties: JsonObject, spec: { properties: readonly string[]; required: readonly string[] }, items: NonNullable<ResourceType["items"]>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(properties)) if (!spec.properties.includes(name)) problems.push(`${path}.${name}: not a property of this type (${spec.properties.join(", ")})`);
  for (const name of spec.required) if (properties[name] === undefined) problems.push(`${path}: the required property ${name} is missing`);
  for (const [name, item] of Object.entries(items)) {
    const list = properties[name];
    if (!Array.isArray(list)) continue;
    list.forEach((entry, index) => {
      if (isObject(entry)) problems.push(...checkProperties(`${path}.${name}[${index}]`, entry, item, {}));
    });
  }
  return problems;
}

/** A resource's or output's Condition must be declared; inside it, that condition holds. */
function checkConditionName(path: string, condition: Json | undefined, declared: Declared, problems: string[]): Set<string> {
  if (condition === undefined) return new Set();
  if (typeof condition !== "string" || !declared.conditions.has(condition)) {
    problems.push(`${path}.Condition: ${JSON.stringify(condition)} is not a declared condition`);
    return new Set();
  }
  return new Set([condition]);
}

/** Check every reference in a value: Ref, Fn::GetAtt, the names in Fn::Sub, Fn::If's and Condition's condition names. */
function walk(value: Json, scope: Scope, declared: Declared, problems: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, { ...scope, path: `${scope.path}[${index}]` }, declared, problems));
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  const only = keys.length === 1 ? keys[0]! : undefined;
  const argument = only === undefined ? undefined : value[only]!;
  const here = `${scope.path}${only === undefined ? "" : `.${only}`}`;
  if (only === "Ref") {
    checkRef(here, argument!, scope, declared, problems);
    return;
  }
  if (only === "Fn::GetAtt") {
    const [resource, attribute] = typeof argument === "string" ? argument.split(/\.(.*)/s) : Array.isArray(argument) ? argument : [];
    checkGetAtt(here, resource, attribute, scope, declared, problems);
    return;
  }
  if (only === "Fn::Sub") {
    const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
    const local = isObject(variables) ? variables : {};
    if (typeof text !== "string") problems.push(`${here}: the string to substitute is not a string`);
    for (const name of typeof text === "string" ? subNames(text) : []) {
      if (name in local) continue;
      const [resource, attribute] = name.split(/\.(.*)/s);
      if (attribute !== undefined) checkGetAtt(`${here} \${${name}}`, resource, attribute, scope, declared, problems);
      else checkRef(`${here} \${${name}}`, name, scope, declared, problems);
    }
    walk(local, { ...scope, path: here }, declared, problems);
    return;
  }
  if (only === "Fn::If") {
    const [condition, whenTrue, whenFalse] = Array.isArray(argument) && argument.length === 3 ? argument : [];
    if (condition === undefined) problems.push(`${here}: takes [condition, value if true, value if false]`);
    else if (typeof condition !== "string" || !declared.conditions.has(condition)) problems.push(`${here}: ${JSON.stringify(condition)} is not a declared condition`);
    else {
      walk(whenTrue!, { ...scope, path: `${here}[1]`, holds: new Set([...scope.holds, condition]) }, declared, problems);
      walk(whenFalse!, { ...scope, path: `${here}[2]` }, declared, problems);
    }
    return;
  }
  if (only === "Condition" && scope.inConditions) {
    if (typeof argument !== "string" || !declared.conditions.has(argument)) problems.push(`${here}: ${JSON.stringify(argument)} is not a declared condition`);
    return;
  }
  for (const key of keys) {
    if (key.startsWith("Fn::") && !FUNCTIONS.includes(key)) problems.push(`${scope.path}.${key}: not an intrinsic function`);
    walk(value[key]!, { ...scope, path: `${scope.path}.${key}` }, declared, problems);
  }
}

function checkRef(path: string, name: Json, scope: Scope, declared: Declared, problems: string[]): void {
  if (typeof name !== "string") problems.push(`${path}: Ref takes a name, not ${JSON.stringify(name)}`);
  else if (declared.parameters.has(name) || PSEUDO_PARAMETERS.includes(name)) return;
  else if (declared.resources.has(name) && !scope.inConditions) checkConditional(path, name, scope, declared, problems);
  else problems.push(`${path}: "${name}" is not a declared parameter${scope.inConditions ? "" : " or resource"}, nor an AWS pseudo parameter`);
}

function checkGetAtt(path: string, resource: Json | undefined, attribute: Json | undefined, scope: Scope, declared: Declared, problems: string[]): void {
  if (scope.inConditions) {
    problems.push(`${path}: Conditions can read parameters only, not resources`);
    return;
  }
  const target = typeof resource === "string" ? declared.resources.get(resource) : undefined;
  if (target === undefined) {
    problems.push(`${path}: ${JSON.stringify(resource)} is not a declared resource`);
    return;
  }
  const attributes = RESOURCE_TYPES[target.type]?.attributes ?? [];
  if (typeof attribute !== "string" || !attributes.includes(attribute)) problems.push(`${path}: ${target.type} has no attribute ${JSON.stringify(attribute)} (${attributes.join(", ")})`);
  checkConditional(path, resource as string, scope, declared, problems);
}

/** A resource created under a condition can be referred to only where that condition holds. */
function checkConditional(path: string, resource: string, scope: Scope, declared: Declared, problems: string[]): void {
  const condition = declared.resources.get(resource)?.condition;
  if (condition !== undefined && !scope.holds.has(condition)) {
    problems.push(`${path}: ${resource} exists only when ${condition} holds; refer to it inside Fn::If [${condition}, …]`);
  }
}

/** What a template's values are with these parameters: pseudo parameters and resource attributes are given. */
export interface Evaluation {
  parameters: Record<string, string>;
  pseudo: Record<string, string>;
  /** `Resource.Attribute` (and `Resource` for its Ref) → value. */
  attributes: Record<string, string>;
}

/** A value with its intrinsic functions worked out (those the project's templates use). */
export function evaluate(template: JsonObject, value: Json, given: Evaluation): Json {
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  const ref = (name: string): string => {
    const found = given.parameters[name] ?? given.pseudo[name] ?? given.attributes[name];
    if (found !== undefined) return found;
    const fallback = isObject(parameters[name]) ? parameters[name].Default : undefined;
    if (typeof fallback === "string") return fallback;
    throw new Error(`no value for ${name}`);
  };
  const condition = (name: string): boolean => at(conditions[name]!) === true;
  const at = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(at);
    if (!isObject(node)) return node;
    const [only, ...more] = Object.keys(node);
    const argument = node[only!]!;
    if (more.length === 0 && (only === "Ref" || only === "Condition" || only?.startsWith("Fn::"))) {
      const list = Array.isArray(argument) ? argument : [argument];
      switch (only) {
        case "Ref": return ref(argument as string);
        case "Condition": return condition(argument as string);
        case "Fn::GetAtt": return ref(typeof argument === "string" ? argument : list.join("."));
        case "Fn::If": return condition(list[0] as string) ? at(list[1]!) : at(list[2]!);
        case "Fn::Equals": return isDeepStrictEqual(at(list[0]!), at(list[1]!));
        case "Fn::Not": return at(list[0]!) !== true;
        case "Fn::Join": return (at(list[1]!) as Json[]).join(list[0] as string);
        case "Fn::Sub": {
          const variables = isObject(list[1]) ? (at(list[1]) as Record<string, string>) : {};
          return (list[0] as string).replace(/\$\{([^}]*)\}/g, (whole, name: string) =>
            name.startsWith("!") ? `\${${name.slice(1)}}` : variables[name.trim()] ?? ref(name.trim()));
        }
        default: throw new Error(`evaluate: ${only} is not supported`);
      }
    }
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, at(child)]));
  };
  return at(value);
}

/** What the CI role's template must be, beyond being a valid template (docs/ci.md). */
export interface CiRoleExpectations {
  /** docs/ci/github-oidc-trust-policy.json. */
  trustPolicy: Json;
  /** docs/iam/cws-ci-policy.json. */
  ciPolicy: Json;
  /** The values that turn the template's trust policy into trustPolicy (its placeholders). */
  placeholders: Evaluation;
  /** Parameters whose every allowed value must give that same trust policy. */
  variants: Record<string, readonly string[]>;
  /** The session a job asks for (role-duration-seconds). */
  minSessionSeconds: number;
}

const GITHUB = "token.actions.githubusercontent.com";

/** The structural problems and those that make the template not the CI role docs/ci.md describes. */
export function checkCiRoleTemplate(template: Json, expected: CiRoleExpectations): string[] {
  const problems = checkTemplate(template);
  if (!isObject(template) || !isObject(template.Resources)) return problems;
  const resources = template.Resources;
  const roles = Object.entries(resources).filter(([, r]) => isObject(r) && r.Type === "AWS::IAM::Role");
  if (roles.length !== 1) return [...problems, `Resources: one AWS::IAM::Role expected, found ${roles.length}`];
  const [roleId, role] = roles[0] as [string, JsonObject];
  const properties = isObject(role.Properties) ? role.Properties : {};
  const path = `Resources.${roleId}.Properties`;

  const session = properties.MaxSessionDuration;
  if (typeof session !== "number" || session < expected.minSessionSeconds || session > 43200) {
    problems.push(`${path}.MaxSessionDuration: ${JSON.stringify(session)}; at least ${expected.minSessionSeconds} (the workflows' role-duration-seconds) and at most 43200`);
  }

  const variants = Object.entries(expected.variants).flatMap(([name, values]) => values.map((value) => ({ [name]: value })));
  for (const variant of variants.length ? variants : [{}]) {
    const given = { ...expected.placeholders, parameters: { ...expected.placeholders.parameters, ...variant } };
    const label = Object.entries(variant).map(([k, v]) => ` with ${k}=${v}`).join("");
    let trust: Json;
    try {
      trust = evaluate(template, properties.AssumeRolePolicyDocument ?? null, given);
    } catch (error) {
      problems.push(`${path}.AssumeRolePolicyDocument${label}: ${(error as Error).message}`);
      continue;
    }
    problems.push(...githubTrustProblems(`${path}.AssumeRolePolicyDocument${label}`, trust));
    if (!isDeepStrictEqual(trust, expected.trustPolicy)) {
      problems.push(`${path}.AssumeRolePolicyDocument${label}: differs from docs/ci/github-oidc-trust-policy.json: ${JSON.stringify(trust)}`);
    }
  }

  const attached = [
    ...(Array.isArray(properties.Policies) ? properties.Policies : []).map((p) => (isObject(p) ? p.PolicyDocument : undefined)),
    ...Object.values(resources)
      .filter((r): r is JsonObject => isObject(r) && r.Type === "AWS::IAM::ManagedPolicy" && isObject(r.Properties) && Array.isArray(r.Properties.Roles) && r.Properties.Roles.some((x) => isDeepStrictEqual(x, { Ref: roleId })))
      .map((r) => (r.Properties as JsonObject).PolicyDocument),
  ];
  if (!attached.some((document) => isDeepStrictEqual(document, expected.ciPolicy))) {
    problems.push(`${path}: no policy attached to the role equals docs/iam/cws-ci-policy.json${policyDifference(attached, expected.ciPolicy)}; paste the file into the role's PolicyDocument`);
  }

  const outputs = isObject(template.Outputs) ? Object.values(template.Outputs) : [];
  if (!outputs.some((o) => isObject(o) && isDeepStrictEqual(o.Value, { "Fn::GetAtt": [roleId, "Arn"] }))) problems.push(`Outputs: none gives the role's ARN (Fn::GetAtt: [${roleId}, Arn]) for CWS_AWS_ROLE_ARN`);
  return problems;
}

/** The trust of GitHub's tokens must be exact: StringEquals on the audience and on one subject. */
export function githubTrustProblems(path: string, trust: Json): string[] {
  const statements = isObject(trust) && Array.isArray(trust.Statement) ? trust.Statement : [];
  const problems: string[] = [];
  statements.forEach((statement, index) => {
    if (!isObject(statement) || statement.Action !== "sts:AssumeRoleWithWebIdentity") return;
    const where = `${path}.Statement[${index}].Condition`;
    const condition = isObject(statement.Condition) ? statement.Condition : {};
    for (const operator of Object.keys(condition)) {
      if (operator !== "StringEquals") problems.push(`${where}.${operator}: only StringEquals (a StringLike pattern lets other branches, tags, pull requests or repositories in)`);
    }
    const equals = isObject(condition.StringEquals) ? condition.StringEquals : {};
    if (equals[`${GITHUB}:aud`] !== "sts.amazonaws.com") problems.push(`${where}.StringEquals: ${GITHUB}:aud must be "sts.amazonaws.com"`);
    const subject = equals[`${GITHUB}:sub`];
    if (typeof subject !== "string" || !/^repo:[^/*?]+\/[^:*?]+:ref:refs\/heads\/[^*?]+$/.test(subject)) {
      problems.push(`${where}.StringEquals: ${GITHUB}:sub must be one branch of one repository, repo:OWNER/REPO:ref:refs/heads/BRANCH, with no wildcard; it is ${JSON.stringify(subject)}`);
    }
  });
  if (!statements.some((s) => isObject(s) && s.Action === "sts:AssumeRoleWithWebIdentity")) problems.push(`${path}: no statement allows sts:AssumeRoleWithWebIdentity`);
  return problems;
}

/** Which statements (by Sid) of the expected policy the closest attached one lacks or changes. */
function policyDifference(attached: (Json | undefined)[], expected: Json): string {
  const statements = (policy: Json | undefined) => new Map((isObject(policy) && Array.isArray(policy.Statement) ? policy.Statement : []).map((s, i) => [isObject(s) && typeof s.Sid === "string" ? s.Sid : `#${i}`, s]));
  const want = statements(expected);
  const differences = attached.map((document) => {
    const have = statements(document);
    const sids = new Set([...want.keys(), ...have.keys()]);
    return [...sids].filter((sid) => !isDeepStrictEqual(want.get(sid), have.get(sid)));
  });
  const closest = differences.sort((a, b) => a.length - b.length)[0];
  return closest === undefined ? "" : ` (statements that differ: ${closest.join(", ") || "none; the Version or the order differs"})`;
}
