#!/usr/bin/env python3
"""PyTorch (CUDA) peer of `minmax bench --device gpu`: the same workloads, shapes and timing
protocol, so scripts/bench-gpu.sh can print one table of ratios.

(a) SGEMM GFLOP/s at square sizes (default 1024, 2048, 4096, 8192), FP32 with TF32 off
(b) one training iteration (D step + G step) of the Goodfellow 2014 MNIST MLP GAN, batch 100
(c) one training iteration of the small 28x28 DCGAN, batch 64
(d) conv2d forward and forward+backward, x [64, 64, 14, 14], w [128, 64, 4, 4], stride 2, pad 1

Every number is the median of timed samples after untimed warm-up calls; each sample ends with
torch.cuda.synchronize(). Row names match minmax's (`..._gpu`); the last line is `JSON {...}`.
With --tiny the shapes are minmax's --tiny shapes (batch 4, matmul 64/128/256).

Usage: python3 bench_torch_gpu.py [--tiny] [--reps 30] [--warmup 10] [--gemm-sizes 1024,2048]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_SECONDS = 30.0
RESULTS = {}


def summarize(s):
    s = sorted(s)
    q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0]] * 3
    return {"median_ms": statistics.median(s), "p25_ms": q[0], "p75_ms": q[2], "min_ms": s[0], "max_ms": s[-1],
            "n": len(s)}


def time_ms(fn, warmup, reps, inner=1):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out, start = [], time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t) * 1e3 / inner)
        if len(out) >= 5 and time.perf_counter() - start > MAX_SECONDS:
            break
    return summarize(out)


def row(name, st, extra=""):
    print(f"{name:<40} median {st['median_ms']:>9.3f} ms  [p25 {st['p25_ms']:>9.3f} p75 {st['p75_ms']:>9.3f} "
          f"min {st['min_ms']:>9.3f} max {st['max_ms']:>9.3f} n={st['n']}] {extra}", flush=True)
    RESULTS[name] = st


class Maxout(nn.Module):
    def __init__(self, din, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = nn.Linear(din, units * pieces)

    def forward(self, x):
        return self.lin(x).view(x.shape[0], self.units, self.pieces).max(dim=-1).values


def mlp_gan():
    g = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(), nn.Linear(1200, 784),
                      nn.Sigmoid())
    d = nn.Sequential(nn.Dropout(0.2), Maxout(784, 240, 5), nn.Dropout(0.5), Maxout(240, 240, 5), nn.Dropout(0.5),
                      nn.Linear(240, 1))
    return g, d


class DcG(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 128 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(128)
        self.ct1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.ct2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z).view(z.shape[0], 128, 7, 7)))
        h = F.relu(self.bn1(self.ct1(h)))
        return torch.tanh(self.ct2(h))


class DcD(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(128)
        self.fc = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.bn(self.c2(h)), 0.2)
        return self.fc(h.flatten(1))


def gan_step(g, d, opt_g, opt_d, x_real, b, uniform):
    dev = x_real.device
    ones, zeros = torch.ones(b, 1, device=dev), torch.zeros(b, 1, device=dev)
    bce = F.binary_cross_entropy_with_logits

    def z():
        return torch.rand(b, 100, device=dev) * 2 - 1 if uniform else torch.randn(b, 100, device=dev)

    def step():
        fake = g(z()).detach()
        opt_d.zero_grad(set_to_none=True)
        (bce(d(x_real), ones) + bce(d(fake), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        bce(d(g(z())), ones).backward()
        opt_g.step()
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--gemm-sizes", default=None)
    ap.add_argument("--only", default="gemm,mlp,dcgan,conv")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("PyTorch has no CUDA device here", file=sys.stderr)
        sys.exit(3)
    # FP32 everywhere: TF32 tensor cores would not be a like-for-like comparison.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    torch.manual_seed(0)
    only = a.only.split(",")
    sizes = [int(s) for s in a.gemm_sizes.split(",")] if a.gemm_sizes else ([64, 128, 256] if a.tiny else
                                                                             [1024, 2048, 4096, 8192])
    print(f"torch {torch.__version__} | device={torch.cuda.get_device_name(0)} | tf32=off", flush=True)
    if "gemm" in only:
        for n in sizes:
            x, y = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
            c = torch.empty(n, n, device=dev)
            for _ in range(3):
                torch.mm(x, y, out=c)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(3):
                torch.mm(x, y, out=c)
            torch.cuda.synchronize()
            inner = max(1, min(10000, int(0.02 / ((time.perf_counter() - t) / 3)) + 1))
            st = time_ms(lambda: torch.mm(x, y, out=c), 3, max(a.reps, 10), inner)
            gf = 2 * n ** 3 / (st["median_ms"] * 1e-3) / 1e9
            row(f"gemm_gpu_sq{n}", st, f"=> {gf:7.1f} GFLOP/s")
    b = 4 if a.tiny else 100
    if "mlp" in only:
        g, d = mlp_gan()
        g, d = g.to(dev).train(), d.to(dev).train()
        og = torch.optim.SGD(g.parameters(), lr=0.1, momentum=0.5)
        od = torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.5)
        x = torch.rand(b, 784, device=dev)
        row(f"mlp_gan_iter_b{b}_gpu", time_ms(gan_step(g, d, og, od, x, b, True), a.warmup, a.reps))
    b = 4 if a.tiny else 64
    if "dcgan" in only:
        g, d = DcG().to(dev).train(), DcD().to(dev).train()
        og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        x = torch.rand(b, 1, 28, 28, device=dev) * 2 - 1
        row(f"dcgan_iter_b{b}_gpu", time_ms(gan_step(g, d, og, od, x, b, False), a.warmup, a.reps))
    if "conv" in only:
        x = torch.randn(b, 64, 14, 14, device=dev, requires_grad=True)
        w = (torch.randn(128, 64, 4, 4, device=dev) * 0.05).requires_grad_()
        go = torch.ones(b, 128, 7, 7, device=dev)
        flops = 2 * b * 128 * 7 * 7 * 64 * 16
        sfx = "gpu" if b == 64 else f"b{b}_gpu"

        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, stride=2, padding=1)

        def fwdbwd():
            x.grad, w.grad = None, None
            F.conv2d(x, w, stride=2, padding=1).backward(go)
        st = time_ms(fwd, a.warmup, a.reps)
        row(f"conv_fwd_{sfx}", st, f"=> {flops / (st['median_ms'] * 1e-3) / 1e9:.1f} GFLOP/s")
        st = time_ms(fwdbwd, a.warmup, a.reps)
        row(f"conv_fwdbwd_{sfx}", st, f"=> {3 * flops / (st['median_ms'] * 1e-3) / 1e9:.1f} GFLOP/s")
    print("JSON " + json.dumps({"framework": f"torch-{torch.__version__}", "device": torch.cuda.get_device_name(0),
                                **RESULTS}))


if __name__ == "__main__":
    main()
