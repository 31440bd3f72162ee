/**
 * The AWS API actions TypeScript sources call, read from their text: one
 * reading for every test that must follow the calls (the IAM policy grants
 * exactly them, test/aws/policy.test.ts; the emulator answers exactly them,
 * test/aws/emulator-actions.test.ts).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

/** IAM service prefix of each SDK client package the source may import. */
const SERVICE_OF_PACKAGE: Record<string, string> = {
  "@aws-sdk/client-ec2": "ec2",
  "@aws-sdk/client-ssm": "ssm",
  "@aws-sdk/client-sts": "sts",
  "@aws-sdk/client-iam": "iam",
};

export interface ApiUse {
  action: string;
  file: string;
}

/**
 * The IAM actions a TypeScript source calls: each `new XxxCommand(` or
 * `paginateXxx(` whose identifier is imported from an SDK client package.
 */
export function actionsUsedIn(source: string, file: string): { uses: ApiUse[]; unresolved: string[] } {
  const importedFrom = new Map<string, string>();
  for (const match of source.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+["']([^"']+)["']/g)) {
    const [, typeOnly, names = "", pkg = ""] = match;
    const service = SERVICE_OF_PACKAGE[pkg];
    if (service === undefined || typeOnly) continue;
    for (const part of names.split(",")) {
      const spec = part.trim();
      if (spec === "" || spec.startsWith("type ")) continue;
      const [imported = "", local = imported] = spec.split(/\s+as\s+/).map((s) => s.trim());
      importedFrom.set(local, `${service}:${imported}`);
    }
  }
  const usesSdk = /from\s+["']@aws-sdk\//.test(source);
  const uses: ApiUse[] = [];
  const unresolved: string[] = [];
  const calls = [...source.matchAll(/\bnew\s+([A-Za-z0-9_$]+)\s*\(/g), ...source.matchAll(/\b(paginate[A-Z][A-Za-z0-9]*)\s*\(/g)];
  for (const [, local = ""] of calls) {
    const resolved = importedFrom.get(local);
    if (resolved === undefined) {
      // In a file that talks to the SDK, an operation-looking class from elsewhere
      // (a re-export, a new client package) would escape this check: report it.
      if (usesSdk && (/.Command$/.test(local) || local.startsWith("paginate"))) unresolved.push(`${file}: ${local}`);
      continue;
    }
    const [service, imported = ""] = resolved.split(":");
    const operation = imported.startsWith("paginate") ? imported.slice("paginate".length) : imported.replace(/Command$/, "");
    if (operation === imported) continue; // a client or exception class, not an operation
    uses.push({ action: `${service}:${operation}`, file });
  }
  return { uses, unresolved };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.isFile() && entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every call in the .ts files under `dir`, each file named relative to `root`. */
export function sdkCallsUnder(dir: string, root: string): { uses: ApiUse[]; unresolved: string[] } {
  const scanned = sourceFiles(dir).map((file) => actionsUsedIn(readFileSync(file, "utf8"), relative(root, file)));
  return { uses: scanned.flatMap((s) => s.uses), unresolved: scanned.flatMap((s) => s.unresolved) };
}
