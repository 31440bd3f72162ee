import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { preferredScratchDir, startEmulator, type Emulator, type EmulatorOptions } from "@cws/aws-emulator";
import { ROOT, runCliAsync, scratchDir, type CliResult } from "../helpers/cli.js";

export const FIXTURE_TEMPLATES = join(ROOT, "test", "fixtures", "templates");
/** build-all's fleet: three templates (one built on another), two architectures, four regions. */
export const FLEET_TEMPLATES = join(ROOT, "test", "fixtures", "fleet-templates");

/**
 * One emulator and one scratch project directory (with a copy of the test
 * templates) per test, and a way to run `cws` against them as a user would.
 */
export interface Harness {
  emulator: Emulator;
  dir: string;
  /** The environment a user would set to point cws at the emulator. */
  env: Record<string, string>;
  cws(args: string[], options?: { env?: Record<string, string | undefined>; onStderr?: (text: string, child: import("node:child_process").ChildProcess) => void; timeoutMs?: number }): Promise<CliResult>;
  registry(): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

/** `templates`: the fixture directory copied to the project's templates/ (default: test/fixtures/templates). */
export async function startHarness(options: EmulatorOptions = {}, project: { templates?: string } = {}): Promise<Harness> {
  // Instance trees in memory (/dev/shm) when possible: copying /etc per instance is ~20x faster there.
  const scratch = preferredScratchDir();
  const emulator = await startEmulator({ msPerSimSecond: 2, ...(scratch ? { scratchDir: scratch } : {}), ...options });
  const { dir, cleanup } = scratchDir();
  cpSync(project.templates ?? FIXTURE_TEMPLATES, join(dir, "templates"), { recursive: true });
  const env = {
    AWS_ENDPOINT_URL: emulator.url,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    CWS_POLL_INTERVAL_MS: "20",
  };
  return {
    emulator,
    dir,
    env,
    cws: (args, runOptions = {}) =>
      runCliAsync(args, {
        cwd: dir,
        env: { ...env, ...runOptions.env },
        ...(runOptions.onStderr ? { onStderr: runOptions.onStderr } : {}),
        timeoutMs: runOptions.timeoutMs ?? 90_000,
      }),
    registry: () => {
      const file = join(dir, "registry", "amis.json");
      return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : undefined;
    },
    close: async () => {
      await emulator.stop();
      cleanup();
    },
  };
}

/** What a build may leave behind in a region: nothing running, no build security group, no half-made image. */
export function leftovers(emulator: Emulator, region = "us-east-1") {
  return {
    liveInstances: emulator.instances(region).filter((i) => i.state !== "terminated").map((i) => `${i.id} ${i.state}`),
    buildSecurityGroups: emulator.securityGroups(region).filter((g) => g.tags["cws:managed-by"] === "cws").map((g) => g.id),
    images: emulator.images(region).filter((i) => i.tags["cws:managed-by"] === "cws"),
    snapshots: emulator.snapshots(region).filter((s) => s.tags["cws:managed-by"] === "cws"),
  };
}

/** The build ids with an owner file in the project (`.cws/builds/<build-id>.json`): the builds recorded as running, for cws ami reap. */
export function buildOwnerIds(h: Pick<Harness, "dir">): string[] {
  const dir = join(h.dir, ".cws", "builds");
  return existsSync(dir) ? readdirSync(dir).map((name) => name.replace(/\.json$/, "")) : [];
}

/**
 * A template built on emu-basic (`base_ami: { template: emu-basic }`): its
 * validation reads the marker emu-basic's setup wrote, so it passes only on an
 * image of emu-basic whose marker is `parentMarker`.
 */
export function emuChildTemplate(parentMarker: string): string {
  return `name: "Emulator child"
description: "Builds on emu-basic's image"
version: "1.0.0"
base_ami:
  template: emu-basic
  architecture: [x86_64]
regions: [us-east-1]
setup_script: |
  #!/bin/bash
  set -euo pipefail
  echo "child on $(cat /opt/cws-test/marker)" > /opt/cws-test/child
validation_tests:
  - name: "built on emu-basic's image"
    command: "cat /opt/cws-test/child"
    expected: "child on ${parentMarker}"
`;
}
