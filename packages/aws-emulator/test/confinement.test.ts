import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { StopInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { clientsFor, launchOnline, run, sleep, startTestEmulator, waitFor, type Clients } from "./helpers.js";
import { INSTANCE_ENV, refusal } from "../src/sandbox.js";

let emu: Emulator;
let c: Clients;
let id: string;

/** Processes on this machine tagged with an instance id. */
function taggedPids(instanceId: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`${INSTANCE_ENV}=${instanceId}`)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** A fingerprint of a host directory's entries, sizes and mtimes (not following into subdirectories' contents). */
function listing(dir: string): string {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const st = statSync(path.join(dir, name), { throwIfNoEntry: false });
      return `${name}:${st?.size ?? "?"}:${st?.mtimeMs ?? "?"}`;
    })
    .join("\n");
}

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
  id = await launchOnline(c);
});
afterAll(async () => {
  await emu?.stop();
});

describe("scripts run confined to the instance", () => {
  it("writes to /etc, /var and /root land in the instance, never on the host", async () => {
    const tag = randomBytes(4).toString("hex");
    const files = [`/etc/cws-emu-${tag}`, `/var/lib/cws-emu-${tag}/x`, `/root/cws-emu-${tag}`, `/opt/cws-emu-${tag}`, `/usr/local/bin/cws-emu-${tag}`];
    for (const f of files) expect(existsSync(f)).toBe(false);
    const hostEtc = listing("/etc");
    const hostHostname = readFileSync("/etc/hostname", "utf8");

    const r = await run(c, id, [
      `echo foo > /etc/cws-emu-${tag}`,
      `mkdir -p /var/lib/cws-emu-${tag} && echo x > /var/lib/cws-emu-${tag}/x`,
      `echo y > /root/cws-emu-${tag}`,
      `echo o > /opt/cws-emu-${tag}`,
      `echo l > /usr/local/bin/cws-emu-${tag}`,
      "echo changed > /etc/hostname",
      "rm -f /etc/hosts",
    ]);
    expect(r.Status).toBe("Success");
    for (const f of files) expect(existsSync(f), f).toBe(false);
    expect(readFileSync("/etc/hostname", "utf8")).toBe(hostHostname);
    expect(existsSync("/etc/hosts")).toBe(true);
    expect(listing("/etc")).toBe(hostEtc);

    // ... but they are there for the instance, in later commands too.
    expect(await emu.instanceFile("us-east-1", id, `/etc/cws-emu-${tag}`)).toBe("foo\n");
    expect(await emu.instanceFile("us-east-1", id, `/var/lib/cws-emu-${tag}/x`)).toBe("x\n");
    expect(await emu.instanceFile("us-east-1", id, `/root/cws-emu-${tag}`)).toBe("y\n");
    const again = await run(c, id, [`cat /etc/cws-emu-${tag} /root/cws-emu-${tag}`, "test ! -e /etc/hosts && echo no-hosts"]);
    expect(again.StandardOutputContent).toBe("foo\ny\nno-hosts\n");
  });

  it("rm -f /etc/ssh/ssh_host_* removes the instance's host keys and leaves the host's alone", async () => {
    const hostSsh = existsSync("/etc/ssh") ? listing("/etc/ssh") : undefined;
    const r = await run(c, id, [
      "mkdir -p /etc/ssh",
      "for t in rsa ecdsa ed25519; do echo key > /etc/ssh/ssh_host_${t}_key; echo pub > /etc/ssh/ssh_host_${t}_key.pub; done",
      "ls /etc/ssh/ssh_host_* | wc -l",
      "rm -f /etc/ssh/ssh_host_*",
      "ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l",
    ]);
    expect(r.Status).toBe("Success");
    expect(r.StandardOutputContent).toBe("6\n0\n");
    expect(existsSync("/etc/ssh") ? listing("/etc/ssh") : undefined).toBe(hostSsh);
  });

  it("cannot write the host's other paths: they are read-only inside", async () => {
    const tag = randomBytes(4).toString("hex");
    const r = await run(c, id, [`touch /usr/share/cws-emu-${tag} 2>&1 || echo refused`, `mkdir /cws-emu-${tag} 2>&1 || echo refused`]);
    expect(r.Status).toBe("Success");
    expect(r.StandardOutputContent).toContain("Read-only file system");
    expect(r.StandardOutputContent?.match(/refused/g)).toHaveLength(2);
    expect(existsSync(`/usr/share/cws-emu-${tag}`)).toBe(false);
    expect(existsSync(`/cws-emu-${tag}`)).toBe(false);
  });

  it("sees a minimal /dev without the host's disks, and read-only /sys and /proc/sys", async () => {
    const r = await run(c, id, [
      "ls /dev | tr '\\n' ' '",
      "echo",
      "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo sysctl-written || echo sysctl-read-only",
      "echo x > /sys/kernel/uevent_helper 2>/dev/null && echo sys-written || echo sys-read-only",
      "head -c 8 /dev/urandom | wc -c",
    ]);
    expect(r.Status).toBe("Success");
    const [devs, sysctl, sys, random] = (r.StandardOutputContent ?? "").trim().split("\n");
    expect(devs?.trim().split(" ").sort()).toEqual(["fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]);
    expect(sysctl).toBe("sysctl-read-only");
    expect(sys).toBe("sys-read-only");
    expect(random).toBe("8");
  });

  it("stays confined when a script breaks the instance's /etc", async () => {
    const broken = await launchOnline(c);
    const tag = randomBytes(4).toString("hex");
    const first = await run(c, broken, ["rm -rf /etc/alternatives /etc/ld.so.cache"]);
    expect(first.Status).toBe("Success");
    const second = await run(c, broken, [`touch /usr/cws-emu-${tag} 2>/dev/null && echo wrote || echo read-only`]);
    expect(second.StandardOutputContent).toBe("read-only\n");
    expect(existsSync(`/usr/cws-emu-${tag}`)).toBe(false);
  });

  it("works with the scratch folder on disk under /tmp too (which its own /tmp then hides)", async () => {
    const disk = await startTestEmulator({ scratchDir: os.tmpdir() });
    const tag = randomBytes(4).toString("hex");
    try {
      expect(disk.scratchDir.startsWith(realpathSync(os.tmpdir()))).toBe(true);
      const dc = clientsFor(disk);
      const inst = await launchOnline(dc);
      const r = await run(dc, inst, ["set -e", `echo t > /tmp/cws-emu-${tag}`, `echo e > /etc/cws-emu-${tag}`, `ls ${disk.scratchDir} 2>/dev/null | wc -l`]);
      expect(r.Status).toBe("Success");
      expect(r.StandardOutputContent).toBe("0\n");
      expect(existsSync(`/tmp/cws-emu-${tag}`)).toBe(false);
      expect(existsSync(`/etc/cws-emu-${tag}`)).toBe(false);
      expect(await disk.instanceFile("us-east-1", inst, `/tmp/cws-emu-${tag}`)).toBe("t\n");
    } finally {
      await disk.stop();
    }
    expect(existsSync(disk.scratchDir)).toBe(false);
  });

  it("has its own hostname, no network and a private /dev/shm", async () => {
    const r = await run(c, id, [
      "hostname",
      `if (exec 3<>/dev/tcp/127.0.0.1/${emu.port}) 2>/dev/null; then echo reached-host; else echo no-network; fi`,
      "echo private > /dev/shm/cws-emu-probe && cat /dev/shm/cws-emu-probe",
      "ls /dev/shm | wc -l",
    ]);
    expect(r.Status).toBe("Success");
    const [hostname, net, shm, count] = (r.StandardOutputContent ?? "").trim().split("\n");
    expect(hostname).toMatch(/^ip-172-31-/);
    expect(hostname).not.toBe(os.hostname());
    expect(net).toBe("no-network");
    expect(shm).toBe("private");
    expect(count).toBe("1");
    expect(existsSync("/dev/shm/cws-emu-probe")).toBe(false);
  });

  it("sees the image's distribution in /etc/os-release and its default user", async () => {
    const r = await run(c, id, [". /etc/os-release && echo $ID $VERSION_ID", "getent passwd ubuntu | cut -d: -f6", "test -d /home/ubuntu && echo home"]);
    expect(r.StandardOutputContent).toBe("ubuntu 22.04\n/home/ubuntu\nhome\n");
  });
});

describe("background processes", () => {
  it("keep running and writing after the command returns, and die with the instance", async () => {
    const bg = await launchOnline(c);
    const r = await run(c, bg, [
      "mkdir -p /var/log/cws",
      "nohup bash -c 'while true; do date +%s%N >> /var/log/cws/bg.log; sleep 0.02; done' >/dev/null 2>&1 &",
      "setsid bash -c 'while true; do echo tick >> /var/log/cws/setsid.log; sleep 0.02; done' >/dev/null 2>&1 < /dev/null &",
      "echo launched",
    ]);
    expect(r.Status).toBe("Success");
    expect(r.StandardOutputContent).toBe("launched\n");

    const lines = async (f: string) => (await emu.instanceFile("us-east-1", bg, f).catch(() => "")).split("\n").filter(Boolean).length;
    const first = await waitFor(async () => ((await lines("/var/log/cws/bg.log")) > 0 ? lines("/var/log/cws/bg.log") : undefined));
    await waitFor(async () => ((await lines("/var/log/cws/bg.log")) > first + 3 ? true : undefined));
    await waitFor(async () => ((await lines("/var/log/cws/setsid.log")) > 3 ? true : undefined));
    // A builder polls the log through SSM.
    const polled = await run(c, bg, ["wc -l < /var/log/cws/bg.log"]);
    expect(Number(polled.StandardOutputContent?.trim())).toBeGreaterThan(first);
    expect(taggedPids(bg).length).toBeGreaterThanOrEqual(2);

    await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [bg] }));
    expect(taggedPids(bg)).toEqual([]);
    const after = await lines("/var/log/cws/bg.log");
    await sleep(150);
    expect(await lines("/var/log/cws/bg.log")).toBe(after);
  });

  it("die when the instance stops, and a command running at the time fails", async () => {
    const inst = await launchOnline(c);
    const cmd = await c.ssm.send(
      new (await import("@aws-sdk/client-ssm")).SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: [inst],
        Parameters: { commands: ["sleep 30"] },
      }),
    );
    const commandId = cmd.Command?.CommandId as string;
    await waitFor(() => (emu.invocations("us-east-1").find((i) => i.commandId === commandId)?.status === "InProgress" && taggedPids(inst).length > 0 ? true : undefined));
    await c.ec2.send(new StopInstancesCommand({ InstanceIds: [inst] }));
    expect(taggedPids(inst)).toEqual([]);
    const final = await waitFor(() => {
      const v = emu.invocations("us-east-1").find((i) => i.commandId === commandId);
      return v && v.status !== "InProgress" ? v : undefined;
    });
    expect(final.status).toBe("Failed");
    expect(final.stderr).toContain("stopped");
  });
});

describe("the second guard", () => {
  it("refuses package managers, systemctl, power commands, mkfs and dd to a device", async () => {
    const r = await run(c, id, ["echo hi", "apt-get install -y nginx"]);
    expect(r.Status).toBe("Failed");
    expect(r.ResponseCode).toBe(127);
    expect(r.StandardOutputContent).toBe("");
    expect(r.StandardErrorContent).toContain("apt-get");
    expect(r.StandardErrorContent).toContain("package manager");
    for (const script of [
      "sudo systemctl restart ssh",
      "yum -y update",
      "dnf install -y git",
      "/usr/bin/apt update",
      "x=1; reboot",
      "shutdown -h now",
      "mkfs.ext4 /dev/xvdf",
      "dd if=/dev/zero of=/dev/xvda bs=1M",
      "dpkg -i foo.deb",
      "if true; then snap install core; fi",
      "umount /etc",
      "mount -o remount,rw /",
      "nsenter -t 1 -m -- touch /x",
    ]) {
      expect(refusal(script), script).toBeDefined();
    }
    for (const script of ['echo "run apt-get later"', "dpkg --print-architecture", "dpkg -l | head", "rpm -q bash || true", "echo the service is up", "dd if=/dev/zero of=/tmp/file bs=1k count=1", "mount | grep /data || true"]) {
      expect(refusal(script), script).toBeUndefined();
    }
    const ok = await run(c, id, ['echo "apt-get is only mentioned"', "dpkg --print-architecture >/dev/null 2>&1 || true"]);
    expect(ok.Status).toBe("Success");
  });

  it("fails the invocation with a clear message, and runs nothing, when commands cannot be confined", async () => {
    const broken = await startTestEmulator({ unsharePath: "/nonexistent/unshare" });
    const marker = path.join(os.tmpdir(), `cws-emu-marker-${randomBytes(4).toString("hex")}`);
    try {
      const bc = clientsFor(broken);
      const inst = await launchOnline(bc);
      const r = await run(bc, inst, [`touch ${marker}`, "echo ran"]);
      expect(r.Status).toBe("Failed");
      expect(r.StandardOutputContent).toBe("");
      expect(r.StandardErrorContent).toContain("cannot confine this command, so it was NOT run");
      expect(existsSync(marker)).toBe(false);
    } finally {
      await broken.stop();
    }
  });
});

describe("shell modes", () => {
  it("runs commands with bash by default, and like the SSM agent (sh -c _script.sh) when asked", async () => {
    const bash = await run(c, id, ["readlink /proc/$$/exe"]);
    expect(bash.StandardOutputContent?.trim()).toBe(realpathSync("/bin/bash"));
    const agent = await startTestEmulator({ shell: "agent" });
    try {
      const ac = clientsFor(agent);
      const inst = await launchOnline(ac);
      const plain = await run(ac, inst, ["readlink /proc/$$/exe"]);
      expect(plain.StandardOutputContent?.trim()).toBe(realpathSync("/bin/sh"));
      const shebang = await run(ac, inst, ["#!/bin/bash", "readlink /proc/$$/exe"]);
      expect(shebang.StandardOutputContent?.trim()).toBe(realpathSync("/bin/bash"));
    } finally {
      await agent.stop();
    }
  });
});
