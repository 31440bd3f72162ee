import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fastPrograms } from "../../src/cli/command-spec.js";
import { COMMAND_TABLE } from "../../src/cli/command-table.js";
import { ROOT } from "../helpers/cli.js";

/**
 * Every file of every built program (dist/bin), loaded the way the program
 * loads it: as CommonJS, with require(). dist/bin/manifest.json is what the
 * build's first (ES module) pass said of each file: its exports, and which
 * files and packages it imports statically or lazily. The second pass turns
 * each chunk into CommonJS; these tests check that nothing was lost on the
 * way, for lazily loaded chunks as much as for the ones every run loads
 * (a lazily loaded chunk is exactly what no quick run of the CLI reaches).
 */
interface ManifestFile {
  exports: string[];
  imports: string[];
  dynamicImports: string[];
}
type Manifest = Record<string, Record<string, ManifestFile>>;

const BIN = join(ROOT, "dist", "bin");

function manifest(): Manifest {
  const file = join(BIN, "manifest.json");
  if (!existsSync(file)) throw new Error("dist/bin/manifest.json is missing: run `npm run build` first (npm test does)");
  return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

/** In a fresh Node process: require() each file and describe what it exports. */
function loadAll(files: string[]) {
  const script = `
    const { join } = require("node:path");
    const out = {};
    for (const file of JSON.parse(process.argv[1])) {
      const m = require(join(${JSON.stringify(BIN)}, file));
      out[file] = { keys: Object.keys(m).sort(), esModule: m.__esModule === true, defaultType: "default" in m ? typeof m.default : undefined };
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const result = spawnSync(process.execPath, ["-e", script, JSON.stringify(files)], { cwd: ROOT, encoding: "utf8", env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
  if (result.status !== 0) throw new Error(`loading the program's files failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, { keys: string[]; esModule: boolean; defaultType: string | undefined }>;
}

const programs = Object.entries(manifest());

describe("the built programs (dist/bin)", () => {
  it("are the full CLI and the command table's fast programs, the ones bin/cws.js routes to", () => {
    expect(programs.map(([name]) => name).sort()).toEqual(["main", ...fastPrograms(COMMAND_TABLE).map((p) => p.name)].sort());
    for (const [name, files] of programs) expect(Object.keys(files)).toContain(`${name}.js`);
  });

  describe.each(programs)("%s", (_name, files) => {
    it("loads every file, lazy chunks included, each with exactly the exports the ES module build had", () => {
      const loaded = loadAll(Object.keys(files));
      for (const [file, expected] of Object.entries(files)) {
        const actual = loaded[file]!;
        expect({ file, keys: actual.keys }).toEqual({ file, keys: expected.exports });
        if (expected.exports.length > 0) expect({ file, esModule: actual.esModule }).toEqual({ file, esModule: true });
        // An ES module's default export is a value (ora's is a function), never the module object itself.
        if (expected.exports.includes("default")) expect({ file, defaultType: actual.defaultType }).not.toEqual({ file, defaultType: "object" });
      }
    });

    it("reads every chunk it imports, lazily or not, as an ES module would (no Node interop that turns `default` into the whole module)", () => {
      // esbuild marks a require() it wraps with Node's ESM-imports-CommonJS rule with a trailing `, 1`
      // (`__toESM(require("./x.js"), 1)`): for our own chunks that rule is wrong (docs/decisions.md §19).
      const nodeInterop = /require\("(\.{1,2}\/[^"]+)"\)\s*,\s*1\s*\)/g;
      const offenders: string[] = [];
      for (const file of Object.keys(files)) {
        const text = readFileSync(join(BIN, file), "utf8");
        for (const match of text.matchAll(nodeInterop)) offenders.push(`${file} -> ${match[1]}`);
      }
      expect(offenders).toEqual([]);
    });

    it("declares every package it imports as a dependency (the packed package installs it)", () => {
      const packages = new Set<string>();
      for (const file of Object.values(files)) for (const path of [...file.imports, ...file.dynamicImports]) if (!path.startsWith("chunks/") && !path.startsWith("node:")) packages.add(path);
      const declared = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
      for (const name of packages) {
        const pkg = name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0]!;
        expect({ name, declared: declared.includes(pkg) }).toEqual({ name, declared: true });
      }
    });
  });
});
