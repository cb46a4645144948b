#!/usr/bin/env bash
# Run HERE (the Debian development machine), before a session on the H200 device machine.
#
# The device machine (/work/.library/device/README.md) has nvcc 13, CMake, ninja, g++ and Python's
# nvidia-* wheels (cuBLAS, cuDNN, NCCL), but no apt and no network, so it lacks the third-party
# packages segcore configures against. This script copies them into the git-ignored folder
# .device/, keeping /usr's layout (.device/include, .device/lib/..., .device/share/...) so the
# packages' own relocatable CMake config files resolve against it; scripts/gpu_check.sh then
# configures with -DCMAKE_PREFIX_PATH=.device.
#
#   headers      eigen3, nlohmann, stb, catch2 (v2, header-only), benchmark, CLI11, libpng, zlib
#   libraries    libbenchmark.so.* (Debian ships Google Benchmark only as a shared library; built
#                with GCC 12 against glibc <= 2.32, so it runs on newer images), libbenchmark_main.a,
#                libCatch2WithMain.a (only so Catch2's config file finds every file it lists),
#                libpng16.a and libz.a (find_package(PNG) must succeed; nothing links them yet)
#   CMake files  Eigen3, nlohmann_json, Catch2, benchmark, CLI11 package configs
#
# About 16 MB; the device tool carries at most 64 MiB with the working tree. Then, with the device
# tool:  run(command="bash scripts/gpu_check.sh", carry=[".device"])
set -euo pipefail
cd "$(dirname "$0")/.."
D=.device
A=x86_64-linux-gnu

paths=(
    include/eigen3 share/eigen3/cmake
    include/nlohmann share/cmake/nlohmann_json
    include/stb
    include/catch2 lib/cmake/Catch2 lib/libCatch2WithMain.a
    include/benchmark "lib/$A/cmake/benchmark" "lib/$A/libbenchmark_main.a"
    include/CLI share/cmake/CLI11
    include/png.h include/pngconf.h include/pnglibconf.h include/libpng16 "lib/$A/libpng16.a"
    include/zlib.h include/zconf.h "lib/$A/libz.a"
)
# The shared benchmark library under every name its CMake config and the linker use.
for f in "/usr/lib/$A"/libbenchmark.so*; do paths+=("${f#/usr/}"); done

for p in "${paths[@]}"; do
    [ -e "/usr/$p" ] || { echo "gpu_prepare: /usr/$p is missing; install it (scripts/setup.sh) and rerun" >&2; exit 1; }
done
rm -rf "$D"
for p in "${paths[@]}"; do
    mkdir -p "$D/$(dirname "$p")"
    cp -rL "/usr/$p" "$D/$p"  # -L: links become files, so nothing points outside .device
done
git check-ignore -q "$D" || echo "gpu_prepare: warning: $D is not git-ignored; it would travel twice" >&2

echo "gpu_prepare: filled $D ($(du -sh "$D" | cut -f1))"
echo "device tool: run(command=\"bash scripts/gpu_check.sh\", carry=[\"$D\"])"
echo "carry: [\"$D\"]"
