// Bundle the CLI and the library into dist/ with esbuild.
//
// Why a bundle and not plain tsc output: start-up time. Resolving and loading
// zod, yaml and commander as hundreds of separate ES modules costs more than
// Node's own start-up; one bundled file per entry point halves `cws ami lint`.
// The AWS SDK stays external and is only imported (lazily, through dynamic
// import) by the commands that call AWS. Types come from `tsc --emitDeclarationOnly`.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const COMMAND_TABLE = fileURLToPath(new URL("../src/cli/command-table.ts", import.meta.url));
const COMMAND_SPEC = fileURLToPath(new URL("../src/cli/command-spec.ts", import.meta.url));
const FAST_PROGRAM = fileURLToPath(new URL("../src/cli/fast-program.ts", import.meta.url));

// The lint cache is only valid for the linter that wrote it: key it by a hash of the
// sources that decide what lint reports (src/template, plus the package version).
async function lintBuildId() {
  const hash = createHash("sha256");
  const dir = new URL("../src/template/", import.meta.url);
  for (const name of (await readdir(dir)).sort()) hash.update(name).update(await readFile(new URL(name, dir)));
  hash.update(await readFile(new URL("../package.json", import.meta.url)));
  return hash.digest("hex").slice(0, 16);
}

/**
 * commander requires node:child_process at load time (~3 ms: it pulls in net,
 * dgram and more) but only uses it for executable subcommands, which cws has
 * none of. Give commander a stand-in that loads the real module on first use.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/commander/`) ? { path: "lazy-child-process", namespace: "cws-lazy" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "cws-lazy" }, () => ({
      contents: 'let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require("node:child_process"))[key] });',
      loader: "js",
    }));
  },
};

/**
 * The command table (src/cli/command-table.ts), evaluated here: which commands
 * have a program of their own, and the module that implements each. The table
 * is bundled on its own with every `import()` of an implementation replaced by
 * the implementation's path, so that calling an entry's `load()` returns where
 * its implementation is instead of loading it.
 */
async function readFastPrograms() {
  const implementationPaths = {
    name: "implementation-paths",
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== "dynamic-import" || args.importer !== COMMAND_TABLE || args.pluginData === "resolving") return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "resolving" });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path, namespace: "implementation-path" };
      });
      b.onLoad({ filter: /.*/, namespace: "implementation-path" }, (args) => ({ contents: `export default ${JSON.stringify(args.path)};`, loader: "js" }));
    },
  };
  const { outputFiles } = await build({
    stdin: { contents: `export { COMMAND_TABLE } from ${JSON.stringify(COMMAND_TABLE)}; export { fastPrograms } from ${JSON.stringify(COMMAND_SPEC)};`, loader: "js", resolveDir: "." },
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    plugins: [implementationPaths],
    logLevel: "warning",
  });
  const table = await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString("base64")}`);
  return Promise.all(
    table.fastPrograms(table.COMMAND_TABLE).map(async ({ words, name, spec }) => ({ words, name, command: spec.name, implementation: (await spec.load()).default })),
  );
}

/**
 * The entry of a fast program, written here rather than kept as a file per
 * program: src/cli/fast-program.ts given the command's implementation,
 * imported statically so that it is bundled into the entry file rather than
 * into a chunk of its own.
 */
function fastProgramEntry({ command, implementation }) {
  return {
    name: "fast-program-entry",
    setup(b) {
      b.onResolve({ filter: /^fast-program:/ }, (args) => ({ path: args.path, namespace: "fast-program" }));
      b.onLoad({ filter: /.*/, namespace: "fast-program" }, () => ({
        contents: [
          `import * as implementation from ${JSON.stringify(implementation)};`,
          `import { runFastProgram } from ${JSON.stringify(FAST_PROGRAM)};`,
          `export function run() { return runFastProgram(${JSON.stringify(command)}, implementation); }`,
        ].join("\n"),
        loader: "js",
        resolveDir: dirname(FAST_PROGRAM),
      }));
    },
  };
}

/**
 * A fast program carries one command. The table's `import()`s of the
 * implementations (the other commands', and its own, which the entry passes in
 * already loaded) resolve to an empty module, so that no other command's code
 * is part of the program.
 */
const notInThisProgram = {
  name: "not-in-this-program",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" && args.importer === COMMAND_TABLE ? { path: "not-in-this-program", namespace: "not-in-this-program" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "not-in-this-program" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

const packageJson = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
const define = { __CWS_LINT_BUILD__: JSON.stringify(await lintBuildId()), __CWS_VERSION__: JSON.stringify(packageJson.version) };

const shared = {
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: true,
  packages: "bundle",
  external: ["@aws-sdk/*", "@smithy/*"],
  minify: process.env.CWS_NO_MINIFY !== "1",
  // Even unminified: folding the defines' `typeof` tests drops the code that stands
  // in for them when the sources run unbundled (src/cli/version.ts reads package.json).
  minifySyntax: true,
  plugins: [lazyChildProcess],
  define,
  logLevel: "warning",
};

/** The library (dist/index.js): an ES module, as package.json's "exports" says. */
function library() {
  return build({
    ...shared,
    entryPoints: { index: "src/index.ts" },
    outdir: "dist",
    splitting: true,
    format: "esm",
    chunkNames: "chunks/[name]-[hash]",
    // commander is CommonJS; its require() calls of node built-ins need a real require in an ES module.
    banner: { js: 'import { createRequire as __cwsCreateRequire } from "node:module"; const require = __cwsCreateRequire(import.meta.url);' },
  });
}

/**
 * A CLI program under dist/bin/ (bin/cws.js loads it): split into chunks by
 * esbuild as ES modules, then each chunk turned into a CommonJS file. esbuild
 * cannot split CommonJS output itself; CommonJS because Node loads it
 * synchronously, without the ES module loader (which alone costs ~5 ms of
 * start-up, and ~0.5 ms per chunk against ~0.2 ms). dist/bin/package.json
 * says "commonjs"; the rest of the package stays ESM. Dynamic import()s
 * become require()s, so a lazily loaded chunk is still only loaded when needed.
 *
 * The staging folder gets an empty package.json of its own, so that the second
 * pass does not see its inputs as Node ES modules (the package's "type":
 * "module"). Otherwise esbuild applies Node's rule for an ES module importing
 * CommonJS to every chunk it converts: `default` becomes the whole
 * module.exports, and `const { default: ora } = await import("ora")` gets an
 * object instead of a function (docs/decisions.md §19). Without it, esbuild
 * honours the `__esModule` mark its own chunks carry, and every import reads
 * the chunk's exports exactly as the ES module did.
 *
 * Returns what the first pass says of every file (its exports and its imports):
 * dist/bin/manifest.json keeps it for the test that loads every chunk of every
 * program (test/artifact/programs.test.ts).
 */
async function program(entryPoints, name, plugins = []) {
  const staging = `dist/.staging-${name}`;
  const { metafile } = await build({
    ...shared,
    plugins: [...shared.plugins, ...plugins],
    entryPoints,
    outdir: staging,
    splitting: true,
    format: "esm",
    chunkNames: `chunks/${name}/[name]-[hash]`,
    metafile: true,
  });
  await writeFile(`${staging}/package.json`, "{}\n");
  const files = Object.keys(metafile.outputs).filter((path) => path.endsWith(".js"));
  await build({
    ...shared,
    entryPoints: files,
    outbase: staging,
    outdir: "dist/bin",
    format: "cjs",
    // Chunks import each other by relative path: keep those imports, as require()s.
    plugins: [{ name: "chunks-external", setup: (b) => b.onResolve({ filter: /^\.\.?\// }, (args) => (args.kind === "entry-point" ? undefined : { path: args.path, external: true })) }],
    supported: { "dynamic-import": false },
  });
  await rm(staging, { recursive: true, force: true });
  const relative = (path) => path.slice(staging.length + 1);
  const target = (i) => (i.external ? i.path : relative(i.path));
  return Object.fromEntries(
    files.map((path) => {
      const { exports, imports } = metafile.outputs[path];
      return [
        relative(path),
        {
          exports: [...exports].sort(),
          imports: imports.filter((i) => i.kind === "import-statement").map(target),
          dynamicImports: imports.filter((i) => i.kind === "dynamic-import").map(target),
        },
      ];
    }),
  );
}

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
// The commands that have a program of their own (`cws ami lint`, `cws ami list`): built
// separately, each loads a handful of files on its everyday path, instead of the dozen
// small chunks it would share with other commands in the full CLI. A process only ever
// loads files of one program, so no module exists twice in it.
const fast = await readFastPrograms();
const [, ...built] = await Promise.all([
  library(),
  // The full CLI.
  program({ main: "src/cli/main.ts" }, "main"),
  ...fast.map((p) => program({ [p.name]: `fast-program:${p.command}` }, p.name, [fastProgramEntry(p), notInThisProgram])),
]);
const names = ["main", ...fast.map((p) => p.name)];
await writeFile(new URL("../dist/bin/package.json", import.meta.url), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
await writeFile(new URL("../dist/bin/manifest.json", import.meta.url), `${JSON.stringify(Object.fromEntries(names.map((name, i) => [name, built[i]])))}\n`);
// What bin/cws.js reads to pick a program: the first two words of a command line, to the program's name.
await writeFile(new URL("../dist/bin/routes.json", import.meta.url), `${JSON.stringify(Object.fromEntries(fast.map((p) => [p.words.join(" "), p.name])))}\n`);
