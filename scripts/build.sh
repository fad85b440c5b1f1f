#!/usr/bin/env bash
# Configures and builds Mailfort into build/ (or $BUILD_DIR) with Ninja and ccache.
# Extra arguments go to cmake's configure step, e.g. -DMAILFORT_SANITIZE=address,undefined.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
