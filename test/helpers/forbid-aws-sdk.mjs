// Loaded with `node --import`: fails any attempt to load the AWS SDK, so a test
// can prove that a command which does not call AWS never pays for loading it.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@aws-sdk/") || specifier.startsWith("@smithy/")) {
    throw new Error("AWS SDK loaded by a command that should not need it: " + specifier);
  }
  return next(specifier, context);
}`),
);
