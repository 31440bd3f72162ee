#!/usr/bin/env node
// CommonJS (bin/package.json), like the program it loads from dist/bin/: Node
// then starts it without its ES module loader (docs/decisions.md §18).
// `cws ami lint …` and `cws ami list …`, the commands run most, have programs
// of their own that load in two or three files; everything else is the full CLI.
// Which command lines go where is the build's dist/bin/routes.json, derived from
// the command table (src/cli/command-table.ts): its keys are two words ("ami lint"),
// so no property every object has can match one.
"use strict";
// Node 22.1+ keeps the code it compiles between runs (in the OS temporary folder);
// Node 20 has no such cache, and the line does nothing there (docs/decisions.md §19).
require("node:module").enableCompileCache?.();
const [group, command] = process.argv.slice(2);
const program = require("../dist/bin/routes.json")[`${group} ${command}`] ?? "main";
require(`../dist/bin/${program}.js`).run();
