/**
 * One retry budget per service and region for a whole run (docs/decisions.md
 * §36): createAwsPorts makes one client per service and region and hands the
 * same port to every caller, so parallel builds and copies in a region share
 * one adaptive rate limiter and one retry quota. A burst that runs into
 * throttling slows down together and still finishes.
 */
import { preferredScratchDir, startEmulator, type Emulator } from "@cws/aws-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsPorts, DEFAULT_MAX_ATTEMPTS } from "../../src/aws/sdk.js";

/** The SDK client behind a port (a private field; tests only). */
function clientOf(port: unknown): { config: { retryStrategy(): Promise<unknown> } } {
  return (port as { client: { config: { retryStrategy(): Promise<unknown> } } }).client;
}

/** The adaptive strategy's client-side rate limiter: `enabled` once the client has been throttled. */
async function rateLimiterOf(port: unknown): Promise<{ enabled: boolean }> {
  const strategy = (await clientOf(port).config.retryStrategy()) as { rateLimiter: { enabled: boolean } };
  return strategy.rateLimiter;
}

describe("the retry budget", () => {
  it("is one client, one retry strategy and one rate limiter per service and region, whoever asks for the port", async () => {
    const aws = createAwsPorts({});
    const first = aws.ec2("eu-west-1");
    const second = aws.ec2("eu-west-1");
    expect(second).toBe(first);
    expect(clientOf(second)).toBe(clientOf(first));
    const strategy = await clientOf(first).config.retryStrategy();
    expect(await clientOf(second).config.retryStrategy()).toBe(strategy);
    expect(strategy).toMatchObject({ mode: "adaptive" });
    expect(await rateLimiterOf(second)).toBe(await rateLimiterOf(first));
    // Each region and each service has its own, as AWS throttles each on its own.
    expect(await rateLimiterOf(aws.ec2("eu-west-2"))).not.toBe(await rateLimiterOf(first));
    expect(await rateLimiterOf(aws.ssm("eu-west-1"))).not.toBe(await rateLimiterOf(first));
  });

  describe("against a throttling emulator", () => {
    let emu: Emulator;
    const savedEnv = { ...process.env };
    beforeAll(async () => {
      const scratch = preferredScratchDir();
      emu = await startEmulator({ msPerSimSecond: 2, ...(scratch ? { scratchDir: scratch } : {}) });
      for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" });
    });
    afterAll(async () => {
      for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
      Object.assign(process.env, savedEnv);
      await emu?.stop();
    });

    it("finishes a burst of concurrent calls in one region, each within its attempts, the region's callers slowing down together", async () => {
      const aws = createAwsPorts({ endpoint: emu.url });
      emu.setThrottle({ capacity: 4, refillPerSecond: 10 });
      emu.faults.add({ service: "ec2", action: "DescribeImages", code: "RequestLimitExceeded", times: 3, region: "eu-west-1" });
      const calls = 24;
      const before = { throttled: emu.stats.throttled, describes: emu.stats.calls["ec2:DescribeImages"] ?? 0 };
      try {
        // Each caller asks for the port itself, as concurrent builds and copies do.
        const answers = await Promise.all(Array.from({ length: calls }, () => aws.ec2("eu-west-1").describeImages({ owners: ["self"] })));
        expect(answers).toHaveLength(calls);
      } finally {
        emu.setThrottle(undefined);
        emu.faults.clear();
      }
      const sent = (emu.stats.calls["ec2:DescribeImages"] ?? 0) - before.describes;
      expect(emu.stats.throttled - before.throttled).toBeGreaterThan(0);
      expect(sent).toBeGreaterThan(calls);
      expect(sent).toBeLessThanOrEqual(calls * DEFAULT_MAX_ATTEMPTS);
      // The one limiter every caller in eu-west-1 shares has switched on; another region's has not.
      expect((await rateLimiterOf(aws.ec2("eu-west-1"))).enabled).toBe(true);
      await aws.ec2("us-west-2").describeImages({ owners: ["self"] });
      expect((await rateLimiterOf(aws.ec2("us-west-2"))).enabled).toBe(false);
    }, 60_000);
  });
});
