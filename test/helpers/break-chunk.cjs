// Preloaded (node --require) into the built CLI by the internal-error tests: the
// chunk whose file name starts with CWS_TEST_BREAK_CHUNK loads as a module whose
// exports are all plain objects, the way a bundling mistake once handed ora's
// namespace object to code that called it. What cws then prints is a real bug
// report from the real artifact.
"use strict";
const Module = require("node:module");
const prefix = process.env.CWS_TEST_BREAK_CHUNK;
const load = Module._load;
Module._load = function (request, ...rest) {
  const real = load.call(this, request, ...rest);
  if (!prefix || !new RegExp(`(^|/)${prefix}-[A-Z0-9]+\\.js$`).test(request)) return real;
  const broken = { __esModule: true };
  for (const key of Object.keys(real)) broken[key] = {};
  return broken;
};
