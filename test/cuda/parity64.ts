/**
 * The three parity stages of test/helpers/parity.ts (forward, vjp, gradient of <vjp, w>) in
 * float64, for the backends that support it: float64 kernels must agree with the cpu reference to
 * rounding, so the tolerance is tight.
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { makeInputs, sampleValues, type OpSample } from '../helpers/opinfo.js';

async function stages64(sample: OpSample, device: g.DeviceName): Promise<Float64Array[][]> {
  const order = sample.order ?? 2;
  const xs = makeInputs(sample, 'float64', device);
  const diff = sample.inputs.map((s, i) => (s.kind === 'labels' || s.constant ? -1 : i)).filter((i) => i >= 0);
  const leaves = xs.map((x, i) => {
    const l = g.detach(x);
    l.requiresGrad = diff.includes(i);
    return l;
  });
  const opts = { dtype: 'float64' as const, device };
  const y = sample.fn(...leaves);
  const out: Tensor[][] = [[y]];
  if (order >= 1 && diff.length > 0) {
    const u = g.tensor(sampleValues({ shape: [...y.shape] }, 99), y.shape, opts);
    const first = g.grad(g.sum(g.mul(y, u)), diff.map((i) => leaves[i]!), { createGraph: order >= 2 });
    out.push(first);
    if (order >= 2) {
      const terms = first.map((f, j) => g.sum(g.mul(f, g.tensor(sampleValues({ shape: [...f.shape] }, 200 + j), f.shape, opts))));
      const s = terms.reduce((a, b) => g.add(a, b));
      // allowUnused: an op linear in an input has second derivative zero there.
      out.push(g.grad(s, diff.map((i) => leaves[i]!), { allowUnused: true }));
    }
  }
  return Promise.all(out.map((ts) => Promise.all(ts.map(async (t) => Float64Array.from(await t.data())))));
}

/** Worst |got - ref| / (tol * max|ref|) over each stage; <= 1 passes. */
export async function parity64(sample: OpSample, device: g.DeviceName, tol = 1e-9): Promise<number[]> {
  const ref = await stages64(sample, 'cpu');
  const got = await stages64(sample, device);
  return ref.map((stage, s) => {
    let w = 0;
    stage.forEach((r, i) => {
      const x = got[s]?.[i];
      if (!x || x.length !== r.length) { w = Infinity; return; }
      const scale = r.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
      for (let k = 0; k < r.length; k++) {
        const e = Math.abs(x[k]! - r[k]!) / (tol * scale);
        w = Number.isNaN(e) ? Infinity : Math.max(w, e);
      }
    });
    return w;
  });
}
