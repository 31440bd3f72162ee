import { access } from "node:fs/promises";
import { join } from "node:path";
import type { ProfileFinder, SharedConfigReader } from "../config/aws-context.js";

/**
 * The profiles of the shared config file, read and parsed by the SDK's own
 * loader (`[default]`, `[profile NAME]`, comments, continuation lines, as in
 * every AWS tool). Only the config file's `region` is used; the loader is
 * imported on first use, so commands that never need it never load it.
 */
export const readSharedConfig: SharedConfigReader = async (file) => {
  const { getHomeDir, loadSharedConfigFiles } = await import("@smithy/core/config");
  const path = file.startsWith("~/") ? join(getHomeDir(), file.slice(2)) : file;
  // The loader treats a missing file as an empty one; the message for a missing region tells them apart.
  if (!(await access(path).then(() => true, () => false))) return undefined;
  // `filepath` is the credentials file, which this loader reads too: pointed at the config file, so looking up a region reads no keys.
  const { configFile } = await loadSharedConfigFiles({ configFilepath: path, filepath: path, ignoreCache: true });
  return configFile;
};

/** Whether each shared file has the profile, read by the SDK's loader as its credential chain reads them. */
export const findProfile: ProfileFinder = async (profile, files) => {
  const { getHomeDir, loadSharedConfigFiles } = await import("@smithy/core/config");
  const resolved = (file: string) => (file.startsWith("~/") ? join(getHomeDir(), file.slice(2)) : file);
  const [configPath, credentialsPath] = [resolved(files.config), resolved(files.credentials)];
  const [configThere, credentialsThere] = await Promise.all([configPath, credentialsPath].map((path) => access(path).then(() => true, () => false)));
  const { configFile, credentialsFile } = await loadSharedConfigFiles({ configFilepath: configPath, filepath: credentialsPath, ignoreCache: true });
  // Own keys: a profile named "constructor" is in a file only if the file has one of that name.
  return {
    config: configThere ? Object.hasOwn(configFile, profile) : undefined,
    credentials: credentialsThere ? Object.hasOwn(credentialsFile, profile) : undefined,
  };
};
