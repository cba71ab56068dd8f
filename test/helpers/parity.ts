/**
 * Cross-backend parity: run a sample on the cpu reference and on another device in float32 with
 * identical inputs, and compare the forward value, the first-order gradients (vjp with a fixed
 * cotangent) and the second-order gradients (gradient of <grad, w>, built with createGraph).
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { makeInputs, sampleValues, type OpSample } from './opinfo.js';

export interface ParityResult {
  /** Worst relative error per stage: |a - b| / (atol + |b|) scaled so <= 1 passes. */
  forward: number;
  first: number;
  second: number;
}

async function values(ts: Tensor[]): Promise<Float64Array[]> {
  return Promise.all(ts.map(async (t) => Float64Array.from(await t.data())));
}

function worst(a: Float64Array[], b: Float64Array[], tol: number): number {
  let w = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) w = Infinity;
    // Scale by the stage's largest magnitude: float32 rounding is relative to the values involved.
    let scale = 1e-3;
    for (let k = 0; k < y.length; k++) scale = Math.max(scale, Math.abs(y[k]!));
    for (let k = 0; k < x.length; k++) {
      const e = Math.abs(x[k]! - y[k]!) / (tol * scale);
      if (!(e <= w)) w = Number.isNaN(e) ? Infinity : Math.max(w, e);
    }
  });
  return w;
}

/** The three stages on one device; returns host copies. */
async function stages(sample: OpSample, device: g.DeviceName): Promise<Float64Array[][]> {
  const order = sample.order ?? 2;
  const xs = makeInputs(sample, 'float32', device);
  const diff = sample.inputs.map((s, i) => (s.kind === 'labels' || s.constant ? -1 : i)).filter((i) => i >= 0);
  const result = await (async () => {
    const out: Tensor[][] = [];
    const leaves = xs.map((x, i) => {
      const l = g.detach(x);
      l.requiresGrad = diff.includes(i);
      return l;
    });
    const y = sample.fn(...leaves);
    out.push([y]);
    if (order >= 1 && diff.length > 0) {
      const u = g.tensor(sampleValues({ shape: [...y.shape] }, 99), y.shape, { dtype: 'float32', device });
      const first = g.grad(g.sum(g.mul(y, u)), diff.map((i) => leaves[i]!), { createGraph: order >= 2 });
      out.push(first);
      if (order >= 2) {
        let s: Tensor | null = null;
        first.forEach((f, j) => {
          const w = g.tensor(sampleValues({ shape: [...f.shape] }, 200 + j), f.shape, { dtype: 'float32', device });
          const t = g.sum(g.mul(f, w));
          s = s ? g.add(s, t) : t;
        });
        // allowUnused: where the op is linear in an input, its first gradient does not depend on it
        // and the second derivative there is exactly zero (compared as zeros on both devices).
        out.push(g.grad(s!, diff.map((i) => leaves[i]!), { allowUnused: true }));
      }
    }
    return Promise.all(out.map(values));
  })();
  return result;
}

export async function parity(sample: OpSample, device: g.DeviceName): Promise<ParityResult> {
  const tol = sample.parityTol ?? 1e-4;
  const ref = await stages(sample, 'cpu');
  const got = await stages(sample, device);
  return {
    forward: worst(got[0]!, ref[0]!, tol),
    first: got[1] ? worst(got[1], ref[1]!, tol) : 0,
    second: got[2] ? worst(got[2], ref[2]!, tol) : 0,
  };
}
