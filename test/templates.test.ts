import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runLint } from "../src/template/check.js";
import { ROOT } from "./helpers/cli.js";

const TEMPLATES_DIR = join(ROOT, "templates");
const SHIPPED = ["basic-ubuntu", "bioinformatics", "ml-research", "python-research", "r-research", "scientific-computing"];

describe("shipped templates", () => {
  it("include the five the design names", () => {
    const ids = readdirSync(TEMPLATES_DIR)
      .filter((name) => name.endsWith(".yml"))
      .map((name) => name.replace(/\.yml$/, ""));
    expect(ids).toEqual(expect.arrayContaining(SHIPPED));
  });

  it("lint clean with --strict", async () => {
    const report = await runLint(TEMPLATES_DIR, [], { strict: true });
    expect(report.problems).toEqual([]);
    expect(report.exitCode).toBe(0);
  });

  it.each(SHIPPED)("%s points editors at the JSON Schema and bakes in no password", (id) => {
    const text = readFileSync(join(TEMPLATES_DIR, `${id}.yml`), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=../schemas/template.schema.json");
    expect(text).not.toMatch(/chpasswd|--password|cloudworkstation"? *\|/);
    expect(text).toMatch(/first boot|first-boot|firstboot/i);
  });

  // A template built on another boots its build instance from the parent's image, where the parent's
  // first-boot unit then runs: whatever it makes for that instance must not reach the child's image.
  it.each(SHIPPED.filter((id) => parentOf(id) !== undefined))("%s undoes its parent's first boot on the build instance", (id) => {
    const parent = parentOf(id)!;
    expect(SHIPPED).toContain(parent);
    if (!/systemctl enable [^\n]*cws-firstboot\.service/.test(shellOf(parent))) return;
    const script = shellOf(id);
    const made = [...shellOf(parent).matchAll(/(\/(?:etc|var\/lib)\/cws\/[\w.-]+)/g)].map((m) => m[1]!).filter((path) => !path.includes(".XXXXXX"));
    expect(made.length).toBeGreaterThan(0);
    for (const file of new Set(made)) expect(script, `${id} must remove ${file}`).toContain(file);
    expect(script).toMatch(/systemctl enable cws-firstboot\.service/);
    const tests = (parse(readFileSync(join(TEMPLATES_DIR, `${id}.yml`), "utf8")) as { validation_tests: { command: string }[] }).validation_tests;
    expect(tests.some((t) => t.command.includes("test ! -e /var/lib/cws/firstboot.done"))).toBe(true);
  });

  describe.each(SHIPPED)("%s's services", (id) => {
    const script = shellOf(id);
    const units = unitsIn(script);

    it("show this test the units it starts", () => {
      // python-research and r-research each write units; if the pattern stops finding them, the checks below check nothing.
      if (id === "python-research") expect(units.map((unit) => unit.path)).toContain("/etc/systemd/system/jupyterlab.service");
      if (id === "r-research") expect(units.map((unit) => unit.path)).toContain("/etc/systemd/system/cws-firstboot.service");
    });

    it("listen on loopback only (no address that means every interface)", () => {
      // Every way the shipped services name an address to listen on.
      const binds = [...script.matchAll(/(?:--ip|--ServerApp\.ip|www-address|--bind|--host|listen_address)[= ]+(\S+)/g)].map((m) => m[1]);
      for (const address of binds) expect(address, `${id} listens on ${address}`).toMatch(/^(127\.0\.0\.1|localhost|::1)\b/);
      expect(script).not.toMatch(/\b0\.0\.0\.0\b|\[::\]/);
    });

    it.each(units.map((unit) => [unit.path, unit.body] as const))("%s cannot start without its files or restart forever", (path, body) => {
      const settings = unitSettings(body);
      for (const file of settings.get("EnvironmentFile") ?? []) {
        // "-/path" tolerates a missing file; otherwise the unit must not even try without it.
        if (!file.startsWith("-")) expect(settings.get("ConditionPathExists") ?? [], `${path} needs ${file}`).toContain(file);
      }
      if (settings.has("Restart") && settings.get("Restart")?.[0] !== "no") {
        // systemd's default limit (5 starts in 10 s) never trips with RestartSec=5: set one that does.
        const restartSec = Number(settings.get("RestartSec")?.[0] ?? "0.1");
        const interval = Number(settings.get("StartLimitIntervalSec")?.[0] ?? "10");
        const burst = Number(settings.get("StartLimitBurst")?.[0] ?? "5");
        expect(burst * restartSec, `${path} restarts forever`).toBeLessThan(interval);
      }
    });
  });
});

/** The template a shipped template is built on, if any. */
function parentOf(id: string): string | undefined {
  return (parse(readFileSync(join(TEMPLATES_DIR, `${id}.yml`), "utf8")) as { base_ami: { template?: string } }).base_ami.template;
}

/** The shell a template runs: its setup_script, or its build_steps' scripts. */
function shellOf(id: string): string {
  const doc = parse(readFileSync(join(TEMPLATES_DIR, `${id}.yml`), "utf8")) as {
    setup_script?: string;
    build_steps?: { script: string }[];
  };
  return doc.setup_script ?? (doc.build_steps ?? []).map((step) => step.script).join("\n");
}

/** systemd units a script writes with `cat > /etc/systemd/system/x.service <<'EOF'`. */
function unitsIn(script: string): { path: string; body: string }[] {
  return [...script.matchAll(/cat > (\/etc\/systemd\/system\/\S+) <<'?(\w+)'?\n([\s\S]*?)\n\2\n/g)].map((m) => ({ path: m[1]!, body: m[3]! }));
}

function unitSettings(body: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of body.split("\n")) {
    const m = /^(\w+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}
