"""models.py: minmax's 28×28 image GANs (DCGAN, conditional DCGAN, Loss-Sensitive GAN, WGAN-GP:
all four share these two nets) as plain torch.nn modules, written by `minmax export pytorch`.
Same layers, parameter and buffer names and order as minmax, so the state_dicts load directly:

    import models
    G, D, meta = models.load(".")            # weights.safetensors, config.json
    G.eval()
    x = G(models.sample_z(16, meta["z_dim"]))  # [16, 1, 28, 28] in [−1, 1]

G: [z ⊕ onehot(y)] [B, Z+K] → Linear (no bias) [B, 6272] → view [B, 128, 7, 7] → BN → ReLU
   → ConvT 4×4 s2 p1 [B, 64, 14, 14] → BN → ReLU → ConvT 4×4 s2 p1 [B, 1, 28, 28] → tanh
D: [x ⊕ K label planes] [B, 1+K, 28, 28] → Conv 4×4 s2 p1 [B, 64, 14, 14] → LeakyReLU(0.2)
   → Conv 4×4 s2 p1 [B, 128, 7, 7] → BN (not in WGAN-GP's critic) → LeakyReLU(0.2)
   → flatten [B, 6272] → Linear → logit [B, 1]
Batch norm: minmax's convention is PyTorch's (momentum 0.1: running ← 0.9·running + 0.1·batch,
the unbiased batch variance in the running estimate, eps 1e-5). ConvTranspose2d weights are
[Cin, Cout, k, k] in both. z ~ N(0, I).
"""
import json
import os

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file


class Generator(nn.Module):
    def __init__(self, z_dim=100, classes=0):
        super().__init__()
        self.z_dim, self.classes = z_dim, classes
        self.fc = nn.Linear(z_dim + classes, 128 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(128)
        self.ct1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.ct2 = nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=True)

    def forward(self, z, labels=None):
        if self.classes:
            z = torch.cat([z, F.one_hot(labels, self.classes).to(z.dtype)], 1)
        h = self.fc(z).view(-1, 128, 7, 7)
        h = torch.relu(self.bn0(h))
        h = torch.relu(self.bn1(self.ct1(h)))
        return torch.tanh(self.ct2(h))


class Discriminator(nn.Module):
    def __init__(self, classes=0, batch_norm=True):
        super().__init__()
        self.classes = classes
        self.c1 = nn.Conv2d(1 + classes, 64, 4, 2, 1, bias=True)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(128) if batch_norm else None
        self.fc = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x, labels=None):
        if self.classes:
            b = x.shape[0]
            planes = F.one_hot(labels, self.classes).to(x.dtype).view(b, self.classes, 1, 1).expand(b, self.classes, 28, 28)
            x = torch.cat([x, planes], 1)
        h = F.leaky_relu(self.c1(x), 0.2)
        h = self.c2(h)
        if self.bn is not None:
            h = self.bn(h)
        return self.fc(F.leaky_relu(h, 0.2).flatten(1))


def sample_z(n, z_dim, generator=None):
    """z ~ N(0, I), as minmax's image GANs draw it."""
    return torch.randn(n, z_dim, generator=generator)


def dcgan_init_(net, generator=None):
    """minmax's initialisation: N(0, 0.02) weights, N(1, 0.02) batch-norm scales, zero biases."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif name.startswith("bn"):
                p.normal_(1.0, 0.02, generator=generator)
            else:
                p.normal_(0.0, 0.02, generator=generator)


def load(folder, device="cpu"):
    """G and D with the exported weights and running statistics, and config.json's metadata
    (model, z_dim, classes, d_batch_norm)."""
    meta = json.load(open(os.path.join(folder, "config.json")))
    w = load_file(os.path.join(folder, "weights.safetensors"))
    G = Generator(int(meta["z_dim"]), int(meta["classes"]))
    D = Discriminator(int(meta["classes"]), meta["d_batch_norm"] == "true")
    sub = lambda prefix: {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
    # minmax keeps no num_batches_tracked counter (momentum is fixed): PyTorch's is left at 0.
    G.load_state_dict(sub("generator."), strict=False)
    D.load_state_dict(sub("discriminator."), strict=False)
    missing = [k for k in list(G.state_dict()) if f"generator.{k}" not in w and not k.endswith("num_batches_tracked")]
    missing += [k for k in list(D.state_dict()) if f"discriminator.{k}" not in w and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"weights.safetensors lacks {missing}")
    return G.to(device), D.to(device), meta


def save(path, G, D, meta):
    """One safetensors file `minmax import pytorch --weights path` reads."""
    t = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in G.state_dict().items() if not k.endswith("num_batches_tracked")}
    t.update({f"discriminator.{k}": v.detach().cpu().contiguous() for k, v in D.state_dict().items() if not k.endswith("num_batches_tracked")})
    save_file(t, path + ".tmp", metadata={k: str(v) for k, v in meta.items()})
    os.replace(path + ".tmp", path)
