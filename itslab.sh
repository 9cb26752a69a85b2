#!/usr/bin/env bash
# ITS Lab: ./itslab.sh run | test
#   run   install what is missing, build, start the desktop app on the default preset
#         (arguments go to `itslab`; without a display it saves a screenshot instead)
#   test  install what is missing, build, run the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake g++ make pkg-config qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6svg6 libqt6opengl6-dev libgl-dev
          libeigen3-dev libcli11-dev nlohmann-json3-dev xvfb xauth imagemagick
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
  [ $# -eq 0 ] && set -- --preset default
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    mkdir -p itslab-out
    echo "No display: saving the window as itslab-out/screenshot.png instead (itslab --screenshot)."
    exec ./build/app/itslab --screenshot itslab-out/screenshot.png "$@"
  fi
  exec ./build/app/itslab "$@"
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
