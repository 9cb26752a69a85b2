#!/usr/bin/env bash
# ITS Lab: ./itslab.sh run | test
#   run   install what is missing, build, run the default preset
#   test  install what is missing, build, run the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake g++ make pkg-config qt6-base-dev libeigen3-dev libcli11-dev nlohmann-json3-dev
          libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)"
}

case "${1:-}" in
run)
  install_deps
  build
  shift
  ./build/app/itslab-cli sample --preset default --out itslab-out/samples.npy \
    --report itslab-out/report.json "$@"
  ;;
test)
  install_deps
  build
  cd build
  ctest --output-on-failure -j"$(nproc)"
  ;;
*)
  echo "usage: $0 run | test" >&2
  exit 2
  ;;
esac
