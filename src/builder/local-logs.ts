import { appendFile, mkdir, readFile, rmdir } from "node:fs/promises";
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

/**
 * The run's log directory when something was written to it; an empty one (a
 * run that failed or stopped before it wrote a log, or found its image up to
 * date) is removed, so that no result points at an empty folder. rmdir
 * removes only an empty directory: one with a log stays, whatever happens.
 */
export async function keptLogDir(dir: string): Promise<string | null> {
  return rmdir(dir).then(
    () => null,
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : dir),
  );
}
