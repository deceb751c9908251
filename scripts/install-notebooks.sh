#!/usr/bin/env bash
# install-notebooks.sh: what the Rust notebooks (notebooks/*.ipynb) need, each step skipped when
# already done:
#
#   evcxr_jupyter   the Rust Jupyter kernel, built with `cargo install --locked` at opt-level 1
#                   (about 10 minutes on 2 cores, once per machine; the default opt-level 3 takes
#                   about 25, and its kernel ran notebook 01 in 53 s against opt-level 1's 62–70 s),
#                   then registered as the Jupyter kernel `rust`. The notebooks' own code is
#                   compiled by the kernel at opt-level 3 whatever the kernel was built with
#                   (notebooks/evcxr.toml)
#   a Python venv   with nbclient and nbformat, to run notebooks headless
#                   (scripts/run-notebooks.py), in $MINMAX_DATA/notebook-venv
#                   (default ~/.cache/minmax/notebook-venv)
#
# Opening the notebooks in a browser needs JupyterLab too, which this script does not install:
#   <venv>/bin/pip install jupyterlab && <venv>/bin/jupyter lab notebooks/
set -euo pipefail
cd "$(dirname "$0")/.."

EVCXR_VERSION="0.22.0"
CACHE="${MINMAX_DATA:-$HOME/.cache/minmax}"
VENV="$CACHE/notebook-venv"
export PATH="$HOME/.cargo/bin:$PATH"

# ---- the kernel ----------------------------------------------------------------------------------
# evcxr_jupyter has no --version flag: ask cargo which version it installed.
if command -v evcxr_jupyter >/dev/null && cargo install --list 2>/dev/null | grep -q "^evcxr_jupyter v$EVCXR_VERSION:"; then
  echo "evcxr_jupyter: v$EVCXR_VERSION already installed"
else
  command -v cargo >/dev/null || { echo "error: cargo is needed to build evcxr_jupyter (install Rust with rustup)" >&2; exit 1; }
  echo "evcxr_jupyter: cargo install --locked evcxr_jupyter --version $EVCXR_VERSION at opt-level 1 (about 10 minutes on 2 cores)"
  t0=$SECONDS
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install --locked evcxr_jupyter --version "$EVCXR_VERSION"
  echo "evcxr_jupyter: built in $((SECONDS - t0)) s"
fi
# Writes the kernel spec `rust` into the user's Jupyter data folder; cheap, so always done.
evcxr_jupyter --install >/dev/null
echo "evcxr_jupyter: kernel 'rust' registered"

# ---- the Python side -----------------------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import nbclient, nbformat" 2>/dev/null; then
  echo "notebook venv: already in $VENV"
else
  command -v python3 >/dev/null || { echo "error: python3 is needed to run the notebooks (apt-get install python3 python3-venv)" >&2; exit 1; }
  if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || { echo "error: python3 -m venv needs the package python3-venv: apt-get install python3-venv" >&2; exit 1; }
      sudo="sudo"
    fi
    echo "notebook venv: apt-get install python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q python3-venv >/dev/null 2>&1 || {
      $sudo apt-get update -q >/dev/null
      $sudo apt-get install -y -q python3-venv >/dev/null
    }
  fi
  echo "notebook venv: creating $VENV with nbclient and nbformat"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "nbclient>=0.10,<0.12" "nbformat>=5.10,<6"
  echo "notebook venv: installed"
fi
