import { describe, expect, it } from "vitest";
import type { SsmPort } from "../../src/aws/ports.js";
import { publishAmiToSsm } from "../../src/registry/publish.js";

describe("publishAmiToSsm", () => {
  it("overwrites /cloudworkstation/amis/<template>/<region>/<arch> with the AMI id and returns the name", async () => {
    const puts: unknown[] = [];
    const ssm = { region: "eu-west-1", putParameter: async (...args: unknown[]) => void puts.push(args) } as unknown as SsmPort;
    const name = await publishAmiToSsm(ssm, { templateId: "r-research", region: "eu-west-1", architecture: "arm64" }, "ami-0123456789abcdef0");
    expect(name).toBe("/cloudworkstation/amis/r-research/eu-west-1/arm64");
    expect(puts).toEqual([[name, "ami-0123456789abcdef0", { overwrite: true, description: "Current cws AMI for r-research (arm64)" }]]);
  });
});
