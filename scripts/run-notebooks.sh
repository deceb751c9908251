#!/usr/bin/env bash
# run-notebooks.sh: install what the notebooks need (install-notebooks.sh), then execute them
# headless with scripts/run-notebooks.py: first the self-tests (scripts/test_run_notebooks.py, and
# every notebook under scripts/notebook-fixtures/ must be reported failed), then every
# notebooks/*.ipynb.
#
#   scripts/run-notebooks.sh                      quick mode (MINMAX_QUICK=1), as CI runs them
#   scripts/run-notebooks.sh --full               full-length training cells
#   scripts/run-notebooks.sh notebooks/01-*.ipynb only these
#   scripts/run-notebooks.sh --write-back         also write the outputs into notebooks/*.ipynb,
#                                                 to commit them (never in CI)
#
# Arguments go to run-notebooks.py; --help lists them. Executed copies land in
# $MINMAX_DATA/notebooks-out/ (default ~/.cache/minmax/notebooks-out/).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-notebooks.sh
scripts/get-data.sh mnist # 05-goodfellow2014-mnist trains on it
scripts/get-data.sh full  # 08-imbalance draws its long tail from it
scripts/get-data.sh fashion # 09-image-to-image translates Fashion-MNIST
scripts/install-deps.sh   # 09-image-to-image renders printed digits from Debian's fonts
PY="${MINMAX_DATA:-$HOME/.cache/minmax}/notebook-venv/bin/python"
export PATH="$HOME/.cargo/bin:$PATH"
# Mesa's Vulkan drivers complain on stderr when this is unset (notebook 03 opens a GPU adapter).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

"$PY" scripts/test_run_notebooks.py # the runner's --write-back path, without a kernel
"$PY" scripts/run-notebooks.py --expect-fail scripts/notebook-fixtures
"$PY" scripts/run-notebooks.py "$@"
