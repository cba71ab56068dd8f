import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import {
  BatchNorm2d, Conv2d, Linear, ReLU, Sequential, createModel, decodeSafetensors, deriveSeed, encodeSafetensors, functionalCall,
  initTensor, loadSafetensors, saveSafetensors,
} from '../../src/nn/index.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'gradreg-nn-'));

describe('Module', () => {
  const net = (): Sequential =>
    new Sequential({ conv: new Conv2d(1, 2, 3, { seed: 1 }), bn: new BatchNorm2d(2), act: new ReLU(), head: new Sequential([new Linear(2, 2, { seed: 2 })]) });

  it('names parameters and buffers by dotted path, PyTorch style', () => {
    const m = net();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'head.0.weight', 'head.0.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['bn.running_mean', 'bn.running_var']);
    expect(Object.keys(m.stateDict())).toHaveLength(8);
    expect(m.numParameters()).toBe(2 * 9 + 2 + 2 + 2 + 4 + 2);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('train() and eval() switch every descendant', () => {
    const m = net();
    m.eval();
    expect(m.namedModules().every(([, s]) => !s.training)).toBe(true);
    m.train();
    expect(m.namedModules().every(([, s]) => s.training)).toBe(true);
  });

  it('parameters survive the tidy scope they were created in', () => {
    const m = g.tidy(() => net());
    expect(m.parameters().every((p) => !p.isDisposed)).toBe(true);
  });

  it('loadStateDict copies values (keeping tensor identity) and rejects mismatches', () => {
    const a = net();
    const b = new Sequential({ conv: new Conv2d(1, 2, 3, { seed: 7 }), bn: new BatchNorm2d(2), act: new ReLU(), head: new Sequential([new Linear(2, 2, { seed: 8 })]) });
    const w = b.namedParameters()[0]![1];
    b.loadStateDict(a.stateDict());
    expect(b.namedParameters()[0]![1]).toBe(w);
    expect(Array.from(w.dataSync())).toEqual(Array.from(a.namedParameters()[0]![1].dataSync()));
    const sd = { ...a.stateDict() };
    delete sd['bn.running_var'];
    expect(() => b.loadStateDict(sd)).toThrow(/missing: bn.running_var/);
    expect(() => b.loadStateDict({ ...a.stateDict(), extra: g.zeros([1]) })).toThrow(/unexpected: extra/);
    expect(() => b.loadStateDict({ ...a.stateDict(), 'conv.bias': g.zeros([3]) })).toThrow(g.ShapeError);
  });

  it('functionalCall swaps parameters for one call and restores them', () => {
    const m = new Linear(2, 1, { seed: 3, bias: false });
    const orig = m.weight;
    const y = functionalCall(m, { weight: g.tensor([[2, 3]]) }, () => m.forward(g.tensor([[1, 1]])));
    expect(Array.from(y.dataSync())).toEqual([5]);
    expect(m.weight).toBe(orig);
    expect(() => functionalCall(m, { nope: g.zeros([1]) }, () => 0)).toThrow(/no parameter 'nope'/);
  });
});

describe('initializers (Keras semantics, seeded Philox)', () => {
  it('glorot/he uniform stay within their limits and match the variance', () => {
    const shape = [64, 32, 3, 3];
    const fanIn = 32 * 9;
    const fanOut = 64 * 9;
    const gl = Array.from(initTensor('glorotUniform', shape, 5, { dtype: 'float64' }).dataSync());
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    expect(Math.max(...gl.map(Math.abs))).toBeLessThanOrEqual(lim);
    const variance = gl.reduce((s, v) => s + v * v, 0) / gl.length;
    expect(variance).toBeCloseTo((lim * lim) / 3, 4);
    const he = Array.from(initTensor('heUniform', shape, 5, { dtype: 'float64' }).dataSync());
    expect(Math.max(...he.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / fanIn));
  });

  it('normal initializers are truncated at 2 sigma and keep the intended variance', () => {
    const shape = [200, 100];
    const v = Array.from(initTensor('glorotNormal', shape, 6, { dtype: 'float64' }).dataSync());
    const s = Math.sqrt(2 / 300) / 0.87962566103423978;
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(2 * s);
    const variance = v.reduce((a, x) => a + x * x, 0) / v.length;
    expect(variance / (2 / 300)).toBeGreaterThan(0.95);
    expect(variance / (2 / 300)).toBeLessThan(1.05);
    const h = Array.from(initTensor('heNormal', shape, 6, { dtype: 'float64' }).dataSync());
    const hv = h.reduce((a, x) => a + x * x, 0) / h.length;
    expect(hv / (2 / 100)).toBeGreaterThan(0.95);
    expect(hv / (2 / 100)).toBeLessThan(1.05);
  });

  it('are reproducible by seed and differ across seeds and layers', () => {
    const a = initTensor('glorotUniform', [4, 4], 1).dataSync();
    expect(Array.from(initTensor('glorotUniform', [4, 4], 1).dataSync())).toEqual(Array.from(a));
    expect(Array.from(initTensor('glorotUniform', [4, 4], 2).dataSync())).not.toEqual(Array.from(a));
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(1, 1));
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0));
    expect(Array.from(initTensor('zeros', [3], 1).dataSync())).toEqual([0, 0, 0]);
  });
});

describe('safetensors', () => {
  it('writes the documented layout: u64 header length, aligned JSON, little-endian data', () => {
    const bytes = encodeSafetensors(
      { a: { dtype: 'float32', shape: [2], data: new Float32Array([1.5, -2]) }, b: { dtype: 'int32', shape: [1, 1], data: new Int32Array([7]) } },
      { note: 'x' },
    );
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { note: 'x' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1, 1], data_offsets: [8, 12] },
    });
    expect(dv.getFloat32(8 + n, true)).toBe(1.5);
    expect(dv.getFloat32(8 + n + 4, true)).toBe(-2);
    expect(dv.getInt32(8 + n + 8, true)).toBe(7);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it('round-trips tensors and metadata through a file', async () => {
    const dir = tmp();
    const p = join(dir, 'x.safetensors');
    const t = g.tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'float64' });
    await saveSafetensors(p, { t, i: g.tensor([3, -1], [2], { dtype: 'int32' }) }, { k: 'v' });
    const r = loadSafetensors(p);
    expect(r.metadata).toEqual({ k: 'v' });
    expect(r.tensors.t!.shape).toEqual([2, 3]);
    expect(Array.from(r.tensors.t!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.tensors.t!.dtype).toBe('float64');
    expect(Array.from(r.tensors.i!.data)).toEqual([3, -1]);
  });

  it('rejects truncated and corrupt files with a DataError naming the file', () => {
    const dir = tmp();
    const good = encodeSafetensors({ a: { dtype: 'float32', shape: [4], data: new Float32Array(4) } });
    const p = join(dir, 'bad.safetensors');
    writeFileSync(p, good.subarray(0, good.length - 3));
    expect(() => loadSafetensors(p)).toThrow(g.DataError);
    expect(() => loadSafetensors(p)).toThrow(/bad\.safetensors/);
    expect(() => decodeSafetensors(new Uint8Array(4), 'f')).toThrow(/shorter than the 8-byte header/);
    const junk = new Uint8Array(16);
    new DataView(junk.buffer).setBigUint64(0, 8n, true);
    junk.set(new TextEncoder().encode('not json'), 8);
    expect(() => decodeSafetensors(junk, 'f')).toThrow(/not valid JSON/);
    expect(() => loadSafetensors(join(dir, 'missing.safetensors'))).toThrow(/missing\.safetensors: cannot read/);
  });

  it('a model saved and loaded gives identical predictions', async () => {
    const dir = tmp();
    const a = createModel('resnet', { inputShape: [3, 8, 8], classes: 4, seed: 1 });
    const x = g.randn([2, 3, 8, 8], { seed: 2 });
    a.forward(x); // one training-mode pass moves the batch-norm running statistics off their init
    a.eval();
    const want = a.forward(x).dataSync();
    const p = join(dir, 'm.safetensors');
    await saveSafetensors(p, a.stateDict());
    const b = createModel('resnet', { inputShape: [3, 8, 8], classes: 4, seed: 99 }).eval();
    expect(Array.from(b.forward(x).dataSync())).not.toEqual(Array.from(want));
    const { tensors } = loadSafetensors(p);
    b.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, h]) => [k, g.tensor(h.data, h.shape, { dtype: h.dtype })])));
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(want));
    expect(readFileSync(p).length).toBeGreaterThan(4 * a.numParameters());
  });
});
