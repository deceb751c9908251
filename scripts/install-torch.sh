#!/usr/bin/env bash
# install-torch.sh: PyTorch (with numpy and safetensors) in a virtual environment, for the tests of
# `minmax export pytorch` / `minmax import pytorch` and for scripts/bench-vs-torch.sh. Skipped
# when the environment already imports all three.
#
#   scripts/install-torch.sh        into ${MINMAX_DATA:-~/.cache/minmax}/torch-venv
#
# PyPI has no CPU-only x86_64 wheel of torch: its wheel is a CUDA build (the venv is about 5.4 GB,
# 2 minutes to install) that runs on the CPU; libtorch_cpu links the CUDA runtime libraries, so
# they are installed with it (a plain `pip install torch`, dependencies included).
set -euo pipefail
VENV="${MINMAX_DATA:-$HOME/.cache/minmax}/torch-venv"
TORCH_VERSION=2.15.0
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import torch, numpy, safetensors' 2>/dev/null; then
  echo "PyTorch: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') in $VENV"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "torch==$TORCH_VERSION" numpy safetensors
"$VENV/bin/python" -c 'import torch, numpy, safetensors; print("PyTorch:", torch.__version__)'
echo "PyTorch: installed in $VENV"
