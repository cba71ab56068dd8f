import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDevice } from '../../src/cli/train-command.js';
import { loadSafetensors } from '../../src/nn/index.js';
import { idxBytes, tempDir, writeCifarDataset, writeIdxDataset } from '../data/fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const MAIN = join(root, 'src/cli/main.ts');
const NODE_ARGS = ['--import', 'tsx', MAIN];

function gradreg(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit 2, exactly one line on stderr, no stack trace, and the output directory never created. */
function expectUserError(args: string[], pattern: RegExp): string {
  const out = join(tempDir('gradreg-cli-'), 'out');
  const r = gradreg([...args, '--out', out, '--device', 'cpu']);
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(out)).toBe(false);
  return lines[0]!;
}

describe('gradreg CLI', () => {
  it('prints help', () => {
    const top = gradreg(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:\n\s+train/);
    const r = gradreg(['train', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--per-class N/);
    expect(gradreg(['frobnicate']).code).toBe(2);
  });

  it('--device auto says which backend it picked and why the others were skipped', () => {
    const line = describeDevice('auto', {
      picked: 'cpu',
      description: 'TypeScript reference',
      skipped: [{ device: 'webgpu', reason: 'no adapter' }, { device: 'cuda', reason: 'no driver' }],
    });
    expect(line).toBe('device: picked cpu (TypeScript reference); skipped webgpu: no adapter; cuda: no driver');
    expect(describeDevice('cpu', { picked: 'cpu', description: 'x', skipped: [] })).toBe('device: cpu (x)');
  });

  it('rejects unknown names and flags with one line and exit 2', () => {
    expectUserError(['train', '--model', 'vgg'], /^gradreg train: --model: unknown value 'vgg' \(expected one of: small, resnet, lenet5\)$/);
    expectUserError(['train', '--dataset', 'imagenet'], /--dataset: unknown value 'imagenet'/);
    expectUserError(['train', '--optimizer', 'lbfgs'], /--optimizer: unknown value 'lbfgs'/);
    expectUserError(['train', '--epochs', 'two'], /--epochs: expected an integer >= 1, got 'two'/);
    expectUserError(['train', '--bogus', '1'], /Unknown option '--bogus'/);
  });

  it('names a missing, truncated or wrong-magic data file', () => {
    const dir = tempDir();
    expectUserError(['train', '--dataset', 'fashion-mnist', '--data-dir', join(dir, 'none')], /none: data directory not found/);
    expectUserError(['train', '--dataset', 'fashion-mnist'], /no data directory given/);
    writeIdxDataset(dir, { perClass: 2, testPerClass: 1, h: 28, w: 28 });
    const labels = join(dir, 'train-labels-idx1-ubyte');
    writeFileSync(labels, idxBytes([20], new Array(20).fill(1)).subarray(0, 15));
    expectUserError(['train', '--dataset', 'fashion-mnist', '--data-dir', dir], new RegExp(`${labels}: truncated: the header promises 20 values`));
    const wrong = idxBytes([20], new Array(20).fill(1));
    wrong[2] = 0x0c;
    writeFileSync(labels, wrong);
    expectUserError(['train', '--dataset', 'fashion-mnist', '--data-dir', dir], new RegExp(`${labels}: bad magic number 0x00000c01`));
    const cifar = tempDir();
    writeCifarDataset(cifar, { perClass: 1, testPerClass: 1 });
    writeFileSync(join(cifar, 'data_batch_1.bin'), new Uint8Array(3073 * 2 + 5));
    expectUserError(['train', '--dataset', 'cifar10', '--data-dir', cifar], /data_batch_1\.bin: size 6151 bytes is not a whole number/);
  });

  it('rejects a per-class size larger than a class has', () => {
    const dir = tempDir();
    writeIdxDataset(dir, { perClass: 3, testPerClass: 1 });
    expectUserError(['train', '--dataset', 'fashion-mnist', '--data-dir', dir, '--per-class', '4'], /per-class 4 is more than the training set has: class 0 \(T-shirt\/top\) has only 3 images/);
  });

  it('trains, writes result.json and a checkpoint each epoch, and resumes', () => {
    const dir = tempDir();
    writeIdxDataset(dir, { perClass: 3, testPerClass: 1 });
    const out = join(tempDir('gradreg-cli-'), 'run');
    const args = ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', dir, '--per-class', '2', '--batch', '8', '--seed', '3', '--out', out, '--quiet'];
    const r = gradreg([...args, '--epochs', '2', '--device', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^device: cpu \(/m);
    expect(r.stderr).toMatch(/^epoch 2: loss/m);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res.status).toBe('completed');
    expect(res.curve).toHaveLength(2);
    expect(res.data.trainCount).toBe(20);
    expect(res.test.accuracy).toBeGreaterThanOrEqual(0);
    expect(res.model).toEqual({ name: 'lenet5', parameters: 61706 });
    const ck = loadSafetensors(join(out, 'checkpoint.safetensors'));
    expect(ck.tensors['conv1.weight']!.shape).toEqual([6, 1, 5, 5]);
    expect(ck.tensors['optim/conv1.weight.m']).toBeDefined();
    expect(JSON.parse(ck.metadata.trainState!).epoch).toBe(2);

    const again = gradreg([...args, '--epochs', '3', '--device', 'cpu', '--resume']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming from .*epoch 3, batch 0, step 6/);
    const res2 = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res2.curve).toHaveLength(3);
    expect(res2.curve.slice(0, 2).map((e: { loss: number }) => e.loss)).toEqual(res.curve.map((e: { loss: number }) => e.loss));
    const bad = gradreg([...args, '--epochs', '3', '--device', 'cpu', '--resume', '--lr', '0.1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--resume: settings differ from the checkpoint's run: lr 0.001 -> 0.1/);
  });

  it('Ctrl-C saves a checkpoint before exiting, and --resume continues', async () => {
    const dir = tempDir();
    writeIdxDataset(dir, { perClass: 20, testPerClass: 1 });
    const out = join(tempDir('gradreg-cli-'), 'run');
    const args = ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', dir, '--batch', '2', '--epochs', '1', '--device', 'cpu', '--out', out];
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: root });
    let stderr = '';
    const code = await new Promise<number | null>((done) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/epoch 1\/1 \[/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => done(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted at step \d+: checkpoint saved/);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res.status).toBe('interrupted');
    const state = JSON.parse(loadSafetensors(join(out, 'checkpoint.safetensors')).metadata.trainState!);
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(100);
    const r = gradreg([...args, '--resume', '--quiet']);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).status).toBe('completed');
  });
});
