/** Memory scopes and grad mode. */
import { engine } from './engine.js';
import { ArgumentError } from './errors.js';
import { Tensor } from './tensor.js';

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 8 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Run `fn` and dispose every tensor it created except those it returns (a tensor, or tensors inside
 * arrays, Maps and plain objects). `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  engine.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    engine.scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  engine.scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new ArgumentError('tidy: the function must be synchronous (it returned a Promise)');
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  const parent = engine.scopes[engine.scopes.length - 1];
  for (const t of scope) {
    if (keep.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exclude `t` from the enclosing tidy scopes: it lives until disposed by hand. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of engine.scopes) s.delete(t);
  return t;
}

/** Run `fn` with gradient recording off. */
export function noGrad<T>(fn: () => T): T {
  const prev = engine.gradEnabled;
  engine.gradEnabled = false;
  try {
    return fn();
  } finally {
    engine.gradEnabled = prev;
  }
}

/** Run `fn` with recording set to `on`. */
export function withGrad<T>(on: boolean, fn: () => T): T {
  const prev = engine.gradEnabled;
  engine.gradEnabled = on;
  try {
    return fn();
  } finally {
    engine.gradEnabled = prev;
  }
}

export interface MemoryInfo {
  /** Live (not disposed) tensors. */
  numTensors: number;
  /** Bytes held by each initialized backend's live storages. */
  bytes: Record<string, number>;
}

export function memory(): MemoryInfo {
  return { numTensors: engine.numTensors, bytes: engine.liveBytes() };
}
