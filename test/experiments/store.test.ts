import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, configKey } from '../../src/experiments/hash.js';
import { ResultStore, StoreLockedError, readStore } from '../../src/experiments/store.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-store-'));
  dirs.push(d);
  return path.join(d, 'sub', 'results.jsonl');
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('config keys', () => {
  it('do not depend on key order, and differ when a value differs', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(configKey({ a: 1, b: 2 })).toBe(configKey({ b: 2, a: 1 }));
    expect(configKey({ a: 1, b: 2 })).not.toBe(configKey({ a: 1, b: 3 }));
    expect(configKey({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('results store', () => {
  it('appends one line per record and reads them back; a key is written once', () => {
    const f = tmp();
    const s = ResultStore.open(f);
    expect(s.append('k1', { x: 1 }, { acc: 0.5 })).toBe(true);
    expect(s.append('k2', { x: 2 }, { acc: 0.6 })).toBe(true);
    expect(s.append('k1', { x: 1 }, { acc: 0.9 })).toBe(false);
    s.close();
    const text = fs.readFileSync(f, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text.endsWith('\n')).toBe(true);
    const r = readStore(f);
    expect(r.records.map((x) => [x.key, x.result])).toEqual([['k1', { acc: 0.5 }], ['k2', { acc: 0.6 }]]);
    expect(ResultStore.open(f).has('k2')).toBe(true);
  });

  it('tolerates a torn last line on read, and cuts it off when opened for writing', () => {
    const f = tmp();
    const s = ResultStore.open(f);
    s.append('a', {}, { v: 1 });
    s.append('b', {}, { v: 2 });
    s.close();
    const whole = fs.readFileSync(f, 'utf8');
    fs.appendFileSync(f, '{"key":"c","config":{},"res');
    const r = readStore(f);
    expect(r.records.map((x) => x.key)).toEqual(['a', 'b']);
    expect(r.skipped).toEqual([3]);
    const s2 = ResultStore.open(f);
    expect(fs.readFileSync(f, 'utf8')).toBe(whole);
    s2.append('c', {}, { v: 3 });
    s2.close();
    expect(readStore(f).records.map((x) => x.key)).toEqual(['a', 'b', 'c']);
    expect(readStore(f).skipped).toEqual([]);
  });

  it('keeps the first record of a duplicated key (a record is never counted twice)', () => {
    const f = tmp();
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const line = (k: string, v: number): string => `${JSON.stringify({ key: k, config: {}, result: { v }, written: '' })}\n`;
    fs.writeFileSync(f, line('a', 1) + line('a', 2) + line('b', 3));
    const r = readStore(f);
    expect(r.records.map((x) => [x.key, (x.result as { v: number }).v])).toEqual([['a', 1], ['b', 3]]);
    expect(r.duplicates).toEqual(['a']);
  });

  it('admits one writer at a time, and takes over the lock of a dead process', () => {
    const f = tmp();
    const s = ResultStore.open(f);
    expect(() => ResultStore.open(f)).not.toThrow(); // same process: its own stale pid
    s.close();
    // a lock held by a live process other than this one
    fs.writeFileSync(`${f}.lock`, String(process.ppid));
    expect(() => ResultStore.open(f)).toThrow(StoreLockedError);
    // a lock left by a process that no longer exists
    fs.writeFileSync(`${f}.lock`, '2147483646');
    const s3 = ResultStore.open(f);
    s3.close();
    expect(fs.existsSync(`${f}.lock`)).toBe(false);
  });
});
