/**
 * The library API of cws-ami, for the rest of CloudWorkstation and for tools
 * that want to read templates without the CLI.
 */
export { parseTemplate, type ParsedTemplate } from "./template/load.js";
export { MAX_TEMPLATE_BYTES } from "./template/text.js";
export { templateSchema, ARCHITECTURES, BASE_AMI_ALIASES, type Template, type TemplateInput, type Architecture } from "./template/schema.js";
export { lintTemplate } from "./template/lint-positions.js";
export { findLintIssues, type LintFinding } from "./template/lint.js";
export { runLint, type LintReport } from "./template/check.js";
export { listTemplateFiles, loadTemplates, type TemplateFile } from "./template/repository.js";
export { formatProblem, formatAnnotation, type Problem } from "./template/problems.js";
export { CwsError, isCwsError } from "./errors.js";
export { exec } from "./cli/main.js";
export { templateJsonSchema, registryJsonSchema, templateReferenceMarkdown, formatJson } from "./template/json-schema.js";
export { configJsonSchema } from "./config/config-schema.js";
export { priceFileJsonSchema } from "./fleet/price-file.js";
export { resolveAmi, type ResolveAmiOptions, type ResolvedAmi, type LegacyAmiMap } from "./registry/resolve.js";
export { readRegistry, parseRegistry, serializeRegistry, updateRegistryFile, recordAmi } from "./registry/store.js";
export { copyRecord, recordCopy, type RecordedCopy } from "./registry/copies.js";
// updateRegistryFile(file, now, mutate, { processes: processProbe(process) }): the lock then names this process, and a dead one's lock is taken over.
export { withRegistryLock, type RegistryLockOptions } from "./registry/lock.js";
export { processProbe, type ProcessProbe } from "./process-probe.js";
export { isTemplateId } from "./template/template-id.js";
export { dependencyGraph, describeCycle, type DependencyGraph, type GraphProblem, type GraphTemplate } from "./template/graph.js";
export { templateContentHash, templateImageHash, imageContentHash } from "./template/content-hash.js";
export { markValidated, rollbackEntry, ssmParameterName } from "./registry/operations.js";
export { mergeRegistries } from "./registry/merge.js";
export { registrySchema, type Registry, type AmiRecord, type AmiEntry } from "./registry/schema.js";
// The build pipeline (issue 12): which templates a change touches, compared by content hash at a git revision.
export { changedTemplates, compareTemplates, type ChangedReport, type ChangedTemplate, type ChangedOptions, type ChangedResult, type ChangeReason } from "./pipeline/changed.js";
export { createGitPort, type GitPort, type TreeEntry } from "./pipeline/git.js";
export {
  planBuilds,
  parseChangedDocument,
  parseTemplatesInput,
  planSummaryMarkdown,
  planLogLines,
  planOutputs,
  buildAllCommand,
  describeReason,
  PLAN_EVENTS,
  type BuildPlan,
  type BuildMatrixEntry,
  type ChangedDocument,
  type PlanEvent,
  type PlanReason,
  type PlanRequest,
} from "./pipeline/plan.js";
// The pipeline's fixes (issue 12, review): the force input, the weekly --max-age and GitHub's matrix limit.
export { parseForceInput, WEEKLY_MAX_AGE, MAX_MATRIX_JOBS } from "./pipeline/plan.js";
