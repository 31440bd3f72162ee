import { pollSettingsFromEnv } from "../builder/poll.js";
import { LOCK_TIMEOUT_MS, type RegistryLockOptions } from "../registry/lock.js";
import type { CliIO } from "./io.js";

/**
 * How a command takes the registry lock: as this process (so that whoever
 * waits for it sees which process to wait for, and a lock left by a dead
 * process is taken over), saying on stderr at once when it waits and for
 * whom. CWS_TIME_SCALE shortens the wait, as it does every timeout.
 */
export function registryLockOptions(io: CliIO, say: (message: string) => void = (message) => io.stderr.write(`⏳ ${message}\n`)): RegistryLockOptions {
  const scale = pollSettingsFromEnv(io.env).timeoutScale ?? 1;
  return { ...(io.processes ? { processes: io.processes } : {}), onWait: say, timeoutMs: LOCK_TIMEOUT_MS * scale };
}
