// Writes native/opcodes.h and shaders/opcodes.wgsl from the op-code table in
// src/backends/opcodes.ts. Run `npx tsx scripts/gen-opcodes.ts` after editing that table, then
// rebuild the addons (`npm run build:native`, `npm run build:cuda`). The generated files are
// committed, so installing needs neither this script nor a network; test/backends/opcodes.test.ts
// fails while they differ from the table.
import { writeFileSync } from 'node:fs';
import { cppOpcodes, wgslOpcodes } from '../src/backends/opcodes.js';

const root = new URL('../', import.meta.url);
for (const [path, text] of [['native/opcodes.h', cppOpcodes()], ['shaders/opcodes.wgsl', wgslOpcodes()]] as const) {
  writeFileSync(new URL(path, root), text);
  console.log(`gradreg: wrote ${path}`);
}
