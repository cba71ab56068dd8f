/**
 * Per-kernel profile of one training step: wraps every backend method, runs the step a few times
 * and prints the kernels by wall time (kernels are synchronous) with their process CPU time (which
 * stays meaningful on a busy machine but, with several threads, includes the pool's spinning; run
 * with GRADREG_NATIVE_THREADS=1 to attribute CPU time to kernels exactly).
 *
 *   GRADREG_NATIVE_THREADS=1 npx tsx bench/native-profile.ts [native|cpu] [baseline|db] [small|lenet5|resnet] [plain|nn]
 *
 * PROFILE_TOP=N lists the N slowest kernels (default 40).
 */
import * as g from '../src/index.js';
import type { Backend } from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import { nnStep, plainStep, timeStep, type StepModel, type StepReg } from './steps.js';

const device = (process.argv[2] ?? 'native') as g.DeviceName;
const reg = (process.argv[3] ?? 'baseline') as StepReg;
const model = (process.argv[4] ?? 'small') as StepModel;
const family = process.argv[5] ?? 'plain';
const reps = 5;

registerDefaultBackends();
await g.initBackend(device);
const be = engine.backend(device) as Backend & Record<string, unknown>;
const stats = new Map<string, { calls: number; ms: number; wall: number }>();
const shapeOf = (t: unknown): string => ((t as { shape?: number[] }).shape ?? []).join('x');
const proto = Object.getPrototypeOf(be) as Record<string, unknown>;
for (const k of Object.getOwnPropertyNames(proto)) {
  const f = proto[k];
  if (k === 'constructor' || typeof f !== 'function') continue;
  be[k] = function (this: unknown, ...args: unknown[]): unknown {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const r = (f as (...a: unknown[]) => unknown).apply(this, args);
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    let key = k;
    if (k === 'matmul') key += ` ${shapeOf(args[0])}${args[2] ? 'T' : ''} @ ${shapeOf(args[1])}${args[3] ? 'T' : ''}`;
    else if (k === 'reduce') key += ` ${args[0]} ${shapeOf(args[1])} axes ${String(args[2])}`;
    else if (k === 'binary') key += ` ${args[0]} ${shapeOf(args[1])} ${shapeOf(args[2])}`;
    else if (k === 'unary' || k === 'binaryScalar') key += ` ${args[0]} ${shapeOf(args[1])}`;
    else if (k === 'where') key += ` ${shapeOf(args[0])} ${shapeOf(args[1])} ${shapeOf(args[2])}`;
    else if (['im2col', 'col2im', 'maxPool2d', 'maxPoolScatter', 'maxPoolGather', 'batchNormForward', 'batchNormBackward', 'batchNormDoubleBackward'].includes(k)) key += ` ${shapeOf(args[0])} ${shapeOf(args[1])}`;
    else if (k.startsWith('conv2d')) key += ` ${shapeOf(args[0])} ${shapeOf(args[1])}`;
    const s = stats.get(key) ?? { calls: 0, ms: 0, wall: 0 };
    s.calls++;
    s.ms += (c.user + c.system) / 1000;
    s.wall += wall;
    stats.set(key, s);
    return r;
  };
}

const step = family === 'plain' ? plainStep(reg === 'db' ? 'db' : 'baseline', device) : nnStep(model, reg, device);
timeStep(step, 2, 0);
stats.clear();
const u0 = process.cpuUsage();
const t = timeStep(step, 0, reps);
const u = process.cpuUsage(u0);
// Private helpers called from kernels would count twice: list only what the engine calls.
const contract = new Set(Object.getOwnPropertyNames(proto).filter((k) => !['ptr', 'alloc', 'materialize', 'unpin', 'defer', 'settleReaders', 'geom', 'conv'].includes(k)));
let kernels = 0;
for (const [k, v] of stats) if (contract.has(k.split(' ')[0]!)) kernels += v.wall;
console.log(`${family} ${model}/${reg} on ${device}: median wall ${t.medianMs.toFixed(2)} ms, CPU ${((u.user + u.system) / 1000 / reps).toFixed(2)} ms/step, wall in kernels ${(kernels / reps).toFixed(2)} ms/step`);
console.log(' wall ms/step  cpu ms/step  calls  kernel');
for (const [k, v] of [...stats.entries()].filter(([k]) => contract.has(k.split(' ')[0]!)).sort((a, b) => b[1].wall - a[1].wall).slice(0, Number(process.env.PROFILE_TOP ?? 40))) {
  console.log(`${(v.wall / reps).toFixed(3).padStart(12)} ${(v.ms / reps).toFixed(3).padStart(12)} ${String(v.calls / reps).padStart(6)}  ${k}`);
}
step.dispose();
