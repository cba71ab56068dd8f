/**
 * The name of every op that records a graph node (`record(out, name, ...)` in src/ops): the ops
 * autograd differentiates, by the name a `GradNode` carries. test/helpers/opinfo.ts types its
 * sample table `satisfies Record<OpName, ...>`, so an op added here without samples does not compile.
 */
export const DIFFERENTIABLE_OPS = [
  // elementwise (src/ops/elementwise.ts)
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'reciprocal', 'abs', 'square', 'relu', 'leakyRelu', 'sigmoid', 'tanh',
  'softplus', 'sin', 'cos', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'where',
  // reductions (reduce.ts)
  'sum', 'max', 'min', 'sumTo',
  // layout (layout.ts)
  'reshape', 'permute', 'broadcastTo', 'slice', 'pad', 'concat', 'cast',
  'matmul',
  // convolution (conv.ts)
  'im2col', 'col2im', 'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight',
  // pooling (pool.ts)
  'maxPool2d', 'maxPoolGather', 'maxPoolScatter', 'avgPool2d', 'avgPool2dBackward',
  // batch norm (batchnorm.ts): the op, the nodes of its recorded backward, and of their rules
  'batchNorm', 'batchNormRelu', 'batchNorm.xhat', 'batchNorm.invStd', 'batchNormBackward.dx', 'batchNormBackward.dgamma', 'batchNormBackward.dbeta',
  // softmax and losses (softmax.ts, loss.ts)
  'softmax', 'logSoftmax', 'softmaxHvp', 'crossEntropy',
] as const;
export type OpName = (typeof DIFFERENTIABLE_OPS)[number];
