/**
 * `npx tsx bench/jobs.ts`: is a small-model sweep faster as J single-threaded worker processes
 * (`reproduce --jobs J`) or as one process with J native threads (`--jobs 1 --threads J`)?
 * The two run alternately (A, B, A, B, ...) on the same plan into fresh directories, so a drift
 * in the machine's speed hits both; each timing carries the cores other processes used meanwhile
 * (from /proc/stat, minus this benchmark's children), and the table reports the per-round ratios
 * and their median. Wall time includes the workers' start-up and data loading: what a user waits.
 *
 * Options: --rounds 3  --jobs 2  --epochs 10  --seeds 2  --methods baseline,db  --sizes 50
 *          --test-points 1000  --device native
 * Needs dist/ (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '10' },
    seeds: { type: 'string', default: '2' },
    methods: { type: 'string', default: 'baseline,db' },
    sizes: { type: 'string', default: '50' },
    'test-points': { type: 'string', default: '1000' },
    device: { type: 'string', default: 'native' },
  },
});
const J = Number(o.jobs);
const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
const plan = ['thesis-table2', '--methods', o.methods!, '--lambdas', '0.01', '--sizes', o.sizes!, '--seeds', o.seeds!, '--epochs', o.epochs!, '--test-points', o['test-points']!, '--device', o.device!];

const CLK = 100;
function busy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) / CLK;
}
/** CPU seconds of this process and its waited-for descendants. */
function ownAndChildren(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // fields after "(comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK;
}

function once(label: string, extra: string[]): { wall: number; foreign: number } {
  const out = mkdtempSync(join(tmpdir(), `gradreg-jobs-${label}-`));
  const b0 = busy();
  const c0 = ownAndChildren();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [main, 'reproduce', ...plan, ...extra, '--out', out], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const foreign = Math.max(0, (busy() - b0 - (ownAndChildren() - c0)) / wall);
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr.split('\n').slice(-5).join('\n')}`);
  return { wall, foreign };
}

const A = ['--jobs', '1', '--threads', String(J)];
const B = ['--jobs', String(J)];
const rows: string[] = [];
const ratios: number[] = [];
process.stderr.write(`plan: reproduce ${plan.join(' ')}\nA: ${A.join(' ')} (one process, ${J} threads)   B: ${B.join(' ')} (${J} processes, 1 thread each)\n`);
for (let i = 0; i < Number(o.rounds); i++) {
  const [first, second] = i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const);
  const res: Record<string, { wall: number; foreign: number }> = {};
  for (const which of [first, second]) {
    res[which] = once(which, which === 'A' ? A : B);
    process.stderr.write(`round ${i + 1} ${which}: ${res[which]!.wall.toFixed(1)} s (other processes: ${res[which]!.foreign.toFixed(2)} cores)\n`);
  }
  const ratio = res.A!.wall / res.B!.wall;
  ratios.push(ratio);
  rows.push(`| ${i + 1} | ${first}, ${second} | ${res.A!.wall.toFixed(1)} (${res.A!.foreign.toFixed(2)}) | ${res.B!.wall.toFixed(1)} (${res.B!.foreign.toFixed(2)}) | ${ratio.toFixed(2)} |`);
}
const sorted = [...ratios].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
process.stdout.write(
  [
    `**--jobs ${J} (${J} single-thread workers) vs one ${J}-thread process** (${cpus().length} cores; ${cpus()[0]?.model ?? ''})`,
    '',
    `Plan: \`reproduce ${plan.join(' ')}\`.`,
    '',
    `| round | order | A: --jobs 1 --threads ${J}, s (other cores) | B: --jobs ${J}, s (other cores) | speedup A/B |`,
    '| ---: | --- | ---: | ---: | ---: |',
    ...rows,
    '',
    `Median speedup of --jobs ${J} over one process: ${median.toFixed(2)}x (range ${sorted[0]!.toFixed(2)}-${sorted[sorted.length - 1]!.toFixed(2)}).`,
    '',
  ].join('\n'),
);
