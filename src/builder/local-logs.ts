import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileError } from "../file-access.js";
import type { BuildContext } from "./context.js";

/**
 * A run's log files on this machine (.cws/logs/<build-id>/, and a folder of
 * its own for a build's fresh instance under --verify): the directory is made
 * now, so a directory cws cannot write stops the run before anything is
 * created in AWS.
 */
export async function localLogs(dir: string, role = "the build's log directory"): Promise<Pick<BuildContext, "writeLog" | "logPath" | "readLogTail">> {
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw fileError(dir, error, { expected: "directory", action: "write", role });
  });
  const logPath = (name: string) => join(dir, name);
  return {
    logPath,
    writeLog: async (name, chunk) => {
      await appendFile(logPath(name), chunk);
    },
    readLogTail: async (name, lines) => {
      const text = await readFile(logPath(name), "utf8").catch(() => "");
      return text.replace(/\n$/, "").split("\n").slice(-lines).join("\n");
    },
  };
}
