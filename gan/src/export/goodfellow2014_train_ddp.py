"""train_ddp.py: continue training an exported minmax 2014 GAN with PyTorch's
DistributedDataParallel, then save a file `minmax import pytorch` reads back.

    torchrun --standalone --local-addr 127.0.0.1 --nproc_per_node 2 train_ddp.py --steps 200   # CPU: gloo
    torchrun --nproc_per_node 8 train_ddp.py --epochs 10 --device cuda ...                     # GPUs: NCCL

On one machine, `--standalone --local-addr 127.0.0.1` keeps the rendezvous on the loopback
address, and this script binds gloo to the loopback interface (unless GLOO_SOCKET_IFNAME says
otherwise): without them torchrun and gloo look up the machine's host name, and where that name
does not resolve (many containers) the processes wait for each other forever.

The step is minmax's (models/goodfellow2014): the simultaneous update — one forward pass gives
both losses, loss_D = ½·(BCE(D(x), 1) + BCE(D(G(z)), 0)) and loss_G = BCE(D(G(z)), 1) (or
−BCE(D(G(z)), 0) with the saturating loss), each differentiated with respect to its own player's
parameters only, then both optimizer steps. The global batch is minmax's (`batch_size`, 100),
split evenly over the processes; DDP averages the gradients, so one step equals one minmax step
on the same examples (dropout masks aside: they are drawn per process). SGD's learning rate
decays per step and its momentum ramps per epoch exactly as in minmax (models.lr_at and
models.momentum_at); the averaged generator, if the run has one, is updated after every step.
Data: train_images.npy of the export (minmax's own training split, [N, 784] floats in [0, 1]),
spread over the processes by a DistributedSampler. Rank 0 prints and logs (--loss-log, one JSON
line per step) the losses averaged over all processes.
"""
import argparse
import json
import math
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--folder", default=here, help="the export folder (models.py, weights, config.json)")
ap.add_argument("--images", default=None, help="training images, .npy [N, 784] in [0, 1] (default: FOLDER/train_images.npy)")
ap.add_argument("--steps", type=int, default=0, help="global steps to train (0: use --epochs)")
ap.add_argument("--epochs", type=int, default=1)
ap.add_argument("--out", default=os.path.join(here, "trained.safetensors"))
ap.add_argument("--loss-log", default=None, help="rank 0 writes one JSON line per step here")
ap.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL, one GPU per process)")
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
sys.path.insert(0, args.folder)
import models  # noqa: E402

cuda = args.device == "cuda"
single_node = os.environ.get("LOCAL_WORLD_SIZE") == os.environ.get("WORLD_SIZE")
if not cuda and single_node and "GLOO_SOCKET_IFNAME" not in os.environ:
    loopback = [name for _, name in socket.if_nameindex() if name in ("lo", "lo0")]
    if loopback:
        os.environ["GLOO_SOCKET_IFNAME"] = loopback[0]
dist.init_process_group("nccl" if cuda else "gloo")
rank, world = dist.get_rank(), dist.get_world_size()
local = int(os.environ.get("LOCAL_RANK", 0))
device = torch.device(f"cuda:{local}" if cuda else "cpu")
if cuda:
    torch.cuda.set_device(device)
torch.manual_seed(args.seed * 1000 + rank)  # noise and dropout differ per process, as they must

G, D, G_avg, opt_g, opt_d, meta = models.load(args.folder, device=str(device))
cfg = json.loads(meta["config"])
if cfg.get("update", "simultaneous") != "simultaneous":
    sys.exit("train_ddp.py: this run uses alternating updates (--k); only the simultaneous update is written here")
batch = cfg["batch_size"]
if batch % world:
    sys.exit(f"train_ddp.py: the batch of {batch} does not split evenly over {world} processes")
G_ddp, D_ddp = DDP(G), DDP(D)

images = np.load(args.images or os.path.join(args.folder, "train_images.npy")).astype(np.float32)
data = TensorDataset(torch.from_numpy(images))
sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
loader = DataLoader(data, batch_size=batch // world, sampler=sampler, drop_last=True)
steps_per_epoch = len(loader)
total = args.steps or args.epochs * steps_per_epoch
step0, epoch0 = int(meta.get("step", 0)), int(meta.get("epoch", 0))
sgd = cfg["optimizer"] == "sgd"
log = open(args.loss_log, "w") if (args.loss_log and rank == 0) else None
if rank == 0:
    print(f"train_ddp: {world} processes ({'NCCL' if cuda else 'gloo'}), batch {batch} = {world} × {batch // world}, "
          f"{total} steps from minmax's step {step0} (epoch {epoch0}); {len(images)} training images")

done, t0 = 0, time.perf_counter()
while done < total:
    epoch = epoch0 + 1 + done // steps_per_epoch  # minmax counts epochs from 1
    sampler.set_epoch(epoch)
    if sgd:
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["momentum"] = models.momentum_at(cfg, epoch)
    for (x,) in loader:
        if done >= total:
            break
        x = x.to(device)
        b = x.shape[0]
        if sgd:
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = models.lr_at(cfg, step0 + done)
        z = models.sample_z(b, cfg["z_dim"]).to(device)
        fake = G_ddp(z)
        logits = D_ddp(torch.cat([x, fake]))  # one DDP forward of D per step: real and fake rows
        d_real, d_fake = logits[:b], logits[b:]
        ones, zeros = torch.ones_like(d_real), torch.zeros_like(d_real)
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros))
        if cfg["g_loss"] == "non-saturating":
            loss_g = F.binary_cross_entropy_with_logits(d_fake, ones)
        else:
            loss_g = -F.binary_cross_entropy_with_logits(d_fake, zeros)
        opt_d.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        # Each player's gradient with respect to its own parameters only (DDP all-reduces each).
        loss_d.backward(inputs=list(D.parameters()), retain_graph=True)
        loss_g.backward(inputs=list(G.parameters()))
        opt_d.step()
        opt_g.step()
        if G_avg is not None:
            models.update_average_(G_avg, G, cfg["g_ema"])
        done += 1
        losses = torch.stack([loss_d.detach(), loss_g.detach(), torch.sigmoid(d_real).mean().detach(),
                              torch.sigmoid(d_fake).mean().detach()])
        dist.all_reduce(losses)
        losses /= world
        if not torch.isfinite(losses).all():
            # As minmax does: stop, and keep the last good weights (the export's, or --out's
            # previous file) instead of saving non-finite ones. Every process sees the same sums.
            if rank == 0:
                print(f"train_ddp: non-finite loss at step {step0 + done} ({losses.tolist()}); stopped, nothing saved")
            dist.destroy_process_group()
            sys.exit(1)
        if rank == 0:
            row = {"step": step0 + done, "epoch": epoch, "d_loss": losses[0].item(), "g_loss": losses[1].item(),
                   "d_real": losses[2].item(), "d_fake": losses[3].item()}
            if log:
                log.write(json.dumps(row) + "\n")
            if done == 1 or done % 50 == 0 or done == total:
                print(f"step {row['step']}: loss_D {row['d_loss']:.4f} loss_G {row['g_loss']:.4f} "
                      f"D(x) {row['d_real']:.3f} D(G(z)) {row['d_fake']:.3f}")

seconds = time.perf_counter() - t0
if rank == 0:
    meta = dict(meta)
    meta["step"] = str(step0 + done)
    meta["epoch"] = str(epoch0 + done // steps_per_epoch)
    meta["pytorch_steps"] = str(done)
    meta["pytorch_processes"] = str(world)
    models.save(args.out, G, D, opt_g, opt_d, meta, G_avg)
    print(f"train_ddp: {done} steps in {seconds:.1f} s ({done / seconds:.2f} steps/s); wrote {args.out}")
    if log:
        log.close()
dist.destroy_process_group()
