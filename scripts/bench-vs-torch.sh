#!/usr/bin/env bash
# bench-vs-torch.sh: minmax against PyTorch on this CPU. Runs `minmax bench` and its PyTorch peer
# (scripts/bench_torch_cpu.py, the same workloads and protocol) alternately for several rounds,
# then prints, per workload, the median over rounds of each side's median, the spread over rounds,
# and the ratio of medians (minmax / PyTorch; below 1 means minmax is faster). The machine is
# assumed shared and noisy: alternating and ratios of medians are what compare.
#
#   scripts/bench-vs-torch.sh                           3 rounds, 2 threads, mlp,dcgan,conv,toy
#   scripts/bench-vs-torch.sh --rounds 5 --threads 4 --only mlp,toy
#   scripts/bench-vs-torch.sh --install-torch           first create the PyTorch virtual environment
#
# PyTorch: $TORCH_PYTHON if set, else the virtual environment ${MINMAX_DATA:-~/.cache/minmax}/torch-venv
# (--install-torch makes it with scripts/install-torch.sh; PyPI's wheel is a CUDA build of about
# 5 GB that also runs on the CPU). Outputs land in $OUT (default runs/bench-vs-torch/).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 threads=2 only=mlp,dcgan,conv,toy install=0 reps=20
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --install-torch) install=1; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$rounds" in '' | *[!0-9]* | 0) echo "error: --rounds '$rounds': expected a positive integer" >&2; exit 2 ;; esac

VENV="${MINMAX_DATA:-$HOME/.cache/minmax}/torch-venv"
PY="${TORCH_PYTHON:-$VENV/bin/python}"
if [ "$install" = 1 ] && [ -z "${TORCH_PYTHON:-}" ] && [ ! -x "$VENV/bin/python" ]; then
  scripts/install-torch.sh
fi
"$PY" -c 'import torch' 2>/dev/null || {
  echo "error: no PyTorch at $PY; run with --install-torch or set TORCH_PYTHON" >&2
  exit 1
}

cargo build --release -q -p minmax-gan
OUT="${OUT:-runs/bench-vs-torch}"
mkdir -p "$OUT"
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: minmax"
  target/release/minmax --threads "$threads" bench --only "$only" --reps "$reps" --warmup 5 >"$OUT/minmax-$r.txt"
  echo "round $r/$rounds: PyTorch"
  "$PY" scripts/bench_torch_cpu.py --threads "$threads" --only "$only" --reps "$reps" --warmup 5 >"$OUT/torch-$r.txt"
done
"$PY" - "$OUT" "$rounds" <<'PYEOF' | tee "$OUT/table.md"
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def last_json(path):
    lines = [l for l in open(path) if l.startswith("JSON ")]
    if not lines:
        sys.exit(f"{path}: no 'JSON {{...}}' line (did the benchmark fail?)")
    return json.loads(lines[-1][5:])
ours = [last_json(f"{out}/minmax-{r}.txt") for r in range(1, rounds + 1)]
peer = [last_json(f"{out}/torch-{r}.txt") for r in range(1, rounds + 1)]
print(f"minmax {ours[0].get('framework')} vs {peer[0].get('framework', 'PyTorch')}, {ours[0].get('threads')} threads, {rounds} alternating rounds")
print()
print("| workload | minmax ms (median, min–max over rounds) | PyTorch ms | ratio of medians |")
print("|---|---|---|---|")
for name, st in ours[0].items():
    if not isinstance(st, dict) or "median_ms" not in st or name.startswith("sgemm"):
        continue
    a = [o[name]["median_ms"] for o in ours if name in o]
    b = [p[name]["median_ms"] for p in peer if name in p]
    if not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"| {name} | {ma:.2f} ({min(a):.2f}–{max(a):.2f}) | {mb:.2f} ({min(b):.2f}–{max(b):.2f}) | {ma / mb:.2f}× |")
PYEOF
