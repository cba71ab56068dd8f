/**
 * `npm run bench`: kernel suites and step suites per backend (benny), the models x regularizers
 * step table side by side with PyTorch (bench/pytorch/steps.py, when /usr/bin/python3 has torch),
 * and a single-thread CPU-time comparison that stays meaningful on a busy machine. Writes
 * bench/results/bench-<time>.json and bench/results/bench-<time>.md and prints the Markdown.
 *
 * Every timing carries the load from other processes during its window (cores, from /proc/stat):
 * on a 2-core machine a second busy process distorts timings badly, PyTorch's spinning OpenMP
 * threads most of all, so compare ratios taken in the same run and read them with their load.
 *
 * Options: --suites kernels,steps,models,cputime  --backends cpu,native  --models small,lenet5,resnet
 *          --regs baseline,db,...  --max-seconds 8 (per step config)  --wait-idle 0 (s to wait for a
 *          quiet machine before each measurement)  --no-torch  --quick (small model, baseline+db)
 *          --device native|cpu|cuda|webgpu (models suite: the device gradreg's steps run on; default
 *          native when it loads, else cpu; PyTorch runs on cuda when it is cuda, else on the CPU)
 *          --rounds 3 (models suite: gradreg and PyTorch alternate this many times per model, and the
 *          table reports the medians and the spread of the per-round ratios: on a shared host the
 *          machine's speed drifts between two back-to-back measurements)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import b from 'benny';
import * as g from '../src/index.js';
import type { DeviceName } from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import type { NativeBackend } from '../src/backends/native/backend.js';
import { kernelCases } from './native-kernels.js';
import { flopsPerCycle as flopsPerCycleOf, nominalPeakGflops, parseCpuInfo } from './peak.js';
import { loadAverage, loadBetween, snapshot, waitForQuiet, type Load } from './native-load.js';
import { nnStep, plainStep, STEP_REGS, timeStep, timeStepSynced, type StepModel, type StepReg } from './steps.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const quick = flag('quick');
const suites = arg('suites', 'kernels,steps,models,cputime').split(',');
const backendsWanted = arg('backends', 'cpu,native').split(',') as DeviceName[];
const models = arg('models', quick ? 'small' : 'small,lenet5,resnet').split(',') as StepModel[];
const regs = arg('regs', quick ? 'baseline,db' : STEP_REGS.join(',')).split(',') as StepReg[];
const maxSeconds = Number(arg('max-seconds', quick ? '4' : '8'));
const waitIdle = Number(arg('wait-idle', '0'));
const rounds = Math.max(1, Number(arg('rounds', quick ? '1' : '3')));
/** Floating-point work of one plain small-CNN baseline step at batch 50 (forward + backward), GFLOP. */
const PLAIN_STEP_GFLOP = 0.85;
/** Untimed steps before timing each (model, regularizer), the same for gradreg and PyTorch (the anchor's 3). */
const WARMUP = 3;
const useTorch = !flag('no-torch');
const cores = cpus().length;

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const loadNote = (l: Load): string => `${fmt(l.foreignCores, 1)}`;

async function quiet(): Promise<void> {
  if (waitIdle > 0) await waitForQuiet(waitIdle, 0.25);
}

// ---- environment ----

registerDefaultBackends();
const backends: DeviceName[] = [];
const skipped: string[] = [];
for (const d of backendsWanted) {
  try {
    await g.initBackend(d);
    backends.push(d);
  } catch (e) {
    skipped.push(`${d}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
const native = backends.includes('native') ? (engine.backend('native') as NativeBackend) : null;
const cpuInfo = readFileSync('/proc/cpuinfo', 'utf8');
const cpuId = parseCpuInfo(cpuInfo);
const model = cpuId.model;
const mhz = cpuId.mhz;
const isa = native?.isaInfo().isa ?? 'n/a';
// Per micro-architecture (bench/peak.ts): Zen 4 runs AVX-512 on 256-bit FMA pipes.
const flopsPerCycle = flopsPerCycleOf(cpuId, isa);
const nominalPeak = nominalPeakGflops(cpuId, isa, cores);
const probedPeak = native?.probePeakGflops(3e7) ?? NaN;
const env = {
  date: new Date().toISOString(), cpu: model, cores, mhz, isa, threads: native?.isaInfo().threads ?? 1,
  nominalPeakGflops: nominalPeak, probedPeakGflops: probedPeak, loadavgAtStart: loadAverage(), skippedBackends: skipped,
};
console.log(`bench: ${model}, ${cores} cores at ${mhz} MHz, ${isa}; peak ${fmt(nominalPeak, 0)} GFLOP/s nominal, ${fmt(probedPeak, 0)} probed; load average ${env.loadavgAtStart}`);

// ---- kernel suites (benny) ----

interface KernelRow { suite: string; name: string; backend: DeviceName; ms: number; rate: number; unit: string; load: Load }
const kernelRows: KernelRow[] = [];
if (suites.includes('kernels')) {
  for (const c of kernelCases()) {
    for (const d of backends) {
      await quiet();
      const s = c.setup(d);
      const a = snapshot();
      const summary = await b.suite(`${c.suite}: ${c.name} [${d}]`, b.add(c.name, () => { s.run(); }, { minSamples: 5, maxTime: d === 'cpu' ? 2 : 1.5 }));
      const load = loadBetween(a, snapshot());
      s.dispose();
      const r = summary.results[0]!;
      const ms = r.details.median * 1000;
      kernelRows.push({ suite: c.suite, name: c.name, backend: d, ms, rate: c.work / (ms / 1000) / 1e9, unit: c.unit, load });
    }
  }
}

// ---- plain small-CNN step suite (benny), cpu vs native ----

interface PlainRow { reg: string; backend: DeviceName; ms: number; load: Load }
const plainRows: PlainRow[] = [];
if (suites.includes('steps')) {
  for (const reg of ['baseline', 'db'] as const) {
    for (const d of backends) {
      await quiet();
      const s = plainStep(reg, d);
      s.run();
      const a = snapshot();
      const summary = await b.suite(`step: small CNN (plain ops) ${reg} [${d}]`, b.add(reg, () => { s.run(); }, { minSamples: 5, maxTime: d === 'cpu' ? 4 : 2 }));
      plainRows.push({ reg, backend: d, ms: summary.results[0]!.details.median * 1000, load: loadBetween(a, snapshot()) });
      s.dispose();
    }
  }
}

// ---- models x regularizers: native vs PyTorch ----

function torchPython(): string | null {
  if (!useTorch) return null;
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}
const py = suites.includes('models') || suites.includes('cputime') ? torchPython() : null;
if ((suites.includes('models') || suites.includes('cputime')) && useTorch && !py) console.log('bench: no python3 with torch (Debian: apt-get install python3-torch); PyTorch columns are empty');

interface TorchResult { median_ms: number; min_ms: number; cpu_ms_per_step: number; foreign_cores: number; own_cores: number; steps: number }
function runTorch(modelName: string, regList: readonly string[], threads: number): Record<string, TorchResult> {
  if (!py) return {};
  const r = spawnSync(py, [join(here, 'pytorch', 'steps.py'), '--models', modelName, '--regs', regList.join(','), '--threads', String(threads), '--max-seconds', String(maxSeconds), '--warmup', String(WARMUP), '--device', stepDevice === 'cuda' ? 'cuda' : 'cpu'], {
    encoding: 'utf8', maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    console.log(`bench: PyTorch run failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
    return {};
  }
  return (JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]!) as { results: Record<string, TorchResult> }).results;
}

interface ModelRow {
  model: string; reg: string; nativeMs: number; nativeLoad: Load; torchMs: number; torchLoad: number;
  /** Median of the per-round ratios, and their range. */
  ratio: number; ratioMin: number; ratioMax: number; rounds: number;
}
const modelRows: ModelRow[] = [];
const stepDevice = arg('device', native ? 'native' : 'cpu') as DeviceName;
const asyncDevice = stepDevice === 'cuda' || stepDevice === 'webgpu';
if (suites.includes('models') && !backends.includes(stepDevice)) await g.initBackend(stepDevice);
const median = (v: number[]): number => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
if (suites.includes('models')) {
  for (const m of models) {
    const mine: Record<string, { ms: number[]; load: Load[] }> = {};
    const theirs: Record<string, { ms: number[]; load: number[] }> = {};
    {
      // Untimed plain steps first, as PyTorch's side does (--process-warmup): the first timed
      // configuration of a fresh process should not pay for pool growth and first-touch pages.
      const w = nnStep(m, 'baseline', stepDevice);
      if (asyncDevice) await timeStepSynced(w, 0, 1000, 2);
      else timeStep(w, 0, 1000, 2);
      w.dispose();
    }
    for (let round = 1; round <= rounds; round++) {
      for (const reg of regs) {
        await quiet();
        const s = nnStep(m, reg, stepDevice);
        const a = snapshot();
        const t = asyncDevice ? await timeStepSynced(s, WARMUP, 20, maxSeconds) : timeStep(s, WARMUP, 20, maxSeconds);
        const load = loadBetween(a, snapshot());
        (mine[reg] ??= { ms: [], load: [] }).ms.push(t.medianMs);
        mine[reg]!.load.push(load);
        s.dispose();
        console.log(`step ${m}/${reg} [${stepDevice}] round ${round}: ${fmt(t.medianMs)} ms (other processes: ${loadNote(load)} cores)`);
      }
      await quiet();
      const torch = runTorch(m, regs, cores);
      for (const reg of regs) {
        const tr = torch[`${m}/${reg}`];
        (theirs[reg] ??= { ms: [], load: [] }).ms.push(tr?.median_ms ?? NaN);
        theirs[reg]!.load.push(tr?.foreign_cores ?? NaN);
        if (tr) console.log(`step ${m}/${reg} [torch] round ${round}: ${fmt(tr.median_ms)} ms (other processes: ${fmt(tr.foreign_cores, 1)} cores); gradreg/torch ${fmt(mine[reg]!.ms[round - 1]! / tr.median_ms)}`);
      }
    }
    for (const reg of regs) {
      const a = mine[reg]!, b = theirs[reg]!;
      const ratios = a.ms.map((x, i) => x / b.ms[i]!).filter(Number.isFinite);
      const worst = a.load.reduce((w, l) => (l.foreignCores > w.foreignCores ? l : w), a.load[0]!);
      const torchLoads = b.load.filter(Number.isFinite);
      modelRows.push({
        model: m, reg, nativeMs: median(a.ms), nativeLoad: worst, torchMs: median(b.ms), torchLoad: torchLoads.length ? Math.max(...torchLoads) : NaN,
        ratio: median(ratios), ratioMin: ratios.length ? Math.min(...ratios) : NaN, ratioMax: ratios.length ? Math.max(...ratios) : NaN, rounds: ratios.length,
      });
    }
  }
}

// ---- single-thread CPU time per step: robust to other processes ----

interface CpuRow { model: string; reg: string; nativeCpuMs: number; torchCpuMs: number; ratio: number }
const cpuRows: CpuRow[] = [];
if (suites.includes('cputime') && native) {
  const m = models[0]!;
  const cpuRegs = regs.filter((r) => ['baseline', 'db', 'hsfob-est', 'spectreg'].includes(r));
  native.setThreads(1);
  const mine: Record<string, number> = {};
  for (const reg of cpuRegs) {
    const s = nnStep(m, reg, 'native');
    s.run();
    s.run();
    const u0 = process.cpuUsage();
    const t = timeStep(s, 0, 20, maxSeconds);
    const u = process.cpuUsage(u0);
    mine[reg] = (u.user + u.system) / 1000 / t.times.length;
    s.dispose();
  }
  native.setThreads(cores);
  const torch = runTorch(m, cpuRegs, 1);
  for (const reg of cpuRegs) {
    const tc = torch[`${m}/${reg}`]?.cpu_ms_per_step ?? NaN;
    cpuRows.push({ model: m, reg, nativeCpuMs: mine[reg]!, torchCpuMs: tc, ratio: mine[reg]! / tc });
  }
}

// ---- report ----

const lines: string[] = [];
lines.push(`# gradreg bench, ${env.date}`, '');
lines.push(`${model}, ${cores} cores at ${mhz} MHz (${isa} GEMM, ${env.threads} threads). Load average at start: ${env.loadavgAtStart}.`);
lines.push(`Peak float32: ${fmt(nominalPeak, 0)} GFLOP/s nominal (${cores} cores x ${mhz} MHz x ${flopsPerCycle} flops/cycle), ${fmt(probedPeak, 0)} GFLOP/s probed (FMA chains on every thread, this run).`);
lines.push('"load" = cores used by other processes during that measurement (from /proc/stat); a timing with load near or above 1 on a 2-core machine is distorted.');
if (skipped.length) lines.push('', `Skipped backends: ${skipped.join('; ')}`);
if (kernelRows.length) {
  const gemm = kernelRows.find((r) => r.suite === 'gemm' && r.backend === 'native');
  if (gemm) lines.push('', `**GEMM 512^3 (native): ${fmt(gemm.rate, 1)} GFLOP/s = ${fmt((100 * gemm.rate) / nominalPeak, 0)}% of nominal peak, ${fmt((100 * gemm.rate) / probedPeak, 0)}% of probed peak (load ${loadNote(gemm.load)}).**`);
  lines.push('', '## Kernels (median of benny samples)', '', '| suite | case | backend | ms | rate | load |', '| --- | --- | --- | ---: | ---: | ---: |');
  for (const r of kernelRows) lines.push(`| ${r.suite} | ${r.name} | ${r.backend} | ${fmt(r.ms, 3)} | ${fmt(r.rate, 2)} ${r.unit} | ${loadNote(r.load)} |`);
}
if (plainRows.length) {
  lines.push('', '## One training step, small CNN in plain ops, batch 50, Adam', '', '| regularizer | backend | ms | load |', '| --- | --- | ---: | ---: |');
  for (const r of plainRows) lines.push(`| ${r.reg} | ${r.backend} | ${fmt(r.ms)} | ${loadNote(r.load)} |`);
  // 0.85 GFLOP per plain baseline step at batch 50 (forward and backward of the small CNN's convs and dense layers)
  for (const r of plainRows.filter((p) => p.reg === 'baseline')) {
    const rate = PLAIN_STEP_GFLOP / (r.ms / 1000);
    lines.push('', `**Small CNN plain step on ${r.backend}: ${fmt(rate, 1)} GFLOP/s = ${fmt((100 * rate) / nominalPeak, 0)}% of the nominal float32 peak, ${fmt((100 * rate) / probedPeak, 0)}% of the probed peak (${PLAIN_STEP_GFLOP} GFLOP a step at batch 50; load ${loadNote(r.load)}).**`);
  }
}
if (modelRows.length) {
  lines.push('', `## Models x regularizers: gradreg (${stepDevice}, ${env.threads} threads) vs PyTorch (${cores} threads), batch 50, Adam, lambda 0.01`, '');
  lines.push(`Each figure is the median over ${rounds} round(s); in each round gradreg then PyTorch time every regularizer (median step of up to ${maxSeconds} s). The ratio is the median of the per-round ratios, with their range; load is the worst round's.`, '');
  lines.push('| model | regularizer | gradreg ms | load | PyTorch ms | load | gradreg / PyTorch | range |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of modelRows) lines.push(`| ${r.model} | ${r.reg} | ${fmt(r.nativeMs)} | ${loadNote(r.nativeLoad)} | ${fmt(r.torchMs)} | ${fmt(r.torchLoad, 1)} | ${fmt(r.ratio)} | ${fmt(r.ratioMin)}-${fmt(r.ratioMax)} |`);
}
if (cpuRows.length) {
  lines.push('', '## CPU time per step on one thread (robust to other processes)', '', '| model | regularizer | gradreg cpu ms/step | PyTorch cpu ms/step | ratio |', '| --- | --- | ---: | ---: | ---: |');
  for (const r of cpuRows) lines.push(`| ${r.model} | ${r.reg} | ${fmt(r.nativeCpuMs)} | ${fmt(r.torchCpuMs)} | ${fmt(r.ratio)} |`);
}
const md = lines.join('\n') + '\n';
const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });
const stamp = env.date.replace(/[:.]/g, '-');
writeFileSync(join(outDir, `bench-${stamp}.json`), JSON.stringify({ env, kernels: kernelRows, plainSteps: plainRows, models: modelRows, cpuTime: cpuRows }, null, 1));
writeFileSync(join(outDir, `bench-${stamp}.md`), md);
console.log('\n' + md);
console.log(`bench: wrote bench/results/bench-${stamp}.json and .md`);
