// Loaded with `node --import`: fails any attempt to load the AWS SDK, so a test
// can prove that a command which does not call AWS never pays for loading it.
// The CLI is CommonJS (dist/bin/), so require() is guarded as well as import.
import Module, { register } from "node:module";

const forbidden = (specifier) => specifier.startsWith("@aws-sdk/") || specifier.startsWith("@smithy/");
const refuse = (specifier) => {
  throw new Error(`AWS SDK loaded by a command that should not need it: ${specifier}`);
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (forbidden(request)) refuse(request);
  return resolveFilename.call(this, request, ...rest);
};

// The import hook runs on the loader's own thread: it gets the same two functions as source.
register(
  "data:text/javascript," +
    encodeURIComponent(`
const forbidden = ${forbidden};
const refuse = ${refuse};
export async function resolve(specifier, context, next) {
  if (forbidden(specifier)) refuse(specifier);
  return next(specifier, context);
}`),
);
