/**
 * Kernel suites, per backend: GEMM 512^3, conv forward and forward+backward at the three models'
 * layer shapes (small CNN, LeNet-5, ResNet), max pooling, batch norm forward, backward and double
 * backward (the ResNet stem's shape) and the softmax-Hessian product.
 * Each case runs through the public ops (so it includes the per-op overhead a training step pays)
 * and reports GFLOP/s for matmul-shaped work, GB/s of compulsory traffic for memory-bound kernels.
 */
import * as g from '../src/index.js';
import type { DeviceName, Tensor } from '../src/index.js';

export interface KernelCase {
  suite: string;
  name: string;
  /** Work per run: flops (GFLOP/s) or bytes (GB/s). */
  work: number;
  unit: 'GFLOP/s' | 'GB/s';
  setup(device: DeviceName): { run(): void; dispose(): void };
}

const f32 = 4;

function conv(name: string, x: number[], w: number[], backward: boolean, stride = 1, padding = 0): KernelCase {
  const [n, , h, wd] = x as [number, number, number, number];
  const [oc, ic, kh, kw] = w as [number, number, number, number];
  const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * padding - kw) / stride) + 1;
  const fwd = 2 * oc * ic * kh * kw * n * oh * ow;
  const geom = stride !== 1 || padding !== 0 ? ` stride ${stride} pad ${padding}` : '';
  return {
    suite: backward ? 'conv forward+backward' : 'conv forward',
    name: `${name} [${x}] * [${w}]${geom}`,
    work: backward ? 3 * fwd : fwd,
    unit: 'GFLOP/s',
    setup(device) {
      const xt = g.randn(x, { device, seed: 1, requiresGrad: backward });
      const wt = g.randn(w, { device, seed: 2, requiresGrad: backward });
      const gy = g.randn([n, oc, oh, ow], { device, seed: 3 });
      return {
        run() {
          g.tidy(() => {
            const y = g.conv2d(xt, wt, null, { stride, padding });
            if (backward) g.grad(y, [xt, wt], { gradOutputs: gy });
          });
        },
        dispose() {
          for (const t of [xt, wt, gy]) t.dispose();
        },
      };
    },
  };
}

/** The convolutions of the three models at batch 50 (name, input, weight, stride, padding). */
export const CONV_LAYERS: [string, number[], number[], number, number][] = [
  ['small conv1', [50, 1, 28, 28], [32, 1, 3, 3], 1, 0],
  ['small conv2', [50, 32, 13, 13], [64, 32, 3, 3], 1, 0],
  ['small conv3', [50, 64, 5, 5], [64, 64, 3, 3], 1, 0],
  ['lenet5 C1', [50, 1, 28, 28], [6, 1, 5, 5], 1, 2],
  ['lenet5 C3', [50, 6, 14, 14], [16, 6, 5, 5], 1, 0],
  ['lenet5 C5', [50, 16, 5, 5], [120, 16, 5, 5], 1, 0],
  ['resnet stem', [50, 3, 32, 32], [16, 3, 3, 3], 1, 1],
  ['resnet layer1', [50, 16, 32, 32], [16, 16, 3, 3], 1, 1],
  ['resnet layer2 conv1', [50, 16, 32, 32], [32, 16, 3, 3], 2, 1],
  ['resnet layer2 conv2', [50, 32, 16, 16], [32, 32, 3, 3], 1, 1],
  ['resnet layer2 shortcut', [50, 16, 32, 32], [32, 16, 1, 1], 2, 0],
  ['resnet layer3 conv1', [50, 32, 16, 16], [64, 32, 3, 3], 2, 1],
  ['resnet layer3 conv2', [50, 64, 8, 8], [64, 64, 3, 3], 1, 1],
];

function withTensors(make: (device: DeviceName) => Tensor[], body: (ts: Tensor[]) => void): KernelCase['setup'] {
  return (device) => {
    const ts = make(device);
    return {
      run() {
        g.tidy(() => body(ts));
      },
      dispose() {
        for (const t of ts) t.dispose();
      },
    };
  };
}

export function kernelCases(): KernelCase[] {
  const n = 512;
  return [
    {
      suite: 'gemm', name: 'matmul 512x512x512', work: 2 * n * n * n, unit: 'GFLOP/s',
      setup: withTensors((d) => [g.randn([n, n], { device: d, seed: 1 }), g.randn([n, n], { device: d, seed: 2 })], ([a, b]) => {
        g.noGrad(() => g.matmul(a!, b!));
      }),
    },
    ...CONV_LAYERS.map(([name, x, w, st, pad]) => conv(name, x, w, false, st, pad)),
    ...CONV_LAYERS.map(([name, x, w, st, pad]) => conv(name, x, w, true, st, pad)),
    {
      suite: 'pooling', name: 'maxPool2d 2x2 [50,32,26,26] forward', work: 50 * 32 * 26 * 26 * f32 * 1.5, unit: 'GB/s',
      setup: withTensors((d) => [g.randn([50, 32, 26, 26], { device: d, seed: 1 })], ([x]) => {
        g.noGrad(() => g.maxPool2d(x!, { kernel: 2 }));
      }),
    },
    {
      suite: 'pooling', name: 'maxPool2d 2x2 [50,32,26,26] forward+backward', work: 50 * 32 * 26 * 26 * f32 * 3, unit: 'GB/s',
      setup: withTensors((d) => [g.randn([50, 32, 26, 26], { device: d, seed: 1, requiresGrad: true })], ([x]) => {
        g.grad(g.sum(g.maxPool2d(x!, { kernel: 2 })), [x!]);
      }),
    },
    {
      suite: 'batch norm', name: 'batchNorm [50,16,32,32] forward', work: 50 * 16 * 32 * 32 * f32 * 3, unit: 'GB/s',
      setup: withTensors((d) => [g.randn([50, 16, 32, 32], { device: d, seed: 1 }), g.ones([16], { device: d }), g.zeros([16], { device: d })], ([x, ga, be]) => {
        g.noGrad(() => g.batchNorm(x!, ga!, be!, null, null, { training: true }));
      }),
    },
    {
      suite: 'batch norm', name: 'batchNorm [50,16,32,32] forward+backward', work: 50 * 16 * 32 * 32 * f32 * 7, unit: 'GB/s',
      setup: withTensors(
        (d) => [g.randn([50, 16, 32, 32], { device: d, seed: 1, requiresGrad: true }), g.ones([16], { device: d, requiresGrad: true }), g.zeros([16], { device: d, requiresGrad: true })],
        ([x, ga, be]) => {
          g.grad(g.sum(g.square(g.batchNorm(x!, ga!, be!, null, null, { training: true }))), [x!, ga!, be!]);
        },
      ),
    },
    {
      // The double-backprop pattern: the gradient of ||dL/dx||^2 runs batch norm's second derivative.
      suite: 'batch norm', name: 'batchNorm [50,16,32,32] double backward (||dL/dx||^2)', work: 50 * 16 * 32 * 32 * f32 * 14, unit: 'GB/s',
      setup: withTensors(
        (d) => [g.randn([50, 16, 32, 32], { device: d, seed: 1, requiresGrad: true }), g.ones([16], { device: d, requiresGrad: true }), g.zeros([16], { device: d, requiresGrad: true }), g.randn([50, 16, 32, 32], { device: d, seed: 2 })],
        ([x, ga, be, r]) => {
          const L = g.sum(g.mul(r!, g.batchNorm(x!, ga!, be!, null, null, { training: true })));
          const [gx] = g.grad(L, [x!], { createGraph: true });
          // allowUnused: L is linear in the output, so dL/dx does not depend on beta (its gradient is zero).
          g.grad(g.sum(g.square(gx!)), [x!, ga!, be!], { allowUnused: true });
        },
      ),
    },
    {
      suite: 'softmax-HVP', name: 'softmaxHvp [50,10]', work: 50 * 10 * f32 * 3, unit: 'GB/s',
      setup: withTensors((d) => [g.softmax(g.randn([50, 10], { device: d, seed: 1 })), g.randn([50, 10], { device: d, seed: 2 })], ([p, v]) => {
        g.noGrad(() => g.softmaxHvp(p!, v!));
      }),
    },
    {
      suite: 'softmax-HVP', name: 'softmaxHvp [100000,10]', work: 100000 * 10 * f32 * 3, unit: 'GB/s',
      setup: withTensors((d) => [g.softmax(g.randn([100000, 10], { device: d, seed: 1 })), g.randn([100000, 10], { device: d, seed: 2 })], ([p, v]) => {
        g.noGrad(() => g.softmaxHvp(p!, v!));
      }),
    },
  ];
}
