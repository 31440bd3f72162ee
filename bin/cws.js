#!/usr/bin/env node
// CommonJS (bin/package.json), like the program it loads from dist/bin/: Node
// then starts it without its ES module loader (docs/decisions.md §18).
// `cws ami lint …` and `cws ami list …`, the commands run most, have programs
// of their own that load in two or three files; everything else is the full CLI.
"use strict";
const [group, command] = process.argv.slice(2);
const program = group === "ami" && (command === "lint" || command === "list") ? `ami-${command}` : "main";
require(`../dist/bin/${program}.js`).run();
