import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CwsError } from "../../src/errors.js";
import { loadPrices, parsePriceFile } from "../../src/fleet/price-file.js";
import { describePrices, SHIPPED_PRICES } from "../../src/fleet/prices.js";
import { ROOT, scratchDir } from "../helpers/cli.js";

let work: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = scratchDir();
});
afterAll(() => work.cleanup());

function file(name: string, text: string): string {
  const path = join(work.dir, name);
  writeFileSync(path, text);
  return path;
}

/** The problem lines of a price file's error, as printed. */
function problems(text: string): string[] {
  try {
    parsePriceFile(text, "prices.json");
  } catch (error) {
    expect(error).toBeInstanceOf(CwsError);
    expect(error).toMatchObject({ code: "PRICES_INVALID", exitCode: 2, value: "prices.json" });
    const [first, ...lines] = (error as CwsError).message.split("\n");
    expect(first).toBe("prices.json is not a valid price file:");
    return lines.map((line) => line.trim());
  }
  throw new Error("the price file was accepted");
}

describe("a price file, merged over the shipped table", () => {
  it("replaces the prices it names, per region and per type, and names itself and its date as the source", () => {
    const path = file("mine.json", JSON.stringify({ taken: "2026-11-01", regions: { "us-east-1": { instances: { "t3.large": 0.07, "g6.xlarge": 0.8048 } }, "sa-east-1": { instances: { "t3.large": 0.1344 }, gp3_gb_month: 0.152 } } }));
    const prices = loadPrices(path, "mine.json");
    expect(prices.regions["us-east-1"]!.instances["t3.large"]).toBe(0.07);
    expect(prices.regions["us-east-1"]!.instances["g6.xlarge"]).toBe(0.8048);
    expect(prices.regions["us-east-1"]!.instances["t4g.large"]).toBe(SHIPPED_PRICES.regions["us-east-1"]!.instances["t4g.large"]);
    expect(prices.regions["us-east-1"]!.snapshotGbMonth).toBe(0.05);
    expect(prices.regions["sa-east-1"]).toEqual({ instances: { "t3.large": 0.1344 }, gp3GbMonth: 0.152 });
    expect(prices.source).toBe(`mine.json (2026-11-01) over the shipped price table of ${SHIPPED_PRICES.taken}`);
    expect(describePrices(prices)).toBe(prices.source);
    expect(prices.taken).toBe("2026-11-01");
  });

  it("ignores a byte-order mark, and places problems as an editor shows them", () => {
    const path = file("bom.json", '\uFEFF{ "regions": { "us-east-1": { "instances": { "t3.large": 0.07 } } } }');
    expect(loadPrices(path, "bom.json").regions["us-east-1"]!.instances["t3.large"]).toBe(0.07);
    const bad = file("bad-bom.json", '\uFEFF{ "regions": { "us-east-1": { "instances": { "t3.large": -1 } } } }');
    expect(() => loadPrices(bad, "bad-bom.json")).toThrow(`bad-bom.json:1:58 error regions.us-east-1.instances["t3.large"]: must be at least 0, got -1`);
  });

  it("is the shipped table when no file is named", () => {
    expect(loadPrices(undefined)).toBe(SHIPPED_PRICES);
  });

  it("the README's example is a valid price file", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("**Your own prices.**"));
    const example = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    expect(parsePriceFile(example, "prices.json").regions["us-east-1"]!.instances).toEqual({ "g6.xlarge": 0.8048, "t3.large": 0.0749 });
  });
});

describe("an invalid price file exits 2 with every problem at file:line:col", () => {
  it.each([
    { name: "bad JSON", text: '{\n  "regions": {},\n}\n', lines: [/^prices\.json:3:1 error not valid JSON: /] },
    {
      name: "a key written twice (JSON.parse would keep the last without a word)",
      text: '{\n  "regions": {\n    "us-east-1": { "instances": { "t3.large": 0.08, "t3.large": 0.09 } }\n  }\n}\n',
      lines: ['prices.json:3:53 error regions.us-east-1.instances: the key "t3.large" appears twice in one object (first at line 3, column 35), and JSON keeps only the last'],
    },
    { name: "not an object", text: "[1]\n", lines: ['prices.json:1:1 error a price file must be a JSON object with a "regions" key, got a list'] },
    { name: "no regions", text: '{ "taken": "2026-11-01" }\n', lines: ["prices.json:1:1 error regions: required field is missing"] },
    { name: "an unknown key, with did you mean", text: '{\n  "region": {}\n}\n', lines: ["prices.json:1:1 error regions: required field is missing", 'prices.json:2:3 error region: unknown field "region" (did you mean "regions"?)'] },
    {
      name: "an unknown region, with the nearest, and an unknown key in a region",
      text: '{\n  "regions": {\n    "us-esat-1": {},\n    "us-east-1": { "snapshot_gb_months": 0.05 }\n  }\n}\n',
      lines: ['prices.json:3:5 error regions.us-esat-1: "us-esat-1" is not an AWS region (did you mean "us-east-1"?)', 'prices.json:4:20 error regions.us-east-1.snapshot_gb_months: unknown field "snapshot_gb_months" (did you mean "snapshot_gb_month"?)'],
    },
    {
      name: "prices that are not non-negative numbers, a type that is not an instance type, a date that is not one",
      text: '{\n  "taken": "Nov 2026",\n  "regions": {\n    "us-east-1": { "instances": { "t3.large": -1, "T3.Large": 0.1, "m5.large": "0.096" }, "snapshot_gb_month": null }\n  }\n}\n',
      lines: [
        'prices.json:2:12 error taken: expected a date such as 2026-11-28, got a string ("Nov 2026")',
        `prices.json:4:47 error regions.us-east-1.instances["t3.large"]: must be at least 0, got -1`,
        `prices.json:4:51 error regions.us-east-1.instances["T3.Large"]: expected an EC2 instance type such as t3.medium`,
        'prices.json:4:80 error regions.us-east-1.instances["m5.large"]: expected a number, got a string ("0.096")',
        "prices.json:4:112 error regions.us-east-1.snapshot_gb_month: expected a number, got nothing (null)",
      ],
    },
  ])("$name", ({ text, lines }) => {
    const got = problems(text);
    expect(got).toHaveLength(lines.length);
    lines.forEach((expected, i) => (typeof expected === "string" ? expect(got[i]).toBe(expected) : expect(got[i]).toMatch(expected)));
  });

  it("the README's example problems are what cws says", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const shown = /```\nprices\.json is not a valid price file:\n([\s\S]*?)```/.exec(readme)![1]!.trim().split("\n").map((line) => line.trim());
    const text = '{\n  "taken": "2026-11-01",\n  "regions": {\n    "us-esat-1": { "instances": { "t3.large": 0.0832 } },\n    "us-east-1": { "instances": { "t3.large": -1 } }\n  }\n}\n';
    expect(problems(text)).toEqual(shown);
  });

  it("a path that is not a readable file is one line, exit 2, and a named pipe is never waited on", () => {
    const missing = (() => {
      try {
        return loadPrices(join(work.dir, "nope.json"), "nope.json");
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toMatchObject({ exitCode: 2, message: "nope.json: the price file does not exist" });
    mkdirSync(join(work.dir, "dir.json"));
    expect(() => loadPrices(join(work.dir, "dir.json"), "dir.json")).toThrow("dir.json: the price file is a directory, not a regular file");
    execFileSync("mkfifo", [join(work.dir, "pipe.json")]);
    expect(() => loadPrices(join(work.dir, "pipe.json"), "pipe.json")).toThrow(/pipe\.json: the price file is a named pipe \(FIFO\), not a regular file/);
  });
});
