import { DescribeImagesCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { isThrottlingError } from "@smithy/core/retry";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { Throttle, throttlingCode } from "../src/throttle.js";
import { CREDENTIALS, clientsFor, errorOf, startTestEmulator } from "./helpers.js";

describe("Throttle (a token bucket per region and action)", () => {
  it("allows a burst of `capacity` calls, then one per refill, separately for each action and region", () => {
    let now = 0;
    const throttle = new Throttle({ capacity: 3, refillPerSecond: 2 }, () => now);
    const take = (action = "DescribeImages", region = "us-east-1") => throttle.take("ec2", region, action);
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
    // Other actions and other regions have buckets of their own.
    expect(take("DescribeInstances")).toBe(true);
    expect(take("DescribeImages", "eu-west-1")).toBe(true);
    now = 499;
    expect(take()).toBe(false);
    now = 500; // one token back after half a second at 2 a second
    expect([take(), take()]).toEqual([true, false]);
    now = 60_000; // never more than the capacity
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
  });

  it("throttles IAM globally, whatever region a request is signed for, and only the services named", () => {
    const throttle = new Throttle({ capacity: 1, refillPerSecond: 0.001, services: ["iam"] }, () => 0);
    expect(throttle.take("iam", "us-east-1", "GetRole")).toBe(true);
    expect(throttle.take("iam", "eu-west-1", "GetRole")).toBe(false);
    expect([throttle.take("ec2", "us-east-1", "DescribeVpcs"), throttle.take("ec2", "us-east-1", "DescribeVpcs")]).toEqual([true, true]);
  });

  it("is off without options, starts full when set, and refuses limits that make no sense", () => {
    const throttle = new Throttle(undefined, () => 0);
    for (let i = 0; i < 1000; i++) expect(throttle.take("ec2", "us-east-1", "DescribeVpcs")).toBe(true);
    throttle.set({ capacity: 1, refillPerSecond: 1 });
    expect([throttle.take("ec2", "us-east-1", "DescribeVpcs"), throttle.take("ec2", "us-east-1", "DescribeVpcs")]).toEqual([true, false]);
    throttle.set({ capacity: 1, refillPerSecond: 1 });
    expect(throttle.take("ec2", "us-east-1", "DescribeVpcs")).toBe(true);
    expect(() => throttle.set({ capacity: 0, refillPerSecond: 1 })).toThrow("capacity");
    expect(() => throttle.set({ capacity: 1, refillPerSecond: 0 })).toThrow("refill");
  });

  it("answers each service's own throttling code", () => {
    expect(["ec2", "ssm", "sts", "iam"].map((s) => throttlingCode(s as never))).toEqual(["RequestLimitExceeded", "ThrottlingException", "Throttling", "Throttling"]);
  });
});

describe("the emulator with a throttle", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startTestEmulator();
  });
  afterEach(() => emu.setThrottle(undefined));
  afterAll(async () => {
    await emu?.stop();
  });

  it("answers nothing with throttling by default", async () => {
    const c = clientsFor(emu);
    const before = emu.stats.throttled;
    await Promise.all(Array.from({ length: 30 }, () => c.ec2.send(new DescribeVpcsCommand({}))));
    expect(emu.stats.throttled - before).toBe(0);
  });

  it("answers EC2 calls beyond the bucket with RequestLimitExceeded (HTTP 503), per region, as the SDK classifies throttling", async () => {
    emu.setThrottle({ capacity: 2, refillPerSecond: 0.01 });
    const east = clientsFor(emu, "us-east-1");
    const before = emu.stats.throttled;
    await east.ec2.send(new DescribeVpcsCommand({}));
    await east.ec2.send(new DescribeVpcsCommand({}));
    const refused = await errorOf(east.ec2.send(new DescribeVpcsCommand({})));
    expect(refused.name).toBe("RequestLimitExceeded");
    expect(refused.message).toBe("Request limit exceeded.");
    expect(refused.$metadata?.httpStatusCode).toBe(503);
    expect(isThrottlingError(refused as never)).toBe(true);
    // Another action, and another region, are not affected.
    await east.ec2.send(new DescribeImagesCommand({ Owners: ["self"] }));
    await clientsFor(emu, "eu-west-1").ec2.send(new DescribeVpcsCommand({}));
    expect(emu.stats.throttled - before).toBe(1);
  });

  it("answers SSM with ThrottlingException and STS with Throttling (HTTP 400)", async () => {
    emu.setThrottle({ capacity: 1, refillPerSecond: 0.01 });
    const c = clientsFor(emu, "us-west-2");
    await c.ssm.send(new DescribeInstanceInformationCommand({}));
    const ssm = await errorOf(c.ssm.send(new DescribeInstanceInformationCommand({})));
    expect([ssm.name, ssm.$metadata?.httpStatusCode]).toEqual(["ThrottlingException", 400]);
    await c.sts.send(new GetCallerIdentityCommand({}));
    const sts = await errorOf(c.sts.send(new GetCallerIdentityCommand({})));
    expect([sts.name, sts.$metadata?.httpStatusCode]).toEqual(["Throttling", 400]);
    expect(isThrottlingError(sts as never)).toBe(true);
  });

  it("lets a burst through the SDK's adaptive retries: every call ends with an answer, some after being throttled", async () => {
    emu.setThrottle({ capacity: 5, refillPerSecond: 20 });
    const client = new EC2Client({ endpoint: emu.url, region: "ap-south-1", credentials: CREDENTIALS, retryMode: "adaptive", maxAttempts: 8 });
    const before = emu.stats.throttled;
    const results = await Promise.all(Array.from({ length: 20 }, () => client.send(new DescribeVpcsCommand({}))));
    expect(results.every((r) => r.Vpcs?.length === 1)).toBe(true);
    expect(emu.stats.throttled - before).toBeGreaterThan(0);
    expect(Math.max(...results.map((r) => r.$metadata.attempts ?? 1))).toBeGreaterThan(1);
    expect(Math.max(...results.map((r) => r.$metadata.attempts ?? 1))).toBeLessThanOrEqual(8);
  }, 30_000);
});
