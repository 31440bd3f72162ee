import { describe, expect, it } from "vitest";
import { awsCall, collectPages, required, toAwsCallError, toTagList, toTagRecord } from "../../src/aws/call.js";
import { AwsCallError, isAwsError } from "../../src/aws/ports.js";
import { ec2Error } from "./errors.js";

describe("toAwsCallError", () => {
  it("names the error after the AWS code and keeps action, HTTP status and the SDK exception", () => {
    const sdk = ec2Error("RequestLimitExceeded", "Request limit exceeded.", 503);
    const error = toAwsCallError(sdk, "DescribeInstances");
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ name: "AwsCallError", code: "RequestLimitExceeded", action: "DescribeInstances", httpStatus: 503 });
    expect(error.message).toBe("DescribeInstances: RequestLimitExceeded: Request limit exceeded.");
    expect(error.cause).toBe(sdk);
    expect(isAwsError(error, "RequestLimitExceeded")).toBe(true);
  });

  it("uses a network error's system code, since its name is just Error", () => {
    const network = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(toAwsCallError(network, "GetParameter")).toMatchObject({ code: "ECONNREFUSED", httpStatus: undefined });
    const timeout = Object.assign(new Error("timed out"), { name: "TimeoutError" });
    expect(toAwsCallError(timeout, "GetParameter").code).toBe("TimeoutError");
  });

  it("passes an AwsCallError through and wraps values that are not errors", () => {
    const already = new AwsCallError("X", "A", "m");
    expect(toAwsCallError(already, "B")).toBe(already);
    expect(toAwsCallError("boom", "A")).toMatchObject({ code: "UnknownError", action: "A", message: "A: UnknownError: boom" });
  });

  it("lets a service name its own codes", () => {
    expect(toAwsCallError(new Error("x"), "A", () => "Mapped").code).toBe("Mapped");
  });

  it("awsCall converts what the call throws and returns what it resolves", async () => {
    expect(await awsCall("A", async () => 42)).toBe(42);
    await expect(awsCall("A", () => Promise.reject(ec2Error("Oops")))).rejects.toMatchObject({ code: "Oops", action: "A" });
  });
});

describe("collectPages", () => {
  it("walks tokens until there is none, treating an empty token as the end", async () => {
    const tokens: (string | undefined)[] = [];
    const pages: Record<string, { items: number[]; next: string | undefined }> = {
      start: { items: [1, 2], next: "b" },
      b: { items: [], next: "c" },
      c: { items: [3], next: "" },
    };
    const all = await collectPages("List", async (token) => {
      tokens.push(token);
      return pages[token ?? "start"] ?? { items: undefined, next: undefined };
    });
    expect(all).toEqual([1, 2, 3]);
    expect(tokens).toEqual([undefined, "b", "c"]);
  });

  it("fails instead of looping when a token comes back twice", async () => {
    let n = 0;
    const walk = collectPages("List", async () => ({ items: [n++], next: n % 2 === 0 ? "x" : "y" }));
    await expect(walk).rejects.toMatchObject({ code: "RepeatedPageToken", action: "List" });
  });
});

describe("helpers", () => {
  it("required rejects a missing field as an incomplete response", () => {
    expect(required("v", "A", "F")).toBe("v");
    expect(() => required(undefined, "CreateImage", "ImageId")).toThrow("CreateImage: IncompleteResponse: the response has no ImageId");
  });

  it("converts tags both ways", () => {
    expect(toTagList({ a: "1", b: "" })).toEqual([
      { Key: "a", Value: "1" },
      { Key: "b", Value: "" },
    ]);
    expect(toTagRecord([{ Key: "a", Value: "1" }, { Key: "b" }, { Value: "no key" }])).toEqual({ a: "1", b: "" });
    expect(toTagRecord(undefined)).toEqual({});
  });
});
