import * as z from "zod";
import { checkJsonText } from "../config/json-problems.js";
import { CwsError } from "../errors.js";
import { FileAccessError, formatBytes, readRegularFile } from "../file-access.js";
// Through the template schema: its z.config (no JIT) holds for this schema too.
import { INSTANCE_TYPE_PATTERN } from "../template/schema.js";
import { AWS_REGIONS } from "../template/regions.js";
import { stripBom } from "../registry/json-text.js";
import { formatProblem } from "../template/problems.js";
import type { Path } from "../template/rules.js";
import { describePrices, mergePrices, SHIPPED_PRICES, type PriceOverride, type PriceTable, type RegionPrices } from "./prices.js";

/**
 * A price file (`--prices FILE`, or `prices` in cws.config.json): prices of
 * one's own, merged over the shipped table (prices.ts) per region and per
 * instance type. Checked with zod; every problem at file:line:col, exit 2.
 *
 *   {
 *     "$schema": "node_modules/cws-ami/schemas/prices.schema.json",
 *     "taken": "2026-11-01",
 *     "regions": {
 *       "us-east-1": { "instances": { "g6.xlarge": 0.8048 }, "gp3_gb_month": 0.08, "snapshot_gb_month": 0.05 }
 *     }
 *   }
 */

/** A price file holds a few hundred prices; a larger file is not one. */
const MAX_PRICE_FILE_BYTES = 1024 * 1024;

const usd = (description: string) => z.number().nonnegative().describe(description);

const regionPricesSchema = z.strictObject({
  instances: z
    .record(z.string().regex(INSTANCE_TYPE_PATTERN, { message: "expected an EC2 instance type such as t3.medium" }), usd("USD per instance-hour, Linux on demand"))
    .optional()
    .describe("USD per hour by instance type; merged over the shipped table's types for this region"),
  gp3_gb_month: usd("USD per GB-month of gp3 volume storage").optional(),
  snapshot_gb_month: usd("USD per GB-month of EBS snapshot storage (standard tier)").optional(),
});

export const priceFileSchema = z
  .strictObject({
    $schema: z.string().min(1).optional().describe("the JSON Schema editors check this file against: prices.schema.json in cws's schemas/"),
    taken: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, { message: "expected a date such as 2026-11-28" })
      .optional()
      .describe("when these prices were taken (YYYY-MM-DD); shown with every cost"),
    regions: z.partialRecord(z.enum(AWS_REGIONS), regionPricesSchema).describe("prices per region; each merges over the shipped table's region"),
  })
  .describe("cws price file: on-demand prices merged over the price table shipped with cws");

type PriceFile = z.infer<typeof priceFileSchema>;

const TOP_KEYS = Object.keys(priceFileSchema.shape);
const REGION_KEYS = Object.keys(regionPricesSchema.shape);

/** The keys allowed at a path of a price file, for "did you mean". */
function priceFileKeysAt(path: Path): readonly string[] {
  if (path.length === 0) return TOP_KEYS;
  if (path.length === 1 && path[0] === "regions") return AWS_REGIONS;
  if (path.length === 2 && path[0] === "regions") return REGION_KEYS;
  return [];
}

/** schemas/prices.schema.json. */
export function priceFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(priceFileSchema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as Record<string, unknown>;
  return { $schema: schema.$schema, title: "cws price file", ...schema };
}

/** The prices in a file's text, as an override of the shipped table; a usage error (exit 2) naming every problem at file:line:col. */
export function parsePriceFile(text: string, shownAs: string): PriceOverride {
  const { value, problems } = checkJsonText<PriceFile>(text, shownAs, {
    schema: priceFileSchema,
    keysAt: priceFileKeysAt,
    notAnObject: "a price file must be a JSON object with a \"regions\" key",
  });
  if (value === undefined) {
    throw new CwsError("PRICES_INVALID", `${shownAs} is not a valid price file:\n${problems.map((problem) => `  ${formatProblem(problem)}`).join("\n")}`, {
      value: shownAs,
      suggestion: "fix it (schemas/prices.schema.json describes the file), or leave --prices and cws.config.json's prices out to use the shipped table",
    });
  }
  const regions: Record<string, Partial<RegionPrices>> = {};
  for (const [region, prices] of Object.entries(value.regions)) {
    if (prices === undefined) continue;
    regions[region] = {
      ...(prices.instances === undefined ? {} : { instances: prices.instances }),
      ...(prices.gp3_gb_month === undefined ? {} : { gp3GbMonth: prices.gp3_gb_month }),
      ...(prices.snapshot_gb_month === undefined ? {} : { snapshotGbMonth: prices.snapshot_gb_month }),
    };
  }
  return { ...(value.taken === undefined ? {} : { taken: value.taken }), regions };
}

/**
 * The prices a command uses: the shipped table, with the file merged over it
 * when one is named. `file` is as cws opens it; `shownAs`, as messages and
 * results name it.
 */
export function loadPrices(file: string | undefined, shownAs: string = file ?? ""): PriceTable {
  if (file === undefined) return SHIPPED_PRICES;
  const read = readRegularFile(file, { expected: "file", role: "the price file", shownAs, maxBytes: MAX_PRICE_FILE_BYTES });
  if (read.size > MAX_PRICE_FILE_BYTES) {
    throw new FileAccessError("FILE_TOO_LARGE", shownAs, `the price file is ${formatBytes(read.size)}; a price file may be at most ${formatBytes(MAX_PRICE_FILE_BYTES)}`, {
      suggestion: "it holds prices per region and instance type: check that it is the right file",
    });
  }
  const text = stripBom(read.bytes.toString("utf8"));
  const override = parsePriceFile(text, shownAs);
  // Each table with its own date: the file's (when it says one) and the shipped table's.
  return mergePrices(SHIPPED_PRICES, override, `${shownAs}${override.taken ? ` (${override.taken})` : ""} over the ${describePrices(SHIPPED_PRICES)}`, true);
}
