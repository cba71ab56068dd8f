/**
 * The ResNet's training step with batchNormRelu fused (relu's mask inside the batch-norm stack
 * kernels) and as its composite twin relu(batchNorm(...)), in alternating rounds in one process:
 * the median step of each round, per mode. Both give the same bits (test/ops/batchnorm-relu.test.ts);
 * this times what the fusion saves (bench/native-results.md, session 6).
 *
 *   npx tsx bench/batchnorm-relu.ts [--reg fob] [--rounds 3] [--steps 12] [--device native]
 */
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { setBatchNormRelu, type BatchNormReluMode } from '../src/ops/batchnorm.js';
import { MODE_REGS, STEP_REGS, nnStep, timeStep, type StepReg } from './steps.js';

function fail(msg: string): never {
  console.error(`bench/batchnorm-relu: ${msg}`);
  process.exit(2);
}
function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
function count(name: string, dflt: number): number {
  const v = Number(opt(name, String(dflt)));
  if (!Number.isInteger(v) || v < 1) fail(`--${name} must be a positive integer, got ${opt(name, '')}`);
  return v;
}

const regs: readonly string[] = [...STEP_REGS, ...MODE_REGS];
const reg = opt('reg', 'fob') as StepReg;
if (!regs.includes(reg)) fail(`--reg must be one of ${regs.join(', ')}, got ${reg}`);
const device = opt('device', 'native') as g.DeviceName;
const rounds = count('rounds', 3);
const steps = count('steps', 12);
registerDefaultBackends();
try {
  await g.initBackend(device);
} catch (e) {
  fail(`--device ${device}: ${e instanceof Error ? e.message : String(e)}`);
}
const modes: BatchNormReluMode[] = ['composite', 'fused'];
const ms: Record<BatchNormReluMode, number[]> = { fused: [], composite: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    setBatchNormRelu(mode);
    const step = nnStep('resnet', reg, device);
    ms[mode].push(timeStep(step, 2, steps).medianMs);
    step.dispose();
  }
}
const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`ResNet ${reg} step on ${device}, median of ${steps} steps per round, ${rounds} alternating rounds`);
for (const mode of modes) console.log(`  ${mode.padEnd(9)} ${ms[mode].map((v) => v.toFixed(1)).join(' / ')} ms (median ${med(ms[mode]).toFixed(1)})`);
console.log(`  fused / composite: ${(med(ms.fused) / med(ms.composite)).toFixed(3)}`);
