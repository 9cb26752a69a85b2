#!/usr/bin/env bash
# Remakes the README screenshots with the app's own screenshot mode (offscreen, no display
# needed), then shrinks them to 256-colour PNGs. Run from the repository root after a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in default grid25-edm-heun high-dim-64-dpmpp2m two-moons-flow-euler; do
  ./build/app/itslab --screenshot "docs/screenshots/$p.png" --preset "$p" --size 1280x800
  if command -v convert >/dev/null; then
    convert "docs/screenshots/$p.png" +dither -colors 256 "PNG8:docs/screenshots/$p.png"
  fi
done
# denoising half-way: the same two-moons run shown at step 12 of 32
./build/app/itslab --screenshot docs/screenshots/two-moons-step12.png --preset two-moons-flow-euler \
  --step 12 --no-sweep --size 1280x800
command -v convert >/dev/null &&
  convert docs/screenshots/two-moons-step12.png +dither -colors 256 PNG8:docs/screenshots/two-moons-step12.png
# FK steering toward a disc: particles coloured by log-weight, ESS and rewards per step
./build/app/itslab --screenshot docs/screenshots/fk-steering.png \
  --preset eight-gaussians-fk-steering-region --step 40 --no-sweep --size 1280x800
command -v convert >/dev/null &&
  convert docs/screenshots/fk-steering.png +dither -colors 256 PNG8:docs/screenshots/fk-steering.png
# trained networks on the CPU backend (lavapipe runs the U-Net's convolutions far slower): the
# Fashion-MNIST U-Net's samples as an image grid, and the two-moons MLP over its training density
ITSLAB_BACKEND=cpu ./build/app/itslab --screenshot docs/screenshots/fmnist-unet-cfg.png \
  --preset fmnist-unet-cfg --no-sweep --size 1280x800 --timeout 300000
ITSLAB_BACKEND=cpu ./build/app/itslab --screenshot docs/screenshots/two-moons-mlp.png \
  --preset two-moons-mlp-flow-euler --size 1280x800 --timeout 300000
# FK steering of the U-Net toward 'Bag' half-way: each image's classifier reward under it
ITSLAB_BACKEND=cpu ./build/app/itslab --screenshot docs/screenshots/fmnist-fk-steering.png \
  --preset fmnist-unet-fk-steering --step 12 --no-sweep --size 1280x800 --timeout 300000
for p in fmnist-unet-cfg two-moons-mlp fmnist-fk-steering; do
  command -v convert >/dev/null &&
    convert "docs/screenshots/$p.png" +dither -colors 256 "PNG8:docs/screenshots/$p.png"
done
ls -l docs/screenshots/*.png
