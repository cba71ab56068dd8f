/**
 * The GPU-check scripts: they parse, document themselves, and refuse to start without what they
 * need (the rehearsal of the whole check on CPU is `bash scripts/gpu-check.sh --rehearse`, too long
 * for the test suite).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const run = (args: string[], cwd?: string) => spawnSync('bash', args, { encoding: 'utf8', cwd, env: { ...process.env, OUT: '' } });

describe('scripts/gpu-check.sh and scripts/pack-node.sh', () => {
  it('parse and print their usage', () => {
    for (const s of ['scripts/gpu-check.sh', 'scripts/pack-node.sh']) {
      expect(run(['-n', s]).status).toBe(0);
      const h = run([s, '--help']);
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(/gpu-check|\.gpu-carry/);
    }
  });

  it('reject unknown options with exit 2, and gpu-check names the missing carried Node', () => {
    expect(run(['scripts/gpu-check.sh', '--nope']).status).toBe(2);
    expect(run(['scripts/pack-node.sh', '--nope']).status).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'gradreg-gpu-check-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      copyFileSync('scripts/gpu-check.sh', join(dir, 'scripts', 'gpu-check.sh'));
      const r = spawnSync('bash', ['scripts/gpu-check.sh'], { encoding: 'utf8', cwd: dir, env: { ...process.env, OUT: join(dir, 'out') } });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('node.tar.xz is missing: run scripts/pack-node.sh');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
