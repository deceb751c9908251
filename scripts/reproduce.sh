#!/usr/bin/env bash
# reproduce.sh: the main job. Installs what is needed (system packages, the MNIST data), builds
# minmax in release mode and re-runs the MNIST experiment of Goodfellow et al. (2014):
# training, Parzen-window evaluation, pictures and report in runs/goodfellow2014/.
#
#   scripts/reproduce.sh               the default run (about 8 minutes on a 2-core laptop)
#   scripts/reproduce.sh --quick       about two minutes
#   scripts/reproduce.sh --help        every option (seed, epochs, data folder, output folder, …)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/get-data.sh mnist
cargo build --release -q -p minmax-gan
exec target/release/minmax reproduce goodfellow2014 "$@"
