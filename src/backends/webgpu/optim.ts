/** Fused optimizer updates in place (shaders/optim.wgsl). */
import type { Storage, UpdateParams, UpdateRule } from '../backend.js';
import { linearChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type Runtime } from './runtime.js';
import { UPDATE_CODE, UPDATE_STATES } from '../opcodes.js';

const KERNELS = [kernel('optim', 'update0', 'rw'), kernel('optim', 'update1', 'rww'), kernel('optim', 'update2', 'rwww')] as const;

export function applyUpdate(rt: Runtime, rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
  const n = param.length;
  const arity = UPDATE_STATES[rule];
  const k = KERNELS[arity];
  const c1 = 1 - Math.pow(p.beta1, p.step);
  const c2 = 1 - Math.pow(p.beta2, p.step);
  for (const c of linearChunks(n, rt.lim)) {
    if (c.length === 0) continue;
    const w = new Words()
      .u32(c.length, UPDATE_CODE[rule], 0, 0)
      .f32(p.lr, p.momentum, p.beta1, p.beta2, p.eps, p.weightDecay, 1 - p.lr * p.decoupledDecay, c1, c2, 1 - p.beta1, 1 - p.beta2)
      .u32(0).done();
    const binds = [grad, param, ...state.slice(0, arity)].map((s) => rt.bind(s, c));
    rt.dispatch(k, { WG }, w, binds, rt.grid(Math.ceil(c.length / WG)));
  }
}
