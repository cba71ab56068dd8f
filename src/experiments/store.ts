/**
 * The results store: one JSON line per finished run, appended and fsynced, keyed by a hash of the
 * run's configuration. Nothing is ever rewritten except a torn last line (a write cut by kill -9 or
 * a crash), which is cut off when the store is opened for writing; on read a torn or corrupt line is
 * skipped, and said so once per process. A run is written only when finished, so a killed sweep
 * loses only the run in flight, and a key seen twice keeps its first record, so nothing is counted
 * twice.
 *
 * A results directory holds one file per writer: results.jsonl for an unsharded sweep and
 * results-shard-I-of-N.jsonl for shard I of N (on a shared filesystem, each machine appends only to
 * its own file: appends from several machines to one file are not atomic on NFS). Readers merge
 * every file of the directory and drop duplicate keys. No lock spans machines: opening a file for
 * writing takes `<file>.lock` (host, pid, the run in progress, refreshed as a heartbeat), which keeps
 * two processes of one machine off the same file; a lock whose process is gone is taken over, and
 * so is one from another host (a requeued SLURM task on a new node), with a message.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
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
  /** The file ends in a line without its newline: a write in progress (another process) or torn by a kill. */
  partialTail: boolean;
}

/** The records of one store file, first of a key kept; `seen` carries the keys of files read before it. */
export function readStore<C = unknown, R = unknown>(file: string, seen = new Set<string>()): ReadReport<C, R> {
  const report: ReadReport<C, R> = { records: [], skipped: [], duplicates: [], partialTail: false };
  if (!fs.existsSync(file)) return report;
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: StoredRecord<C, R>;
    try {
      rec = JSON.parse(line) as StoredRecord<C, R>;
    } catch {
      report.skipped.push(i + 1);
      if (i === lines.length - 1) report.partialTail = true;
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

/** The unsharded writer's file of a results directory. */
export const STORE_FILE = 'results.jsonl';
const SHARD_FILE = /^results-shard-(\d+)-of-(\d+)\.jsonl$/;

/** The file shard `index` of `count` appends to. */
export function shardStoreFile(dir: string, index: number, count: number): string {
  return path.join(dir, `results-shard-${index}-of-${count}.jsonl`);
}

/** Which shard file `file` is, or null. */
export function shardOfFile(file: string): { index: number; count: number } | null {
  const m = SHARD_FILE.exec(path.basename(file));
  return m ? { index: Number(m[1]), count: Number(m[2]) } : null;
}

/** Every store file of a results directory: results.jsonl first, then the shards' files by (N, I). */
export function storeFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const shards = names
    .map((n) => ({ n, m: SHARD_FILE.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[2]) - Number(b.m[2]) || Number(a.m[1]) - Number(b.m[1]))
    .map((x) => path.join(dir, x.n));
  return [...(names.includes(STORE_FILE) ? [path.join(dir, STORE_FILE)] : []), ...shards];
}

export interface DirReport<C, R> extends Omit<ReadReport<C, R>, 'skipped' | 'partialTail'> {
  files: string[];
  /** Per file with damage: unreadable complete lines, and whether its last line is partial. */
  damage: { file: string; lines: number[]; partialTail: boolean }[];
}

const warned = new Set<string>();

/**
 * Say (once per process for the same file and lines) that lines of a store file were skipped: a
 * torn last line (a write in progress, or cut by a kill: it is cut off when that writer opens the
 * file again) or damaged lines in the middle (left in place; the runs on them count as not done).
 */
export function warnDamage(file: string, lines: readonly number[], partialTail: boolean, log: (line: string) => void): void {
  if (lines.length === 0) return;
  const id = `${path.resolve(file)}:${lines.join(',')}`;
  if (warned.has(id)) return;
  warned.add(id);
  const mid = partialTail ? lines.slice(0, -1) : lines;
  const parts: string[] = [];
  if (mid.length) parts.push(`skipped ${mid.length} unreadable line${mid.length > 1 ? 's' : ''} (line ${mid.slice(0, 5).join(', ')}${mid.length > 5 ? ', ...' : ''}); their runs count as not done and will run again`);
  if (partialTail) parts.push(`ignored an unfinished last line (line ${lines[lines.length - 1]}: a write in progress, or torn by a kill; cut off when its writer runs again)`);
  log(`results store ${file}: ${parts.join('; ')}`);
}

/** Every record of every store file of `dir`, the first record of a key kept. */
export function readStoreDir<C = unknown, R = unknown>(dir: string, log?: (line: string) => void): DirReport<C, R> {
  const files = storeFiles(dir);
  const out: DirReport<C, R> = { records: [], duplicates: [], files, damage: [] };
  const seen = new Set<string>();
  for (const f of files) {
    const r = readStore<C, R>(f, seen);
    if (r.skipped.length) {
      out.damage.push({ file: f, lines: r.skipped, partialTail: r.partialTail });
      if (log) warnDamage(f, r.skipped, r.partialTail, log);
    }
    out.duplicates.push(...r.duplicates);
    out.records.push(...r.records);
  }
  return out;
}

/** Whether a process with this pid exists on this machine (EPERM: it does, under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StoreLockedError extends Error {}

/** What a lock file holds: who writes, and (as a heartbeat) what it is running. */
export interface LockInfo {
  host: string;
  pid: number;
  /** ISO times: when the writer opened the store, and its last heartbeat. */
  since: string;
  updated: string;
  /** The run in progress, if any. */
  run?: string;
}

/** Parse a lock file: JSON LockInfo, or (older stores) a bare pid of this host. */
export function readLock(lockFile: string): (LockInfo & { mtimeMs: number }) | null {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
    mtimeMs = fs.statSync(lockFile).mtimeMs;
  } catch {
    return null;
  }
  try {
    const j = JSON.parse(text) as Partial<LockInfo>;
    if (typeof j === 'object' && j !== null && typeof j.pid === 'number' && typeof j.host === 'string') {
      return { host: j.host, pid: j.pid, since: j.since ?? '', updated: j.updated ?? '', ...(j.run ? { run: j.run } : {}), mtimeMs };
    }
  } catch {
    // a bare pid
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? { host: os.hostname(), pid, since: '', updated: '', mtimeMs } : null;
}

export interface OpenOptions {
  /** Messages about repairs and lock take-overs (stderr in the CLI). */
  log?: (line: string) => void;
}

/** An open, writable store. */
export class ResultStore<C = unknown, R = unknown> {
  private readonly keys = new Set<string>();
  private fd: number | null;
  private readonly lockFile: string;
  private readonly since = new Date().toISOString();

  private constructor(readonly file: string, fd: number, lockFile: string, keys: Iterable<string>) {
    this.fd = fd;
    this.lockFile = lockFile;
    for (const k of keys) this.keys.add(k);
  }

  /** Open (creating directories and the file), take the lock, and cut a torn last line (saying so). */
  static open<C = unknown, R = unknown>(file: string, o: OpenOptions = {}): ResultStore<C, R> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lockFile = `${file}.lock`;
    takeLock(lockFile, o.log);
    try {
      const cut = repairTail(file);
      if (cut > 0) o.log?.(`results store ${file}: cut off a torn last line (${cut} bytes of a write that never finished; its run will run again)`);
      const { records, skipped } = readStore<C, R>(file);
      if (skipped.length && o.log) warnDamage(file, skipped, false, o.log);
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

  /** Refresh the lock as a heartbeat, naming the run in progress (for `gradreg status`). */
  heartbeat(run?: string): void {
    if (this.fd === null) return;
    try {
      fs.writeFileSync(this.lockFile, lockText(this.since, run));
    } catch {
      // a heartbeat is advisory
    }
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

function lockText(since: string, run?: string): string {
  const info: LockInfo = { host: os.hostname(), pid: process.pid, since, updated: new Date().toISOString(), ...(run ? { run } : {}) };
  return `${JSON.stringify(info)}\n`;
}

function takeLock(lockFile: string, log?: (line: string) => void): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      const now = new Date().toISOString();
      fs.writeSync(fd, lockText(now));
      fs.closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = readLock(lockFile);
      if (held && held.host === os.hostname()) {
        if (held.pid !== process.pid && pidAlive(held.pid)) {
          throw new StoreLockedError(`results store ${lockFile.slice(0, -5)} is in use by process ${held.pid} (remove ${lockFile} if that is wrong)`);
        }
      } else if (held) {
        log?.(`results store ${lockFile.slice(0, -5)}: taking over the lock of ${held.host} pid ${held.pid} (last heartbeat ${new Date(held.mtimeMs).toISOString()}): a shard runs on one machine at a time, so that writer is gone (requeued or preempted)`);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new StoreLockedError(`results store: could not take ${lockFile}`);
}

/** Cut the file back to its last newline: a partial line is a write that never finished. Returns the bytes cut. */
function repairTail(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const size = fs.statSync(file).size;
  if (size === 0) return 0;
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
        return size - keep;
      }
      end = start;
    }
    fs.ftruncateSync(fd, 0);
    fs.fsyncSync(fd);
    return size;
  } finally {
    fs.closeSync(fd);
  }
}
