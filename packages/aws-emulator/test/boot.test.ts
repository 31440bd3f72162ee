import { CreateImageCommand, DescribeImagesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOOT_DIR, BOOT_LOG } from "../src/boot.js";
import type { Emulator } from "../src/emulator.js";
import { clientsFor, instanceState, launch, launchOnline, run, startTestEmulator, waitFor, waitOnline, type Clients } from "./helpers.js";

/**
 * What an instance starts at boot: the executable files of
 * /etc/cws-emulator-boot.d, each time it boots. A process a script started by
 * hand lives only in that instance; an instance from its image starts only
 * what the image enables at boot.
 */
let emu: Emulator;
let c: Clients;

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
});
afterAll(async () => {
  await emu?.stop();
});

/** A daemon that proves it is alive by a heartbeat in /run (gone at every boot), written aside and renamed so a reader never sees it half-written. */
const DAEMON = ["mkdir -p /run/svc", "while :; do date +%s%N > /run/svc/beat.new; mv /run/svc/beat.new /run/svc/beat; sleep 0.05; done"].join("\n");
const INSTALL_DAEMON = `mkdir -p /usr/local/bin && printf '%s\\n' '#!/bin/bash' '${DAEMON.replace(/\n/g, "' '")}' > /usr/local/bin/svc && chmod +x /usr/local/bin/svc`;
const START_DAEMON = "setsid nohup /usr/local/bin/svc > /dev/null 2>&1 < /dev/null &";
const ALIVE = "a=$(cat /run/svc/beat 2>/dev/null); sleep 0.3; b=$(cat /run/svc/beat 2>/dev/null); if [ -n \"$b\" ] && [ \"$a\" != \"$b\" ]; then echo alive; else echo dead; fi";

async function imageOf(instanceId: string, name: string): Promise<string> {
  await c.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
  await waitFor(async () => ((await instanceState(c, instanceId)) === "stopped" ? true : undefined));
  const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  await waitFor(async () => ((await c.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images?.[0]?.State === "available" ? true : undefined));
  return ImageId!;
}

async function output(instanceId: string, commands: string[]): Promise<string> {
  const result = await run(c, instanceId, commands);
  expect(result.Status).toBe("Success");
  return result.StandardOutputContent ?? "";
}

describe("boot scripts (/etc/cws-emulator-boot.d)", () => {
  it("a process started by hand is not in an instance from the image; one enabled at boot is", async () => {
    const builder = await launchOnline(c);
    expect(await output(builder, [INSTALL_DAEMON, START_DAEMON, "sleep 0.2", ALIVE])).toBe("alive\n");
    const memoryOnly = await imageOf(builder, "memory-only");

    const fresh = await launchOnline(c, { ImageId: memoryOnly });
    // The program is in the image, but nothing started it.
    expect(await output(fresh, ["test -x /usr/local/bin/svc && echo installed", ALIVE])).toBe("installed\ndead\n");

    await output(fresh, [`mkdir -p ${BOOT_DIR}`, `printf '%s\\n' '#!/bin/bash' '${START_DAEMON}' > ${BOOT_DIR}/50-svc`, `chmod +x ${BOOT_DIR}/50-svc`]);
    const enabled = await imageOf(fresh, "enabled-at-boot");
    const booted = await launchOnline(c, { ImageId: enabled });
    expect(await output(booted, [ALIVE])).toBe("alive\n");
    expect(await emu.instanceFile("us-east-1", booted, BOOT_LOG)).toContain(`cws-emulator boot: ${BOOT_DIR}/50-svc`);
  });

  it("runs executable files with run-parts names, in name order; not others, nor a script the emulator refuses", async () => {
    const builder = await launchOnline(c);
    await output(builder, [
      `mkdir -p ${BOOT_DIR}`,
      `printf '#!/bin/bash\\necho second >> /var/log/boot-order\\n' > ${BOOT_DIR}/20-second`,
      `printf '#!/bin/bash\\necho first >> /var/log/boot-order\\n' > ${BOOT_DIR}/10-first`,
      `printf '#!/bin/bash\\necho dotted >> /var/log/boot-order\\n' > ${BOOT_DIR}/30-x.dpkg-old`,
      `printf '#!/bin/bash\\necho unexecutable >> /var/log/boot-order\\n' > ${BOOT_DIR}/40-not-executable`,
      `printf '#!/bin/bash\\nexit 3\\n' > ${BOOT_DIR}/50-fails`,
      `printf '#!/bin/bash\\nsystemctl start nothing\\n' > ${BOOT_DIR}/60-refused`,
      `printf '#!/bin/bash\\necho last >> /var/log/boot-order\\n' > ${BOOT_DIR}/70-last`,
      `chmod +x ${BOOT_DIR}/10-first ${BOOT_DIR}/20-second ${BOOT_DIR}/30-x.dpkg-old ${BOOT_DIR}/50-fails ${BOOT_DIR}/60-refused ${BOOT_DIR}/70-last`,
    ]);
    const image = await imageOf(builder, "run-parts");
    const booted = await launchOnline(c, { ImageId: image });
    expect(await emu.instanceFile("us-east-1", booted, "/var/log/boot-order")).toBe("first\nsecond\nlast\n");
    const log = await emu.instanceFile("us-east-1", booted, BOOT_LOG);
    expect(log).toContain(`${BOOT_DIR}/50-fails exited with 3`);
    expect(log).toMatch(new RegExp(`${BOOT_DIR}/60-refused was not run: .*systemctl`));
    expect(log).not.toContain("30-x.dpkg-old");
  });

  it("brings the SSM agent online only once the boot scripts have ended", async () => {
    const builder = await launchOnline(c);
    await output(builder, [`mkdir -p ${BOOT_DIR}`, `printf '#!/bin/bash\\nsleep 0.5\\ntouch /run/boot-ended\\n' > ${BOOT_DIR}/10-slow`, `chmod +x ${BOOT_DIR}/10-slow`]);
    const image = await imageOf(builder, "slow-boot");
    const booted = await launch(c, { ImageId: image });
    // The agent's own latency is long over before the script ends.
    await waitFor(async () => ((await instanceState(c, booted)) === "running" ? true : undefined));
    emu.clock.advance(emu.latencies.ssmAgentOnline + 1);
    const info = await c.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [booted] }] }));
    expect(info.InstanceInformationList ?? []).toEqual([]);
    await waitOnline(c, booted);
    expect(await output(booted, ["test -e /run/boot-ended && echo ended"])).toBe("ended\n");
  });

  it("boots again after a CreateImage reboot: what is enabled at boot runs again, what was started by hand does not", async () => {
    const builder = await launchOnline(c);
    await output(builder, [
      INSTALL_DAEMON,
      `mkdir -p ${BOOT_DIR}`,
      `printf '#!/bin/bash\\necho booted >> /var/log/boots\\n' > ${BOOT_DIR}/10-count`,
      `chmod +x ${BOOT_DIR}/10-count`,
      START_DAEMON,
      "sleep 0.2",
      ALIVE,
    ]);
    const image = await imageOf(builder, "count-boots");
    const booted = await launchOnline(c, { ImageId: image });
    expect(await emu.instanceFile("us-east-1", booted, "/var/log/boots")).toBe("booted\n");
    await c.ec2.send(new CreateImageCommand({ InstanceId: booted, Name: "rebooting" }));
    await waitOnline(c, booted);
    expect(await emu.instanceFile("us-east-1", booted, "/var/log/boots")).toBe("booted\nbooted\n");
    expect(await output(booted, [ALIVE])).toBe("dead\n");
  });

  it("starts nothing on an instance whose image enables nothing", async () => {
    const plain = await launchOnline(c);
    await expect(emu.instanceFile("us-east-1", plain, BOOT_LOG)).rejects.toThrow(/ENOENT/);
  });
});
