/**
 * Runs the emulator on its own, for trying the CLI by hand, from the
 * repository root:
 *
 *   node --import tsx packages/aws-emulator/src/main.ts --port 4566 --ms-per-sim-second 10 &
 *
 * then point the CLI (or any AWS SDK v3 client) at it with the environment it
 * prints; `kill %1` stops it. Started directly, not through `npm start`: npm
 * runs it under `sh -c`, and a signal to npm does not reach it (README.md).
 */
import { startEmulator, type EmulatorOptions } from "./emulator.js";
import { preferredScratchDir } from "./sandbox.js";

/** How the READMEs start it: the emulator itself is the background job, so `kill %1` stops it. */
const USAGE_COMMAND = "node --import tsx packages/aws-emulator/src/main.ts";

function usage(): never {
  console.error(
    [
      `usage: ${USAGE_COMMAND} [options] &`,
      "  from the repository root; kill %1 stops it (started through npm start, kill %1 would stop npm and leave the emulator running)",
      "  --port N                 port on 127.0.0.1 (default 4566; 0 picks one)",
      "  --ms-per-sim-second N    real ms per simulated second (default 10)",
      "  --scratch-dir DIR        where instance files live (default /dev/shm if writable, else the temp dir)",
      "  --region R               region to print in the environment hints (default us-east-1)",
      "  --no-instance-profile    start without the cws-ami-builder instance profile",
      "  --shell bash|agent       how scripts run (default bash; agent = sh -c _script.sh like the SSM agent)",
      "  --reject-credentials     answer InvalidClientTokenId to everything",
      "  --throttle N/R           throttle each region's calls per action: buckets of N, refilled R per second (EC2's Describe limits: 100/20)",
      "  --request-log FILE       append every request, as AWS would receive it, to FILE: one JSON object a line (no credentials)",
      "  --verbose                log emulator diagnostics",
    ].join("\n"),
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const options: EmulatorOptions = { port: 4566, msPerSimSecond: 10, scratchDir: preferredScratchDir() };
let region = "us-east-1";
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined) usage();
    return v;
  };
  switch (a) {
    case "--port":
      options.port = Number(value());
      break;
    case "--ms-per-sim-second":
      options.msPerSimSecond = Number(value());
      break;
    case "--scratch-dir":
      options.scratchDir = value();
      break;
    case "--region":
      region = value();
      break;
    case "--no-instance-profile":
      options.instanceProfiles = [];
      break;
    case "--shell": {
      const s = value();
      if (s !== "bash" && s !== "agent") usage();
      options.shell = s;
      break;
    }
    case "--reject-credentials":
      options.rejectCredentials = true;
      break;
    case "--throttle": {
      const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value());
      if (!m) usage();
      options.throttle = { capacity: Number(m[1]), refillPerSecond: Number(m[2]) };
      break;
    }
    case "--request-log":
      // In the file only: an emulator left running by hand would otherwise keep every request in memory.
      options.requestLog = { file: value(), inMemory: false };
      break;
    case "--verbose":
      options.log = (line) => console.error(`[emulator] ${line}`);
      break;
    default:
      usage();
  }
}

/**
 * Stopping: a signal ends the process at once, and the emulator's exit handler (startEmulator)
 * kills the instances' processes and removes the scratch folder synchronously on the way out.
 * Synchronous, so nothing (a request being answered, a tree copy, a second signal) runs in
 * between; an asynchronous stop() here was the race that left folders in /dev/shm when a parent
 * (tsx's signal relay, which SIGKILLs a child that does not answer within 30 ms, or npm) signalled
 * again mid-way. `npm start` runs this file with `node --import tsx`: no relaying parent at all.
 * A signal that arrives while the emulator is starting is acted on as soon as it has started (its
 * folder then exists and has its exit handler), so no start leaves a folder behind either.
 */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const run: { emulator?: Awaited<ReturnType<typeof startEmulator>>; pending?: (typeof SIGNALS)[number] } = {};
const exitOn = (signal: (typeof SIGNALS)[number]): void => {
  if (run.emulator) {
    const s = run.emulator.stats;
    process.stderr.write(`\n${signal}: ${s.totalCalls} calls, ${s.totalSimulatedWait.toFixed(0)} simulated seconds of waits; removing ${run.emulator.scratchDir} and exiting\n`);
  }
  // Stopped as asked, and cleaned up: success (npm would report anything else as a failed script).
  process.exit(0);
};
for (const signal of SIGNALS) {
  process.on(signal, () => {
    if (run.emulator) exitOn(signal);
    else run.pending ??= signal;
  });
}

const emulator = await startEmulator(options);
run.emulator = emulator;
if (run.pending) exitOn(run.pending);
console.log(emulator.url);
console.error(
  [
    "",
    "cws AWS emulator (EC2, SSM, STS, IAM) is listening. Use it with:",
    `  export AWS_ENDPOINT_URL=${emulator.url} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${region}`,
    `scratch folder: ${emulator.scratchDir} (removed on exit)`,
    ...(typeof options.requestLog === "object" ? [`request log: ${options.requestLog.file ?? ""} (one JSON object per request, appended)`] : []),
    "Ctrl-C (or SIGTERM) stops it and removes the folder; then unset AWS_ENDPOINT_URL to reach AWS again.",
  ].join("\n"),
);

