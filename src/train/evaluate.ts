/** Accuracy and mean cross-entropy over a whole dataset, in batches, in eval mode with recording off. */
import type { DeviceName } from '../backends/backend.js';
import { batches, type Dataset, type Normalization } from '../data/dataset.js';
import { checkFloatDType, type FloatDType } from '../dtype.js';
import type { Module } from '../nn/module.js';
import { tensor } from '../ops/creation.js';
import { cast, concat, reshape } from '../ops/layout.js';
import { crossEntropy } from '../ops/loss.js';
import { argmax, sum } from '../ops/reduce.js';
import { eq } from '../ops/elementwise.js';
import { noGrad, tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';

export interface EvalOptions {
  normalization: Normalization;
  batchSize?: number;
  dtype?: FloatDType;
  device?: DeviceName;
  /** Called after every batch with the images evaluated so far and the total. */
  onBatch?: (done: number, total: number) => void;
}

export interface EvalResult {
  accuracy: number;
  loss: number;
  correct: number;
  count: number;
}

/** Number of rows of `logits` whose argmax equals the label, as a [1] float tensor. */
export function correctCount(logits: Tensor, y: Tensor): Tensor {
  return reshape(cast(sum(eq(argmax(logits, 1), y)), logits.dtype), [1]);
}

export async function evaluate(model: Module, ds: Dataset, o: EvalOptions): Promise<EvalResult> {
  checkFloatDType('evaluate', o.dtype ?? 'float32', 'option dtype');
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  let lossSum = 0;
  let done = 0;
  try {
    for (const b of batches(ds, { batchSize: o.batchSize ?? 200, shuffle: false, seed: 0, epoch: 0, normalization: o.normalization })) {
      const out = noGrad(() =>
        tidy(() => {
          const x = tensor(b.x, [b.n, ...ds.shape], { dtype: o.dtype ?? 'float32', device: o.device });
          const y = tensor(b.y, [b.n], { dtype: 'int32', device: o.device });
          const logits = model.forward(x);
          return concat([reshape(crossEntropy(logits, y, 'sum'), [1]), correctCount(logits, y)]);
        }),
      );
      const v = await out.data();
      out.dispose();
      lossSum += v[0]!;
      correct += v[1]!;
      done += b.n;
      o.onBatch?.(done, ds.count);
    }
  } finally {
    model.train(wasTraining);
  }
  return { accuracy: correct / ds.count, loss: lossSum / ds.count, correct, count: ds.count };
}
