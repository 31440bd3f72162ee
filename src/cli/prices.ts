import { resolvePricesFile } from "../config/settings.js";
import { SHIPPED_PRICES, type PriceTable } from "../fleet/prices.js";
import type { GlobalOptions } from "./io.js";

/**
 * The prices a command reports cost with (build, build-all): --prices, else
 * cws.config.json's prices, merged over the shipped table; else the shipped
 * table. A named file is read and checked now, before anything touches AWS
 * (exit 2 naming file:line:col); its reader and zod load only then.
 */
export async function resolvePrices(flag: string | undefined, globals: Pick<GlobalOptions, "project">): Promise<PriceTable> {
  const file = resolvePricesFile(flag, globals.project).value;
  if (file === undefined) return SHIPPED_PRICES;
  const { loadPrices } = await import("../fleet/price-file.js");
  return loadPrices(file);
}
