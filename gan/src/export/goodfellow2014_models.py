"""models.py: minmax's 2014 GAN (Goodfellow et al. 2014, the MNIST nets of the authors' code) as
plain torch.nn modules, written by `minmax export pytorch`. Same layers, same parameter names and
order, same noise and the same update rules as minmax, so a checkpoint moves both ways:

    import models
    G, D, G_avg, opt_g, opt_d, meta = models.load(".")  # weights.safetensors, optimizer.safetensors, config.json
    cfg = json.loads(meta["config"])                      # minmax's settings (sizes, optimizer, schedules)
    x = (G_avg or G)(models.sample_z(16, cfg["z_dim"]))   # [16, 784] pixels in (0, 1)
    models.save("trained.safetensors", G, D, opt_g, opt_d, meta, G_avg)  # what `minmax import pytorch` reads

G_avg is the moving average of G's weights that minmax samples and scores when the run has
--ema > 0 (None otherwise); after each G step: `update_average_(G_avg, G, cfg["g_ema"])`.

Shapes: B = batch, Z = noise dim (100), P = pixels (784 = 28·28). Weights are [out, in] as in
nn.Linear, which is also minmax's layout: nothing is transposed on the way.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file


class Generator(nn.Module):
    """z [B, Z] → image [B, P]: two ReLU layers of `hidden` units, then a sigmoid layer."""

    def __init__(self, z_dim=100, hidden=1200, pixels=784):
        super().__init__()
        self.l1 = nn.Linear(z_dim, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, pixels)

    def forward(self, z):
        h = torch.relu(self.l1(z))
        h = torch.relu(self.l2(h))
        return torch.sigmoid(self.l3(h))


class Maxout(nn.Linear):
    """A linear layer to units·pieces features, then the max over each group of `pieces`
    consecutive features (pylearn2's grouping, as minmax's `maxout`): [B, in] → [B, units]."""

    def __init__(self, inp, units, pieces):
        super().__init__(inp, units * pieces)
        self.pieces = pieces

    def forward(self, x):
        y = super().forward(x)
        return y.view(*y.shape[:-1], -1, self.pieces).amax(-1)


class Discriminator(nn.Module):
    """image [B, P] → logit [B, 1]. Dropout on each layer's input in training mode (keep 0.8 on
    the image, 0.5 on hidden units; inverted, as minmax's). The sigmoid is left to the loss."""

    def __init__(self, pixels=784, units=240, pieces=5, keep_input=0.8, keep_hidden=0.5):
        super().__init__()
        self.h0 = Maxout(pixels, units, pieces)
        self.h1 = Maxout(units, units, pieces)
        self.y = nn.Linear(units, 1)
        self.keep_input, self.keep_hidden = keep_input, keep_hidden

    def forward(self, x):
        x = F.dropout(x, 1 - self.keep_input, self.training)
        h = self.h0(x)
        h = self.h1(F.dropout(h, 1 - self.keep_hidden, self.training))
        return self.y(F.dropout(h, 1 - self.keep_hidden, self.training))


def update_average_(G_avg, G, ema):
    """avg ← ema·avg + (1 − ema)·G, parameter by parameter (minmax's `average_g`)."""
    with torch.no_grad():
        for a, p in zip(G_avg.parameters(), G.parameters()):
            a.lerp_(p, 1 - ema)


def sample_z(n, z_dim, generator=None):
    """z ~ U(−√3, √3)^Z: uniform noise with unit variance, as in the authors' code."""
    r = math.sqrt(3.0)
    return (torch.rand(n, z_dim, generator=generator) * 2 - 1) * r


def init_(G, D, cfg, pixel_means):
    """minmax's initialisation: weights U(−irange, irange), biases 0, and G's output bias set to
    logit(mean pixel), so an untrained G draws the average digit."""
    for net, r in ((G, cfg["g_irange"]), (D, cfg["d_irange"])):
        for name, p in net.named_parameters():
            with torch.no_grad():
                p.uniform_(-r, r) if name.endswith("weight") else p.zero_()
    m = torch.as_tensor(pixel_means, dtype=torch.float64).clamp(1e-7, 1 - 1e-7)
    with torch.no_grad():
        G.l3.bias.copy_(torch.log(m / (1 - m)).float())


def build(cfg, pixels=784):
    G = Generator(cfg["z_dim"], cfg["g_hidden"], pixels)
    D = Discriminator(pixels, cfg["d_units"], cfg["d_pieces"], cfg["d_keep_input"], cfg["d_keep_hidden"])
    return G, D


def optimizers(cfg, G, D):
    """The optimizer minmax trains with. Adam: PyTorch's Adam is minmax's (bias correction per
    parameter, eps 1e-8 added to √v̂). SGD: PyTorch's momentum buffer b ← μ·b + g, p ← p − lr·b
    is minmax's; the learning rate and momentum follow `lr_at` and `momentum_at` below."""
    opt = cfg["optimizer"]
    if opt == "sgd":
        make = lambda net: torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg["momentum_start"])
    else:
        a = opt["adam"]
        make = lambda net: torch.optim.Adam(net.parameters(), lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=1e-8)
    return make(G), make(D)


def lr_at(cfg, step):
    """SGD's rate after `step` steps: lr / decay^step, floored at min_lr (the authors' schedule)."""
    return max(cfg["lr"] / cfg["lr_decay"] ** step, cfg["min_lr"])


def momentum_at(cfg, epoch):
    """SGD's momentum in `epoch`: linear from momentum_start at epoch 1 to momentum_end at
    momentum_saturate_epoch, then constant."""
    s, e, sat = cfg["momentum_start"], cfg["momentum_end"], cfg["momentum_saturate_epoch"]
    if sat <= 1:
        return e
    f = min(max((epoch - 1) / (sat - 1), 0.0), 1.0)
    return s + f * (e - s)


# ---- Optimizer state: minmax's names (`opt_g.m.3`, `opt_g.velocity.3`, index = parameter order) ----

def load_optimizer_state(opt, tensors, prefix):
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        if isinstance(opt, torch.optim.Adam) and f"{prefix}.m.{i}" in tensors:
            opt.state[p] = {
                "step": torch.tensor(float(tensors[f"{prefix}.step.{i}"].item())),
                "exp_avg": tensors[f"{prefix}.m.{i}"].clone().float(),
                "exp_avg_sq": tensors[f"{prefix}.v.{i}"].clone().float(),
            }
        elif isinstance(opt, torch.optim.SGD) and f"{prefix}.velocity.{i}" in tensors:
            opt.state[p] = {"momentum_buffer": tensors[f"{prefix}.velocity.{i}"].clone().float()}


def optimizer_state(opt, prefix):
    out = {}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        st = opt.state.get(p, {})
        if "exp_avg" in st:
            out[f"{prefix}.m.{i}"] = st["exp_avg"].detach().contiguous()
            out[f"{prefix}.v.{i}"] = st["exp_avg_sq"].detach().contiguous()
            out[f"{prefix}.step.{i}"] = torch.tensor([int(float(st["step"]))], dtype=torch.int64)
        elif st.get("momentum_buffer") is not None:
            out[f"{prefix}.velocity.{i}"] = st["momentum_buffer"].detach().contiguous()
    return out


# ---- Files ----

def load(folder, device="cpu"):
    """G, D, the averaged G (or None), their optimizers (state restored) and config.json's
    metadata from an export folder."""
    meta = json.load(open(os.path.join(folder, "config.json")))
    cfg = json.loads(meta["config"])
    w = load_file(os.path.join(folder, "weights.safetensors"))
    pixels = w["generator.l3.weight"].shape[0]
    G, D = build(cfg, pixels)
    G.load_state_dict({k[len("generator."):]: v for k, v in w.items() if k.startswith("generator.")})
    D.load_state_dict({k[len("discriminator."):]: v for k, v in w.items() if k.startswith("discriminator.")})
    G_avg = None
    if any(k.startswith("generator_avg.") for k in w):
        G_avg = build(cfg, pixels)[0].requires_grad_(False)
        G_avg.load_state_dict({k[len("generator_avg."):]: v for k, v in w.items() if k.startswith("generator_avg.")})
        G_avg.to(device)
    G.to(device), D.to(device)
    opt_g, opt_d = optimizers(cfg, G, D)
    path = os.path.join(folder, "optimizer.safetensors")
    if os.path.exists(path):
        st = load_file(path, device=device)
        load_optimizer_state(opt_g, st, "opt_g")
        load_optimizer_state(opt_d, st, "opt_d")
    return G, D, G_avg, opt_g, opt_d, meta


def save(path, G, D, opt_g, opt_d, meta, G_avg=None):
    """One safetensors file `minmax import pytorch --weights path` reads: both nets in their
    state_dict names under generator./discriminator., both optimizers' state under opt_g./opt_d.,
    and minmax's metadata (`meta`: config.json's entries, with epoch and step brought up to date)."""
    t = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in G.state_dict().items()}
    t.update({f"discriminator.{k}": v.detach().cpu().contiguous() for k, v in D.state_dict().items()})
    if G_avg is not None:
        t.update({f"generator_avg.{k}": v.detach().cpu().contiguous() for k, v in G_avg.state_dict().items()})
    for opt, prefix in ((opt_g, "opt_g"), (opt_d, "opt_d")):
        t.update({k: v.cpu() for k, v in optimizer_state(opt, prefix).items()})
    save_file(t, path + ".tmp", metadata={k: str(v) for k, v in meta.items()})
    os.replace(path + ".tmp", path)
