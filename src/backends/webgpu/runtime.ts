/**
 * The WebGPU runtime under the backend: one Dawn device, a buffer pool by size class, a pipeline
 * cache keyed by entry point + override constants, and one command encoder into which every
 * dispatch is recorded (inside one compute pass) until a sync point submits it: a read, an
 * explicit flush, an upload into a buffer that pending work still uses, or a full batch.
 *
 * Kernel parameters go into one uniform arena (256-byte slots) written with a single
 * `writeBuffer` just before each submit, so parameters cost no buffer per dispatch.
 *
 * Errors: the device always has validation / out-of-memory / internal error scopes open; each
 * submit pops them and opens new ones. An error becomes a DeviceError naming the kernel (every
 * pipeline is labelled `gradreg:<family>.<entry>`), reported by the next read or kernel call.
 * A lost device fails every later call and any pending read at once, so nothing hangs.
 */
import { create as createGpu, globals } from 'webgpu';
import type { DType, TypedArray } from '../../dtype.js';
import { DeviceError, DTypeError } from '../../errors.js';
import type { Storage } from '../backend.js';
import { BufferPool, STORAGE_USAGE, type PoolStats } from './buffers.js';
import type { Limits, Window } from './plan.js';
import { FAMILIES, shaderSource, type Family } from './shaders.js';
import { quietly, summarizeDawnStderr } from './quiet.js';

const MAP_READ = 0x01;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const COMPUTE = 0x4;

const ARENA_BYTES = 1 << 18;
const SLOT = 256;
const MAX_DISPATCHES = 1024;
const PROFILE_SLOTS = 2048;

export class GpuStorage implements Storage {
  readonly device = 'webgpu' as const;
  constructor(
    readonly length: number,
    readonly dtype: DType,
    public buffer: GPUBuffer | null,
    /** Bytes of the buffer (its size class). */
    readonly capacity: number,
  ) {}
}

/** A storage binding: a byte range of a buffer. */
export interface Bind {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

/** An entry point with the access of its storage bindings, in binding order from 1 ('r' read, 'w' read_write). */
export interface Kernel {
  readonly family: Family;
  readonly entry: string;
  readonly access: string;
  readonly name: string;
}

export function kernel(family: Family, entry: string, access: string): Kernel {
  return { family, entry, access, name: `${family}.${entry}` };
}

export type Constants = Record<string, number | boolean>;

export interface RuntimeStats {
  /** Storages handed out by the backend and not yet disposed. */
  liveStorages: number;
  /** Bytes those storages hold (elements * 4). */
  liveBytes: number;
  pool: PoolStats;
  pipelines: number;
  dispatches: number;
  submits: number;
}

/** Builds the words of a kernel's uniform parameter struct. */
export class Words {
  private readonly u = new Uint32Array(128);
  private readonly f = new Float32Array(this.u.buffer);
  private readonly i = new Int32Array(this.u.buffer);
  private n = 0;
  u32(...vs: number[]): this {
    for (const v of vs) this.u[this.n++] = v >>> 0;
    return this;
  }
  i32(...vs: number[]): this {
    for (const v of vs) this.i[this.n++] = v | 0;
    return this;
  }
  f32(...vs: number[]): this {
    for (const v of vs) this.f[this.n++] = v;
    return this;
  }
  /** Pad with zeros to a multiple of 4 words (a vec4 boundary). */
  align4(): this {
    while (this.n % 4 !== 0) this.u[this.n++] = 0;
    return this;
  }
  /** A vec4<u32> array of `vecs` vectors from `vs` (zero padded). */
  vec(vs: readonly number[], vecs: number): this {
    this.align4();
    for (let k = 0; k < vecs * 4; k++) this.u[this.n++] = (vs[k] ?? 0) >>> 0;
    return this;
  }
  done(): Uint32Array {
    this.align4();
    return this.u.subarray(0, this.n);
  }
}

export interface OpenOptions {
  /** Replace shader sources (tests use this to check how compile errors are reported). */
  shaderOverride?: Partial<Record<Family, string>>;
  /** Bind at most this many bytes per storage binding (below the device's limit): tests use it to exercise the splitting. */
  maxBindingBytes?: number;
  /** Dawn options for a dedicated GPU instance, e.g. ['adapter=...'] (the default instance takes none). */
  dawnFlags?: string[];
}

function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'WebGPU adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length > 0 ? parts.join(' / ') : 'WebGPU adapter';
}

let gpuSingleton: GPU | null = null;

function gpu(): GPU {
  if (!gpuSingleton) {
    // Dawn's classes (GPUBufferUsage, ...) as globals, as the webgpu package expects; never overwrite.
    for (const [k, v] of Object.entries(globals as Record<string, unknown>)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    gpuSingleton = createGpu([]);
  }
  return gpuSingleton;
}

export class Runtime {
  readonly lim: Limits;
  readonly maxGroups: number;
  readonly description: string;
  /** A CPU Vulkan driver (lavapipe / llvmpipe / SwiftShader): kernels pick CPU-friendly shapes. */
  readonly cpuDriver: boolean;
  /**
   * Workgroup size of kernels that reduce in workgroup memory: on a CPU driver every barrier
   * switches between the workgroup's SIMD rows, so 64 (8 rows of 8 lanes) beats 256 there.
   */
  readonly treeWG: number;
  /** The matmul kernel: register-only on CPU drivers, workgroup-memory tiled on GPUs (tests switch it). */
  matmulVariant: 'tiled' | 'cpu';
  fatal: DeviceError | null = null;

  private readonly pool: BufferPool;
  private readonly readPool: BufferPool;
  private readonly modules = new Map<Family, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readonly arenaGpu: GPUBuffer;
  private readonly arenaCpu = new Uint32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private enc: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly used = new Set<GPUBuffer>();
  private retired: GPUBuffer[] = [];
  /** Error-scope results of submitted batches not yet seen by a sync point (each removes itself when done). */
  private readonly checks = new Set<Promise<void>>();
  private readonly lostSignal: Promise<'lost'>;
  private lastKernel = '(none)';
  /** Per-kernel GPU time collection (timestamp queries), off unless `startProfile` is called. */
  private profile: { set: GPUQuerySet; names: string[]; results: Map<string, { ms: number; count: number }>; pending: Promise<void>[] } | null = null;
  private live = 0;
  private liveBytesCount = 0;
  private dispatchCount = 0;
  private submitCount = 0;

  private constructor(
    readonly device: GPUDevice,
    info: GPUAdapterInfo | undefined,
    private readonly sources: Map<Family, string>,
    maxBindingBytes: number,
  ) {
    const l = device.limits;
    const align = Math.max(1, l.minStorageBufferOffsetAlignment / 4);
    const maxBind = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, maxBindingBytes);
    this.lim = { maxElems: Math.floor(maxBind / 4 / align) * align, align };
    this.maxGroups = l.maxComputeWorkgroupsPerDimension;
    this.description = describeAdapter(info);
    this.cpuDriver = (info?.architecture ?? '') === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(this.description);
    this.matmulVariant = this.cpuDriver ? 'cpu' : 'tiled';
    this.treeWG = this.cpuDriver ? 64 : 256;
    const retire = (b: GPUBuffer): void => {
      if (this.used.has(b)) this.retired.push(b);
      else b.destroy();
    };
    this.pool = new BufferPool(device, STORAGE_USAGE, 1 << 30, retire, 'gradreg:storage');
    this.readPool = new BufferPool(device, MAP_READ | COPY_DST, 64 << 20, retire, 'gradreg:readback');
    this.arenaGpu = device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM | COPY_DST, label: 'gradreg:params' });
    this.lostSignal = device.lost.then((info) => {
      this.fatal ??= new DeviceError(`webgpu: device lost (${info.reason}) after kernel ${this.lastKernel}: ${info.message}`);
      return 'lost' as const;
    });
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('internal');
  }

  /** Open a new device (the backend keeps one per process). Throws DeviceError when there is no adapter. */
  static async open(opts: OpenOptions = {}): Promise<Runtime> {
    // Dawn prints its adapter-enumeration notices (and, without a driver, the loader's errors) to
    // stderr from native code: capture them, drop the notices, and put the rest into the error (quiet.ts).
    const probe = await quietly(async () => {
      const instance = opts.dawnFlags ? (gpu(), createGpu(opts.dawnFlags)) : gpu();
      return instance.requestAdapter({ powerPreference: 'high-performance' });
    });
    const said = probe.lines.length > 0 ? `; Dawn said: ${summarizeDawnStderr(probe.lines)}` : '';
    if (probe.error !== undefined) {
      const e = probe.error;
      throw new DeviceError(`webgpu: requesting an adapter failed: ${e instanceof Error ? e.message : String(e)}${said}`);
    }
    const adapter = probe.value ?? null;
    if (!adapter) {
      throw new DeviceError(
        'webgpu: no WebGPU adapter (Dawn found no usable Vulkan/Metal/D3D12 driver; on Linux without a GPU install ' +
          `Mesa's lavapipe >= 23, e.g. with scripts/setup-webgpu-ci.sh, and set XDG_RUNTIME_DIR)${said}`,
      );
    }
    // An adapter was found: anything else written meanwhile is not ours to hide.
    for (const line of probe.lines) process.stderr.write(`${line}\n`);
    const al = adapter.limits;
    const want = [
      'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension',
      'minStorageBufferOffsetAlignment', 'minUniformBufferOffsetAlignment',
    ] as const;
    const requiredLimits: Record<string, number> = {};
    for (const k of want) requiredLimits[k] = al[k];
    let device: GPUDevice;
    // Timestamps (for the optional per-kernel profile) when the adapter has them.
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    try {
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'gradreg' });
    } catch (e) {
      throw new DeviceError(`webgpu: requesting a device failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const sources = new Map<Family, string>();
    for (const f of FAMILIES) sources.set(f, opts.shaderOverride?.[f] ?? shaderSource(f));
    const rt = new Runtime(device, adapter.info, sources, opts.maxBindingBytes ?? Number.POSITIVE_INFINITY);
    await rt.compileModules();
    return rt;
  }

  /** Parse and check every shader file now, so a WGSL error names its file and line at startup. */
  private async compileModules(): Promise<void> {
    for (const f of FAMILIES) {
      const module = this.device.createShaderModule({ code: this.sources.get(f)!, label: `gradreg:${f}` });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0) {
        const where = errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
        this.device.destroy();
        throw new DeviceError(`webgpu: shader for kernel family '${f}' (shaders/${f}.wgsl) failed to compile: ${where}`);
      }
      this.modules.set(f, module);
    }
  }

  check(): void {
    if (this.fatal) throw this.fatal;
  }

  // ---- memory ----

  alloc(length: number, dtype: DType): GpuStorage {
    this.check();
    if (dtype === 'float64') throw new DTypeError('webgpu: float64 is not supported on WebGPU (use float32, or device cpu)');
    const bytes = Math.max(16, Math.ceil((length * 4) / 16) * 16);
    const { buffer, cls } = this.pool.acquire(bytes);
    this.live++;
    this.liveBytesCount += length * 4;
    return new GpuStorage(length, dtype, buffer, cls);
  }

  release(s: GpuStorage): void {
    if (!s.buffer) return;
    this.pool.release(s.buffer, s.capacity);
    s.buffer = null;
    this.live--;
    this.liveBytesCount -= s.length * 4;
  }

  upload(data: TypedArray, dtype: DType): GpuStorage {
    const s = this.alloc(data.length, dtype);
    if (data.length > 0) {
      // writeBuffer runs before commands still waiting in the encoder; submit those first if they use this buffer.
      if (this.used.has(s.buffer!)) this.flush();
      this.device.queue.writeBuffer(s.buffer!, 0, data.buffer, data.byteOffset, data.byteLength);
    }
    return s;
  }

  buf(s: Storage, what = 'kernel'): GPUBuffer {
    const g = s as GpuStorage;
    if (!(g instanceof GpuStorage)) throw new DeviceError(`webgpu: ${what}: storage from device '${s.device}' given to webgpu`);
    if (!g.buffer) throw new DeviceError(`webgpu: ${what}: storage used after dispose`);
    return g.buffer;
  }

  /** Bind a window (elements) of a storage, or all of it. */
  bind(s: Storage, win?: Window): Bind {
    const g = s as GpuStorage;
    const buffer = this.buf(s);
    const start = win ? win.start : 0;
    const len = win ? win.length : g.length;
    const offset = start * 4;
    const size = Math.min(g.capacity - offset, Math.max(16, Math.ceil((len * 4) / 16) * 16));
    return { buffer, offset, size };
  }

  // ---- recording ----

  private module(f: Family): GPUShaderModule {
    return this.modules.get(f)!;
  }

  private layout(access: string): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(access);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } }];
      for (let i = 0; i < access.length; i++) {
        entries.push({ binding: i + 1, visibility: COMPUTE, buffer: { type: access[i] === 'w' ? 'storage' : 'read-only-storage' } });
      }
      const bgl = this.device.createBindGroupLayout({ entries, label: `gradreg:layout:${access}` });
      l = { bgl, pl: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
      this.layouts.set(access, l);
    }
    return l;
  }

  pipeline(k: Kernel, constants: Constants): GPUComputePipeline {
    const names = Object.keys(constants).sort();
    const key = `${k.name}/${k.access}|${names.map((n) => `${n}=${Number(constants[n])}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const c: Record<string, number> = {};
      for (const n of names) c[n] = Number(constants[n]);
      p = this.device.createComputePipeline({
        label: `gradreg:${k.name}`,
        layout: this.layout(k.access).pl,
        compute: { module: this.module(k.family), entryPoint: k.entry, constants: c },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private encoder(): GPUCommandEncoder {
    if (!this.enc) this.enc = this.device.createCommandEncoder({ label: 'gradreg:batch' });
    return this.enc;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.encoder().beginComputePass({ label: 'gradreg:pass' });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Workgroup grid for `n` workgroups in a line, folded into y beyond the per-dimension limit. */
  grid(n: number): [number, number, number] {
    if (n <= this.maxGroups) return [n, 1, 1];
    const y = Math.ceil(n / this.maxGroups);
    if (y > this.maxGroups) throw new DeviceError(`webgpu: ${n} workgroups exceed the device's grid`);
    return [this.maxGroups, y, 1];
  }

  dispatch(k: Kernel, constants: Constants, params: Uint32Array, binds: readonly Bind[], groups: readonly [number, number, number]): void {
    this.check();
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    if (binds.length !== k.access.length) throw new DeviceError(`webgpu: kernel ${k.name} takes ${k.access.length} buffers, got ${binds.length}`);
    const pipeline = this.pipeline(k, constants);
    const bytes = Math.ceil(params.byteLength / SLOT) * SLOT || SLOT;
    if (this.arenaUsed + bytes > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    this.arenaCpu.set(params, offset / 4);
    this.arenaUsed += bytes;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.arenaGpu, offset, size: Math.max(16, params.byteLength) } },
    ];
    binds.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset, size: b.size } }));
    const group = this.device.createBindGroup({ layout: this.layout(k.access).bgl, entries, label: `gradreg:${k.name}` });
    let pass: GPUComputePassEncoder;
    if (this.profile) {
      // One pass per dispatch, with timestamps at its start and end.
      this.endPass();
      const q = this.profile.names.length * 2;
      this.profile.names.push(`${k.name} [${groups.join("x")}]`);
      pass = this.encoder().beginComputePass({ timestampWrites: { querySet: this.profile.set, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
    } else {
      pass = this.computePass();
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    if (this.profile) {
      pass.end();
      if (this.profile.names.length * 2 >= PROFILE_SLOTS) this.flush();
    }
    for (const b of binds) this.used.add(b.buffer);
    this.lastKernel = k.name;
    this.dispatchCount++;
    if (++this.pending >= MAX_DISPATCHES) this.flush();
  }

  /** Copy bytes between buffers in recording order. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.check();
    if (bytes === 0) return;
    this.endPass();
    this.encoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.used.add(src);
    this.used.add(dst);
    this.pending++;
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.enc) return;
    this.endPass();
    const afterSubmit = this.profile && this.profile.names.length > 0 ? this.resolveProfile() : null;
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arenaCpu.buffer, 0, this.arenaUsed);
    this.device.queue.submit([this.enc.finish()]);
    afterSubmit?.();
    this.submitCount++;
    this.enc = null;
    this.arenaUsed = 0;
    this.pending = 0;
    this.used.clear();
    for (const b of this.retired) b.destroy();
    this.retired = [];
    this.cycleErrorScopes();
  }

  private cycleErrorScopes(): void {
    const d = this.device;
    const pops = [d.popErrorScope(), d.popErrorScope(), d.popErrorScope()];
    d.pushErrorScope('validation');
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('internal');
    const check: Promise<void> = Promise.all(pops).then(
      (errs) => {
        for (const e of errs) if (e && !this.fatal) this.fatal = this.toDeviceError(e);
        this.checks.delete(check);
      },
      (e: unknown) => {
        this.fatal ??= new DeviceError(`webgpu: error scope failed: ${e instanceof Error ? e.message : String(e)}`);
        this.checks.delete(check);
      },
    );
    this.checks.add(check);
  }

  private toDeviceError(e: GPUError): DeviceError {
    const m = /gradreg:([\w.]+)/.exec(e.message);
    const name = m && m[1] !== 'storage' && m[1] !== 'batch' && m[1] !== 'pass' ? m[1] : this.lastKernel;
    const kind = e.constructor?.name ?? 'GPUError';
    return new DeviceError(`webgpu: kernel ${name} failed (${kind}): ${e.message.trim()}`);
  }

  /** Wait until every error check issued so far has resolved; throw the first error. */
  async settle(): Promise<void> {
    await Promise.all([...this.checks]);
    this.check();
  }

  async read(s: Storage): Promise<TypedArray> {
    this.check();
    const g = s as GpuStorage;
    const src = this.buf(s, 'read');
    const out = g.dtype === 'int32' ? new Int32Array(g.length) : new Float32Array(g.length);
    if (g.length === 0) return out;
    const bytes = g.length * 4;
    const { buffer: staging, cls } = this.readPool.acquire(bytes);
    this.copy(src, 0, staging, 0, bytes);
    this.flush();
    const mapped = staging.mapAsync(MAP_READ, 0, Math.ceil(bytes / 4) * 4).then(() => 'mapped' as const);
    mapped.catch(() => undefined);
    let how: 'mapped' | 'lost';
    try {
      how = await Promise.race([mapped, this.lostSignal]);
    } catch (e) {
      await this.settle();
      throw new DeviceError(`webgpu: reading a buffer failed after kernel ${this.lastKernel}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (how === 'lost') {
      throw this.fatal ?? new DeviceError('webgpu: device lost');
    }
    try {
      await this.settle();
      const range = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4);
      out.set(g.dtype === 'int32' ? new Int32Array(range, 0, g.length) : new Float32Array(range, 0, g.length));
    } finally {
      staging.unmap();
      this.readPool.release(staging, cls);
    }
    return out;
  }

  /** Wait for all submitted work (used by benchmarks to time the device). */
  async finish(): Promise<void> {
    this.flush();
    const done = this.device.queue.onSubmittedWorkDone().then(() => 'done' as const);
    done.catch(() => undefined);
    const how = await Promise.race([done, this.lostSignal]);
    if (how === 'lost') throw this.fatal ?? new DeviceError('webgpu: device lost');
    await this.settle();
  }

  /** Start collecting GPU time per kernel (needs the timestamp-query feature). */
  startProfile(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.profile = { set: this.device.createQuerySet({ type: 'timestamp', count: PROFILE_SLOTS }), names: [], results: new Map(), pending: [] };
    return true;
  }

  /** Stop profiling; milliseconds and dispatch counts per kernel since startProfile. */
  async stopProfile(): Promise<Map<string, { ms: number; count: number }>> {
    const p = this.profile;
    if (!p) return new Map();
    this.flush();
    this.profile = null;
    await Promise.all(p.pending);
    p.set.destroy();
    return p.results;
  }

  private resolveProfile(): () => void {
    const p = this.profile!;
    const n = p.names.length * 2;
    const resolve = this.device.createBuffer({ size: n * 8, usage: 0x200 | 0x04 });
    const read = this.device.createBuffer({ size: n * 8, usage: MAP_READ | COPY_DST });
    this.enc!.resolveQuerySet(p.set, 0, n, resolve, 0);
    this.enc!.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
    const names = p.names.splice(0);
    return () => p.pending.push(
      read.mapAsync(MAP_READ).then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        names.forEach((name, i) => {
          const ms = Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
          const r = p.results.get(name) ?? { ms: 0, count: 0 };
          r.ms += ms;
          r.count++;
          p.results.set(name, r);
        });
        read.unmap();
        read.destroy();
        resolve.destroy();
      }),
    );
  }

  stats(): RuntimeStats {
    return {
      liveStorages: this.live,
      liveBytes: this.liveBytesCount,
      pool: this.pool.snapshot(),
      pipelines: this.pipelines.size,
      dispatches: this.dispatchCount,
      submits: this.submitCount,
    };
  }

  liveBytes(): number {
    return this.liveBytesCount;
  }

  /** Free pooled (unused) buffers. */
  trim(): void {
    this.flush();
    this.pool.trim();
    this.readPool.trim();
  }

  /** Destroy the device; later calls fail with a DeviceError. */
  destroy(): void {
    this.device.destroy();
  }
}
