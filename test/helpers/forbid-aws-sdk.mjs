// Loaded with `node --import`: fails any attempt to load the AWS SDK, so a test
// can prove that a command which does not call AWS never pays for loading it.
// The CLI is CommonJS (dist/bin/), so require() is guarded as well as import.
import Module, { register } from "node:module";

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith("@aws-sdk/") || request.startsWith("@smithy/")) {
    throw new Error(`AWS SDK loaded by a command that should not need it: ${request}`);
  }
  return resolveFilename.call(this, request, ...rest);
};

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
