/** Fused optimizer updates in place (shaders/optim.wgsl). */
import type { Storage, UpdateParams, UpdateRule } from '../backend.js';
import { linearChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type Runtime } from './runtime.js';

const RULES: Record<UpdateRule, number> = { sgd: 0, momentum: 1, nesterov: 2, adagrad: 3, rmsprop: 4, adam: 5 };
const KERNELS = [kernel('optim', 'update0', 'rw'), kernel('optim', 'update1', 'rww'), kernel('optim', 'update2', 'rwww')] as const;

export function applyUpdate(rt: Runtime, rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
  const n = param.length;
  const arity = rule === 'sgd' ? 0 : rule === 'adam' ? 2 : 1;
  const k = KERNELS[arity];
  const c1 = 1 - Math.pow(p.beta1, p.step);
  const c2 = 1 - Math.pow(p.beta2, p.step);
  for (const c of linearChunks(n, rt.lim)) {
    if (c.length === 0) continue;
    const w = new Words()
      .u32(c.length, RULES[rule], 0, 0)
      .f32(p.lr, p.momentum, p.beta1, p.beta2, p.eps, p.weightDecay, 1 - p.lr * p.decoupledDecay, c1, c2, 1 - p.beta1, 1 - p.beta2)
      .u32(0).done();
    const binds = [grad, param, ...state.slice(0, arity)].map((s) => rt.bind(s, c));
    rt.dispatch(k, { WG }, w, binds, rt.grid(Math.ceil(c.length / WG)));
  }
}
