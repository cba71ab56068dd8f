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
for (let i = 0; i < reps + 3; i++) {
  const t0 = performance.now();
  const t = drawNormal(shape, { seed: 1, step: i }, Streams.inputNoise, like);
  await t.data();
  const ms = performance.now() - t0;
  t.dispose();
  if (i >= 3) times.push(ms);
}
times.sort((a, b) => a - b);
const med = times[times.length >> 1]!;
console.log(`normal draw ${shape.join('x')} (${n} values) on native: median ${med.toFixed(3)} ms, ${((med * 1e6) / n).toFixed(1)} ns/value (min ${times[0]!.toFixed(3)} ms)`);
