#!/usr/bin/env bash
# reproduce.sh: the main job. Installs what is needed (system packages, full MNIST and the 10k
# subset), builds minmax in release mode and re-runs the MNIST experiment of Goodfellow et al.
# (2014) on the paper's data and protocol: training on the first 50,000 training digits, σ chosen
# on 1,000 validation digits, the Parzen-window log-likelihood of the official 10,000 test digits,
# the classifier's scores, the memorisation check, pictures and report in runs/goodfellow2014/.
#
#   scripts/reproduce.sh               the default run on full MNIST
#   scripts/reproduce.sh --quick       one and a half to four minutes, on the 10k subset
#   scripts/reproduce.sh --preset paper --epochs 100    the authors' settings exactly
#   scripts/reproduce.sh --help        every option (seed, epochs, data folder, output folder, …)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/get-data.sh full
scripts/get-data.sh mnist
cargo build --release -q -p minmax-gan
exec target/release/minmax reproduce goodfellow2014 "$@"
