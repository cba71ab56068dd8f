/**
 * The researcher's workflow through the `gradreg` command (issue 15): regularized `train` with its
 * checkpoint and Ctrl-C resume, outputs checked before any work, typed one-line errors for numeric
 * options, one default device for every command, and progress during the test-set evaluation.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors } from '../../src/nn/index.js';
import { tempDir, writeIdxDataset } from '../data/fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--import', 'tsx', join(root, 'src/cli/main.ts')];

function gradreg(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with exactly one line on stderr, no stack trace; returns the line. */
function userError(args: string[]): string {
  const r = gradreg(args);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.code).toBe(2);
  return lines[0]!;
}

/** A tiny Fashion-MNIST-format dataset: 3 images per class to train on, 1 to test. */
function tinyData(): string {
  const dir = tempDir();
  writeIdxDataset(dir, { perClass: 3, testPerClass: 1 });
  return dir;
}

describe('numeric options: one typed line each (bug 6)', () => {
  it('a negative, zero or missing value names the option, what it expected and what it got, once prefixed', () => {
    expect(userError(['train', '--epochs', '-1'])).toBe("gradreg train: --epochs: expected an integer >= 1, got '-1'");
    expect(userError(['train', '--lr', '0'])).toBe("gradreg train: --lr: expected a number > 0, got '0'");
    expect(userError(['train', '--lr', '-0.5'])).toBe("gradreg train: --lr: expected a number > 0, got '-0.5'");
    expect(userError(['train', '--eval-every', '0'])).toBe("gradreg train: --eval-every: expected an integer >= 1, got '0'");
    expect(userError(['train', '--per-class', '0'])).toBe("gradreg train: --per-class: expected an integer >= 1, got '0'");
    expect(userError(['train', '--epochs'])).toMatch(/^gradreg train: --epochs: expected a value \(see 'gradreg train --help'\)$/);
    expect(userError(['train', '--epochs', '--lr', '1'])).toMatch(/^gradreg train: --epochs: expected a value, got the option '--lr'/);
    expect(userError(['reproduce', 'thesis-table2', '--seeds', '-2'])).toBe("gradreg reproduce: --seeds: expected an integer >= 1, got '-2'");
    expect(userError(['cost', '--model', 'small', '--batch', '-3'])).toBe("gradreg cost: --batch: expected an integer >= 1, got '-3'");
  });
});

describe('outputs are checked before any work (bug 4)', () => {
  const fileOut = (): string => {
    const f = join(tempDir('gradreg-out-'), 'a-file');
    writeFileSync(f, 'x');
    return f;
  };

  it('an --out that is a file, or lies under one, or cannot be written, is one line and exit 2 for train, reproduce and cost', () => {
    const f = fileOut();
    const data = tinyData();
    const train = ['train', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '1', '--device', 'cpu'];
    expect(userError([...train, '--out', f])).toBe(`gradreg train: --out ${f}: is a file, expected a directory`);
    expect(userError([...train, '--out', join(f, 'run')])).toBe(`gradreg train: --out ${join(f, 'run')}: ${f} is a file, so the directory cannot be created`);
    // /proc refuses new entries even to root
    expect(userError([...train, '--out', '/proc/gradreg-test/run'])).toBe('gradreg train: --out /proc/gradreg-test/run: /proc is not writable');
    expect(userError(['reproduce', 'varga-sin', '--smoke', '--device', 'cpu', '--out', f])).toBe(`gradreg reproduce: --out ${f}: is a file, expected a directory`);
    expect(userError(['cost', '--model', 'small', '--only', 'db', '--device', 'cpu', '--out', join(f, 'x')])).toMatch(/^gradreg cost: --out .*: .*a-file is a file/);
    expect(readFileSync(f, 'utf8')).toBe('x');
  });

  it('train refuses a directory that holds a run unless --resume or --force', () => {
    const data = tinyData();
    const out = join(tempDir('gradreg-out-'), 'run');
    const args = ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '2', '--batch', '10', '--device', 'cpu', '--out', out, '--quiet'];
    expect(gradreg(args).code).toBe(0);
    const before = readFileSync(join(out, 'result.json'), 'utf8');
    expect(userError(args)).toBe(`gradreg train: --out ${out}: holds a run already (checkpoint.safetensors); pass --resume to continue it or --force to replace it`);
    expect(readFileSync(join(out, 'result.json'), 'utf8')).toBe(before);
    const forced = gradreg([...args, '--force', '--seed', '1']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).config.seed).toBe(1);
  });
});

describe('one default device (bug 10)', () => {
  it('train, reproduce and cost without --device pick the same backend and say so', () => {
    const data = tinyData();
    const picked = (r: { stderr: string }): string => /^device: picked (\w+) \(/m.exec(r.stderr)?.[1] ?? `no device line in: ${r.stderr}`;
    const t = gradreg(['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '1', '--quiet', '--out', join(tempDir('gradreg-out-'), 'r')]);
    const r = gradreg(['reproduce', 'varga-sin', '--smoke', '--seeds', '1', '--lambdas', '0', '--methods', 'spectreg', '--epochs', '5', '--out', tempDir('gradreg-out-')]);
    const c = gradreg(['cost', '--model', 'lenet5', '--only', 'db', '--batch', '2', '--reps', '1']);
    expect([t.code, r.code, c.code]).toEqual([0, 0, 0]);
    expect(picked(r)).toBe(picked(t));
    expect(picked(c)).toBe(picked(t));
  });
});

describe('--threads on train and cost (issue 12: the native backend\'s threads in every command)', () => {
  it('a value below 1 is one line and exit 2; native takes it and says so; another device says it ignores it', () => {
    expect(userError(['train', '--threads', '0'])).toBe("gradreg train: --threads: expected an integer >= 1, got '0'");
    expect(userError(['cost', '--model', 'small', '--threads', 'two'])).toBe("gradreg cost: --threads: expected an integer >= 1, got 'two'");
    const data = tinyData();
    const train = ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '1', '--quiet'];
    const t = gradreg([...train, '--device', 'native', '--threads', '1', '--out', join(tempDir('gradreg-out-'), 'r')]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/^native backend: 1 thread$/m);
    const c = gradreg(['cost', '--model', 'lenet5', '--only', 'db', '--batch', '2', '--reps', '1', '--device', 'cpu', '--threads', '2']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/^--threads 2: ignored on cpu \(it sets the native backend's threads\)$/m);
  });
});

describe('progress while evaluating (bug 12)', () => {
  it('train prints the test-set evaluation as it goes', () => {
    const data = tinyData();
    const r = gradreg(['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '1', '--eval-batch', '2', '--device', 'cpu', '--out', join(tempDir('gradreg-out-'), 'r')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^evaluating on the test set \[#{4}\.{16}\] 2\/10$/m);
    expect(r.stderr).toMatch(/^evaluating on the test set \[#{20}\] 10\/10$/m);
  });
});

describe('gradreg train --regularizer', () => {
  it('rejects an unknown regularizer or a missing lambda before any work', () => {
    expect(userError(['train', '--regularizer', 'hsfob/k=0', '--lambda', '1'])).toMatch(/^gradreg train: --regularizer: .*k must be a positive integer/);
    expect(userError(['train', '--regularizer', 'nope', '--lambda', '1'])).toMatch(/^gradreg train: --regularizer: unknown 'nope' \(known: baseline, db, /);
    expect(userError(['train', '--regularizer', 'db'])).toMatch(/^gradreg train: --lambda: required with --regularizer db/);
    expect(userError(['train', '--lambda', '1'])).toMatch(/^gradreg train: --lambda: baseline has no penalty/);
  });

  it('hsfob/k=1: trains, checkpoints, and resumes after Ctrl-C to the same final weights as an uninterrupted run', async () => {
    const args = (out: string): string[] => [
      'train', '--model', 'small', '--per-class', '50', '--epochs', '4', '--regularizer', 'hsfob/k=1', '--lambda', '1', '--seed', '0',
      '--device', 'native', '--robust-points', '200', '--out', out,
    ];
    const whole = join(tempDir('gradreg-reg-'), 'whole');
    const a = gradreg(args(whole));
    expect(a.code, a.stderr).toBe(0);
    // the test set's evaluation shows its progress (bug 12)
    expect(a.stderr).toMatch(/^evaluating on the test set \[#{20}\] 10000\/10000$/m);
    expect(a.stderr).toMatch(/^input gradients and FGSM at test points \[#{20}\] 200\/200$/m);

    const cut = join(tempDir('gradreg-reg-'), 'cut');
    const child = spawn(process.execPath, [...NODE_ARGS, ...args(cut)], { cwd: root });
    let stderr = '';
    const code = await new Promise<number | null>((done) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/epoch 1\/4 \[/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => done(c));
    });
    expect(code, stderr).toBe(130);
    const state = JSON.parse(loadSafetensors(join(cut, 'checkpoint.safetensors')).metadata.trainState!);
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(40);
    const b = gradreg([...args(cut), '--resume']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/resuming from .*step [1-9]/);

    const wa = loadSafetensors(join(whole, 'checkpoint.safetensors')).tensors;
    const wb = loadSafetensors(join(cut, 'checkpoint.safetensors')).tensors;
    expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
    expect(Object.keys(wa)).toContain('optim/conv1.weight.m');
    for (const k of Object.keys(wa)) expect(Array.from(wb[k]!.data), k).toEqual(Array.from(wa[k]!.data));

    const ra = JSON.parse(readFileSync(join(whole, 'result.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8'));
    expect(ra.status).toBe('completed');
    expect(ra.config.regularizer).toBe('hsfob/k=1');
    expect(ra.config.lambda).toBe(1);
    expect(ra.curve).toHaveLength(4);
    for (const e of ra.curve) {
      expect(Object.keys(e.terms).sort()).toEqual(['ce', 'hsfob']);
      expect(e.terms.hsfob).toBeGreaterThan(0);
      expect(e.loss).toBeCloseTo(e.terms.ce + e.terms.hsfob, 5);
    }
    expect(ra.test.count).toBe(10000);
    expect(ra.test.accuracy).toBeGreaterThan(0.3);
    expect(ra.robustness.points).toBe(200);
    expect(ra.robustness.gradNorm).toBeGreaterThan(0);
    expect(ra.robustness.fgsm.map((f: { eps: number }) => f.eps)).toEqual([0.05, 0.1, 0.2]);
    expect(ra.robustness.fgsm[2].accuracy).toBeLessThanOrEqual(ra.robustness.cleanAccuracy);
    // the same numbers after the interruption
    expect(rb.curve.map((e: { terms: unknown }) => e.terms)).toEqual(ra.curve.map((e: { terms: unknown }) => e.terms));
    expect(rb.test).toEqual(ra.test);
    expect(rb.robustness).toEqual(ra.robustness);
  }, 300_000);

  it('a checkpoint written before --regularizer existed resumes as the plain run it was', () => {
    const data = tinyData();
    const out = join(tempDir('gradreg-reg-'), 'old');
    mkdirSync(out, { recursive: true });
    const args = ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', data, '--per-class', '2', '--batch', '10', '--device', 'cpu', '--out', out, '--quiet'];
    expect(gradreg(args).code).toBe(0);
    // rewrite the checkpoint's config as the old format had it: no regularizer, no lambda
    const file = join(out, 'checkpoint.safetensors');
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const extra = JSON.parse(header.__metadata__.extra);
    delete extra.config.regularizer;
    delete extra.config.lambda;
    header.__metadata__.extra = JSON.stringify(extra);
    const h = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    writeFileSync(file, Buffer.concat([len, h, bytes.subarray(8 + n)]));
    const r = gradreg([...args, '--epochs', '2', '--resume']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'result.json'))).toBe(true);
    expect(userError([...args, '--epochs', '3', '--resume', '--regularizer', 'db', '--lambda', '1'])).toMatch(/settings differ .*regularizer "baseline" -> "db"/);
  });
});
