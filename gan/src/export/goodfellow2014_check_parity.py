"""check_parity.py: recompute, in PyTorch, what minmax stored in parity.safetensors when it wrote
this export, and compare:
  - G(z) and D's logits on fixed inputs (f32, eval mode: no dropout);
  - one training step from the exported state (the simultaneous update of minmax's training loop:
    both losses from one forward pass, each player's gradient with respect to its own parameters,
    then both optimizer steps; dropout off, the same batch and noise): every weight after it.
"Relative" is the largest |torch − minmax| divided by the largest |minmax| of that tensor. Exits
with status 1 when any relative difference is above --tol (1e-5). For the step it also prints
the difference relative to the step itself (max |Δtorch − Δminmax| / max |Δminmax|), the
stricter measure.

    python check_parity.py [--folder DIR] [--json]
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file

ap = argparse.ArgumentParser()
ap.add_argument("--folder", default=os.path.dirname(os.path.abspath(__file__)))
ap.add_argument("--json", action="store_true", help="also print one JSON line with the differences")
ap.add_argument("--tol", type=float, default=1e-5)
args = ap.parse_args()
sys.path.insert(0, args.folder)
import models  # noqa: E402  (the export's own models.py)

G, D, G_avg, opt_g, opt_d, meta = models.load(args.folder)
cfg = json.loads(meta["config"])
G.eval(), D.eval()
p = load_file(os.path.join(args.folder, "parity.safetensors"))
with torch.no_grad():
    got = {"g_z": G(p["z"]), "d_logits": D(p["x"])}

# One training step, as minmax's simultaneous update (models.py's nets in eval mode: no dropout).
before = {f"generator.{k}": v.detach().clone() for k, v in G.named_parameters()}
before.update({f"discriminator.{k}": v.detach().clone() for k, v in D.named_parameters()})
if G_avg is not None:
    before["generator_avg.l3.weight"] = G_avg.l3.weight.detach().clone()
for opt in (opt_g, opt_d):
    for group in opt.param_groups:
        group["lr"] = p["step.lr"].item()
        if "momentum" in group:
            group["momentum"] = p["step.momentum"].item()
x, z = p["x"], p["step.z"]
ones, zeros = torch.ones(x.shape[0], 1), torch.zeros(x.shape[0], 1)
fake = G(z)
d_real, d_fake = D(x), D(fake)
bce = torch.nn.functional.binary_cross_entropy_with_logits
loss_d = 0.5 * (bce(d_real, ones) + bce(d_fake, zeros))
loss_g = bce(d_fake, ones) if cfg["g_loss"] == "non-saturating" else -bce(d_fake, zeros)
gd = torch.autograd.grad(loss_d, list(D.parameters()), retain_graph=True)
gg = torch.autograd.grad(loss_g, list(G.parameters()))
for params, grads in ((D.parameters(), gd), (G.parameters(), gg)):
    for q, g in zip(params, grads):
        q.grad = g
opt_d.step()
opt_g.step()
if G_avg is not None:
    models.update_average_(G_avg, G, cfg["g_ema"])
    got["step.generator_avg.l3.weight"] = G_avg.l3.weight.detach()
after = {f"generator.{k}": v.detach() for k, v in G.named_parameters()}
after.update({f"discriminator.{k}": v.detach() for k, v in D.named_parameters()})
for k, v in after.items():
    got[f"step.{k}"] = v

result, ok = {}, True
for name, y in got.items():
    want = p[name]
    abs_diff = (y - want).abs().max().item()
    rel_diff = abs_diff / max(want.abs().max().item(), 1e-30)
    row = {"max_abs": abs_diff, "max_rel": rel_diff, "shape": list(want.shape)}
    line = f"{name:32s} {str(list(want.shape)):12s} max |torch − minmax| = {abs_diff:.3e}  (relative {rel_diff:.3e})"
    if name.startswith("step."):
        w0 = before[name[len("step."):]]
        step = (want - w0).abs().max().item()
        row["max_rel_to_step"] = ((y - w0) - (want - w0)).abs().max().item() / max(step, 1e-30)
        line += f"  (of the step {row['max_rel_to_step']:.3e})"
    result[name] = row
    ok &= rel_diff <= args.tol
    print(line)
print("parity: ok" if ok else f"parity: FAILED (above {args.tol:g} relative)")
if args.json:
    print("JSON " + json.dumps(result))
sys.exit(0 if ok else 1)
