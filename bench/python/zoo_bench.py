"""PyTorch side of `dotnet run -c Release --project bench/PixelBox.Bench -- zoo`: one segmentation zoo model.

Builds the model's PyTorch twin, the definition PixelBox's parity tests compare it with: torchvision's builders
(fcn/deeplabv3 ResNet, deeplabv3/lraspp MobileNetV3; weights=None, no auxiliary head), the reference definitions of
tests/PixelBox.Tests/Models/Reference/zoo_reference_models.py (DeepLabV3+, PSPNet, HRNetV2, SegNet) and the shared
ref_models.py (U-Nets, FCN-32s/16s/8s). Times, in PyTorch eager float32 NCHW with --threads threads:
  inference   model.eval(), torch.no_grad(), one 1x3xSxS image
  train step  model.train(), zero_grad + cross-entropy against random labels at the output size + backward +
              SGD (lr 0.01, momentum 0.9) step, on a batch of --batch images of SxS
Prints one JSON object: {"model", "parameters", "input_side", "output_side", "inference_s": [...],
"train_step_s": [...], "inference_cpu_s", "train_step_cpu_s" (process CPU seconds per run), "torch", "torchvision",
"threads"}. Needs Debian's python3-torch and python3-torchvision (/usr/bin/python3).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models import segmentation as S

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "tests", "PixelBox.Tests", "Models", "Reference")


def find_shared() -> str:
    """The shared/ folder beside the repository (as the tests find it), or $PIXELBOX_SHARED."""
    if os.environ.get("PIXELBOX_SHARED"):
        return os.environ["PIXELBOX_SHARED"]
    folder = HERE
    while True:
        candidate = os.path.join(folder, "shared")
        if os.path.isdir(os.path.join(candidate, "fixtures", "torchvision")):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            raise SystemExit("shared/fixtures/torchvision not found above " + HERE + " (set PIXELBOX_SHARED)")
        folder = parent


def builders(classes: int):
    shared = os.path.abspath(find_shared())
    os.environ["PIXELBOX_SHARED"] = shared
    sys.path.insert(0, os.path.join(shared, "fixtures", "torchvision"))
    sys.path.insert(0, os.path.abspath(REFERENCE))
    import ref_models as rm  # noqa: E402
    import zoo_reference_models as zoo  # noqa: E402

    def tv(name):
        return lambda: getattr(S, name)(num_classes=classes, weights=None, weights_backbone=None)

    return {
        "unet": lambda: rm.unet_original(classes, 3),
        "unet-same": lambda: rm.unet_same32(classes, 3, batch_norm=True),
        "fcn32s": lambda: rm.fcn32s(classes),
        "fcn16s": lambda: rm.fcn16s(classes),
        "fcn8s": lambda: rm.fcn8s(classes),
        "segnet": lambda: zoo.segnet(classes),
        "fcn-resnet50": tv("fcn_resnet50"),
        "fcn-resnet101": tv("fcn_resnet101"),
        "deeplabv3-resnet50": tv("deeplabv3_resnet50"),
        "deeplabv3-resnet101": tv("deeplabv3_resnet101"),
        "deeplabv3-mobilenet-v3-large": tv("deeplabv3_mobilenet_v3_large"),
        "lraspp-mobilenet-v3-large": tv("lraspp_mobilenet_v3_large"),
        "deeplabv3plus-resnet50": lambda: zoo.DeepLabV3Plus(classes, 50, 16),
        "deeplabv3plus-resnet101": lambda: zoo.DeepLabV3Plus(classes, 101, 16),
        "pspnet-resnet50": lambda: zoo.PSPNet(classes, 50),
        "pspnet-resnet101": lambda: zoo.PSPNet(classes, 101),
        "hrnetv2-w18": lambda: zoo.HRNetV2(18, classes),
        "hrnetv2-w48": lambda: zoo.HRNetV2(48, classes),
    }


def logits(model, x):
    y = model(x)
    return y["out"] if isinstance(y, dict) else y


def timed(step, warmup: int, runs: int):
    """Wall seconds of each timed run, and the process's CPU seconds per run."""
    for _ in range(warmup):
        step()
    walls = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        walls.append(time.perf_counter() - t0)
    return walls, (time.process_time() - cpu0) / runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    table = builders(args.classes)
    if args.model not in table:
        raise SystemExit(f"no PyTorch twin for {args.model!r} (known: {', '.join(table)})")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = table[args.model]()
    parameters = sum(p.numel() for p in model.parameters())

    model.eval()
    image = torch.randn(1, 3, args.side, args.side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        output_side = logits(model, image).shape[-1]

    def infer():
        with torch.no_grad():
            logits(model, image)

    inference, inference_cpu = timed(infer, args.warmup, args.runs)

    model.train()
    images = torch.randn(args.batch, 3, args.side, args.side, generator=torch.Generator().manual_seed(2))
    labels = torch.randint(0, args.classes, (args.batch, output_side, output_side), generator=torch.Generator().manual_seed(3))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        sgd.zero_grad()
        F.cross_entropy(logits(model, images), labels).backward()
        sgd.step()

    train, train_cpu = timed(train_step, args.warmup, args.runs)
    print(json.dumps({
        "model": args.model, "parameters": parameters, "input_side": args.side, "output_side": output_side,
        "inference_s": inference, "train_step_s": train, "inference_cpu_s": inference_cpu, "train_step_cpu_s": train_cpu,
        "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads,
    }), flush=True)


if __name__ == "__main__":
    main()
