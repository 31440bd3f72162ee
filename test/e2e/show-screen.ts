// What a person sees: run the built CLI against a fresh emulator on a
// pseudo-terminal of the given size and print the final screen.
//   npx tsx test/e2e/show-screen.ts 100 40 ami build emu-basic --architecture x86_64
import { runOnTerminal } from "../helpers/terminal.js";
import { startHarness } from "./harness.js";

const [cols, rows, ...args] = process.argv.slice(2);
const harness = await startHarness();
try {
  const run = await runOnTerminal(args, { cols: Number(cols), rows: Number(rows), cwd: harness.dir, env: harness.env });
  process.stdout.write(`${run.screen.join("\n")}\n(exit ${run.status})\n`);
} finally {
  await harness.close();
}
