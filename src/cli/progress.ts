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
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly intervalSeconds = 30,
  ) {}

  update(p: Progress): void {
    const line = formatProgress(p);
    const now = Date.now();
    if (this.out.isTTY) {
      if (now - this.lastPrint < 100 && p.batch !== p.batches) return;
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (now - this.lastPrint >= this.intervalSeconds * 1000 || p.batch === p.batches) {
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
