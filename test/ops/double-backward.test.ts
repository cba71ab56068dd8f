/**
 * The fused double-backward paths against their composite twins, in float64 on the cpu reference:
 * - conv2d (the fused trio conv / convInput / convWeight) vs conv2dComposite (matmul over im2col);
 * - batchNorm's recorded backward (closed-form second derivatives, as the fused double-backward
 *   kernel or in recorded ops) vs autograd through batchNormBackwardComposite.
 * Each pair must agree on the values, first-order gradients and the gradients of a double-backprop
 * penalty ||dL/dx||^2 (what db, spectreg and the Jacobian penalties differentiate), and the fused
 * paths pass gradcheck at order 3. The native backend then reproduces the fused paths' second-order
 * gradients in float32.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { conv2dComposite, type Conv2dOptions } from '../../src/ops/conv.js';
import { setBatchNormDoubleBackward } from '../../src/ops/batchnorm.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';
import { hashValues } from '../helpers/naive.js';

const f64 = (shape: number[], seed: number, scale = 1): Tensor =>
  g.tensor(hashValues(shape.reduce((a, b) => a * b, 1), seed).map((v) => v * scale), shape, { dtype: 'float64' });

function vals(t: Tensor): number[] {
  return Array.from(t.dataSync() as Float64Array | Float32Array);
}

function expectClose(a: Tensor, b: Tensor, tol: number): void {
  expect(a.shape).toEqual(b.shape);
  const x = vals(a), y = vals(b);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  expect(worst).toBeLessThan(tol);
}

/** L = sum(r * tanh(net(x))), its gradient in x, and the gradient of L + ||dL/dx||^2 in every input. */
function secondOrder(net: (x: Tensor, ...p: Tensor[]) => Tensor, x: Tensor, params: Tensor[], r: Tensor): Tensor[] {
  const xs = g.detach(x);
  xs.requiresGrad = true;
  const ps = params.map((p) => {
    const q = g.detach(p);
    q.requiresGrad = true;
    return q;
  });
  const L = g.sum(g.mul(r, g.tanh(net(xs, ...ps))));
  const [gx] = g.grad(L, [xs], { createGraph: true });
  const total = g.add(L, g.sum(g.square(gx!)));
  return [L, gx!, ...g.grad(total, [xs, ...ps])].map((t) => t!);
}

const convCases: { name: string; x: number[]; w: number[]; o: Conv2dOptions }[] = [
  { name: '3x3 pad 1', x: [2, 3, 6, 5], w: [4, 3, 3, 3], o: { padding: 1 } },
  { name: '3x3 stride 2 pad 1', x: [2, 2, 7, 7], w: [3, 2, 3, 3], o: { stride: 2, padding: 1 } },
  { name: '5x5 valid', x: [3, 2, 8, 8], w: [2, 2, 5, 5], o: {} },
  { name: '1x1 stride 1', x: [2, 4, 3, 3], w: [5, 4, 1, 1], o: {} },
  { name: '1x1 stride 2', x: [2, 3, 5, 5], w: [2, 3, 1, 1], o: { stride: 2 } },
  { name: '2x3 kernel, stride [2,1], padding [1,0]', x: [2, 2, 5, 6], w: [3, 2, 2, 3], o: { stride: [2, 1], padding: [1, 0] } },
];

describe('conv2d: the fused trio equals conv2dComposite to second order (float64)', () => {
  for (const c of convCases) {
    it(c.name, () => {
      g.tidy(() => {
        const x = f64(c.x, 1), w = f64(c.w, 2, 0.5), b = f64([c.w[0]!], 3, 0.1);
        const y = g.conv2d(x, w, b, c.o);
        const r = f64(y.shape as number[], 4);
        const fused = secondOrder((x, w, b) => g.conv2d(x, w, b, c.o), x, [w, b], r);
        const twin = secondOrder((x, w, b) => conv2dComposite(x, w, b, c.o), x, [w, b], r);
        expect(fused).toHaveLength(twin.length);
        fused.forEach((t, i) => expectClose(t, twin[i]!, 1e-10));
      });
    });
  }

  it('passes gradcheck at order 3 (conv of conv with tanh between, strided and padded)', () => {
    g.tidy(() => {
      const x = f64([2, 2, 5, 5], 5), w1 = f64([3, 2, 3, 3], 6, 0.5), w2 = f64([2, 3, 2, 2], 7, 0.5);
      const f = (x: Tensor, w1: Tensor, w2: Tensor): Tensor =>
        g.conv2d(g.tanh(g.conv2d(x, w1, null, { padding: 1 })), w2, null, { stride: 2 });
      const r = g.gradcheck(f, [x, w1, w2], { order: 3 });
      expect(r.orders.map((o) => o.order)).toEqual([1, 2, 3]);
      expect(r.ok).toBe(true);
    });
  });

  it('runs only the kernels of the gradients a grad() call asks for', async () => {
    const { engine } = await import('../../src/engine.js');
    const be = engine.backend('cpu') as unknown as Record<string, (...a: unknown[]) => unknown>;
    const calls: Record<string, number> = {};
    const names = ['conv2dBackwardInput', 'conv2dBackwardWeight', 'matmul'];
    const saved = names.map((k) => be[k]!);
    names.forEach((k, i) => {
      be[k] = (...a: unknown[]) => {
        calls[k] = (calls[k] ?? 0) + 1;
        return saved[i]!.apply(be, a);
      };
    });
    try {
      g.tidy(() => {
        const x = f64([2, 2, 4, 4], 21), w = f64([3, 2, 3, 3], 22), a = f64([4, 5], 23), b = f64([5, 3], 24);
        for (const t of [x, w, a, b]) t.requiresGrad = true;
        const y = g.conv2d(x, w, null, { padding: 1 });
        const z = g.matmul(a, b);
        const count = (out: Tensor, inputs: Tensor[]): Record<string, number> => {
          for (const k of names) calls[k] = 0;
          g.grad(g.sum(out), inputs, { retainGraph: true });
          return out === y ? { dx: calls.conv2dBackwardInput!, dw: calls.conv2dBackwardWeight! } : { matmul: calls.matmul! };
        };
        // The input gradient only (a vjp in x, as every input-gradient penalty takes): no weight gradient.
        expect(count(y, [x])).toEqual({ dx: 1, dw: 0 });
        expect(count(y, [w])).toEqual({ dx: 0, dw: 1 });
        expect(count(y, [x, w])).toEqual({ dx: 1, dw: 1 });
        expect(count(z, [a])).toEqual({ matmul: 1 });
        expect(count(z, [a, b])).toEqual({ matmul: 2 });
      });
    } finally {
      names.forEach((k, i) => {
        be[k] = saved[i]!;
      });
    }
  });

  it('computes no input gradient for an input that does not need one', () => {
    g.tidy(() => {
      const x = f64([2, 2, 4, 4], 8);
      const w = f64([3, 2, 3, 3], 9);
      w.requiresGrad = true;
      const y = g.conv2d(x, w, null, { padding: 1 });
      const [gx, gw] = g.grad(g.sum(y), [x, w], { unusedAsNull: true });
      expect(gx).toBeNull();
      expect(gw!.shape).toEqual([3, 2, 3, 3]);
    });
  });
});

describe('batchNorm: the fused double backward equals autograd through the composite (float64)', () => {
  afterEach(() => {
    setBatchNormDoubleBackward('fused');
  });
  const bnCases: { name: string; x: number[] }[] = [
    { name: '4-D [3, 2, 3, 4]', x: [3, 2, 3, 4] },
    { name: '2-D [6, 3]', x: [6, 3] },
  ];
  for (const c of bnCases) {
    it(c.name, () => {
      g.tidy(() => {
        const C = c.x[1]!;
        const x = f64(c.x, 11, 2), gamma = f64([C], 12), beta = f64([C], 13);
        const net = (x: Tensor, ga: Tensor, be: Tensor): Tensor => g.batchNorm(g.mul(x, x), ga, be, null, null, { training: true });
        const r = f64(c.x, 14);
        // The default runs the second derivative as the backend's fused kernel.
        const fused = secondOrder(net, x, [gamma, beta], r);
        expect(setBatchNormDoubleBackward('closed-form')).toBe('fused');
        const closed = secondOrder(net, x, [gamma, beta], r);
        setBatchNormDoubleBackward('composite');
        const twin = secondOrder(net, x, [gamma, beta], r);
        fused.forEach((t, i) => expectClose(t, twin[i]!, 1e-9));
        closed.forEach((t, i) => expectClose(t, twin[i]!, 1e-9));
      });
    });
  }

  it('the fused kernel agrees with the closed form when gamma is zero and for a gradient of one channel', () => {
    g.tidy(() => {
      const x = f64([4, 2, 3, 3], 18, 2), gamma = g.tensor([0, 1.5], [2], { dtype: 'float64' }), beta = f64([2], 19);
      const net = (x: Tensor, ga: Tensor, be: Tensor): Tensor => g.batchNorm(x, ga, be, null, null, { training: true });
      const r = g.mul(f64([4, 2, 3, 3], 20), g.reshape(g.tensor([1, 0], [2], { dtype: 'float64' }), [1, 2, 1, 1]));
      const fused = secondOrder(net, x, [gamma, beta], r);
      setBatchNormDoubleBackward('closed-form');
      const closed = secondOrder(net, x, [gamma, beta], r);
      fused.forEach((t, i) => expectClose(t, closed[i]!, 1e-10));
    });
  });

  it('passes gradcheck at orders 2 and 3 through the fused rules', () => {
    g.tidy(() => {
      const x = f64([3, 2, 2, 2], 15, 2), gamma = f64([2], 16), beta = f64([2], 17);
      const f = (x: Tensor, ga: Tensor, be: Tensor): Tensor => g.tanh(g.batchNorm(x, ga, be, null, null, { training: true, eps: 1e-3 }));
      const r = g.gradcheck(f, [x, gamma, beta], { order: 3 });
      expect(r.orders.map((o) => o.order)).toEqual([1, 2, 3]);
      expect(r.ok).toBe(true);
    });
  });
});

describe('native backend: second-order gradients of conv + batch norm match the cpu reference (float32)', () => {
  registerDefaultBackends();
  const ready = g.initBackend('native').then(() => true, (e: unknown) => {
    if (process.env.CI === 'true') throw e;
    console.log(`skipping native second-order comparison: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  });
  it('a conv-BN-relu-conv block with stride 1 and 2 (every native conv algorithm)', async () => {
    if (!(await ready)) return;
    const native = (await import('../../src/engine.js')).engine.backend('native') as unknown as {
      setConvAlgorithm(a: 'auto' | 'im2col' | 'implicit' | 'direct' | 'winograd' | 'flat' | 'winograd4' | 'polyphase'): string;
    };
    const net = (x: Tensor, w1: Tensor, ga: Tensor, be: Tensor, w2: Tensor): Tensor => {
      const h = g.relu(g.batchNorm(g.conv2d(x, w1, null, { padding: 1 }), ga, be, null, null, { training: true }));
      return g.conv2d(h, w2, null, { stride: 2, padding: 1 });
    };
    const shapes = [[4, 3, 10, 10], [6, 3, 3, 3], [6], [6], [5, 6, 3, 3]];
    const run = async (device: 'cpu' | 'native'): Promise<number[][]> => {
      const ts = shapes.map((s, i) => g.tensor(hashValues(s.reduce((a, b) => a * b, 1), 20 + i), s, { dtype: 'float32', device }));
      const r = g.tensor(hashValues(5 * 5 * 5 * 4, 30), [4, 5, 5, 5], { dtype: 'float32', device });
      const out = g.tidy(() => secondOrder(net, ts[0]!, ts.slice(1), r).map((t) => g.keep(t)));
      const v = await Promise.all(out.map(async (t) => Array.from(await t.data())));
      for (const t of [...ts, r, ...out]) t.dispose();
      return v;
    };
    const ref = await run('cpu');
    // The Winograd modes twice: the input gradient as the forward's adjoint and as the convolution
    // of the padded gy (GRADREG_NATIVE_WINOGRAD_DX).
    const algos = ['im2col', 'implicit', 'direct', 'winograd', 'winograd4', 'flat', 'polyphase', 'auto'] as const;
    const prevDx = process.env.GRADREG_NATIVE_WINOGRAD_DX;
    for (const [algo, dx] of algos.flatMap((a): [(typeof algos)[number], string][] => (a.startsWith('winograd') ? [[a, 'adjoint'], [a, 'conv']] : [[a, '']]))) {
      const prev = native.setConvAlgorithm(algo);
      process.env.GRADREG_NATIVE_WINOGRAD_DX = dx;
      try {
        const got = await run('native');
        got.forEach((v, i) => {
          const scale = Math.max(1, ...ref[i]!.map(Math.abs));
          const err = Math.max(...v.map((a, j) => Math.abs(a - ref[i]![j]!)));
          expect(err / scale, `output ${i} with ${algo} ${dx}`).toBeLessThan(2e-4);
        });
      } finally {
        native.setConvAlgorithm(prev as 'auto');
        if (prevDx === undefined) delete process.env.GRADREG_NATIVE_WINOGRAD_DX;
        else process.env.GRADREG_NATIVE_WINOGRAD_DX = prevDx;
      }
    }
  });
});
