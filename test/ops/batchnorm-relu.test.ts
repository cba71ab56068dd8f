/**
 * batchNormRelu (one op: relu's mask applied inside the batch-norm backward kernels) equals its
 * composite twin relu(batchNorm(...)) bit for bit: forward and running statistics, the first-order
 * gradient, the batched vjp of an exact Jacobian penalty and its outer gradient, the recorded
 * (loop) vjp and its outer gradient; on the cpu reference in float64 and the native backend in
 * float32; and a whole ResNet training objective. It is differentiated to order 2 against finite
 * differences by the op-sample gradcheck (test/helpers/opinfo.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { DeviceName, Tensor } from '../../src/index.js';
import * as R from '../../src/regularizers/index.js';
import { createModel } from '../../src/nn/index.js';
import { engine } from '../../src/engine.js';
import { setBatchNormRelu, type BatchNormReluMode } from '../../src/ops/batchnorm.js';
import { values } from '../regularizers/fixtures.js';
import { nativeBackend, runNative } from '../native/native.js';

type Case = [DeviceName, 'float32' | 'float64'];
const CASES: Case[] = [['cpu', 'float64'], ...(runNative ? [['native', 'float32'] as Case] : [])];

beforeAll(async () => {
  if (runNative) await nativeBackend();
});

const bits = (ts: readonly Tensor[]): string =>
  ts.map((t) => Buffer.from(new Uint8Array(t.dataSync().buffer.slice(0))).toString('base64')).join('|');

/** Runs fn under a batchNormRelu mode, counting the backend's where() calls. */
function inMode<T>(mode: BatchNormReluMode, device: DeviceName, fn: () => T): { out: T; wheres: number } {
  const prev = setBatchNormRelu(mode);
  const be = engine.backend(device) as unknown as { where: (...a: unknown[]) => unknown };
  const own = Object.prototype.hasOwnProperty.call(be, 'where');
  const orig = be.where;
  let wheres = 0;
  be.where = function (this: unknown, ...a: unknown[]) {
    wheres++;
    return orig.apply(this, a);
  };
  try {
    return { out: fn(), wheres };
  } finally {
    if (own) be.where = orig;
    else delete (be as { where?: unknown }).where;
    setBatchNormRelu(prev);
  }
}

describe('batchNormRelu equals relu(batchNorm) bit for bit', () => {
  for (const [device, dtype] of CASES) {
    it(`${device} ${dtype}: forward, running statistics, first-order gradient, batched and loop vjps of a Jacobian penalty and their outer gradients`, () => {
      const [n, c, h, w, classes] = [4, 3, 5, 5, 4];
      const o = { dtype, device };
      const x = g.tensor(values(n * c * h * w, 3, 2), [n, c, h, w], o);
      const gamma = g.tensor(values(c, 5, 1.5), [c], { ...o, requiresGrad: true });
      const beta = g.tensor(values(c, 7, 0.5), [c], { ...o, requiresGrad: true });
      const head = g.tensor(values(classes * c * h * w, 11, 0.3), [classes, c * h * w], { ...o, requiresGrad: true });
      const run = (mode: BatchNormReluMode): { out: string; wheres: number; name: string } => {
        const rm = g.zeros([c], o), rv = g.ones([c], o);
        let name = '';
        const f = (xx: Tensor): Tensor => {
          const y = g.batchNormRelu(xx, gamma, beta, rm, rv, { training: true, momentum: 0.3 });
          name = y.node?.name ?? '';
          return g.matmulT(g.reshape(y, [n, c * h * w]), head, false, true);
        };
        const r = inMode(mode, device, () =>
          g.tidy(() => {
            const outs: Tensor[] = [];
            // forward and the plain gradient
            const xl = g.detach(x);
            xl.requiresGrad = true;
            const z = g.withGrad(true, () => f(xl));
            outs.push(z, ...g.grad(g.sum(g.square(z)), [xl, gamma, beta, head]));
            // an exact penalty (every class's vjp to the input), batched and as a loop, and its gradient
            for (const mode2 of ['batched', 'loop'] as const) {
              const p = R.frobReg(f, x, { classes, mode: mode2 }).penalty;
              outs.push(p, ...g.grad(p, [gamma, beta, head], { allowUnused: true }));
            }
            return outs.map((t) => g.keep(t));
          }),
        );
        const out = bits([...r.out, rm, rv]);
        for (const t of [...r.out, rm, rv]) t.dispose();
        return { out, wheres: r.wheres, name };
      };
      const fused = run('fused');
      const composite = run('composite');
      expect(fused.name).toBe('batchNormRelu');
      expect(composite.name).toBe('relu');
      expect(fused.out).toBe(composite.out);
      // the fused op's batched vjp and its second derivative run no where() over the stacks (the
      // recorded loop vjps and the plain outer backward still do, through the fused op's where)
      expect(fused.wheres).toBeLessThan(composite.wheres);
      // not vacuous: relu zeroes part of the batch norm's output, so the mask matters
      const y = g.noGrad(() => g.batchNormRelu(x, gamma, beta, null, null, { training: true }));
      const yv = Array.from(y.dataSync());
      expect(yv.some((v) => v === 0) && yv.some((v) => v > 0)).toBe(true);
      y.dispose();
      for (const t of [x, gamma, beta, head]) t.dispose();
    });

    it(`${device} ${dtype}: the ResNet's fob objective (batched) and its weight gradient`, () => {
      const shape: [number, number, number] = [3, 8, 8];
      const run = (mode: BatchNormReluMode): string => {
        const prev = setBatchNormRelu(mode);
        try {
          const model = createModel('resnet', { inputShape: shape, classes: 5, seed: 3, dtype, device });
          const params = model.parameters();
          const x = g.tensor(values(3 * 3 * 8 * 8, 17, 1), [3, ...shape], { dtype, device });
          const y = g.tensor(Int32Array.from([0, 3, 1]), [3], { dtype: 'int32', device });
          const s = g.tidy(() => {
            const { penalty, logits } = R.frobReg((xx) => model.forward(xx), x, { classes: 5, mode: 'batched' });
            const loss = g.add(g.crossEntropy(logits, y), g.mul(penalty, 0.01));
            return bits([loss, ...g.grad(loss, [...params])]);
          });
          model.dispose();
          x.dispose();
          y.dispose();
          return s;
        } finally {
          setBatchNormRelu(prev);
        }
      };
      expect(run('fused')).toBe(run('composite'));
    });
  }

  it('eval mode, and a typed error naming the op', () => {
    const x = g.tensor(values(2 * 3 * 4, 1), [2, 3, 4], { dtype: 'float64' });
    const ga = g.ones([3], { dtype: 'float64' }), be = g.zeros([3], { dtype: 'float64' });
    const rm = g.tensor([0.1, -0.2, 0.3], [3], { dtype: 'float64' }), rv = g.tensor([1, 2, 0.5], [3], { dtype: 'float64' });
    const a = g.batchNormRelu(x, ga, be, rm, rv, { training: false });
    const b = g.relu(g.batchNorm(x, ga, be, rm, rv, { training: false }));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(() => g.batchNormRelu(x, g.ones([4], { dtype: 'float64' }), be, null, null, { training: true })).toThrow(
      /batchNormRelu: gamma must have shape \[3\] for input \[2,3,4\], got \[4\]/,
    );
    expect(() => g.batchNormRelu(x, ga, be, null, null, { training: false })).toThrow(/batchNormRelu: eval mode needs runMean and runVar/);
    for (const t of [x, ga, be, rm, rv, a, b]) t.dispose();
  });
});
