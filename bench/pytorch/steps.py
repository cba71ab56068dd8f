#!/usr/bin/python3
"""PyTorch reference for gradreg's step suite (bench/run.ts runs it when torch imports).

Times one training step of the same models (small CNN, LeNet-5, the thesis ResNet) with the same
regularizers as bench/steps.ts: batch 50, Adam lr 1e-3, lambda 0.01, mean cross-entropy, threads =
cores. One step = zero_grad + forward + the gradients the penalty needs (create_graph) + backward
of the total + Adam update. Each timing carries the cores other processes used meanwhile (from
/proc/stat), because on a small shared machine that decides what a timing means.

Usage: /usr/bin/python3 bench/pytorch/steps.py --models small,lenet5 --regs baseline,db \
           [--threads N] [--steps 20] [--warmup 3]
Prints one JSON object on stdout.
"""
import argparse
import json
import os
import time

BATCH = 50
LAM = 0.01
LR = 1e-3
CLASSES = 10
NI_STD = 0.1
INPUT = {"small": (1, 28, 28), "lenet5": (1, 28, 28), "resnet": (3, 32, 32)}
DEVICE = "cpu"


def model_of(name, nn):
    # ReLU after each max-pool, as gradreg's models (src/nn/models.ts, 'Pool before ReLU'): the same
    # function and gradients for less work, given to both engines so the ratios compare engines.
    if name == "small":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(32, 64, 3), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
            nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, CLASSES))
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(6, 16, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5), nn.Linear(84, CLASSES))
    if name == "resnet":
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                self.b1 = nn.BatchNorm2d(cout)
                self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                self.b2 = nn.BatchNorm2d(cout)
                self.short = (nn.Conv2d(cin, cout, 1, stride, bias=False)
                              if stride != 1 or cin != cout else nn.Identity())

            def forward(self, x):
                h = self.b2(self.c2(nn.functional.relu(self.b1(self.c1(x)))))
                return nn.functional.relu(h + self.short(x))

        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
            nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, CLASSES))
    raise ValueError(name)


def pullback_rows(out, x, torch, batched=False):
    """The C rows d out[:, c] / dx: one vjp per class, or (batched) one vjp with the C cotangents
    stacked along a leading axis (autograd.grad's is_grads_batched, a vmap over the backward)."""
    eye = torch.eye(CLASSES, dtype=out.dtype, device=out.device)
    if batched:
        u = eye.unsqueeze(1).expand(CLASSES, *out.shape)
        (rows,) = torch.autograd.grad(out, x, u, create_graph=True, is_grads_batched=True)
        return list(rows)
    return [torch.autograd.grad(out, x, eye[c].expand_as(out), create_graph=True, retain_graph=True)[0]
            for c in range(CLASSES)]


def objective(model, reg, x, y, torch):
    F = torch.nn.functional
    # "fob/loop", "fob/batched": the exact penalties with the pull mode spelled out (default loop)
    reg, _, mode = reg.partition("/")
    batched = mode == "batched"
    if reg == "ni":
        x = x + NI_STD * torch.randn_like(x)
    if reg in ("baseline", "ni"):
        return F.cross_entropy(model(x), y)
    x = x.detach().requires_grad_(True)
    z = model(x)
    rows_ce = F.cross_entropy(z, y, reduction="none")
    n = x.shape[0]
    if reg == "db":
        (gx,) = torch.autograd.grad(rows_ce.sum(), x, create_graph=True)
        pen = gx.pow(2).sum() / n
    elif reg == "spectreg":
        (v,) = torch.autograd.grad(z, x, torch.randn_like(z), create_graph=True)
        pen = v.pow(2).sum() / n
    elif reg == "fob":
        pen = sum(r.pow(2).sum() for r in pullback_rows(z, x, torch, batched)) / n
    elif reg == "jac":
        pen = sum(r.pow(2).sum() for r in pullback_rows(torch.softmax(z, 1), x, torch, batched)) / n
    elif reg == "hsfob":
        p = torch.softmax(z, 1)
        G = torch.stack([r.reshape(n, -1) for r in pullback_rows(z, x, torch, batched)], 1)
        pen = ((p * (G * G).sum(-1)).sum() - torch.einsum("bk,bkd->bd", p, G).pow(2).sum()) / n
    elif reg == "hsfob-est":
        p = torch.softmax(z, 1)
        q = p.clamp_min(1e-30).sqrt()
        r = torch.randn_like(z)
        s = q * r - p * (q * r).sum(1, keepdim=True)
        (v,) = torch.autograd.grad(z, x, s.detach(), create_graph=True)
        pen = v.pow(2).sum() / n
    else:
        raise ValueError(reg)
    return rows_ce.mean() + LAM * pen


def step_of(model_name, reg, torch):
    """One training step of a fresh model (seed 1234) on a fixed batch, as a closure."""
    torch.manual_seed(1234)
    model = model_of(model_name, torch.nn).train().to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.rand((BATCH,) + INPUT[model_name]).to(DEVICE)
    y = torch.tensor([(i * 7) % CLASSES for i in range(BATCH)]).to(DEVICE)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = objective(model, reg, x, y, torch)
        loss.backward()
        opt.step()
        return float(loss)

    return step


def snapshot():
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    busy = (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")
    return time.perf_counter(), busy, time.process_time()


def load_between(a, b):
    wall = b[0] - a[0]
    own = b[2] - a[2]
    slop = 2.0 * (os.cpu_count() or 1) / os.sysconf("SC_CLK_TCK")
    return max(0.0, (b[1] - a[1] - own - slop) / wall), own / wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="small")
    ap.add_argument("--regs", default="baseline,db")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=10.0, help="stop timing a config after this long (>= 3 steps)")
    ap.add_argument("--process-warmup", type=float, default=2.0, help="seconds of untimed baseline steps per model first")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (a step ends with float(loss), which waits for the GPU)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    import torch
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": {}}
    for model_name in args.models.split(","):
        # A fresh process runs its first configuration slower for a while even after a few warm-up
        # steps (allocator growth, oneDNN primitive caches): run this model's plain steps for
        # --process-warmup seconds first, so the first timed configuration is not charged for it.
        t_warm = time.perf_counter() + args.process_warmup
        warm = step_of(model_name, "baseline", torch)
        while time.perf_counter() < t_warm:
            warm()
        del warm
        for reg in args.regs.split(","):
            step = step_of(model_name, reg, torch)
            try:
                for _ in range(args.warmup):
                    step()
            except Exception as e:  # e.g. an op without a batched rule under is_grads_batched
                out["results"]["%s/%s" % (model_name, reg)] = {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}
                continue
            times = []
            a = snapshot()
            t_end = time.perf_counter() + args.max_seconds
            while len(times) < args.steps and (len(times) < 3 or time.perf_counter() < t_end):
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1e3)
            b = snapshot()
            foreign, own = load_between(a, b)
            times.sort()
            out["results"]["%s/%s" % (model_name, reg)] = {
                "median_ms": times[len(times) // 2], "min_ms": times[0], "steps": len(times),
                # CPU time of this process per step: robust to other processes, inflated by spin-waits
                "cpu_ms_per_step": (b[2] - a[2]) * 1e3 / len(times),
                "foreign_cores": foreign, "own_cores": own,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
