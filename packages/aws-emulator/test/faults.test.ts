import { DescribeImagesCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfiguredRetryStrategy, isThrottlingError } from "@smithy/core/retry";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/emulator.js";
import { CREDENTIALS, baseImageId, clientsFor, errorOf, startTestEmulator, type Clients } from "./helpers.js";

let emu: Emulator;
let c: Clients;

/** Clients that retry like the SDK's standard strategy (same error classification) but with 5 ms backoff. */
function fastRetrying(maxAttempts: number, region = "us-east-1") {
  const config = { endpoint: emu.url, region, credentials: CREDENTIALS, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, () => 5) };
  return { ec2: new EC2Client(config), ssm: new SSMClient(config) };
}

beforeAll(async () => {
  emu = await startTestEmulator();
  c = clientsFor(emu);
});
afterEach(() => emu.faults.clear());
afterAll(async () => {
  await emu?.stop();
});

describe("throttling", () => {
  it("fails each distinct action's first calls; the SDK sees throttling, retries and succeeds", async () => {
    emu.faults.add({ service: "ec2", action: "*", code: "RequestLimitExceeded", times: 3 });
    const before = emu.stats.faultsInjected;

    const once = await errorOf(c.ec2.send(new DescribeVpcsCommand({})));
    expect(once.name).toBe("RequestLimitExceeded");
    expect(once.message).toBe("Request limit exceeded.");
    expect(once.$metadata?.httpStatusCode).toBe(503);
    expect(isThrottlingError(once as never)).toBe(true);

    const r = fastRetrying(4);
    const images = await r.ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }));
    expect(images.$metadata.attempts).toBe(4);
    expect(images.Images?.length).toBeGreaterThan(0);
    const vpcs = await r.ec2.send(new DescribeVpcsCommand({})); // 1 failure used above, 2 left
    expect(vpcs.$metadata.attempts).toBe(3);
    const again = await r.ec2.send(new DescribeVpcsCommand({}));
    expect(again.$metadata.attempts).toBe(1);
    expect(emu.stats.faultsInjected - before).toBe(6);
    expect(emu.stats.calls["ec2:DescribeVpcs"]).toBeGreaterThanOrEqual(5);
  });

  it("throttles SSM with ThrottlingException (HTTP 400), which the SDK also retries", async () => {
    const handle = emu.faults.add({ service: "ssm", action: "*", code: "ThrottlingException", times: 2 });
    const err = await errorOf(c.ssm.send(new DescribeInstanceInformationCommand({})));
    expect(err.name).toBe("ThrottlingException");
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(isThrottlingError(err as never)).toBe(true);
    expect(handle.remaining("DescribeInstanceInformation")).toBe(1);
    const ok = await fastRetrying(3).ssm.send(new DescribeInstanceInformationCommand({}));
    expect(ok.$metadata.attempts).toBe(2);
    expect(handle.fired).toBe(2);
  });

  it("is retried by the SDK's default strategy too", async () => {
    emu.faults.add({ service: "ec2", action: "DescribeSubnets", code: "RequestLimitExceeded", times: 1 });
    const dflt = clientsFor(emu, "us-east-1", 3);
    const r = await dflt.ec2.send(new DescribeSubnetsCommand({}));
    expect(r.$metadata.attempts).toBe(2);
  });

  it("can be limited to a region", async () => {
    emu.faults.add({ action: "*", code: "RequestLimitExceeded", times: 5, region: "eu-west-1" });
    await c.ec2.send(new DescribeVpcsCommand({}));
    const err = await errorOf(clientsFor(emu, "eu-west-1").ec2.send(new DescribeVpcsCommand({})));
    expect(err.name).toBe("RequestLimitExceeded");
  });
});

describe("capacity", () => {
  it("fails RunInstances in one zone with InsufficientInstanceCapacity (HTTP 500) while others work", async () => {
    emu.faults.add({ service: "ec2", action: "RunInstances", code: "InsufficientInstanceCapacity", times: 1, match: (r) => r.availabilityZone === "us-east-1a" });
    const subnets = (await c.ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const a = subnets.find((s) => s.AvailabilityZone === "us-east-1a")?.SubnetId;
    const b = subnets.find((s) => s.AvailabilityZone === "us-east-1b")?.SubnetId;
    const imageId = await baseImageId(c);
    const input = { ImageId: imageId, InstanceType: "c5.large" as const, MinCount: 1, MaxCount: 1 };

    const okB = await c.ec2.send(new RunInstancesCommand({ ...input, SubnetId: b }));
    expect(okB.Instances?.[0]?.Placement?.AvailabilityZone).toBe("us-east-1b");
    const err = await errorOf(c.ec2.send(new RunInstancesCommand({ ...input, SubnetId: a })));
    expect(err.name).toBe("InsufficientInstanceCapacity");
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(err.message).toContain("We currently do not have sufficient c5.large capacity in the Availability Zone you requested (us-east-1a)");
    expect(err.message).toContain("us-east-1b, us-east-1c");
    const okA = await c.ec2.send(new RunInstancesCommand({ ...input, SubnetId: a }));
    expect(okA.Instances?.[0]?.Placement?.AvailabilityZone).toBe("us-east-1a");
  });

  it("is a 500, so the SDK's own retries can hide a single capacity failure", async () => {
    emu.faults.add({ service: "ec2", action: "RunInstances", code: "InsufficientInstanceCapacity", times: 1 });
    const imageId = await baseImageId(c);
    const r = await fastRetrying(3).ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }));
    expect(r.$metadata.attempts).toBe(2);
  });

  it("answers any code with a chosen status and message, and stops after `times`", async () => {
    const h = emu.faults.add({ service: "ec2", action: "DescribeVpcs", code: "UnauthorizedOperation", message: "You are not authorized to perform this operation.", status: 403, times: 1 });
    const err = await errorOf(fastRetrying(3).ec2.send(new DescribeVpcsCommand({})));
    expect(err.name).toBe("UnauthorizedOperation");
    expect(err.message).toBe("You are not authorized to perform this operation.");
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.$metadata?.attempts).toBe(1);
    expect(h.remaining()).toBe(0);
    await c.ec2.send(new DescribeVpcsCommand({}));
  });
});
