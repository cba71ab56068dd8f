/** The README's example must stay true: run its TypeScript block against this checkout. */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(import.meta.dirname, '..');

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it('opens with a Quick start of exactly two commands: run the main job, run the tests', () => {
    const m = /## Quick start\s+```sh\n([\s\S]*?)```/.exec(readme);
    expect(m).not.toBeNull();
    const cmds = m![1]!.trim().split('\n');
    expect(cmds).toEqual(['npm install && npm start', 'npm install && npm test']);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/dist\/cli\/main\.js reproduce thesis-table2 --quick/);
    expect(pkg.scripts.test).toBe('vitest run');
  });

  it('its double-backprop example runs and prints finite gradients of the right sizes', () => {
    const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!.replace("from 'gradreg'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`);
    const dir = mkdtempSync(join(tmpdir(), 'gradreg-readme-'));
    const file = join(dir, 'example.mts');
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const arrays = [...r.stdout.matchAll(/Float32Array\((\d+)\) \[([^\]]*)\]/g)];
    expect(arrays.map((a) => Number(a[1]))).toEqual([12, 3]);
    for (const a of arrays) {
      const vals = a[2]!.split(',').map((s) => Number(s.trim()));
      expect(vals.every(Number.isFinite)).toBe(true);
      expect(vals.some((v) => v !== 0)).toBe(true);
    }
  });
});
