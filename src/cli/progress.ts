/** The progress line on stderr: redrawn in place on a terminal, one line every `interval` seconds otherwise. */
import type { Progress } from '../train/train.js';

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function formatProgress(p: Progress, width = 20): string {
  const frac = p.batch / p.batches;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const acc = p.accuracy === null ? '' : ` acc ${(100 * p.accuracy).toFixed(2)}%`;
  return (
    `epoch ${p.epoch}/${p.epochs} [${bar}] ${p.batch}/${p.batches} loss ${p.loss.toFixed(4)}${acc}` +
    ` ${p.samplesPerSecond.toFixed(1)} samples/s ETA ${formatDuration(p.etaSeconds)}`
  );
}

export class ProgressBar {
  private lastPrint = 0;
  private drawn = false;
  private counting: string | null = null;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly intervalSeconds = 30,
  ) {}

  update(p: Progress): void {
    this.show(formatProgress(p), p.batch === p.batches);
  }

  /** A count of work done, e.g. images evaluated: `label [####......] done/total`. */
  count(label: string, done: number, total: number, width = 20): void {
    const filled = Math.round((done / Math.max(1, total)) * width);
    // the first line of a new count always shows, so a long evaluation never starts in silence
    const fresh = label !== this.counting;
    this.counting = done >= total ? null : label;
    this.show(`${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`, fresh || done >= total);
  }

  /** Redraw in place on a terminal; elsewhere print at most every `intervalSeconds`, and always the `final` line. */
  private show(line: string, final: boolean): void {
    const now = Date.now();
    if (this.out.isTTY) {
      if (now - this.lastPrint < 100 && !final) return;
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (now - this.lastPrint >= this.intervalSeconds * 1000 || final) {
      this.out.write(`${line}\n`);
    } else return;
    this.lastPrint = now;
  }

  /** Print a whole line (ending the in-place one first). */
  line(s: string): void {
    if (this.drawn) {
      this.out.write('\n');
      this.drawn = false;
    }
    this.out.write(`${s}\n`);
  }
}
