"""check_parity.py: recompute, in PyTorch, what minmax stored in parity.safetensors when it wrote
this export, and compare: G(z) and D's logits on fixed inputs (f32), in eval mode (batch norm from
the running statistics) and in training mode (batch statistics), with the labels for a
conditional model. "Relative" is the largest |torch − minmax| divided by the largest |minmax| of
that tensor; exits with status 1 when any is above --tol (1e-5).

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

G, D, meta = models.load(args.folder)
p = load_file(os.path.join(args.folder, "parity.safetensors"))
labels = p["labels"] if "labels" in p else None
got = {}
with torch.no_grad():
    for mode in ("eval", "train"):  # eval first: training-mode forwards move the running statistics
        G.train(mode == "train"), D.train(mode == "train")
        got[f"{mode}.g_z"] = G(p["z"], labels)
        got[f"{mode}.d_logits"] = D(p["x"], labels)
result, ok = {}, True
for name, y in got.items():
    want = p[name]
    abs_diff = (y - want).abs().max().item()
    rel_diff = abs_diff / max(want.abs().max().item(), 1e-30)
    result[name] = {"max_abs": abs_diff, "max_rel": rel_diff, "shape": list(want.shape)}
    ok &= rel_diff <= args.tol
    print(f"{name:15s} {str(list(want.shape)):16s} max |torch − minmax| = {abs_diff:.3e}  (relative {rel_diff:.3e})")
print("parity: ok" if ok else f"parity: FAILED (above {args.tol:g} relative)")
if args.json:
    print("JSON " + json.dumps(result))
sys.exit(0 if ok else 1)
