#!/usr/bin/env python3
"""The PyTorch peer of `minmax bench` on the CPU (eager mode): the same workloads and protocol, run
by scripts/bench-vs-torch.sh alternately with minmax.

(a) SGEMM GFLOP/s: square 256/512/1024 + the Goodfellow-GAN layer shapes (batch 100)
(b) one training iteration (D step + G step, batch 100) of the Goodfellow 2014 MNIST MLP GAN
(c) one training iteration (D step + G step, batch 64) of a small 28x28 DCGAN
(d) conv2d forward and forward+backward, x=(64,64,14,14), w=(128,64,4,4), stride 2, pad 1
(e) one training iteration (D step + G step, batch 256) of the 2-D toy GAN of the mode-collapse lab:
    G 2 -> 128 -> 128 -> 2 (ReLU), D 2 -> 128 -> 128 -> 1 (LeakyReLU 0.2), z ~ N(0, I_2), Adam
    lr 1e-3 betas (0.5, 0.9). Tiny matrices: this row measures per-op overhead, not FLOPs.

Every number is the median of --reps timed samples after --warmup untimed calls; p25/p75/min/max
are printed too. The last line is `JSON {...}` with everything machine-readable.

The iteration protocol (the same in gan/src/bench.rs):
  D step: z~U[-1,1] (MLP) / N(0,1) (DCGAN); fake = G(z).detach();
          loss_D = BCEwithLogits(D(x_real), 1) + BCEwithLogits(D(fake), 0)   (two separate D passes)
          backward, optimizer_D.step()
  G step: fresh z; loss_G = BCEwithLogits(D(G(z)), 1)  (non-saturating), backward, optimizer_G.step()
Data: x_real is a fixed random tensor shaped like MNIST (U[0,1] for the MLP GAN, U[-1,1] for DCGAN).

Usage: python bench_torch.py [--threads 2] [--reps 30] [--warmup 10] [--only gemm,mlp,dcgan,conv,toy]
"""
import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- utils
def summarize(samples):
    s = sorted(samples)
    q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0]] * 3
    return {"median_ms": statistics.median(s), "p25_ms": q[0], "p75_ms": q[2],
            "min_ms": s[0], "max_ms": s[-1], "n": len(s)}


MIN_SAMPLES = 5
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "30"))


def time_ms(fn, warmup, reps, inner=1):
    """warmup untimed calls (2 are enough if they are slow), then up to reps samples of `inner`
    calls; sampling stops early once MIN_SAMPLES exist and BENCH_MAX_SECONDS (default 30) passed."""
    w0 = time.perf_counter()
    for i in range(warmup):
        fn()
        if i >= 1 and time.perf_counter() - w0 > 5.0:
            break
    out = []
    start = time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t) * 1e3 / inner)
        if len(out) >= MIN_SAMPLES and time.perf_counter() - start > MAX_SECONDS:
            break
    return out


def count_flops(fn):
    """FLOPs of matmul/conv ops (fwd+bwd) in one call, via torch's FlopCounterMode."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as fc:
            fn()
        return fc.get_total_flops()
    except Exception as e:  # pragma: no cover
        print("flop counting failed:", e)
        return None


RESULTS = {}


def row(name, st, extra=""):
    print(f"{name:<40} median {st['median_ms']:>9.3f} ms  [p25 {st['p25_ms']:>9.3f} p75 {st['p75_ms']:>9.3f} "
          f"min {st['min_ms']:>9.3f} max {st['max_ms']:>9.3f} n={st['n']}] {extra}", flush=True)
    RESULTS[name] = st


# ----------------------------------------------------------------------------- (a) SGEMM
GEMM_SHAPES = [  # name, M, K, N   (C[MxN] = A[MxK] @ B[KxN])
    ("sq256", 256, 256, 256),
    ("sq512", 512, 512, 512),
    ("sq1024", 1024, 1024, 1024),
    ("G1fwd_100x100x1200", 100, 100, 1200),    # G layer1 fwd: z(100x100) @ W(100x1200)
    ("G2fwd_100x1200x1200", 100, 1200, 1200),  # G layer2 fwd
    ("G3fwd_100x1200x784", 100, 1200, 784),    # G layer3 fwd
    ("D1fwd_100x784x1200", 100, 784, 1200),    # D maxout-1 fwd (784 -> 240x5)
    ("G2wgrad_1200x100x1200", 1200, 100, 1200),  # G layer2 weight grad: X^T(1200x100) @ dY(100x1200)
    ("G3wgrad_1200x100x784", 1200, 100, 784),    # G layer3 weight grad
]


def bench_gemm(threads, reps):
    torch.set_num_threads(threads)
    for name, m, k, n in GEMM_SHAPES:
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        c = torch.empty(m, n)
        for _ in range(3):
            torch.mm(a, b, out=c)
        t = time.perf_counter()
        for _ in range(3):
            torch.mm(a, b, out=c)
        one = (time.perf_counter() - t) / 3
        inner = max(1, min(10000, int(0.02 / one) + 1))
        st = summarize(time_ms(lambda: torch.mm(a, b, out=c), 3, max(reps, 10), inner))
        gf = 2 * m * k * n / (st["median_ms"] * 1e-3) / 1e9
        st["gflops_median"] = gf
        st["gflops_best"] = 2 * m * k * n / (st["min_ms"] * 1e-3) / 1e9
        row(f"gemm_t{threads}_{name}", st, f"=> {gf:7.1f} GFLOP/s (best {st['gflops_best']:.1f})")


# ----------------------------------------------------------------------------- (b) MLP GAN
class Maxout(nn.Module):
    def __init__(self, din, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = nn.Linear(din, units * pieces)

    def forward(self, x):
        return self.lin(x).view(x.shape[0], self.units, self.pieces).max(dim=-1).values


def mlp_gan():
    G = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                      nn.Linear(1200, 784), nn.Sigmoid())
    D = nn.Sequential(nn.Dropout(0.2), Maxout(784, 240, 5), nn.Dropout(0.5), Maxout(240, 240, 5),
                      nn.Dropout(0.5), nn.Linear(240, 1))  # logit; sigmoid fused into the loss
    return G, D


def make_step(G, D, opt_g, opt_d, x_real, zdim, B, zdist):
    ones = torch.ones(B, 1)
    zeros = torch.zeros(B, 1)
    bce = F.binary_cross_entropy_with_logits

    def sample_z():
        return torch.rand(B, zdim) * 2 - 1 if zdist == "uniform" else torch.randn(B, zdim)

    def step():
        # D step
        fake = G(sample_z()).detach()
        opt_d.zero_grad(set_to_none=True)
        loss_d = bce(D(x_real), ones) + bce(D(fake), zeros)
        loss_d.backward()
        opt_d.step()
        # G step (non-saturating)
        opt_g.zero_grad(set_to_none=True)
        loss_g = bce(D(G(sample_z())), ones)
        loss_g.backward()
        opt_g.step()
    return step


def bench_mlp(threads, warmup, reps):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D = mlp_gan()
    G.train(); D.train()
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1, momentum=0.5)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1, momentum=0.5)
    B = 100
    x_real = torch.rand(B, 784)
    step = make_step(G, D, opt_g, opt_d, x_real, 100, B, "uniform")
    flops = count_flops(step)
    st = summarize(time_ms(step, warmup, reps))
    st["flops_per_iter"] = flops
    extra = ""
    if flops:
        st["eff_gflops"] = flops / (st["median_ms"] * 1e-3) / 1e9
        extra = f"=> {flops/1e9:.2f} GFLOP/iter, {st['eff_gflops']:.1f} GFLOP/s effective"
    row(f"mlp_gan_iter_b100_t{threads}", st, extra)


# ----------------------------------------------------------------------------- (c) DCGAN
class DcG(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 128 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(128)
        self.ct1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.ct2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = self.fc(z).view(z.shape[0], 128, 7, 7)
        h = F.relu(self.bn0(h))
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


def bench_dcgan(threads, warmup, reps, mkldnn=True):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with torch.backends.mkldnn.flags(enabled=mkldnn):
        G, D = DcG(), DcD()
        G.train(); D.train()
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        B = 64
        x_real = torch.rand(B, 1, 28, 28) * 2 - 1
        step = make_step(G, D, opt_g, opt_d, x_real, 100, B, "normal")
        flops = count_flops(step)
        st = summarize(time_ms(step, warmup, reps))
    st["flops_per_iter"] = flops
    extra = ""
    if flops:
        st["eff_gflops"] = flops / (st["median_ms"] * 1e-3) / 1e9
        extra = f"=> {flops/1e9:.2f} GFLOP/iter, {st['eff_gflops']:.1f} GFLOP/s effective"
    row(f"dcgan_iter_b64_t{threads}" + ("" if mkldnn else "_nomkldnn"), st, extra)


# ----------------------------------------------------------------------------- (d) conv2d
def bench_conv(threads, warmup, reps, mkldnn=True):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(64, 64, 14, 14, requires_grad=True)
    w = (torch.randn(128, 64, 4, 4) * 0.05).requires_grad_()
    flops = 2 * 64 * 128 * 7 * 7 * 64 * 16  # forward MACs*2; backward = 2x forward
    go = torch.ones(64, 128, 7, 7)
    suffix = "" if mkldnn else "_nomkldnn"
    with torch.backends.mkldnn.flags(enabled=mkldnn):
        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, stride=2, padding=1)

        def fwdbwd():
            x.grad = None
            w.grad = None
            y = F.conv2d(x, w, stride=2, padding=1)
            y.backward(go)
        st = summarize(time_ms(fwd, warmup, reps))
        st["gflops"] = flops / (st["median_ms"] * 1e-3) / 1e9
        row(f"conv_fwd_t{threads}{suffix}", st, f"=> {st['gflops']:.1f} GFLOP/s")
        st = summarize(time_ms(fwdbwd, warmup, reps))
        st["gflops"] = 3 * flops / (st["median_ms"] * 1e-3) / 1e9
        row(f"conv_fwdbwd_t{threads}{suffix}", st, f"=> {st['gflops']:.1f} GFLOP/s")


# ----------------------------------------------------------------------------- (e) toy 2-D GAN
def bench_toy(threads, warmup, reps):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
    D = nn.Sequential(nn.Linear(2, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2),
                      nn.Linear(128, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    B = 256
    x_real = torch.randn(B, 2)
    step = make_step(G, D, opt_g, opt_d, x_real, 2, B, "normal")
    st = summarize(time_ms(step, warmup, reps, inner=10))
    row(f"toy_gan_iter_b256_t{threads}", st, "(per-op overhead regime)")


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--only", default="gemm,mlp,dcgan,conv,toy")
    ap.add_argument("--gemm-threads", default="2,1", help="thread counts for the SGEMM table")
    ap.add_argument("--no-mkldnn-variants", action="store_true",
                    help="skip the extra DCGAN/conv rows run with oneDNN disabled")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__} | python {platform.python_version()} | "
          f"threads={torch.get_num_threads()} interop={torch.get_num_interop_threads()} | "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()} | mkldnn={torch.backends.mkldnn.is_available()} "
          f"mkl={torch.backends.mkl.is_available()} | reps={a.reps} warmup={a.warmup}", flush=True)
    only = a.only.split(",")
    if "gemm" in only:
        for t in [int(x) for x in a.gemm_threads.split(",")]:
            bench_gemm(t, a.reps)
    if "mlp" in only:
        bench_mlp(a.threads, a.warmup, a.reps)
    if "dcgan" in only:
        bench_dcgan(a.threads, a.warmup, a.reps)
        if not a.no_mkldnn_variants:
            bench_dcgan(a.threads, a.warmup, a.reps, mkldnn=False)
    if "conv" in only:
        bench_conv(a.threads, a.warmup, a.reps)
        if not a.no_mkldnn_variants:
            bench_conv(a.threads, a.warmup, a.reps, mkldnn=False)
    if "toy" in only:
        bench_toy(a.threads, a.warmup, a.reps)
    meta = {"framework": f"torch-{torch.__version__}", "threads": a.threads,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "reps": a.reps, "warmup": a.warmup}
    print("JSON " + json.dumps({**meta, **RESULTS}))


if __name__ == "__main__":
    main()
