/**
 * Global engine state: the backend registry and default device, grad mode, tidy scopes and the
 * live-tensor bookkeeping. Tensors and ops go through here; nothing here knows any op.
 */
import type { Backend, DeviceName, Storage } from './backends/backend.js';
import { ArgumentError, DeviceError } from './errors.js';
import type { Tensor } from './tensor.js';

export type BackendFactory = () => Promise<Backend>;

/** A reference-counted storage: reshape views share one. */
export class DataBuffer {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.backend.dispose(this.storage);
  }
}

export interface AutoReport {
  picked: DeviceName;
  skipped: { device: DeviceName; reason: string }[];
}

export class Engine {
  private readonly factories = new Map<DeviceName, BackendFactory>();
  private readonly ready = new Map<DeviceName, Backend>();
  private readonly failures = new Map<DeviceName, string>();
  defaultDevice: DeviceName = 'cpu';
  gradEnabled = true;
  /** Stack of tidy scopes; each tracks the tensors created while it is on top. */
  readonly scopes: Set<Tensor>[] = [];
  numTensors = 0;
  nextId = 1;

  /**
   * Install a backend that needs no initialization: the cpu reference, which the entries install
   * (src/index.ts through registerDefaultBackends(), src/browser.ts). The engine itself knows
   * backends only through the contract.
   */
  installBackend(b: Backend): void {
    if (!this.ready.has(b.name)) this.ready.set(b.name, b);
  }

  registerBackend(name: DeviceName, factory: BackendFactory): void {
    if (this.factories.has(name) || this.ready.has(name)) {
      throw new ArgumentError(`registerBackend: a backend named '${name}' is already registered`);
    }
    this.factories.set(name, factory);
  }

  /** Registered device names, in the order `auto` tries them. */
  deviceNames(): DeviceName[] {
    const order: DeviceName[] = ['webgpu', 'cuda', 'native', 'cpu'];
    return order.filter((d) => this.ready.has(d) || this.factories.has(d));
  }

  async initBackend(name: DeviceName): Promise<Backend> {
    const have = this.ready.get(name);
    if (have) return have;
    const failed = this.failures.get(name);
    if (failed !== undefined) throw new DeviceError(`${name}: unavailable: ${failed}`);
    const f = this.factories.get(name);
    if (!f) {
      throw new DeviceError(`${name}: no such backend is registered (known: ${this.deviceNames().join(', ')})`);
    }
    try {
      const b = await f();
      this.ready.set(name, b);
      return b;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.failures.set(name, msg);
      throw e instanceof DeviceError ? e : new DeviceError(`${name}: unavailable: ${msg}`);
    }
  }

  /**
   * Try webgpu, then cuda, then native, then cpu, and report which was picked and why the others
   * were skipped. A software GPU (lavapipe) is slower than the native CPU addon, so it is taken only
   * when neither cuda nor native is available, still ahead of the TypeScript reference.
   */
  async pickAuto(): Promise<AutoReport> {
    const skipped: AutoReport['skipped'] = [];
    let softwareGpu: DeviceName | null = null;
    for (const d of this.deviceNames()) {
      if (d === 'cpu' && softwareGpu) {
        skipped.push({ device: 'cpu', reason: `the TypeScript reference is slower than ${softwareGpu} on a software adapter` });
        return { picked: softwareGpu, skipped };
      }
      try {
        const b = await this.initBackend(d);
        if (b.software && d !== 'cpu' && d !== 'native') {
          softwareGpu = d;
          skipped.push({ device: d, reason: `adapter is a software renderer (${b.description}); preferring a native CPU backend` });
          continue;
        }
        return { picked: d, skipped };
      } catch (e) {
        skipped.push({ device: d, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    return { picked: 'cpu', skipped };
  }

  backend(name: DeviceName, op = 'tensor'): Backend {
    const b = this.ready.get(name);
    if (b) return b;
    if (this.factories.has(name)) {
      throw new DeviceError(
        `${op}: device '${name}' is not initialized; call 'await setBackend("${name}")' or 'await initBackend("${name}")' first`,
      );
    }
    if (name === 'cpu') {
      throw new DeviceError(`${op}: the cpu backend is not installed; import 'gradreg' (src/index.ts) or 'gradreg/browser' (src/browser.ts) first`);
    }
    throw new DeviceError(`${op}: unknown device '${name}' (known: ${this.deviceNames().join(', ')})`);
  }

  liveBytes(): Record<string, number> {
    const r: Record<string, number> = {};
    for (const [name, b] of this.ready) r[name] = b.liveBytes();
    return r;
  }

  track(t: Tensor): void {
    this.numTensors++;
    const top = this.scopes[this.scopes.length - 1];
    if (top) top.add(t);
  }

  untrack(t: Tensor): void {
    this.numTensors--;
    const top = this.scopes[this.scopes.length - 1];
    if (top) top.delete(t);
  }
}

export const engine = new Engine();
