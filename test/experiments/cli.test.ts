/** `gradreg reproduce` end to end on the cheap sin preset: files written, resumable, exit codes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { run } from '../../src/cli/reproduce.js';
import { readStore } from '../../src/experiments/store.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-cli-'));
const args = ['varga-sin', '--quick', '--seeds', '1', '--lambdas', '0,1', '--methods', 'spectreg', '--epochs', '30', '--out', out, '--device', 'cpu'];
let printed = '';

captureOutput({ out: (s) => (printed += s), cleanup: () => fs.rmSync(out, { recursive: true, force: true }) });

describe('gradreg reproduce', () => {
  it('--max-runs stops early with exit 3; the next call finishes the plan (exit 0) and a third runs nothing', async () => {
    expect(await run([...args, '--max-runs', '1'])).toBe(3);
    expect(readStore(path.join(out, 'results.jsonl')).records).toHaveLength(1);
    expect(await run(args)).toBe(0);
    const recs = readStore(path.join(out, 'results.jsonl')).records;
    expect(recs).toHaveLength(2);
    expect(await run(args)).toBe(0);
    expect(readStore(path.join(out, 'results.jsonl')).records.map((r) => r.written)).toEqual(recs.map((r) => r.written));
    for (const f of ['table.md', 'table.csv', 'runs.csv', 'plots/sin-spectreg.svg', 'plots/sin-spectreg.png']) {
      expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(0);
    }
    expect(printed).toContain("mean |g'(x)|");
    expect(fs.readFileSync(path.join(out, 'table.md'), 'utf8')).toContain('| spectreg |');
  }, 60_000);

  it('rejects an unknown preset, method or flag as a usage error', async () => {
    await expect(run(['nope'])).rejects.toThrow(/unknown preset 'nope'/);
    await expect(run(['thesis-table2', '--methods', 'jac/foo', '--out', out])).rejects.toThrow(/unknown modifier/);
    await expect(run(['thesis-table2', '--bogus'])).rejects.toThrow(/bogus/);
  });
});
