/**
 * Robustness at test points (the thesis's future work): the mean input-gradient norm
 * ||d l_n / d x_n|| of the cross-entropy and the accuracy under FGSM (Goodfellow et al. 2015),
 * x_adv = clip(x + eps sign(grad_x l)). Both are taken in pixel units: eps is a fraction of the
 * 0-255 range, so in the model's normalized input space channel c moves by eps / std_c and is
 * clipped to the image of [0, 1]; the gradient norm is reported with respect to pixel / 255,
 * i.e. the normalized-space gradient divided by std_c per channel.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import { batches, take, type Dataset, type Normalization } from '../data/index.js';
import type { Module } from '../nn/index.js';

export interface RobustnessOptions {
  normalization: Normalization;
  /** FGSM step sizes, as fractions of the pixel range. */
  eps: readonly number[];
  /** Test points used (the first `points` of the test set; 0 = all). */
  points: number;
  batchSize?: number;
  dtype?: 'float32' | 'float64';
  device?: g.DeviceName;
  /** Called after every batch with the points done so far and the total. */
  onBatch?: (done: number, total: number) => void;
}

export interface Robustness {
  /** Mean over the test points of ||grad_x l_n|| (pixel / 255 units). */
  gradNorm: number;
  fgsm: { eps: number; accuracy: number }[];
  /** Clean accuracy on the same points. */
  accuracy: number;
  points: number;
}

function perChannel(values: readonly number[], c: number, like: { dtype: 'float32' | 'float64'; device?: g.DeviceName }): Tensor {
  return g.tensor(values.slice(0, c), [1, c, 1, 1], like);
}

export async function robustness(model: Module, test: Dataset, o: RobustnessOptions): Promise<Robustness> {
  const ds = o.points > 0 && o.points < test.count ? take(test, Array.from({ length: o.points }, (_, i) => i)) : test;
  const [c] = ds.shape;
  const dtype = o.dtype ?? 'float32';
  const like = { dtype, device: o.device };
  const { mean, std } = o.normalization;
  const wasTraining = model.training;
  model.eval();
  let normSum = 0;
  let clean = 0;
  const adv = new Array<number>(o.eps.length).fill(0);
  let done = 0;
  try {
    for (const b of batches(ds, { batchSize: o.batchSize ?? 100, shuffle: false, seed: 0, epoch: 0, normalization: o.normalization })) {
      const out = g.tidy(() => {
        const x = g.tensor(b.x, [b.n, ...ds.shape], { ...like, requiresGrad: true });
        const y = g.tensor(b.y, [b.n], { dtype: 'int32', device: o.device });
        const logits = model.forward(x);
        const [gx] = g.grad(g.crossEntropy(logits, y, 'sum'), [x]);
        return g.noGrad(() => {
          // d l / d(pixel/255) = d l / dx_norm / std_c
          const gPix = g.div(gx!, perChannel(std, c, like));
          const norms = g.sqrt(g.sum(g.square(g.reshape(gPix, [b.n, -1])), 1));
          const sign = g.sign(gx!);
          const lo = perChannel(mean.map((m, i) => -m / std[i]!), c, like);
          const hi = perChannel(mean.map((m, i) => (1 - m) / std[i]!), c, like);
          const parts = [g.reshape(g.sum(norms), [1]), countCorrect(logits, y)];
          for (const eps of o.eps) {
            const step = g.mul(sign, perChannel(std.map((s) => eps / s), c, like));
            const xa = g.minimum(g.maximum(g.add(x, step), lo), hi);
            parts.push(countCorrect(model.forward(xa), y));
          }
          return g.concat(parts);
        });
      });
      const v = await out.data();
      out.dispose();
      normSum += v[0]!;
      clean += v[1]!;
      o.eps.forEach((_, i) => (adv[i]! += v[2 + i]!));
      done += b.n;
      o.onBatch?.(done, ds.count);
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    gradNorm: normSum / ds.count,
    accuracy: clean / ds.count,
    fgsm: o.eps.map((eps, i) => ({ eps, accuracy: adv[i]! / ds.count })),
    points: ds.count,
  };
}

function countCorrect(logits: Tensor, y: Tensor): Tensor {
  return g.reshape(g.cast(g.sum(g.eq(g.argmax(logits, 1), y)), logits.dtype), [1]);
}
