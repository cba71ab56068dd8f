/**
 * Time of the Philox normal draw of noise injection on the ResNet's input (50x3x32x32 = 153,600
 * values), native backend, float32: median over repetitions, in ms and ns per value.
 *
 *   npx tsx bench/random-draw.ts [reps]
 */
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { drawNormal, Streams } from '../src/regularizers/index.js';

registerDefaultBackends();
await g.initBackend('native');
await g.setBackend('native');
const reps = Number(process.argv[2] ?? 50);
const like = { dtype: 'float32' as const, device: 'native' as const };
const shape = [50, 3, 32, 32];
const n = shape.reduce((a, b) => a * b, 1);
const times: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < reps + 3; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const t = drawNormal(shape, { seed: 1, step: i }, Streams.inputNoise, like);
  await t.data();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  t.dispose();
  if (i >= 3) {
    times.push(ms);
    cpu.push((c.user + c.system) / 1000);
  }
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const med = times[times.length >> 1]!;
const isa = process.env.GRADREG_NATIVE_ISA ?? 'default ISA';
console.log(
  `normal draw ${shape.join('x')} (${n} values) on native (${isa}): wall median ${med.toFixed(3)} ms (min ${times[0]!.toFixed(3)}), ` +
    `process CPU median ${cpu[cpu.length >> 1]!.toFixed(3)} ms = ${((cpu[cpu.length >> 1]! * 1e6) / n).toFixed(1)} ns/value`,
);
