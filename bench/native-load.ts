/**
 * How busy the rest of the machine was while something was timed. On a 2-core machine one other
 * busy process distorts a timing badly, so every number in the bench carries the average number of
 * cores used by other processes (or stolen by the hypervisor) during its window: the machine's busy
 * time from /proc/stat minus this process's own CPU time.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const CLK_TCK = 100;

export interface Snapshot {
  wallMs: number;
  busySec: number;
  ownSec: number;
}

export function snapshot(): Snapshot {
  let busySec = 0;
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    busySec = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) / CLK_TCK;
  } catch {
    busySec = NaN;
  }
  const u = process.cpuUsage();
  return { wallMs: performance.now(), busySec, ownSec: (u.user + u.system) / 1e6 };
}

export interface Load {
  /** Average cores used by other processes (and steal) during the window. */
  foreignCores: number;
  /** Average cores used by this process during the window. */
  ownCores: number;
}

/** Load between two snapshots; /proc/stat has jiffy resolution, so 2 jiffies per CPU are forgiven. */
export function loadBetween(a: Snapshot, b: Snapshot): Load {
  const wall = (b.wallMs - a.wallMs) / 1000;
  if (!(wall > 0)) return { foreignCores: NaN, ownCores: NaN };
  const own = b.ownSec - a.ownSec;
  const slop = (2 * cpus().length) / CLK_TCK;
  return { foreignCores: Math.max(0, (b.busySec - a.busySec - own - slop) / wall), ownCores: own / wall };
}

/** Sleep-poll until other processes use fewer than `threshold` cores, or `maxWaitS` passes; returns the last reading. */
export async function waitForQuiet(maxWaitS: number, threshold: number): Promise<number> {
  const end = performance.now() + maxWaitS * 1000;
  for (;;) {
    const a = snapshot();
    await new Promise((r) => setTimeout(r, 500));
    const fc = loadBetween(a, snapshot()).foreignCores;
    if (fc < threshold || performance.now() >= end) return fc;
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}
