/**
 * Peer comparison on one Dawn adapter: one double-backprop training step of the small CNN at batch
 * 50 (CE + lambda |dCE/dx|^2, gradient with respect to the parameters, SGD), timed with
 * @jax-js/jax (jit, webgpu) and with gradreg (webgpu) in the same process, from the same initial
 * parameters and data. Prints both times, the ratio gradreg / jax-js and both losses (which must
 * agree, so both do the same work).
 *
 *   XDG_RUNTIME_DIR=/tmp/xdg-runtime-$(id -u) npx tsx bench/peer-jaxjs.ts [--batch 50] [--steps 5]
 *
 * jax-js is written for browsers; under Node it needs `navigator.gpu` (from the webgpu package)
 * and a `navigator.userAgent` string, which this script provides.
 */
import { create, globals } from 'webgpu';
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import type { WebGPUBackend } from '../src/backends/webgpu/index.js';
import { cnnFromValues, cnnHostValues, cnnShapes, trainStep } from '../test/webgpu/cnn.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const BATCH = opt('batch', 50);
const STEPS = opt('steps', 5);
const WARMUP = opt('warmup', 2);
const LAMBDA = 0.1;
const LR = 0.01;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function hostData(): { x: Float32Array; y: Int32Array } {
  let s = 12345;
  const next = (): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const x = Float32Array.from({ length: BATCH * 784 }, () => next());
  const y = Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  return { x, y };
}

interface Runner {
  /** Run one step and wait for its loss. */
  step(): Promise<number>;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function jaxjs(values: Float32Array[], data: { x: Float32Array; y: Int32Array }): Promise<Runner> {
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) if (!(k in globalThis)) (globalThis as any)[k] = v;
  (globalThis as any).navigator = { gpu: create([]), userAgent: 'node' };
  const jax: any = await import('@jax-js/jax');
  const { numpy: np, nn, lax, grad, valueAndGrad, jit, tree } = jax;
  const devices: string[] = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js found no webgpu device (got ${devices.join(', ')})`);
  jax.defaultDevice('webgpu');

  const shapes = cnnShapes();
  // Parameters as a list [w1, b1, ..., w5, b5]; every function consumes its arguments (jax-js
  // ownership), so each use beyond the last takes `.ref`.
  const forward = (p: any[], x: any): any => {
    const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = p;
    const conv = (h: any, w: any, b: any, c: number): any => nn.relu(lax.conv(h, w, [1, 1], 'VALID').add(b.reshape([1, c, 1, 1])));
    const pool = (h: any): any => lax.reduceWindow(h, (v: any) => np.max(v), [2, 2], [2, 2]);
    let h = pool(conv(x, w1, b1, 32));
    h = pool(conv(h, w2, b2, 64));
    h = conv(h, w3, b3, 64);
    h = nn.relu(np.matmul(h.reshape([BATCH, -1]), w4).add(b4));
    return np.matmul(h, w5).add(b5);
  };
  const ce = (p: any[], x: any, y: any): any => {
    const logp = nn.logSoftmax(forward(p, x), -1);
    return np.mean(np.sum(logp.mul(y), -1)).mul(-1);
  };
  // L(p) = CE(p, x) + lambda |dCE/dx|^2: the input gradient is itself differentiated.
  const loss = (p: any[], x: any, y: any): any => {
    const gx = grad((xx: any) => ce(tree.ref(p), xx, y.ref))(x.ref);
    return ce(p, x, y).add(np.sum(np.square(gx)).mul(LAMBDA));
  };
  const step = jit((p: any[], x: any, y: any): any => {
    const [l, gp] = valueAndGrad(loss)(tree.ref(p), x, y);
    const next = p.map((w: any, i: number) => w.sub(gp[i].mul(LR)));
    return [l, next];
  });

  let params: any[] = values.map((v, i) => np.array(v, { dtype: np.float32 }).reshape(shapes[i]));
  const x = np.array(data.x, { dtype: np.float32 }).reshape([BATCH, 1, 28, 28]);
  const y = nn.oneHot(np.array(data.y, { dtype: np.int32 }), 10).astype(np.float32);
  return {
    async step() {
      const [l, next] = step(params, x.ref, y.ref);
      params = next;
      return (await l.data())[0] as number;
    },
  };
}

async function gradreg(values: Float32Array[], data: { x: Float32Array; y: Int32Array }): Promise<Runner & { gpuMs(): Promise<number> }> {
  registerDefaultBackends();
  await g.initBackend('webgpu');
  const be = engine.backend('webgpu') as WebGPUBackend;
  const m = cnnFromValues('webgpu', values);
  const x = g.tensor(data.x, [BATCH, 1, 28, 28], { device: 'webgpu' });
  const y = g.tensor(data.y, [BATCH], { dtype: 'int32', device: 'webgpu' });
  const run = async (): Promise<number> => {
    const l = trainStep(m, be, x, y, LAMBDA, LR);
    const v = await l.item();
    l.dispose();
    return v;
  };
  return {
    step: run,
    // GPU time of one step from kernel timestamps (NaN when the adapter has none).
    async gpuMs() {
      if (!be.rt.startProfile()) return NaN;
      await run();
      return [...(await be.rt.stopProfile()).values()].reduce((s, r) => s + r.ms, 0);
    },
  };
}

async function timed(r: Runner): Promise<[number, number]> {
  const t0 = performance.now();
  const loss = await r.step();
  return [performance.now() - t0, loss];
}

const values = cnnHostValues();
const data = hostData();
console.log(`small CNN, batch ${BATCH}, one double-backprop SGD step; ${WARMUP} warm-up + ${STEPS} timed steps each, alternating`);
const gr = await gradreg(values, data);
let jx: Runner | null = null;
try {
  jx = await jaxjs(values, data);
} catch (e) {
  console.log(`jax-js could not start: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
}
const grMs: number[] = [];
const jxMs: number[] = [];
let grLoss = NaN;
let jxLoss = NaN;
for (let i = 0; i < WARMUP + STEPS; i++) {
  // Alternate the two so that load from other processes hits both alike.
  const [tg, lg] = await timed(gr);
  if (i === 0) grLoss = lg;
  if (i >= WARMUP) grMs.push(tg);
  if (jx) {
    const [tj, lj] = await timed(jx);
    if (i === 0) jxLoss = lj;
    if (i >= WARMUP) jxMs.push(tj);
  }
}
const gpu = await gr.gpuMs();
console.log(`gradreg  webgpu: median ${median(grMs).toFixed(1)} ms/step (${grMs.map((t) => t.toFixed(0)).join(', ')}); GPU time ${gpu.toFixed(1)} ms (per-kernel timestamps); first loss ${grLoss.toFixed(5)}`);
if (jx) {
  console.log(`jax-js   webgpu: median ${median(jxMs).toFixed(1)} ms/step (${jxMs.map((t) => t.toFixed(0)).join(', ')}); first loss ${jxLoss.toFixed(5)}`);
  console.log(`ratio gradreg / jax-js = ${(median(grMs) / median(jxMs)).toFixed(3)} (target <= 0.5)`);
  if (Math.abs(grLoss - jxLoss) > 1e-3 * Math.max(1, Math.abs(jxLoss))) console.log(`WARNING: first losses differ (${grLoss} vs ${jxLoss})`);
}
console.log(`device: ${g.deviceInfo('webgpu')}`);
process.exit(0);
