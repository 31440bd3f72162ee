import { readFileSync } from "node:fs";

/** package.json's version, written into the bundle by scripts/build.mjs (esbuild `define`). */
declare const __CWS_VERSION__: string | undefined;

/**
 * The version `cws -V` prints. package.json is the only place it is written:
 * the build copies it in, and the sources run as they are (vitest, tsx), with
 * no build to copy it, read package.json instead.
 */
export const VERSION: string = typeof __CWS_VERSION__ === "string" ? __CWS_VERSION__ : versionInPackageJson();

function versionInPackageJson(): string {
  const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return packageJson.version;
}
