// Bundle the CLI and the library into dist/ with esbuild.
//
// Why a bundle and not plain tsc output: start-up time. Resolving and loading
// zod, yaml and commander as hundreds of separate ES modules costs more than
// Node's own start-up; one bundled file per entry point halves `cws ami lint`.
// The AWS SDK stays external and is only imported (lazily, through dynamic
// import) by the commands that call AWS. Types come from `tsc --emitDeclarationOnly`.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";

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

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { "cli/main": "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  packages: "bundle",
  external: ["@aws-sdk/*", "@smithy/*"],
  chunkNames: "chunks/[name]-[hash]",
  // commander is CommonJS; its require() calls of node built-ins need a real require in an ES module.
  banner: { js: 'import { createRequire as __cwsCreateRequire } from "node:module"; const require = __cwsCreateRequire(import.meta.url);' },
  minify: process.env.CWS_NO_MINIFY !== "1",
  plugins: [lazyChildProcess],
  define: { __CWS_LINT_BUILD__: JSON.stringify(await lintBuildId()) },
  logLevel: "warning",
});
