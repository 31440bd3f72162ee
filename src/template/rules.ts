import { ARCHITECTURES } from "./schema.js";
import type { Problem } from "./problems.js";

export type Path = readonly PropertyKey[];
/** Where a path is in the file; `exact` is false when the path does not exist and its nearest ancestor is given. */
export type Locate = (path: Path, onKey?: boolean) => { line: number; column: number; exact: boolean };
export type At = (line: number, column: number, path: Path, message: string, suggestion?: string) => Problem;

export function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment as string];
  }
  return value;
}

/**
 * Rules across fields, checked on the raw data so they are reported even when
 * other fields are wrong.
 */
export function crossFieldProblems(raw: Record<string, unknown>, locate: Locate, at: At): Problem[] {
  const problems: Problem[] = [];
  const hasSetup = raw.setup_script !== undefined;
  const hasSteps = raw.build_steps !== undefined;
  if (hasSetup && hasSteps) {
    const where = locate(["build_steps"], true);
    problems.push(
      at(where.line, where.column, ["build_steps"], "use setup_script or build_steps, not both", "move setup_script into a build step, or drop build_steps"),
    );
  } else if (!hasSetup && !hasSteps) {
    const where = locate([]);
    problems.push(at(where.line, where.column, [], "a template needs setup_script or build_steps", "add a setup_script: | block with the commands that provision the image"));
  }
  if (!hasSetup && raw.setup_timeout_seconds !== undefined && hasSteps) {
    const where = locate(["setup_timeout_seconds"], true);
    problems.push(at(where.line, where.column, ["setup_timeout_seconds"], "setup_timeout_seconds applies to setup_script; with build_steps give each step its own timeout_seconds"));
  }

  const baseAmi = raw.base_ami;
  const listed = baseAmi !== null && typeof baseAmi === "object" ? (baseAmi as Record<string, unknown>).architecture : undefined;
  // Only when the architecture list itself is valid; otherwise its own error says enough.
  const archs =
    Array.isArray(listed) && listed.every((a) => (ARCHITECTURES as readonly unknown[]).includes(a)) ? (listed as string[]) : undefined;
  if (archs !== undefined) {
    for (const field of ["estimated_cost_per_hour", "instance_type"] as const) {
      const map = raw[field];
      if (map === null || typeof map !== "object" || Array.isArray(map)) continue;
      for (const key of Object.keys(map)) {
        if ((ARCHITECTURES as readonly string[]).includes(key) && !archs.includes(key)) {
          const where = locate([field, key], true);
          problems.push(
            at(
              where.line,
              where.column,
              [field, key],
              `${field} has an entry for ${key}, but base_ami.architecture builds only ${archs.join(", ") || "nothing"}`,
              `add ${key} to base_ami.architecture or remove this entry`,
            ),
          );
        }
      }
    }
  }

  const lists: [Path, string][] = [
    [["base_ami", "architecture"], "architecture"],
    [["regions"], "region"],
    [["ports"], "port"],
  ];
  for (const [listPath, label] of lists) {
    const list = valueAt(raw, listPath);
    if (!Array.isArray(list)) continue;
    for (const [index, first] of repeats(list, (item) => JSON.stringify(item))) {
      const where = locate([...listPath, index]);
      problems.push(at(where.line, where.column, [...listPath, index], duplicateMessage(label, list[index], first)));
    }
  }

  const tests = raw.validation_tests;
  if (Array.isArray(tests)) {
    tests.forEach((test: unknown, index) => {
      if (test === null || typeof test !== "object") return;
      const pattern = (test as Record<string, unknown>).expected_regex;
      if (typeof pattern === "string") {
        try {
          new RegExp(pattern);
        } catch (error) {
          const where = locate(["validation_tests", index, "expected_regex"]);
          problems.push(at(where.line, where.column, ["validation_tests", index, "expected_regex"], `not a valid regular expression: ${(error as Error).message}`));
        }
      }
    });
    problems.push(...duplicateNames(tests, "validation_tests", "test", locate, at));
  }
  const steps = raw.build_steps;
  if (Array.isArray(steps)) problems.push(...duplicateNames(steps, "build_steps", "step", locate, at));
  return problems;
}

/** [index, index of its first occurrence] for every item whose key was seen before; items without a key are skipped. */
function repeats(items: readonly unknown[], keyOf: (item: unknown) => string | undefined): [number, number][] {
  const seen = new Map<string, number>();
  const found: [number, number][] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else found.push([index, first]);
  });
  return found;
}

/** Validation tests and build steps are reported by name, so a name may appear once. */
function duplicateNames(items: readonly unknown[], field: string, label: string, locate: Locate, at: At): Problem[] {
  const nameOf = (item: unknown) => {
    const name = item !== null && typeof item === "object" ? (item as Record<string, unknown>).name : undefined;
    return typeof name === "string" ? name : undefined;
  };
  return repeats(items, nameOf).map(([index, first]) => {
    const where = locate([field, index, "name"]);
    return at(where.line, where.column, [field, index, "name"], `duplicate ${label} name "${nameOf(items[index])}" (also ${field}[${first}])`);
  });
}

export function duplicateMessage(label: string, item: unknown, firstIndex: number): string {
  return `duplicate ${label} ${JSON.stringify(item)} (already listed at index ${firstIndex})`;
}

