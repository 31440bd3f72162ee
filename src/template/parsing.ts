/**
 * What a lint or a load needs beyond a cache hit, behind one dynamic import:
 * the quick parser (js-yaml) and zod with the template schema. One import
 * point keeps the bundles' chunks few (decisions.md §18): modules the cached
 * path shares with these end up in a single chunk, not one per combination.
 * The YAML syntax tree (the `yaml` library) is a further import, only for a
 * template with problems to place at a line and column.
 */
export { quickParse } from "./quick-parse.js";

/** load.ts's `parseTemplate`, its module (and the `yaml` library) loaded on first call. */
export async function parseTemplateLazily(...args: Parameters<typeof import("./load.js").parseTemplate>) {
  return (await import("./load.js")).parseTemplate(...args);
}

/** lint-positions.ts's `placeFindings`, loaded on first call. */
export async function placeFindingsLazily(...args: Parameters<typeof import("./lint-positions.js").placeFindings>) {
  return (await import("./lint-positions.js")).placeFindings(...args);
}

/** lint-positions.ts's `placeProblems`, loaded on first call. */
export async function placeProblemsLazily(...args: Parameters<typeof import("./lint-positions.js").placeProblems>) {
  return (await import("./lint-positions.js")).placeProblems(...args);
}
