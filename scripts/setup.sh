#!/usr/bin/env bash
# Installs the Debian packages segcore builds with, skipping those already installed.
# Uses sudo when not root. The CUDA Toolkit is not a Debian package we install: when nvcc is at
# /usr/local/cuda/bin or on PATH the CUDA backend is built, otherwise the CPU backend only.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libeigen3-dev        # CPU GEMM
  nlohmann-json3-dev   # configs, safetensors headers
  libstb-dev           # JPEG/PNG/BMP image decoding
  libpng-dev           # palette / 16-bit label masks (stb_image cannot read palette indices)
  libcli11-dev         # the segcore command line
  catch2               # tests (Catch2 v2)
  libbenchmark-dev     # bench/ (Google Benchmark)
  python3              # tests: drive scripts/convert_pth.py and write damaged model files (no PyTorch needed)
  python3-numpy        # tests: predict's --save-logits/--save-probs files must load with np.load
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all Debian packages present"
else
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: nvcc found: the CUDA backend will be built (sm_90 by default)"
else
  echo "setup: nvcc not found: building the CPU backend only (install the CUDA Toolkit for the CUDA backend)"
fi
