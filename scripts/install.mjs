// `npm install` hook: build the optional native addons. Each builder prints one line saying what it
// built or why it skipped, and never fails the install: a missing toolchain only disables a backend.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const step of ['build-cpu-addon.mjs', 'build-cuda.mjs']) {
  const file = join(here, step);
  if (!existsSync(file)) continue;
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: join(here, '..') });
  if (r.status !== 0) console.log(`gradreg: ${step} failed (exit ${r.status}); that backend stays disabled`);
}
