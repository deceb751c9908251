#!/usr/bin/env bash
# bench-gpu.sh: check and time the GPU backend on this machine's GPU, next to PyTorch (CUDA) when
# it is installed, and print a table of ratios.
#
#   scripts/bench-gpu.sh                  build, run the GPU parity tests, time at full size
#   scripts/bench-gpu.sh --tiny           small shapes: for lavapipe (a GPU emulated on the CPU)
#   scripts/bench-gpu.sh --bin DIR        use prebuilt binaries DIR/minmax and DIR/gpu-tests
#                                         (for a machine without a Rust toolchain)
#   scripts/bench-gpu.sh --no-check       skip the parity tests
#
# Steps: (1) list the adapters, (2) the GPU-vs-CPU parity tests (tests/gpu.rs), (3)
# `minmax bench --device gpu`, (4) scripts/bench_torch_gpu.py if `python3 -c 'import torch'`
# finds CUDA, (5) scripts/bench_table.py. Outputs land in $OUT (default runs/bench-gpu/).
# Pick an adapter with MINMAX_ADAPTER=<part of its name>.
set -euo pipefail
cd "$(dirname "$0")/.."

tiny=() bin="" check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=(--tiny) ;;
    --bin) bin="$2"; shift ;;
    --no-check) check=0 ;;
    *) echo "error: unknown argument '$1' (expected --tiny, --bin DIR, --no-check)" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-runs/bench-gpu}"
mkdir -p "$OUT"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export MINMAX_REQUIRE_GPU=1

if [ -z "$bin" ]; then
  cargo build --release -q -p minmax-gan
  minmax=target/release/minmax
  if [ $check = 1 ]; then
    cargo test --release -q -p minmax-tests --test gpu -- --test-threads 1 2>&1 | tee "$OUT/check.txt"
  fi
else
  minmax="$bin/minmax"
  [ $check = 1 ] && "$bin/gpu-tests" --test-threads 1 2>&1 | tee "$OUT/check.txt"
fi

"$minmax" devices | tee "$OUT/devices.txt"
reps=30
[ ${#tiny[@]} -gt 0 ] && reps=5
"$minmax" bench --device gpu "${tiny[@]}" --reps $reps --warmup 3 | tee "$OUT/minmax.txt"

peer=()
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  python3 scripts/bench_torch_gpu.py "${tiny[@]}" --reps $reps --warmup 3 | tee "$OUT/torch.txt"
  peer=("$OUT/torch.txt")
else
  echo "PyTorch with CUDA is not installed here: minmax's numbers only"
fi
echo
python3 scripts/bench_table.py "$OUT/minmax.txt" "${peer[@]}" | tee "$OUT/table.txt"
