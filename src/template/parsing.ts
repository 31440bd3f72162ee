/**
 * Everything a lint or a load needs beyond a cache hit: zod, both YAML
 * parsers and the template schema, behind one dynamic import. One import
 * point keeps the bundles' chunks few (decisions.md §18): modules the cached
 * path shares with these end up in a single chunk, not one per combination.
 */
export { quickParse } from "./quick-parse.js";
export { parseTemplate } from "./load.js";
export { placeFindings } from "./lint-positions.js";
