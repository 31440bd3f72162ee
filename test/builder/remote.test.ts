import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { CommandInvocation, SsmPort } from "../../src/aws/ports.js";
import { BuildFailure } from "../../src/builder/context.js";
import { parseLogRead, runScriptStreaming } from "../../src/builder/remote.js";

const ok = (stdout: string): CommandInvocation => ({ status: "Success", statusDetails: "Success", responseCode: 0, stdout, stderr: "" });
const logRead = (rc: string, size: number, data: string) => `cws-log rc=${rc} size=${size}\n${data ? gzipSync(Buffer.from(data)).toString("base64") : ""}\n`;

/** An SSM port that plays back answers: a script per SendCommand, and InvocationDoesNotExist for the first look at each. */
function fakeSsm(answers: ((script: string) => CommandInvocation)[]) {
  const sent: string[] = [];
  let looks = 0;
  const port: SsmPort = {
    region: "us-east-1",
    getParameter: async () => undefined,
    putParameter: async () => {},
    pingStatus: async () => "Online",
    sendShellCommand: async ({ script }) => {
      sent.push(script);
      return `cmd-${sent.length}`;
    },
    getCommandInvocation: async (commandId) => {
      looks++;
      if (looks % 2 === 1) return undefined; // not registered yet
      const answer = answers[Number(commandId.slice(4)) - 1];
      if (!answer) throw new Error(`unexpected command ${commandId}`);
      return answer(sent[Number(commandId.slice(4)) - 1]!);
    },
    cancelCommand: async () => {},
  };
  return { port, sent };
}

describe("runScriptStreaming", () => {
  it("uploads the script byte for byte, starts it in the background and streams the log until it exits", async () => {
    const script = "#!/bin/bash\necho 'quotes \" and $dollars' `and ticks`\n";
    const { port, sent } = fakeSsm([
      () => ok("started\n"),
      () => ok(logRead("running", 6, "first\n")),
      () => ok(logRead("0", 13, "second\n")),
    ]);
    const chunks: string[] = [];
    const result = await runScriptStreaming(
      port,
      "i-1",
      { workDir: "/var/lib/cws-build/b1", name: "setup", script, timeoutSeconds: 60 },
      (chunk) => {
        chunks.push(Buffer.from(chunk).toString());
      },
      { overrideMs: 0 },
    );
    expect(result).toEqual({ exitCode: 0, timedOut: false, bytes: 13 });
    expect(chunks).toEqual(["first\n", "second\n"]);
    expect(sent[0]).toContain(Buffer.from(script).toString("base64"));
    expect(sent[0]).toContain("nohup setsid");
    expect(sent[0]).toContain("timeout --kill-after=30");
    expect(sent[1]).toContain("tail -c +1 ");
    expect(sent[2]).toContain("tail -c +7 ");
  });

  it("uploads a large script in pieces", async () => {
    const script = `#!/bin/bash\n${"echo padding\n".repeat(4_000)}`;
    const { port, sent } = fakeSsm([() => ok(""), () => ok(""), () => ok(""), () => ok("started\n"), () => ok(logRead("3", 0, ""))]);
    const result = await runScriptStreaming(port, "i-1", { workDir: "/w", name: "setup", script, timeoutSeconds: 60 }, () => {}, { overrideMs: 0 });
    expect(result.exitCode).toBe(3);
    const uploaded = sent
      .slice(0, 4)
      .map((s) => /printf '%s' '([^']*)'/.exec(s)![1])
      .join("");
    expect(Buffer.from(uploaded, "base64").toString()).toBe(script);
  });

  it("reports a timeout as exit code 124", async () => {
    const { port } = fakeSsm([() => ok("started\n"), () => ok(logRead("124", 0, ""))]);
    expect(await runScriptStreaming(port, "i-1", { workDir: "/w", name: "s", script: "sleep 9", timeoutSeconds: 1 }, () => {}, { overrideMs: 0 })).toEqual({
      exitCode: 124,
      timedOut: true,
      bytes: 0,
    });
  });

  it("an agent that stops running commands fails the build, pointing at a session, which cws's own policy does not grant", async () => {
    const { port } = fakeSsm([() => ({ status: "Failed", statusDetails: "Failed", responseCode: -1, stdout: "", stderr: "No space left on device" })]);
    const error = await runScriptStreaming(port, "i-1", { workDir: "/w", name: "setup", script: "true", timeoutSeconds: 60 }, () => {}, { overrideMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailure);
    expect((error as BuildFailure).message).toBe("could not upload the script on i-1: SSM status Failed: No space left on device");
    expect((error as BuildFailure).suggestion).toContain(
      "rerun with --on-error abort to keep the instance and look at it with aws ssm start-session (Session Manager: ssm:StartSession on the instance, beyond docs/iam/cws-cli-policy.json)",
    );
  });

  it("rejects a name that is not safe in a path", async () => {
    const { port } = fakeSsm([]);
    await expect(runScriptStreaming(port, "i-1", { workDir: "/w", name: "../x", script: "", timeoutSeconds: 1 }, () => {}, { overrideMs: 0 })).rejects.toThrow("unsafe");
  });
});

describe("parseLogRead", () => {
  it("decodes the header and the gzip-compressed piece", () => {
    expect(parseLogRead(logRead("running", 42, "hello\n"))).toEqual({ exitCode: undefined, size: 42, data: Buffer.from("hello\n") });
    expect(parseLogRead(logRead("2", 0, ""))).toEqual({ exitCode: 2, size: 0, data: Buffer.alloc(0) });
    expect(() => parseLogRead("garbage")).toThrow("unexpected log read output");
  });
});
