import { fstatSync, writeSync } from "node:fs";
import { STOP_SIGNALS } from "../errors.js";
import { processProbe } from "../process-probe.js";
import type { CliIO, OutputStream, PromptAnswer } from "./io.js";
import { execCommands } from "./exec.js";
import type { CommandSpec, GroupSpec } from "./command-spec.js";

/**
 * The process entry point behind bin/cws.js: the only code that reads
 * `process`. process.stderr is only looked up when first used: creating it
 * loads Node's stream and socket modules (~2.5 ms), and most runs never write
 * to stderr. stdout is written directly (see stdoutWriter).
 */
export async function runProcess(group: GroupSpec, topLevel: readonly CommandSpec[] = []): Promise<void> {
  // The AWS SDK warns on every run that its 2027 releases will need Node 22; that is
  // for whoever upgrades dependencies, not for someone building an AMI.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const io: CliIO = {
    stdout: stdoutWriter(),
    get stderr() {
      return quietOnError(process.stderr);
    },
    env: process.env,
    cwd: process.cwd(),
    chdir: (dir) => process.chdir(dir),
    runtime: `node ${process.version}, ${process.platform} ${process.arch}`,
    processes: processProbe(process, ["cws", ...process.argv.slice(2)].join(" ")),
    // process.stdin is only looked at when a command asks: creating it costs what process.stderr does.
    prompt: {
      get interactive() {
        return process.stdin.isTTY === true && process.stderr.isTTY === true;
      },
      ask: (question) => askOnTerminal(question),
    },
    // A closed terminal (SIGHUP) stops a build as Ctrl-C and SIGTERM do: cleaned up, not killed with its resources left.
    onSignal: (handler) => {
      const listeners = STOP_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
      for (const [signal, listener] of listeners) process.on(signal, listener);
      return () => {
        for (const [signal, listener] of listeners) process.off(signal, listener);
      };
    },
  };
  process.exitCode = await execCommands(process.argv.slice(2), io, group, topLevel);
}

/**
 * stdout as commands use it: each write goes to file descriptor 1 with
 * fs.writeSync, so printing a result does not load Node's net and stream
 * modules the way creating process.stdout on a pipe does (~2.5 ms of a 40 ms
 * run). Nothing changes for the reader: Node writes stdout pipes and files
 * synchronously on Linux as well, and whatever was written is complete when
 * the process exits. If the descriptor would block (a non-blocking pipe from
 * an unusual parent) or is a terminal, process.stdout takes over for good;
 * if the reader has gone (EPIPE), the rest of the output is dropped quietly.
 */
function stdoutWriter(): OutputStream {
  let stream: NodeJS.WriteStream | undefined;
  let closed = false;
  let terminal: boolean | undefined;
  const isTerminal = (): boolean => {
    if (terminal === undefined) {
      let device = false;
      try {
        // A pipe or a file is never a terminal; only a character device may be one.
        device = fstatSync(1).isCharacterDevice();
      } catch {
        // No stdout at all: certainly no terminal.
      }
      terminal = device && process.stdout.isTTY === true;
      if (terminal) stream = quietOnError(process.stdout);
    }
    return terminal;
  };
  return {
    write(chunk: string) {
      if (stream) return stream.write(chunk);
      if (closed) return false;
      const bytes = Buffer.from(chunk, "utf8");
      let offset = 0;
      try {
        while (offset < bytes.length) offset += writeSync(1, bytes, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // The reader went away (`cws ami list | head -1`), or the terminal did (EIO): what is left has nobody to read it.
        if (code === "EPIPE" || code === "EIO") {
          closed = true;
          return false;
        }
        if (code !== "EAGAIN") throw error;
        stream = process.stdout;
        return stream.write(bytes.subarray(offset));
      }
      return true;
    },
    get isTTY() {
      return isTerminal();
    },
    get columns() {
      return isTerminal() ? (process.stdout.columns ?? 0) : 0;
    },
  };
}

/**
 * One line read from the terminal after `question` (readline, loaded only
 * now). Ctrl-C and Ctrl-D both end the question unanswered, and are told
 * apart: readline takes the terminal's Ctrl-C itself (raw mode, a SIGINT
 * event on the reader rather than a signal to the process), and Ctrl-D (or
 * stdin closing) only closes the reader.
 */
async function askOnTerminal(question: string): Promise<PromptAnswer> {
  const { createInterface } = await import("node:readline");
  return new Promise((resolve) => {
    const output = quietOnError(process.stderr);
    const reader = createInterface({ input: process.stdin, output, terminal: true });
    let answer: PromptAnswer = { kind: "end-of-input" };
    reader.on("SIGINT", () => {
      answer = { kind: "interrupted" };
      output.write("^C\n");
      reader.close();
    });
    reader.on("close", () => {
      // Ctrl-D: end the question's line, so what follows does not start on it.
      if (answer.kind === "end-of-input") output.write("\n");
      // Nothing more is read: stdin must not keep the process alive.
      process.stdin.pause();
      resolve(answer);
    });
    reader.question(question, (line) => {
      answer = { kind: "line", text: line };
      reader.close();
    });
  });
}

/**
 * The stream, with its write errors dropped: a terminal that was closed (SSH
 * dropped, the window shut) fails every write with EIO, a pipe whose reader
 * left with EPIPE, and an 'error' event nobody listens to would kill the
 * process in the middle of a build's cleanup. Nobody is there to read what
 * is left, so it is not written; the cleanup goes on.
 */
function quietOnError(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (stream.listenerCount("error") === 0) stream.on("error", () => {});
  return stream;
}
