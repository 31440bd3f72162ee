import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../helpers/cli.js";
import { VALID_TEMPLATE } from "../helpers/templates.js";

/**
 * A build makes an AMI, then records it: a registry it could not write is
 * found before anything is launched (exit 2, no AWS call), not after the
 * image exists. Run as nobody, who meets the permission denied a user would
 * (root writes anywhere).
 */

const NOBODY = 65534;
const asUser = process.getuid?.() === 0 ? { uid: NOBODY } : {};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function project(): string {
  const { dir, cleanup } = scratchDir({ "templates/t.yml": VALID_TEMPLATE, "registry/amis.json": '{"version": "1.0", "last_updated": "2026-01-01T00:00:00Z", "templates": {}}\n' });
  cleanups.push(cleanup);
  chmodSync(dir, 0o755);
  return dir;
}

// No endpoint: any AWS call would fail with another message than the one expected.
const build = (dir: string, ...args: string[]) =>
  runCli(["ami", "build", "t", "--region", "us-east-1", "--architecture", "x86_64", ...args], {
    cwd: dir,
    ...asUser,
    env: { HOME: dir, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
  });

describe.skipIf(process.platform === "win32")("a registry the build could not write (built CLI)", () => {
  const cases: [string, (dir: string) => string, string][] = [
    ["a registry directory it may not write", (dir) => (chmodSync(join(dir, "registry"), 0o555), "registry/amis.json"), "registry: the registry's directory cannot be written: permission denied"],
    ["a new registry under a directory it may not write", (dir) => (chmodSync(join(dir, "registry"), 0o555), "registry/new/amis.json"), "registry: the registry's directory cannot be written: permission denied"],
    [
      "a link to a registry in a directory it may not write",
      (dir) => {
        mkdirSync(join(dir, "shared"), { mode: 0o555 });
        chmodSync(join(dir, "shared"), 0o777);
        writeFileSync(join(dir, "shared", "amis.json"), '{"version": "1.0", "last_updated": "2026-01-01T00:00:00Z", "templates": {}}\n');
        chmodSync(join(dir, "shared"), 0o555);
        chmodSync(join(dir, "registry"), 0o777);
        symlinkSync(join(dir, "shared", "amis.json"), join(dir, "registry", "linked.json"));
        return "registry/linked.json";
      },
      "shared: the registry's directory cannot be written: permission denied",
    ],
  ];
  it.each(cases)("%s: exit 2 before anything is launched, naming the directory and what to do", (_name, arrange, expected) => {
    const dir = project();
    const registry = arrange(dir);
    const before = readdirSync(join(dir, "registry")).sort();
    const result = build(dir, "--registry", registry);
    const [first, second] = result.stderr.split("\n");
    expect(first!.replace(dir + "/", "")).toBe(`error: ${expected}`);
    expect(second).toMatch(/→ the build records the AMI in .*: make that directory writable, pass --registry FILE, or --no-registry-update/);
    expect(result.stderr).not.toMatch(/AWS|credentials|\n\s+at /);
    expect(result.status).toBe(2);
    expect(readdirSync(join(dir, "registry")).sort()).toEqual(before);
  });

  it.each([
    ["a directory where the lock goes", (lock: string) => mkdirSync(lock), "registry/amis.json.lock: the registry lock is a directory, not a regular file"],
    ["a lock that is no lock cws writes", (lock: string) => writeFileSync(lock, "not a lock\n"), 'registry/amis.json.lock: the registry lock holds no lock record cws writes (it begins "not a lock")'],
  ])("%s: exit 2 before anything is launched, as the write after the build would fail", (_name, arrange, expected) => {
    const dir = project();
    chmodSync(join(dir, "registry"), 0o777);
    arrange(join(dir, "registry", "amis.json.lock"));
    const result = build(dir);
    expect(result.stderr.split("\n")[0]!.replace(dir + "/", "").replace("./", "")).toContain(`error: ${expected}`);
    expect(result.stderr).not.toMatch(/Checking credentials|\n\s+at /);
    expect(result.status).toBe(2);
  });

  it("a writable registry gets past the check (and reaches AWS, here an address where nothing listens)", () => {
    const dir = project();
    chmodSync(dir, 0o777); // for the build's logs
    chmodSync(join(dir, "registry"), 0o777);
    const result = build(dir);
    expect(result.stderr).not.toContain("cannot be written");
    expect(result.stderr).toContain("Checking credentials");
    expect(result.status).not.toBe(0);
  });
});
