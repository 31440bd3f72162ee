// The plan step of .github/workflows/ami-build.yml: which `cws ami build-all` jobs this run needs.
//
// A thin shell around the library's planBuilds (src/pipeline/plan.ts, where the rules and their
// tests are): it reads the event from the environment, asks `cws ami changed --json` what changed,
// and writes the plan to the step's outputs and the job summary. The CLI and the library are the
// ones of the checkout this script sits in (bin/cws.js, dist/index.js: `npm ci` builds dist/); the
// templates are those of the current directory, the project.
//
// Environment: EVENT_NAME (push, schedule or workflow_dispatch), TEMPLATES_INPUT and FORCE_INPUT
// (workflow_dispatch's inputs; FORCE_INPUT true or 1, any case, or false, 0 or empty), BEFORE (the
// push's previous commit), LAST_BUILT (the commit of the newest completed push or weekly run of the
// workflow whose plan job succeeded, so its builds ran, or empty), GITHUB_RUN_ATTEMPT (the runner's: 2 and more
// for a re-run), GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (files the runner provides; without
// GITHUB_OUTPUT the outputs go to stdout).
// A re-run whose commit is not the tip of main (origin/main in the clone), with other templates,
// is refused: it would build and record old templates. A first run in that state (main moved on
// while it waited) builds its commit with a warning; without origin/main the check is skipped.
// A push is compared with LAST_BUILT when it is a commit in the clone and an ancestor of HEAD
// (what changed since then includes what changed since BEFORE, and the templates of a push whose
// waiting run was replaced), else with BEFORE; each fallback is a ::warning:: annotation.
// Outputs: matrix (one-line JSON, { include: [{ name, templates, architecture }] }), any
// (true/false), max_age (6d or empty), force (true/false). A user error (an unknown template id,
// a force that is not a boolean) is an ::error:: annotation and exit 1.
import { spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const repo = new URL("../../", import.meta.url);
const cli = fileURLToPath(new URL("bin/cws.js", repo));
const { planBuilds, parseChangedDocument, parseForceInput, planOutputs, planSummaryMarkdown, planLogLines, PLAN_EVENTS, isCwsError } = await import(new URL("dist/index.js", repo).href);

/** `changed`'s "no previous revision": every template is new, and no history is needed. */
const NO_REVISION = "0".repeat(40);

/** The branch the workflow builds; also in its on.push.branches, its last-built query and the role's trust. */
const MAIN_BRANCH = "main";

/** A failure of this script's own inputs, shaped like the CLI's errors (a message and what to do). */
class PlanFailure extends Error {
  constructor(message, suggestion) {
    super(message);
    this.suggestion = suggestion;
  }
}

const env = process.env;
const event = env.EVENT_NAME ?? "";

try {
  if (!PLAN_EVENTS.includes(event)) {
    throw new PlanFailure(`EVENT_NAME "${event}": the plan knows ${PLAN_EVENTS.join(", ")}`, "run this step on those events only (the workflow's `on:`)");
  }
  const force = parseForceInput(env.FORCE_INPUT);
  checkMainTip();
  const since = event === "push" ? pushComparison(env.LAST_BUILT?.trim() ?? "", env.BEFORE?.trim() ?? "") : undefined;
  if (since !== undefined) note(since.why);
  // Only a push compares with a revision; the other events need only the list of templates.
  const changes = parseChangedDocument(runChanged(since?.commit ?? NO_REVISION));
  const plan = planBuilds({ event, templatesInput: env.TEMPLATES_INPUT ?? "", force, beforeUsable: since?.commit !== undefined, comparison: since?.why, changes });
  writeOutputs(planOutputs(plan));
  writeSummary(planSummaryMarkdown(plan));
  for (const line of planLogLines(plan)) note(line);
} catch (error) {
  if (!(error instanceof PlanFailure) && !isCwsError(error)) throw error;
  const suggestion = error.suggestion ? ` (${error.suggestion})` : "";
  console.log(`::error title=AMI build plan::${escapeData(`${error.message}${suggestion}`)}`);
  writeSummary(["### AMI build plan", "", `**Error:** ${error.message}${suggestion}`]);
  process.exitCode = 1;
}

/**
 * The commit a push is compared with, and why, in words. The last run that planned and ran its
 * builds when its commit is in the clone and an ancestor of HEAD: a newer run replaces a waiting
 * one, so the push's own previous commit would leave the replaced push's templates out. Else the
 * push's previous commit; else none (every template is planned).
 */
function pushComparison(lastBuilt, before) {
  const fallback = (reason) => {
    const comparison = isUsableCommit(before)
      ? { commit: before, why: `Compared with the push's previous commit ${before}: ${reason}.` }
      : { commit: undefined, why: `${reason[0].toUpperCase()}${reason.slice(1)}, and the push's previous commit ${before ? `${before} ` : ""}is not usable here (none, all zeros, or not in the clone): planning every template.` };
    warn(comparison.why);
    return comparison;
  };
  if (lastBuilt === "") return fallback("no earlier push or weekly run of this workflow whose plan succeeded is known (LAST_BUILT is empty)");
  if (!isUsableCommit(lastBuilt)) return fallback(`the last built run's commit ${lastBuilt} is not in the clone`);
  if (!isAncestorOfHead(lastBuilt)) {
    return fallback(`the last built run's commit ${lastBuilt} is not an ancestor of this one (main's history was rewritten by a force-push or a reset since that run, or this run's commit is not on main)`);
  }
  const alsoBefore = lastBuilt === before ? "" : ` (earlier than the push's previous commit ${before || "(none)"}: the templates of pushes since then whose runs were replaced or cancelled are built too)`;
  return { commit: lastBuilt, why: `Compared with ${lastBuilt}, the commit of the last push or weekly run of this workflow whose plan succeeded and builds ran${alsoBefore}.` };
}

/**
 * A run builds main's newest templates. A re-run ("Re-run all jobs") of an older run would build
 * its old commit's templates and its registry job would record their images: refused, unless main
 * has moved on with the same templates (then it builds what main would). A first run whose commit
 * is no longer the tip (main moved on while it waited, by a push whose run did not replace it)
 * builds its own commit, with a warning: failing it would let the next push's comparison skip its
 * templates. Without origin/main in the clone (a run by hand, a shallow clone) it warns and goes on.
 */
function checkMainTip() {
  const tip = revParse(`refs/remotes/origin/${MAIN_BRANCH}`);
  const head = revParse("HEAD");
  if (tip === undefined) {
    warn(`origin/${MAIN_BRANCH} is not in the clone: cannot check that this run's commit ${head ?? "HEAD"} is the newest of ${MAIN_BRANCH} (a re-run of an old run would build and record old templates).`);
    return;
  }
  if (tip === head) return;
  const templatesDir = parseChangedDocument(runChanged(NO_REVISION)).templatesDir;
  const sameTemplates = spawnSync("git", ["diff", "--quiet", tip, "HEAD", "--", templatesDir], { stdio: "ignore" }).status === 0;
  if (sameTemplates) {
    note(`${MAIN_BRANCH} is at ${tip} now, with the same templates as this run's commit ${head}: building them.`);
    return;
  }
  const attempt = Number.parseInt(env.GITHUB_RUN_ATTEMPT ?? "1", 10);
  if (attempt > 1) {
    throw new PlanFailure(
      `this run's commit ${head} is not the tip of ${MAIN_BRANCH} (${tip}), whose templates differ: re-running an old run would build and record old templates`,
      `run the workflow on ${MAIN_BRANCH} instead (Actions → Build AMIs → Run workflow), or push the change again`,
    );
  }
  warn(`${MAIN_BRANCH} has moved on to ${tip}, with other templates, since this run was started: building this run's commit ${head}; a later run builds ${MAIN_BRANCH}'s templates.`);
}

function revParse(rev) {
  const result = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function isAncestorOfHead(sha) {
  return spawnSync("git", ["merge-base", "--is-ancestor", sha, "HEAD"], { stdio: "ignore" }).status === 0;
}

/** Set, not all zeros (a new branch's push), and a commit in this clone (a force-push's may not be). */
function isUsableCommit(sha) {
  if (sha === "" || /^0+$/.test(sha)) return false;
  return spawnSync("git", ["cat-file", "-e", `${sha}^{commit}`], { stdio: "ignore" }).status === 0;
}

/** `changed`'s document; its explanation goes to the log when it compared with a commit, or when it failed. */
function runChanged(since) {
  const result = spawnSync(process.execPath, [cli, "ami", "changed", "--json", "--since", since], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.error) throw result.error;
  if (since !== NO_REVISION || result.status !== 0) process.stderr.write(result.stderr);
  let document;
  try {
    document = JSON.parse(result.stdout);
  } catch {
    throw new PlanFailure(`cws ami changed --json printed no JSON document (exit ${result.status})`, "its error is in the log above");
  }
  if (result.status !== 0) {
    const error = document?.error;
    throw new PlanFailure(`cws ami changed: ${error?.message ?? `exit ${result.status}`}`, error?.suggestion);
  }
  return document;
}

function writeOutputs(outputs) {
  const text = Object.entries(outputs)
    .map(([key, value]) => `${key}=${value}\n`)
    .join("");
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, text);
  else process.stdout.write(text);
}

function writeSummary(lines) {
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${lines.join("\n")}\n`);
}

function note(line) {
  process.stderr.write(`${line}\n`);
}

/** A ::warning:: annotation on the run (stdout, where the runner reads workflow commands). */
function warn(message) {
  console.log(`::warning title=AMI build plan::${escapeData(message)}`);
}

/** A workflow command's message: %, CR and LF escaped, as the runner reads them. */
function escapeData(text) {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}
