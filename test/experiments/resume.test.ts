/**
 * A sweep killed with SIGKILL mid-way, plus a torn half-line, resumes to exactly the table of an
 * uninterrupted sweep, with no lost and no duplicated runs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracyTable, summarize } from '../../src/experiments/aggregate.js';
import { configKey } from '../../src/experiments/hash.js';
import { readStore } from '../../src/experiments/store.js';
import { planRecords, runSweep } from '../../src/experiments/sweep.js';
import { toMarkdown } from '../../src/experiments/table.js';
import { fakeResult, planForTest } from './fake-runner.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-resume-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function lines(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

function tableOf(file: string): string {
  const plan = planForTest();
  return toMarkdown(accuracyTable(plan, summarize(plan, planRecords(plan, file))));
}

describe('resuming an interrupted sweep', () => {
  it('kill -9 mid-sweep, a torn line, then a rerun: the same table as one uninterrupted sweep', async () => {
    const plan = planForTest();
    const whole = path.join(root, 'whole', 'results.jsonl');
    await runSweep(plan, { storeFile: whole, runner: (c) => fakeResult(c) });
    expect(lines(whole)).toBe(plan.configs.length);

    const cut = path.join(root, 'cut', 'results.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fake-runner.ts', import.meta.url)), cut, '40'], {
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const t0 = Date.now();
    while (lines(cut) < 5 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    const before = lines(cut);
    expect(before).toBeGreaterThanOrEqual(5);
    expect(before).toBeLessThan(plan.configs.length);
    // a write cut in the middle of a line
    fs.appendFileSync(cut, '{"key":"0123456789abcdef","config":{"kind":"im');
    expect(readStore(cut).skipped.length).toBe(1);

    const out = await runSweep(plan, { storeFile: cut, runner: (c) => fakeResult(c) });
    expect(out.skipped).toBe(before);
    expect(out.ran).toBe(plan.configs.length - before);
    const rec = readStore(cut);
    expect(rec.skipped).toEqual([]);
    expect(rec.duplicates).toEqual([]);
    expect(new Set(rec.records.map((r) => r.key))).toEqual(new Set(plan.configs.map(configKey)));
    expect(tableOf(cut)).toBe(tableOf(whole));

    // nothing left to do
    const again = await runSweep(plan, { storeFile: cut, runner: () => Promise.reject(new Error('must not run')) });
    expect(again.ran).toBe(0);
  }, 90_000);
});
