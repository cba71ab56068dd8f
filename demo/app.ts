/**
 * The demo page: trains the thesis's small CNN on an MNIST subset in the tab with a chosen
 * regularizer, and draws the loss and test-accuracy curves, the input gradients of fixed test digits
 * and FGSM examples as it goes. No framework: the DOM of index.html, canvases, one training loop.
 *
 * `window.gradregDemo` lets the browser test (test/browser/demo.test.ts) read the page's state and
 * compute gradients for a fixed batch; the page itself does not need it.
 */
import * as g from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { CLASSES, createDemoModel, lossAndGrads, probe, toInput, DEMO_REGULARIZERS, type DemoRegularizer, type DemoSettings, type Probe } from './model.js';

const PROBE_DIGITS = 8;
const TEST_COUNT = 500;
const BATCH = 32;
const LR = 0.001;
const EVAL_EVERY = 25;
const NORMALIZATION = g.data.unitScale(1);

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`demo: the page has no element #${id}`);
  return e as T;
}

const ui = {
  form: el<HTMLFormElement>('controls'),
  backend: el<HTMLSelectElement>('backend'),
  regularizer: el<HTMLSelectElement>('regularizer'),
  lambda: el<HTMLInputElement>('lambda'),
  projections: el<HTMLInputElement>('projections'),
  trainCount: el<HTMLInputElement>('train-count'),
  epsilon: el<HTMLInputElement>('epsilon'),
  epsilonOut: el<HTMLOutputElement>('epsilon-out'),
  start: el<HTMLButtonElement>('start'),
  pause: el<HTMLButtonElement>('pause'),
  reset: el<HTMLButtonElement>('reset'),
  status: el<HTMLParagraphElement>('status'),
  backendInfo: el<HTMLElement>('backend-info'),
  stepInfo: el<HTMLElement>('step-info'),
  stepTime: el<HTMLElement>('step-time'),
  lossInfo: el<HTMLElement>('loss-info'),
  accInfo: el<HTMLElement>('acc-info'),
  lossChart: el<HTMLCanvasElement>('loss-chart'),
  accChart: el<HTMLCanvasElement>('acc-chart'),
  saliency: el<HTMLElement>('saliency'),
  fgsm: el<HTMLElement>('fgsm'),
  fgsmEps: el<HTMLElement>('fgsm-eps'),
};

interface Run {
  settings: DemoSettings;
  model: g.nn.Module;
  optimizer: g.optim.Optimizer;
  train: g.data.Dataset;
  epoch: number;
  batches: Generator<g.data.Batch>;
  step: number;
  losses: number[];
  accuracy: { step: number; value: number }[];
  stepMs: number[];
  lastProbe: Probe | null;
}

const state = {
  device: 'cpu' as g.DeviceName,
  backendLabel: '',
  /** Why the page is not on WebGPU, when it asked for it and fell back. */
  fallbackReason: null as string | null,
  mnist: null as { train: g.data.Dataset; test: g.data.Dataset } | null,
  /** The fixed test digits of the saliency and FGSM panels: pixels in [0, 1], labels, and as tensors. */
  probeImages: null as Float32Array | null,
  probeLabels: null as number[] | null,
  probeX: null as Tensor | null,
  probeY: null as Tensor | null,
  run: null as Run | null,
  /** Training is wanted (Pause clears it); `active` stays true until the loop has finished its last step. */
  running: false,
  active: false,
  error: null as string | null,
};

function say(text: string): void {
  ui.status.textContent = text;
}

function fail(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  state.error = msg;
  state.running = false;
  say(`Stopped: ${msg}`);
  syncButtons();
}

// ---- settings ----

function readSettings(): DemoSettings {
  const regularizer = ui.regularizer.value as DemoRegularizer;
  const lambda = Number(ui.lambda.value);
  const projections = Number(ui.projections.value);
  if (!DEMO_REGULARIZERS.includes(regularizer)) throw new g.ArgumentError(`regularizer: expected one of ${DEMO_REGULARIZERS.join(', ')}, got '${regularizer}'`);
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new g.ArgumentError(`lambda: expected a number >= 0, got '${ui.lambda.value}'`);
  if (!Number.isInteger(projections) || projections < 1) throw new g.ArgumentError(`k projections: expected a positive integer, got '${ui.projections.value}'`);
  return { regularizer, lambda, projections, seed: 1 };
}

function readTrainCount(): number {
  const n = Number(ui.trainCount.value);
  if (!Number.isInteger(n) || n < 10 || n > 60000 || n % 10 !== 0) {
    throw new g.ArgumentError(`training images: expected a multiple of 10 from 10 to 60000, got '${ui.trainCount.value}'`);
  }
  return n;
}

function syncSettingsUi(): void {
  const r = ui.regularizer.value;
  ui.projections.disabled = r !== 'hsfob';
  ui.lambda.disabled = r === 'baseline';
  el('lambda-label').textContent = r === 'ni' ? 'Noise σ' : 'λ';
  ui.epsilonOut.value = Number(ui.epsilon.value).toFixed(2);
  ui.fgsmEps.textContent = Number(ui.epsilon.value).toFixed(2);
}

function syncButtons(): void {
  const ready = state.mnist !== null;
  ui.start.disabled = !ready || state.active;
  ui.start.textContent = state.run !== null && state.run.step > 0 ? 'Continue' : 'Train';
  ui.pause.disabled = !state.running;
  ui.reset.disabled = !ready || state.active || state.run === null;
  const lock = state.active || (state.run !== null && state.run.step > 0);
  ui.regularizer.disabled = lock;
  ui.trainCount.disabled = lock;
  if (lock) {
    ui.lambda.disabled = true;
    ui.projections.disabled = true;
  } else syncSettingsUi();
}

// ---- data ----

async function fetchIdx(name: string): Promise<g.data.IdxArray> {
  const res = await fetch(`mnist/${name}`);
  if (!res.ok) throw new g.DataError(`mnist/${name}: the server answered ${res.status} ${res.statusText}`);
  return g.data.parseIdxBytes(new Uint8Array(await res.arrayBuffer()), `mnist/${name}`);
}

async function loadMnist(): Promise<{ train: g.data.Dataset; test: g.data.Dataset }> {
  const [ti, tl, vi, vl] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map(fetchIdx),
  );
  const classes = g.data.MNIST_CLASSES;
  return {
    train: g.data.idxDataset(ti!, tl!, classes, 'mnist/train-images-idx3-ubyte', 'mnist/train-labels-idx1-ubyte'),
    test: g.data.idxDataset(vi!, vl!, classes, 'mnist/t10k-images-idx3-ubyte', 'mnist/t10k-labels-idx1-ubyte'),
  };
}

function testSubset(): g.data.Dataset {
  return g.data.take(state.mnist!.test, Array.from({ length: TEST_COUNT }, (_, i) => i));
}

// ---- backend ----

async function chooseBackend(asked: string): Promise<void> {
  if (asked === 'cpu') {
    await g.setBackend('cpu');
  } else {
    try {
      await g.setBackend('webgpu');
    } catch (e) {
      state.fallbackReason = e instanceof Error ? e.message : String(e);
      await g.setBackend('cpu');
    }
  }
  state.device = g.getBackend();
  state.backendLabel = state.device === 'webgpu' ? g.deviceInfo('webgpu') : 'cpu (the TypeScript reference backend)';
  ui.backendInfo.textContent = state.backendLabel + (state.fallbackReason ? ` — WebGPU unavailable: ${state.fallbackReason}` : '');
}

// ---- training ----

function newRun(): Run {
  const settings = readSettings();
  const train = g.data.subsamplePerClass(state.mnist!.train, readTrainCount() / CLASSES, settings.seed);
  state.run?.model.dispose();
  const model = createDemoModel(settings.seed, state.device);
  const optimizer = g.optim.createOptimizer('adam', model.namedParameters(), { lr: LR });
  return {
    settings, model, optimizer, train, epoch: 0, step: 0, losses: [], accuracy: [], stepMs: [], lastProbe: null,
    batches: epochBatches(train, settings.seed, 0),
  };
}

function epochBatches(train: g.data.Dataset, seed: number, epoch: number): Generator<g.data.Batch> {
  return g.data.batches(train, { batchSize: BATCH, shuffle: true, seed, epoch, normalization: NORMALIZATION });
}

function nextBatch(run: Run): g.data.Batch {
  let b = run.batches.next();
  if (b.done) {
    run.epoch++;
    run.batches = epochBatches(run.train, run.settings.seed, run.epoch);
    b = run.batches.next();
  }
  return b.value as g.data.Batch;
}

async function trainStep(run: Run): Promise<void> {
  const b = nextBatch(run);
  const t0 = performance.now();
  const out = g.tidy(() => {
    const x = g.tensor(b.x, [b.n, 1, 28, 28], { device: state.device });
    const y = g.tensor(b.y, [b.n], { dtype: 'int32', device: state.device });
    return lossAndGrads(run.model, run.settings, x, y, run.step);
  });
  const loss = (await out.loss.data())[0]!;
  out.loss.dispose();
  if (!Number.isFinite(loss)) {
    for (const t of out.grads) t.dispose();
    throw new g.ArgumentError(`step ${run.step}: the objective is ${loss}; lower λ or reset`);
  }
  run.optimizer.step(out.grads);
  for (const t of out.grads) t.dispose();
  run.stepMs.push(performance.now() - t0);
  run.losses.push(loss);
  run.step++;
}

async function evaluateRun(run: Run): Promise<void> {
  const e = await g.training.evaluate(run.model, testSubset(), { normalization: NORMALIZATION, batchSize: 100, device: state.device });
  run.accuracy.push({ step: run.step, value: e.accuracy });
  await refreshProbe(run);
}

async function refreshProbe(run: Run): Promise<void> {
  run.lastProbe = await probe(run.model, state.probeX!, state.probeY!, Number(ui.epsilon.value));
  drawProbe(run.lastProbe);
}

async function trainLoop(): Promise<void> {
  const run = (state.run ??= newRun());
  state.running = true;
  state.active = true;
  state.error = null;
  syncButtons();
  say(`Training with ${describe(run.settings)} on ${run.train.count} images…`);
  try {
    if (run.step === 0) await evaluateRun(run);
    while (state.running) {
      await trainStep(run);
      if (run.step % EVAL_EVERY === 0) await evaluateRun(run);
      drawStats(run);
      // Let the page repaint and take clicks between steps.
      await new Promise((r) => setTimeout(r, 0));
    }
    if (run.accuracy.at(-1)?.step !== run.step) await evaluateRun(run);
    drawStats(run);
    say(`Paused at step ${run.step}.`);
  } catch (e) {
    fail(e);
  } finally {
    state.running = false;
    state.active = false;
    syncButtons();
  }
}

function describe(s: DemoSettings): string {
  if (s.regularizer === 'baseline') return 'no regularizer (baseline)';
  if (s.regularizer === 'ni') return `noise injection, σ = ${s.lambda}`;
  if (s.regularizer === 'hsfob') return `hsfob with k = ${s.projections}, λ = ${s.lambda}`;
  return `double backprop, λ = ${s.lambda}`;
}

// ---- drawing ----

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function drawStats(run: Run): void {
  const recent = run.stepMs.slice(-10);
  ui.stepInfo.textContent = `${run.step} (epoch ${run.epoch + 1})`;
  ui.stepTime.textContent = recent.length > 0 ? `${mean(recent).toFixed(0)} ms (mean of the last ${recent.length})` : '–';
  const lastLoss = run.losses.at(-1);
  ui.lossInfo.textContent = lastLoss === undefined ? '–' : `${lastLoss.toFixed(4)} (mean of the last 20: ${mean(run.losses.slice(-20)).toFixed(4)})`;
  const acc = run.accuracy.at(-1);
  ui.accInfo.textContent = acc ? `${(acc.value * 100).toFixed(1)}% at step ${acc.step}` : '–';
  drawLine(ui.lossChart, run.losses.map((v, i) => [i + 1, v] as const), { label: 'objective' });
  drawLine(ui.accChart, run.accuracy.map((a) => [a.step, a.value] as const), { yMin: 0, yMax: 1, label: 'test accuracy', dots: true });
  ui.lossChart.setAttribute('aria-label', `Training objective per step: ${run.losses.length} steps, latest ${lastLoss?.toFixed(3) ?? 'none'}`);
  ui.accChart.setAttribute('aria-label', `Test accuracy on ${TEST_COUNT} digits: ${acc ? `${(acc.value * 100).toFixed(1)}% at step ${acc.step}` : 'not measured yet'}`);
}

function drawLine(c: HTMLCanvasElement, pts: readonly (readonly [number, number])[], o: { yMin?: number; yMax?: number; label: string; dots?: boolean }): void {
  const ctx = c.getContext('2d')!;
  const w = c.width;
  const h = c.height;
  const pad = { l: 44, r: 10, t: 10, b: 24 };
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#444';
  ctx.strokeStyle = '#bbb';
  ctx.lineWidth = 1;
  ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  if (pts.length === 0) {
    ctx.fillText(`no ${o.label} yet`, pad.l + 8, pad.t + 18);
    return;
  }
  const xMax = Math.max(1, ...pts.map((p) => p[0]));
  const lo = Math.min(...pts.map((p) => p[1]));
  const hi = Math.max(...pts.map((p) => p[1]));
  const margin = Math.max(0.05 * (hi - lo), 1e-3);
  const yMin = o.yMin ?? Math.max(0, lo - margin);
  const yMax = o.yMax ?? hi + margin;
  const X = (x: number): number => pad.l + (x / xMax) * (w - pad.l - pad.r);
  const Y = (y: number): number => pad.t + (1 - (y - yMin) / (yMax - yMin)) * (h - pad.t - pad.b);
  ctx.textAlign = 'right';
  for (const f of [0, 0.5, 1]) {
    const v = yMin + f * (yMax - yMin);
    ctx.fillText(v.toFixed(2), pad.l - 4, Y(v) + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText(`step ${xMax}`, w - pad.r - 24, h - 6);
  ctx.fillText('0', pad.l, h - 6);
  ctx.strokeStyle = '#1f5fbf';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(x), Y(y)) : ctx.lineTo(X(x), Y(y))));
  ctx.stroke();
  if (o.dots) {
    ctx.fillStyle = '#1f5fbf';
    for (const [x, y] of pts) ctx.fillRect(X(x) - 2, Y(y) - 2, 4, 4);
  }
}

/** A 28x28 image as a canvas: gray for pixels in [0, 1], a dark-to-orange ramp for saliency. */
function digitCanvas(values: Float32Array, offset: number, heat: boolean, label: string): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = 28;
  c.height = 28;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let p = 0; p < 28 * 28; p++) {
    const v = Math.min(1, Math.max(0, values[offset + p]!));
    const [r, gg, b] = heat ? [255 * Math.min(1, 1.6 * v), 255 * Math.max(0, Math.min(1, 1.6 * v - 0.6)), 255 * Math.max(0, v - 0.8) * 5] : [255 * (1 - v), 255 * (1 - v), 255 * (1 - v)];
    img.data.set([r, gg, b, 255], 4 * p);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function cell(canvas: HTMLCanvasElement, caption: string, cls = ''): HTMLElement {
  const f = document.createElement('figure');
  f.className = `digit ${cls}`.trim();
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  f.append(canvas, cap);
  return f;
}

function drawProbe(p: Probe): void {
  const x = state.probeImages!;
  const labels = state.probeLabels!;
  const per = 28 * 28;
  ui.saliency.replaceChildren();
  ui.fgsm.replaceChildren();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const pair = document.createElement('div');
    pair.className = 'pair';
    pair.append(
      cell(digitCanvas(x, i * per, false, `test digit ${i + 1}, a ${y}`), `a ${y}, predicted ${p.clean[i]}`, p.clean[i] === y ? 'right' : 'wrong'),
      cell(digitCanvas(p.saliency, i * per, true, `input gradient of digit ${i + 1}, norm ${p.gradNorm[i]!.toFixed(3)}`), `‖∇x‖ ${p.gradNorm[i]!.toFixed(3)}`),
    );
    ui.saliency.append(pair);
    const adv = p.adversarial[i]!;
    ui.fgsm.append(cell(digitCanvas(p.fgsm, i * per, false, `FGSM version of digit ${i + 1}, predicted ${adv}`), `predicted ${adv}${adv === y ? '' : ` (not ${y})`}`, adv === y ? 'right' : 'wrong'));
  }
}

// ---- the test's handle ----

interface GradientRequest extends DemoSettings {
  /** The first `count` test digits form the batch. */
  count: number;
}

/** Loss and parameter gradients of a fresh model (weights from `seed`) on the first test digits, on the page's backend. */
async function gradients(r: GradientRequest): Promise<{ device: string; loss: number; names: string[]; grads: number[][] }> {
  const model = createDemoModel(r.seed, state.device);
  try {
    const test = state.mnist!.test;
    const out = g.tidy(() => {
      const x = toInput(test.images.subarray(0, r.count * 28 * 28), r.count, state.device);
      const y = g.tensor(Int32Array.from(test.labels.subarray(0, r.count)), [r.count], { dtype: 'int32', device: state.device });
      return lossAndGrads(model, r, x, y, 0);
    });
    const loss = (await out.loss.data())[0]!;
    const grads = await Promise.all(out.grads.map(async (t) => Array.from(await t.data())));
    out.loss.dispose();
    for (const t of out.grads) t.dispose();
    return { device: state.device, loss, names: model.namedParameters().map(([n]) => n), grads };
  } finally {
    model.dispose();
  }
}

declare global {
  interface Window {
    gradregDemo: {
      ready: Promise<void>;
      status(): { device: string; backend: string; fallbackReason: string | null; running: boolean; step: number; losses: number[]; accuracy: { step: number; value: number }[]; stepMs: number[]; error: string | null };
      gradients: typeof gradients;
    };
  }
}

// ---- start ----

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const asked = params.get('backend') ?? 'auto';
  ui.backend.value = ['auto', 'webgpu', 'cpu'].includes(asked) ? asked : 'auto';
  syncSettingsUi();
  syncButtons();
  say('Starting the backend…');
  await chooseBackend(ui.backend.value);
  say('Loading MNIST from the local server…');
  state.mnist = await loadMnist();
  const n = PROBE_DIGITS;
  state.probeImages = toInputArray(state.mnist.test.images.subarray(0, n * 28 * 28));
  state.probeLabels = Array.from(state.mnist.test.labels.subarray(0, n));
  state.probeX = g.keep(toInput(state.mnist.test.images.subarray(0, n * 28 * 28), n, state.device));
  state.probeY = g.keep(g.tensor(Int32Array.from(state.probeLabels), [n], { dtype: 'int32', device: state.device }));
  syncButtons();
  say(`Ready: ${state.mnist.train.count} training and ${state.mnist.test.count} test digits loaded. Choose a regularizer and press Train.`);
}

function toInputArray(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels, (v) => v / 255);
}

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!state.active) void trainLoop();
});
ui.pause.addEventListener('click', () => {
  state.running = false;
  syncButtons();
  say('Pausing after this step…');
});
ui.reset.addEventListener('click', () => {
  state.run?.model.dispose();
  state.run = null;
  ui.saliency.replaceChildren();
  ui.fgsm.replaceChildren();
  for (const c of [ui.lossChart, ui.accChart]) c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
  for (const e of [ui.stepInfo, ui.stepTime, ui.lossInfo, ui.accInfo]) e.textContent = '–';
  syncButtons();
  say('Reset: the next Train starts from fresh weights.');
});
ui.regularizer.addEventListener('change', syncSettingsUi);
ui.epsilon.addEventListener('input', () => {
  syncSettingsUi();
  const run = state.run;
  if (run && !state.active) refreshProbe(run).catch(fail);
});
ui.backend.addEventListener('change', () => {
  const q = new URLSearchParams(location.search);
  q.set('backend', ui.backend.value);
  location.search = q.toString();
});

const ready = main().catch((e) => {
  fail(e);
  throw e;
});

window.gradregDemo = {
  ready,
  status: () => ({
    device: state.device,
    backend: state.backendLabel,
    fallbackReason: state.fallbackReason,
    running: state.active,
    step: state.run?.step ?? 0,
    losses: state.run?.losses.slice() ?? [],
    accuracy: state.run?.accuracy.slice() ?? [],
    stepMs: state.run?.stepMs.slice() ?? [],
    error: state.error,
  }),
  gradients,
};
