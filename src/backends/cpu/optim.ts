import type { TypedArray } from '../../dtype.js';
import type { UpdateParams, UpdateRule } from '../backend.js';

/**
 * Fused optimizer updates (thesis section 2.3.4). g' = g + weightDecay * w (coupled L2, eq. 30);
 * w <- w * (1 - lr * decoupledDecay) first when decoupled decay is set.
 *   sgd:      w -= lr g'
 *   momentum: v = momentum v - lr g'; w += v                     (eq. 9-10)
 *   nesterov: v = momentum v - lr g'; w += momentum v - lr g'
 *   adagrad:  a += g'^2; w -= lr g' / (sqrt(a) + eps)
 *   rmsprop:  a = beta2 a + (1 - beta2) g'^2; w -= lr g' / (sqrt(a) + eps)
 *   adam:     m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
 *             w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)          (eq. 15-19)
 */
export function applyUpdate(rule: UpdateRule, w: TypedArray, g: TypedArray, state: readonly TypedArray[], p: UpdateParams): void {
  const n = w.length;
  const shrink = 1 - p.lr * p.decoupledDecay;
  const c1 = 1 - Math.pow(p.beta1, p.step);
  const c2 = 1 - Math.pow(p.beta2, p.step);
  for (let i = 0; i < n; i++) {
    let wi = w[i]! * shrink;
    const gi = g[i]! + p.weightDecay * w[i]!;
    switch (rule) {
      case 'sgd':
        wi -= p.lr * gi;
        break;
      case 'momentum': {
        const v = p.momentum * state[0]![i]! - p.lr * gi;
        state[0]![i] = v;
        wi += v;
        break;
      }
      case 'nesterov': {
        const v = p.momentum * state[0]![i]! - p.lr * gi;
        state[0]![i] = v;
        wi += p.momentum * v - p.lr * gi;
        break;
      }
      case 'adagrad': {
        const a = state[0]![i]! + gi * gi;
        state[0]![i] = a;
        wi -= (p.lr * gi) / (Math.sqrt(a) + p.eps);
        break;
      }
      case 'rmsprop': {
        const a = p.beta2 * state[0]![i]! + (1 - p.beta2) * gi * gi;
        state[0]![i] = a;
        wi -= (p.lr * gi) / (Math.sqrt(a) + p.eps);
        break;
      }
      case 'adam': {
        const m = p.beta1 * state[0]![i]! + (1 - p.beta1) * gi;
        const v = p.beta2 * state[1]![i]! + (1 - p.beta2) * gi * gi;
        state[0]![i] = m;
        state[1]![i] = v;
        wi -= (p.lr * (m / c1)) / (Math.sqrt(v / c2) + p.eps);
        break;
      }
    }
    w[i] = wi;
  }
}
