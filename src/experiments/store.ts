/**
 * The results store: one JSON line per finished run, appended and fsynced, keyed by a hash of the
 * run's configuration. Nothing is ever rewritten except a torn last line (a write cut by kill -9 or
 * a crash), which is cut off when the store is opened for writing; on read a torn or corrupt line is
 * skipped and reported. A run is written only when finished, so a killed sweep loses only the run
 * in flight, and a key seen twice keeps its first record, so nothing is counted twice.
 *
 * One writer at a time: opening for writing takes `<file>.lock` (holding the writer's pid); a lock
 * whose process is gone is taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface StoredRecord<C = unknown, R = unknown> {
  key: string;
  config: C;
  result: R;
  /** ISO time the record was written. */
  written: string;
}

export interface ReadReport<C, R> {
  records: StoredRecord<C, R>[];
  /** 1-based line numbers that could not be parsed (a torn last line, or damage). */
  skipped: number[];
  /** Keys that appeared more than once (the first record is kept). */
  duplicates: string[];
}

export function readStore<C = unknown, R = unknown>(file: string): ReadReport<C, R> {
  const report: ReadReport<C, R> = { records: [], skipped: [], duplicates: [] };
  if (!fs.existsSync(file)) return report;
  const text = fs.readFileSync(file, 'utf8');
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: StoredRecord<C, R>;
    try {
      rec = JSON.parse(line) as StoredRecord<C, R>;
    } catch {
      report.skipped.push(i + 1);
      return;
    }
    if (typeof rec !== 'object' || rec === null || typeof rec.key !== 'string' || !('result' in rec)) {
      report.skipped.push(i + 1);
      return;
    }
    if (seen.has(rec.key)) {
      report.duplicates.push(rec.key);
      return;
    }
    seen.add(rec.key);
    report.records.push(rec);
  });
  return report;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StoreLockedError extends Error {}

/** An open, writable store. */
export class ResultStore<C = unknown, R = unknown> {
  private readonly keys = new Set<string>();
  private fd: number | null;
  private readonly lockFile: string;

  private constructor(readonly file: string, fd: number, lockFile: string, keys: Iterable<string>) {
    this.fd = fd;
    this.lockFile = lockFile;
    for (const k of keys) this.keys.add(k);
  }

  /** Open (creating directories and the file), take the lock, and cut a torn last line. */
  static open<C = unknown, R = unknown>(file: string): ResultStore<C, R> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lockFile = `${file}.lock`;
    takeLock(lockFile);
    try {
      repairTail(file);
      const { records } = readStore<C, R>(file);
      const fd = fs.openSync(file, 'a');
      return new ResultStore<C, R>(file, fd, lockFile, records.map((r) => r.key));
    } catch (e) {
      fs.rmSync(lockFile, { force: true });
      throw e;
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Append one record as a single write of one line, then fsync. A key already present is not written again. */
  append(key: string, config: C, result: R): boolean {
    if (this.fd === null) throw new Error(`ResultStore: ${this.file} is closed`);
    if (this.keys.has(key)) return false;
    const rec: StoredRecord<C, R> = { key, config, result, written: new Date().toISOString() };
    const line = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    let off = 0;
    while (off < line.length) off += fs.writeSync(this.fd, line, off, line.length - off);
    fs.fsyncSync(this.fd);
    this.keys.add(key);
    return true;
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
    fs.rmSync(this.lockFile, { force: true });
  }
}

function takeLock(lockFile: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new StoreLockedError(`results store ${lockFile.slice(0, -5)} is in use by process ${pid} (remove ${lockFile} if that is wrong)`);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new StoreLockedError(`results store: could not take ${lockFile}`);
}

/** Cut the file back to its last newline: a partial line is a write that never finished. */
function repairTail(file: string): void {
  if (!fs.existsSync(file)) return;
  const size = fs.statSync(file).size;
  if (size === 0) return;
  const fd = fs.openSync(file, 'r+');
  try {
    const chunk = 1 << 16;
    const buf = Buffer.alloc(chunk);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const n = fs.readSync(fd, buf, 0, end - start, start);
      const idx = buf.subarray(0, n).lastIndexOf(0x0a);
      if (idx >= 0) {
        const keep = start + idx + 1;
        if (keep !== size) {
          fs.ftruncateSync(fd, keep);
          fs.fsyncSync(fd);
        }
        return;
      }
      end = start;
    }
    fs.ftruncateSync(fd, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
