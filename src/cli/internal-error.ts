import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve, sep } from "node:path";

/**
 * A bug's stack trace as the sources say it: every frame in a bundled file
 * (dist/…/x.js, with x.js.map beside it) is translated to the TypeScript
 * file and line it was built from, relative to the package
 * (`src/output/build-reporter.ts:35:27`), instead of a position in minified
 * code. The maps are only read here, after something went wrong: enabling
 * Node's own source-map support (--enable-source-maps) would parse them on
 * every start-up. Frames that cannot be mapped are kept as they are.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (file: string): SourceMap | undefined => {
    if (!maps.has(file)) {
      let map: SourceMap | undefined;
      try {
        if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
      } catch {
        // An unreadable map leaves the frame as it is.
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  return stack
    .split("\n")
    .map((line) =>
      line.replace(/(\(|at )((?:file:\/\/)?\/[^():]+\.js):(\d+):(\d+)/, (whole, before: string, path: string, lineText: string, columnText: string) => {
        const file = path.replace(/^file:\/\//, "");
        const map = mapOf(file);
        const entry = map?.findEntry(Number(lineText) - 1, Number(columnText) - 1);
        if (!entry || !("originalSource" in entry) || !entry.originalSource) return whole;
        return `${before}${packageRelative(file, entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
      }),
    )
    .join("\n");
}

/** `../../../../src/x.ts` as seen from dist/bin/chunks/main/y.js → `src/x.ts` (the package's root is the folder holding dist/). */
function packageRelative(bundle: string, source: string): string {
  const absolute = resolve(dirname(bundle), source.replace(/^file:\/\//, ""));
  const at = bundle.lastIndexOf(`${sep}dist${sep}`);
  return at < 0 ? absolute : relative(bundle.slice(0, at), absolute);
}
