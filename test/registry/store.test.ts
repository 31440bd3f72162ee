import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CwsError } from "../../src/errors.js";
import { processProbe } from "../../src/process-probe.js";
import { emptyRegistry, HISTORY_LIMIT } from "../../src/registry/schema.js";
import { parseRegistry, readRegistry, recordAmi, serializeRegistry, updateRegistryFile } from "../../src/registry/store.js";
import { ROOT, scratchDir } from "../helpers/cli.js";
import { record, registryWith, TEMPLATE_META } from "./fixtures.js";

describe("registry serialization", () => {
  it("is deterministic: same content, byte-identical output, whatever the insertion order", () => {
    const a = registryWith({ t1: { "us-west-2": { x86_64: record("ami-00000002", "2026-01-02T00:00:00Z") }, "us-east-1": { arm64: record("ami-00000001", "2026-01-01T00:00:00Z") } } });
    const b = JSON.parse(JSON.stringify(a));
    // Same data, keys inserted in another order.
    b.templates.t1.amis = { "us-east-1": a.templates.t1!.amis["us-east-1"], "us-west-2": a.templates.t1!.amis["us-west-2"] };
    const text = serializeRegistry(a);
    expect(serializeRegistry(b)).toBe(text);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).toContain('\n  "version": "1.0",\n  "last_updated"');
    expect(text.indexOf('"us-east-1"')).toBeLessThan(text.indexOf('"us-west-2"'));
    // The design doc's field order inside an entry.
    expect(text).toMatch(/"ami_id": "ami-00000001",\n\s+"created": "[^"]+",\n\s+"validated": true,\n\s+"size_gb": 8/);
  });

  it("turns a one-AMI change into a few-line diff", () => {
    const registry = registryWith({ t1: { "us-east-1": { x86_64: record("ami-00000001", "2026-01-01T00:00:00Z") } }, t2: { "us-east-1": { x86_64: record("ami-00000009", "2026-01-01T00:00:00Z") } } });
    const before = serializeRegistry(registry).split("\n");
    recordAmi(registry, "t2", TEMPLATE_META, "us-east-1", "x86_64", record("ami-00000010", "2026-02-01T00:00:00Z"));
    const after = serializeRegistry(registry).split("\n");
    // Lines added and removed, as a line diff counts them (multiset difference).
    const remaining = new Map<string, number>();
    for (const line of before) remaining.set(line, (remaining.get(line) ?? 0) + 1);
    let added = 0;
    for (const line of after) {
      const left = remaining.get(line) ?? 0;
      if (left > 0) remaining.set(line, left - 1);
      else added++;
    }
    const removed = [...remaining.values()].reduce((a, b) => a + b, 0);
    // ami_id and created change; the old AMI moves into a new history block.
    expect(added + removed).toBeLessThanOrEqual(16);
    expect(added + removed).toBeGreaterThan(0);
  });
});

describe("recordAmi", () => {
  it("moves the previous AMI into a bounded history, newest first", () => {
    const registry = emptyRegistry(new Date());
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) {
      recordAmi(registry, "t", TEMPLATE_META, "us-east-1", "x86_64", record(`ami-${String(i).padStart(8, "0")}`, `2026-01-${String(i + 1).padStart(2, "0")}T00:00:00Z`));
    }
    const entry = registry.templates.t!.amis["us-east-1"]!.x86_64!;
    expect(entry.ami_id).toBe(`ami-${String(HISTORY_LIMIT + 4).padStart(8, "0")}`);
    expect(entry.history).toHaveLength(HISTORY_LIMIT);
    expect(entry.history![0]!.ami_id).toBe(`ami-${String(HISTORY_LIMIT + 3).padStart(8, "0")}`);
    expect(entry.history!.every((h) => !("history" in h))).toBe(true);
  });

  it("recording the current AMI again changes nothing", () => {
    const registry = emptyRegistry(new Date());
    recordAmi(registry, "t", TEMPLATE_META, "us-east-1", "x86_64", record("ami-00000001", "2026-01-01T00:00:00Z"));
    const before = serializeRegistry(registry);
    recordAmi(registry, "t", TEMPLATE_META, "us-east-1", "x86_64", record("ami-00000001", "2026-01-01T00:00:00Z"));
    expect(serializeRegistry(registry)).toBe(before);
  });
});

describe("the registry file", () => {
  it("reports a corrupt file with file:line:col, exit 2, and never overwrites it", async () => {
    const corrupt = '{\n  "version": "1.0",\n  "templates": {\n<<<<<<< HEAD\n';
    const { dir, cleanup } = scratchDir({ "amis.json": corrupt });
    try {
      const file = join(dir, "amis.json");
      const error = (await readRegistry(file).catch((e: unknown) => e)) as CwsError;
      expect(error).toBeInstanceOf(CwsError);
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(new RegExp(`^${file.replace(/[/.]/g, "\\$&")}:4:1 the registry is not valid JSON`));
      await expect(updateRegistryFile(file, new Date(), () => {})).rejects.toThrow("not valid JSON");
      expect(readFileSync(file, "utf8")).toBe(corrupt);
    } finally {
      cleanup();
    }
  });

  it("reports a schema problem at the offending value", async () => {
    const text = JSON.stringify(registryWith({ t: { "us-east-1": { x86_64: { ...record("ami-00000001", "2026-01-01T00:00:00Z"), validated: "yes" as never } } } }), null, 2);
    const error = (await parseRegistry(text, "registry/amis.json").catch((e: unknown) => e)) as CwsError;
    const line = text.split("\n").findIndex((l) => l.includes('"validated": "yes"')) + 1;
    expect(error.message).toContain(`registry/amis.json:${line}:`);
    expect(error.message).toContain("templates.t.amis.us-east-1.x86_64.validated");
  });

  it("creates a missing registry", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "registry", "amis.json");
      await updateRegistryFile(file, new Date("2026-03-01T00:00:00Z"), (r) => recordAmi(r, "t", TEMPLATE_META, "us-east-1", "arm64", record("ami-00000001", "2026-03-01T00:00:00Z")));
      const saved = JSON.parse(readFileSync(file, "utf8"));
      expect(saved.last_updated).toBe("2026-03-01T00:00:00Z");
      expect(saved.templates.t.amis["us-east-1"].arm64.ami_id).toBe("ami-00000001");
    } finally {
      cleanup();
    }
  });
});

/** A child process that updates the registry through the built library, as another cws would. */
function child(script: string, env: Record<string, string>) {
  return spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

describe("concurrent and interrupted writers", () => {
  it("ten processes updating different entries at once lose nothing", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      const script = `
        import { updateRegistryFile, recordAmi } from "./dist/index.js";
        const i = Number(process.env.N);
        await updateRegistryFile(process.env.FILE, new Date(), (r) =>
          recordAmi(r, "t" + (i % 3), { description: "d", ports: [22] }, "us-east-1", i % 2 ? "arm64" : "x86_64",
            { ami_id: "ami-" + String(i).padStart(8, "0"), created: "2026-01-01T00:00:0" + i + "Z", validated: true, size_gb: 8 }));`;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, n) => new Promise<number>((resolve) => child(script, { N: String(n), FILE: file }).on("close", (code) => resolve(code ?? -1)))),
      );
      expect(results).toEqual(Array(10).fill(0));
      const saved = (await readRegistry(file))!;
      const ids = Object.values(saved.templates).flatMap((t) =>
        Object.values(t.amis).flatMap((archs) => Object.values(archs ?? {}).flatMap((e) => [e!.ami_id, ...(e!.history ?? []).map((h) => h.ami_id)])),
      );
      expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ami-${String(i).padStart(8, "0")}`));
    } finally {
      cleanup();
    }
  });

  it("a writer killed with SIGKILL while it holds the lock: the next writer takes the lock over at once, and says whose it was", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      const script = `
        import { updateRegistryFile, processProbe } from "./dist/index.js";
        await updateRegistryFile(process.env.FILE, new Date(), async () => {
          console.log("holding");
          await new Promise(() => {});
        }, { processes: processProbe(process, "the killed writer") });`;
      const writer = child(script, { FILE: file });
      await new Promise<void>((resolve) => writer.stdout!.once("data", () => resolve()));
      writer.kill("SIGKILL");
      await new Promise((resolve) => writer.once("close", resolve));
      const said: string[] = [];
      const started = Date.now();
      await updateRegistryFile(file, new Date("2026-03-01T00:00:00Z"), (r) => recordAmi(r, "t", TEMPLATE_META, "us-east-1", "arm64", record("ami-00000001", "2026-03-01T00:00:00Z")), {
        processes: processProbe(process),
        onWait: (message) => said.push(message),
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(said).toEqual([expect.stringContaining(`took over the registry lock of pid ${writer.pid} (the killed writer) since`)]);
      expect((await readRegistry(file))!.templates.t!.amis["us-east-1"]!.arm64!.ami_id).toBe("ami-00000001");
    } finally {
      cleanup();
    }
  });

  it("a writer killed with SIGKILL mid-write leaves the old or the new file, never a truncated one", async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, "amis.json");
      const script = `
        import { updateRegistryFile, recordAmi } from "./dist/index.js";
        for (let i = 0; ; i++) {
          await updateRegistryFile(process.env.FILE, new Date(), (r) => {
            for (let t = 0; t < 200; t++) recordAmi(r, "template-" + t, { description: "x".repeat(200), ports: [22] }, "us-east-1", "x86_64",
              { ami_id: "ami-" + (i * 1000 + t).toString(16).padStart(8, "0"), created: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace(/\\.\\d{3}Z$/, "Z"), validated: true, size_gb: 8 });
          });
          if (i === 2) console.log("writing");
        }`;
      for (let round = 0; round < 4; round++) {
        const writer = child(script, { FILE: file });
        await new Promise<void>((resolve) => writer.stdout!.once("data", () => resolve()));
        await new Promise((resolve) => setTimeout(resolve, 20 + round * 37));
        writer.kill("SIGKILL");
        await new Promise((resolve) => writer.once("close", resolve));
        const text = readFileSync(file, "utf8");
        const parsed = await parseRegistry(text, file);
        expect(Object.keys(parsed.templates)).toHaveLength(200);
        // A killed writer leaves its lock; the staleness rule would take it over after two minutes.
        rmSync(`${file}.lock`, { force: true });
      }
    } finally {
      cleanup();
    }
  });
});
