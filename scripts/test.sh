#!/usr/bin/env bash
# test.sh: the project's test command. Installs what the tests need (system packages, the data
# sets), then runs every test of the workspace: unit tests, the registry-driven gradient checks,
# training and end-to-end runs.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -- gradcheck    extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/get-data.sh
# PyTorch for the export/import round trip (tests/pytorch_export.rs).
scripts/install-torch.sh
export MINMAX_TORCH_PYTHON="${MINMAX_TORCH_PYTHON:-${MINMAX_DATA:-$HOME/.cache/minmax}/torch-venv/bin/python}"
export MINMAX_REQUIRE_TORCH=1
# Tests that need data or a GPU adapter fail instead of skipping when it is missing. Without a GPU,
# the GPU tests run on lavapipe (installed by install-deps.sh); each prints the adapter it used.
export MINMAX_REQUIRE_DATA=1
export MINMAX_REQUIRE_GPU=1
[ "$(uname -m)" = x86_64 ] && export MINMAX_REQUIRE_QEMU=1
# lavapipe's window-system layer complains when this is unset; compute needs no window system.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --workspace "$@"
# The notebooks, executed headless with the evcxr kernel (first run on a machine: ~10 minutes to build it).
scripts/run-notebooks.sh
