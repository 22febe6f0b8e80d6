#!/usr/bin/env bash
# Installs the Python references some tests compare against: Debian's python3-torch 1.13, python3-torchvision
# 0.14, numpy and onnx (apt only; nothing from PyPI). Tests find them as /usr/bin/python3 and skip with a
# reason when they are absent. Idempotent; does nothing when they are already importable.
set -euo pipefail
packages=(python3-torch python3-torchvision python3-numpy python3-onnx)
if /usr/bin/python3 -c 'import torch, torchvision, numpy, onnx' 2>/dev/null; then
  echo "reference Python packages present"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "apt-get not found: reference tests will be skipped" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
/usr/bin/python3 -c 'import torch, torchvision; print("reference Python: torch", torch.__version__, "torchvision", torchvision.__version__)'
