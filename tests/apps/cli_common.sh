# Sourced by the CLI test scripts (usage: SCRIPT SEGCORE_BINARY WORK_DIR): sets seg (the binary),
# work (a fresh, empty folder) and repo (the checkout), and fail MESSAGE (prints it, exits 1).
set -uo pipefail
seg=$1
work=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
