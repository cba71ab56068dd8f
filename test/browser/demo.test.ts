/**
 * The demo page in a real browser (headless Chromium): it trains the small CNN with double backprop
 * on WebGPU and the loss goes down; its gradients for a fixed batch and fixed weights equal the Node
 * cpu backend's; the `gradreg/browser` bundle runs double backprop on the page's WebGPU. A screenshot
 * of the page is saved under test-artifacts/browser/. Where Chromium offers no WebGPU adapter the
 * page runs on cpu, and the test prints why.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoModel, lossAndGrads, toInput, type DemoSettings } from '../../demo/model.js';
import { buildBrowser, ROOT } from '../../scripts/build-browser.js';
import { startDemoServer, type DemoServer } from '../../scripts/demo-server.js';
import * as g from '../../src/index.js';
import { CHROMIUM, launchChromium } from './chromium.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');

// Without Chromium the file is skipped with the reason printed, except under CI=true (.ci/run installs
// Debian's chromium), where its absence fails the run.
const noBrowser = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (noBrowser) process.stdout.write(`test/browser/demo.test.ts: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set GRADREG_CHROMIUM)\n`);

let server: DemoServer;
let browser: BrowserContext;
let page: Page;
/** The device the page runs on: webgpu, or cpu with the reason printed. */
let device = '';

interface Status {
  device: string;
  backend: string;
  fallbackReason: string | null;
  running: boolean;
  step: number;
  losses: number[];
  accuracy: { step: number; value: number }[];
  stepMs: number[];
  error: string | null;
}

/** The page's `window.gradregDemo` (demo/app.ts), as seen from inside page.evaluate. */
interface DemoWindow {
  gradregDemo: {
    ready: Promise<void>;
    status(): Status;
    gradients(r: DemoSettings & { count: number }): Promise<{ device: string; loss: number; names: string[]; grads: number[][] }>;
  };
}

async function status(): Promise<Status> {
  return page.evaluate(() => (globalThis as unknown as DemoWindow).gradregDemo.status());
}

async function waitFor(pred: string): Promise<void> {
  await page.waitForFunction(pred, null, { timeout: 400_000, polling: 250 });
}

beforeAll(async () => {
  if (noBrowser) return;
  const out = mkdtempSync(join(tmpdir(), 'gradreg-browser-build-'));
  await buildBrowser(out);
  server = await startDemoServer({ port: 0, bundleDir: out });
  browser = await launchChromium();
  page = browser.pages()[0] ?? (await browser.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}?backend=webgpu`);
  await page.evaluate(() => (globalThis as unknown as DemoWindow).gradregDemo.ready);
  expect(errors).toEqual([]);
  const s = await status();
  device = s.device;
  if (device !== 'webgpu') {
    console.warn(`browser test: Chromium gave the page no WebGPU, so it runs on cpu: ${s.fallbackReason}`);
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(noBrowser)('demo page in headless Chromium', () => {
  it('runs on WebGPU and says which adapter', async () => {
    const s = await status();
    // Debian's Chromium on this machine offers SwiftShader's Vulkan adapter; a failure here prints Chromium's reason.
    expect(s.fallbackReason, 'WebGPU in headless Chromium').toBeNull();
    expect(s.device).toBe('webgpu');
    expect(await page.textContent('#backend-info')).toMatch(/^WebGPU/);
  });

  it('trains a few steps with db: the loss decreases; curves, saliency maps and FGSM examples are drawn', async () => {
    await page.selectOption('#regularizer', 'db');
    await page.fill('#lambda', '0.1');
    await page.fill('#train-count', '1000');
    await page.click('#start');
    await waitFor('window.gradregDemo.status().step >= 8 || window.gradregDemo.status().error !== null');
    await page.click('#pause');
    await waitFor('!window.gradregDemo.status().running');
    const s = await status();
    expect(s.error).toBeNull();
    expect(s.step).toBeGreaterThanOrEqual(8);
    const first = s.losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = s.losses.slice(-3).reduce((a, b) => a + b) / 3;
    console.log(`browser test: db on ${s.backend}: objective ${first.toFixed(4)} (first 3 steps) -> ${last.toFixed(4)} (last 3 of ${s.step}), step time ${Math.round(s.stepMs.reduce((a, b) => a + b) / s.stepMs.length)} ms (under load)`);
    expect(last).toBeLessThan(first);
    // evaluated before the first step and after the last
    expect(s.accuracy.map((a) => a.step)).toEqual(expect.arrayContaining([0, s.step]));
    expect(await page.locator('#saliency .pair').count()).toBe(8);
    expect(await page.locator('#fgsm .digit').count()).toBe(8);
    expect(await page.textContent('#step-time')).toMatch(/^\d+ ms/);
    expect(await page.textContent('#status')).toBe(`Paused at step ${s.step}.`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    console.log(`browser test: screenshot ${shot}`);
  }, 600_000);

  it("the page's gradients for a fixed batch and fixed weights equal the Node cpu backend's (float32), for each regularizer", async () => {
    for (const settings of [
      { regularizer: 'db', lambda: 0.1, projections: 1, seed: 7 },
      { regularizer: 'hsfob', lambda: 0.05, projections: 2, seed: 3 },
      // the noise comes from Philox keyed by (seed, step), drawn alike on every backend
      { regularizer: 'ni', lambda: 0.3, projections: 1, seed: 5 },
      { regularizer: 'baseline', lambda: 0, projections: 1, seed: 11 },
    ] satisfies DemoSettings[]) {
      const count = 8;
      const web = await page.evaluate((r) => (globalThis as unknown as DemoWindow).gradregDemo.gradients(r), { ...settings, count });
      expect(web.device).toBe(device);
      const test = g.data.loadIdxDataset('mnist').test;
      const ref = g.tidy(() => {
        const model = createDemoModel(settings.seed, 'cpu');
        const x = toInput(test.images.subarray(0, count * 28 * 28), count, 'cpu');
        const y = g.tensor(Int32Array.from(test.labels.subarray(0, count)), [count], { dtype: 'int32' });
        const r = lossAndGrads(model, settings, x, y, 0);
        return { loss: r.loss, grads: r.grads, names: model.namedParameters().map(([n]) => n) };
      });
      expect(web.names).toEqual(ref.names);
      const refLoss = (await ref.loss.data())[0]!;
      expect(Math.abs(web.loss - refLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(refLoss)));
      let worst = 0;
      for (let i = 0; i < ref.grads.length; i++) {
        const want = await ref.grads[i]!.data();
        const got = web.grads[i]!;
        expect(got.length).toBe(want.length);
        let scale = 0;
        for (const v of want) scale = Math.max(scale, Math.abs(v));
        let err = 0;
        for (let k = 0; k < want.length; k++) err = Math.max(err, Math.abs(got[k]! - want[k]!));
        // float32 sums in another order: a few units in the last place of the parameter's largest entry
        expect(err, `${settings.regularizer}: ${ref.names[i]} (max |g| ${scale})`).toBeLessThanOrEqual(2e-5 * scale + 1e-9);
        worst = Math.max(worst, err / Math.max(scale, 1e-30));
      }
      console.log(`browser test: ${settings.regularizer} gradients on ${device} vs Node cpu: worst max|diff| / max|g| = ${worst.toExponential(2)}`);
      ref.loss.dispose();
      for (const t of ref.grads) t.dispose();
    }
  }, 300_000);

  it('the gradreg/browser bundle runs double backprop on the page', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { import: string }> };
    expect(pkg.exports['./browser']!.import).toBe('./dist/gradreg.browser.js');
    // A string, so that the test runner's module transform leaves the page's dynamic import alone.
    const got = (await page.evaluate(`(async () => {
      const lib = await import(location.origin + '/gradreg.browser.js');
      await lib.setBackend(${JSON.stringify(device)});
      const x = lib.tensor([0.5, -1.25, 2], [3]);
      x.requiresGrad = true;
      // f = sum(tanh(x)^3); the penalty ||df/dx||^2, differentiated again
      const [gx] = lib.grad(lib.sum(lib.pow(lib.tanh(x), 3)), [x], { createGraph: true });
      const [hx] = lib.grad(lib.sum(lib.square(gx)), [x]);
      return { device: lib.getBackend(), h: Array.from(await hx.data()) };
    })()`)) as { device: string; h: number[] };
    expect(got.device).toBe(device);
    const x = g.tensor([0.5, -1.25, 2], [3], { dtype: 'float64' });
    x.requiresGrad = true;
    const [gx] = g.grad(g.sum(g.pow(g.tanh(x), 3)), [x], { createGraph: true });
    const [hx] = g.grad(g.sum(g.square(gx!)), [x]);
    const want = await hx!.data();
    for (let i = 0; i < 3; i++) expect(got.h[i]).toBeCloseTo(want[i]!, 5);
  }, 120_000);

  it('without a WebGPU adapter the page runs on cpu and says why', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const p = plain.pages()[0] ?? (await plain.newPage());
      await p.goto(`${server.url}?backend=webgpu`);
      await p.evaluate(() => (globalThis as unknown as DemoWindow).gradregDemo.ready);
      const s = await p.evaluate(() => (globalThis as unknown as DemoWindow).gradregDemo.status());
      expect(s.device).toBe('cpu');
      expect(s.fallbackReason).toMatch(/^webgpu: requesting an adapter failed: navigator\.gpu\.requestAdapter\(\) returned no adapter \(/);
      console.log(`browser test: without --enable-unsafe-webgpu the page says: ${s.fallbackReason}`);
      expect(await p.textContent('#backend-info')).toBe(`cpu (the TypeScript reference backend) — WebGPU unavailable: ${s.fallbackReason}`);
    } finally {
      await plain.close();
    }
  }, 120_000);
});
