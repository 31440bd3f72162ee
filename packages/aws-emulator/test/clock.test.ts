import { CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimClock } from "../src/clock.js";
import type { Emulator } from "../src/emulator.js";
import { clientsFor, launchOnline, sleep, startTestEmulator, type Clients } from "./helpers.js";

/**
 * Waits are simulated, dates are real: AWS reports when things happened by the
 * wall clock, and a client (cws records `created` from its own clock after a
 * build) must be able to order its dates and the emulator's.
 */

/** Within a few milliseconds of the wall clock (timers and rounding). */
const SLACK_MS = 50;

describe("SimClock dates", () => {
  it("dates the present with the wall clock, however fast simulated time runs", async () => {
    const clock = new SimClock(1); // 1000 simulated seconds per real second
    await sleep(100);
    expect(clock.now()).toBeGreaterThan(90); // a minute and a half of simulated waiting…
    expect(Math.abs(clock.date().getTime() - Date.now())).toBeLessThan(SLACK_MS); // …took 100 ms of real time
  });

  it("never changes a date once given, through jumps and changes of pace, and dates a skipped time at the jump", async () => {
    const clock = new SimClock(1);
    await sleep(20);
    const early = clock.now();
    const earlyDate = clock.date(early).getTime();
    const beforeJump = Date.now();
    clock.advance(1000);
    const inJump = clock.date(early + 500).getTime();
    expect(inJump).toBeGreaterThanOrEqual(beforeJump - SLACK_MS);
    expect(inJump).toBeLessThanOrEqual(Date.now() + SLACK_MS);
    clock.setMsPerSimSecond(1000);
    await sleep(20);
    clock.setMsPerSimSecond(2);
    await sleep(20);
    expect(clock.date(early).getTime()).toBe(earlyDate);
    expect(clock.date(early + 500).getTime()).toBe(inJump);
    expect(Math.abs(clock.date().getTime() - Date.now())).toBeLessThan(SLACK_MS);
    // Later simulated times have later (or equal) dates, across every stretch.
    const samples = Array.from({ length: 200 }, (_, i) => (clock.now() * i) / 199).map((sim) => clock.date(sim).getTime());
    expect(samples).toEqual([...samples].sort((a, b) => a - b));
  });

  it("maps dates before the start (seeded images) in real seconds, both ways", () => {
    const clock = new SimClock(1);
    const dayBefore = clock.epochMs - 86_400_000;
    expect(clock.simAt(dayBefore)).toBeCloseTo(-86_400, 3);
    expect(clock.date(clock.simAt(dayBefore)).getTime()).toBe(dayBefore);
  });
});

describe("emulator dates (EC2)", () => {
  let emu: Emulator;
  let c: Clients;
  beforeAll(async () => {
    emu = await startTestEmulator({ msPerSimSecond: 1 });
    c = clientsFor(emu);
  });
  afterAll(() => emu.stop());

  it("dates an instance's launch and an image's creation by the wall clock, after simulated minutes of waiting", async () => {
    const before = Date.now();
    const instanceId = await launchOnline(c);
    const { ImageId } = await c.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: "dated", NoReboot: true }));
    const after = Date.now();
    // The instance waited for its state and its SSM agent: simulated minutes, not real ones.
    expect(emu.clock.now()).toBeGreaterThan(emu.latencies.instancePending + emu.latencies.ssmAgentOnline);
    const image = (await c.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0]!;
    const created = Date.parse(image.CreationDate!);
    expect(created).toBeGreaterThanOrEqual(before - SLACK_MS);
    expect(created).toBeLessThanOrEqual(after + SLACK_MS);
    const instance = (await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!;
    expect(instance.LaunchTime!.getTime()).toBeGreaterThanOrEqual(before - SLACK_MS);
    expect(instance.LaunchTime!.getTime()).toBeLessThanOrEqual(created + SLACK_MS);
  });
});
