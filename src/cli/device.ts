/**
 * The one device choice of every subcommand: `--device auto|cpu|native|webgpu|cuda`, default auto
 * (a hardware GPU, else the native CPU addon when it is built, else a software GPU, else the
 * TypeScript reference; see engine.pickAuto), and the line that says what was picked and why.
 */
import type { DeviceName } from '../backends/backend.js';
import { registerDefaultBackends } from '../backends/registry.js';
import { engine, type AutoReport } from '../engine.js';
import { DeviceError } from '../errors.js';
import { getBackend, setBackend } from '../index.js';
import { UsageError, choiceFlag } from './args.js';

export const DEVICE_CHOICES = ['auto', 'cpu', 'native', 'webgpu', 'cuda'] as const;
export const DEFAULT_DEVICE = 'auto';

/** The help text of --device, the same in every command. */
export const DEVICE_HELP = 'auto | cpu | native | webgpu | cuda (default auto: a GPU, else native, else cpu)';

export type DeviceChoice = AutoReport & { asked: (typeof DEVICE_CHOICES)[number]; description: string };

/** The line that says which backend runs the job and, for auto, why the ones before it were skipped. */
export function describeDevice(asked: string, r: AutoReport & { description: string }): string {
  if (asked !== 'auto') return `device: ${r.picked} (${r.description})`;
  const why = r.skipped.map((s) => `${s.device}: ${s.reason}`).join('; ');
  return `device: picked ${r.picked} (${r.description})${why ? `; skipped ${why}` : ''}`;
}

/** Validate `--device` (undefined = the default) without initializing anything. */
export function parseDevice(v: string | boolean | undefined): (typeof DEVICE_CHOICES)[number] {
  return choiceFlag('device', v, DEVICE_CHOICES, DEFAULT_DEVICE);
}

/** Make the asked device the default for new tensors; an unavailable one is a usage error naming --device. */
export async function selectDevice(v: string | boolean | undefined, log?: (line: string) => void): Promise<DeviceChoice> {
  const asked = parseDevice(v);
  registerDefaultBackends();
  let r: AutoReport;
  try {
    r = await setBackend(asked as DeviceName | 'auto');
  } catch (e) {
    if (e instanceof DeviceError) throw new UsageError(`--device ${asked}: ${e.message}`);
    throw e;
  }
  const choice = { ...r, asked, description: engine.backend(r.picked).description };
  log?.(describeDevice(asked, choice));
  return choice;
}

/** The help text of --threads, the same in every command. */
export const THREADS_HELP = 'threads of the native backend (default: one per core; ignored on other devices)';

/** Set the native backend's threads (when it is the current backend). */
export function applyThreads(threads: number | undefined, log: (s: string) => void): void {
  if (threads === undefined) return;
  const name = getBackend();
  if (name !== 'native') {
    log(`--threads ${threads}: ignored on ${name} (it sets the native backend's threads)`);
    return;
  }
  const b = engine.backend('native') as unknown as { setThreads?: (n: number) => void };
  b.setThreads?.(threads);
  log(`native backend: ${threads} thread${threads > 1 ? 's' : ''}`);
}
