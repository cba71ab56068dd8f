/**
 * Kernel suites, per backend: GEMM 512^3, conv forward and forward+backward at the small CNN's
 * layer shapes, max pooling, batch norm (the ResNet stem's shape) and the softmax-Hessian product.
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

function conv(name: string, x: number[], w: number[], backward: boolean): KernelCase {
  const [n, , h, wd] = x as [number, number, number, number];
  const [oc, ic, kh, kw] = w as [number, number, number, number];
  const L = (h - kh + 1) * (wd - kw + 1);
  const fwd = 2 * oc * ic * kh * kw * n * L;
  return {
    suite: backward ? 'conv forward+backward' : 'conv forward',
    name,
    work: backward ? 3 * fwd : fwd,
    unit: 'GFLOP/s',
    setup(device) {
      const xt = g.randn(x, { device, seed: 1, requiresGrad: backward });
      const wt = g.randn(w, { device, seed: 2, requiresGrad: backward });
      const gy = g.randn([n, oc, h - kh + 1, wd - kw + 1], { device, seed: 3 });
      return {
        run() {
          g.tidy(() => {
            const y = g.conv2d(xt, wt);
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
    conv('conv1 [50,1,28,28] * [32,1,3,3]', [50, 1, 28, 28], [32, 1, 3, 3], false),
    conv('conv2 [50,32,13,13] * [64,32,3,3]', [50, 32, 13, 13], [64, 32, 3, 3], false),
    conv('conv3 [50,64,5,5] * [64,64,3,3]', [50, 64, 5, 5], [64, 64, 3, 3], false),
    conv('conv1 [50,1,28,28] * [32,1,3,3]', [50, 1, 28, 28], [32, 1, 3, 3], true),
    conv('conv2 [50,32,13,13] * [64,32,3,3]', [50, 32, 13, 13], [64, 32, 3, 3], true),
    conv('conv3 [50,64,5,5] * [64,64,3,3]', [50, 64, 5, 5], [64, 64, 3, 3], true),
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
