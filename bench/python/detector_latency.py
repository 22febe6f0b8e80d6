"""torchvision's side of bench/compare_detectors.sh: latency per image of torchvision's SSD300 (VGG16) and
SSDlite320 (MobileNetV3-Large), batch 1, at their native sizes, in PyTorch (Debian's python3-torch 1.13 /
python3-torchvision 0.14).

Random weights (no hub downloads here), `num_classes` as PixelBox's Shapes models (4 objects + background),
score threshold 0.25 as PixelBox's bench uses for untrained models (a random SSD scores every box near 1/K,
so torchvision's 0.01 would time an NMS of thousands of boxes no trained model produces). Times the whole
`model([image])` call (resize, normalise, forward, decode, NMS) and the forward of backbone + head alone.
Prints one JSON object: {"torch", "torchvision", "threads", "results": [{"model", "input_size",
"whole_path_ms_median_wall", "whole_path_ms_cpu_per_image", "forward_ms_median_wall", "forward_ms_cpu_per_image"}]}.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torchvision
from torchvision.models.detection import ssd300_vgg16, ssdlite320_mobilenet_v3_large


def timed(step, warmup: int, runs: int) -> tuple[float, float]:
    """Median wall seconds and mean process CPU seconds per run."""
    for _ in range(warmup):
        step()
    walls = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / runs
    walls.sort()
    return walls[len(walls) // 2], cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=5, help="torchvision's num_classes, background included")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    results = []
    for name, build, size in [("ssd300-vgg16", ssd300_vgg16, 300), ("ssdlite320-mobilenet-v3-large", ssdlite320_mobilenet_v3_large, 320)]:
        model = build(weights=None, weights_backbone=None, num_classes=args.classes).eval()
        model.score_thresh = 0.25
        image = torch.rand(3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            batch, _ = model.transform([image])

            def whole():
                model([image])

            def forward():
                features = model.backbone(batch.tensors)
                model.head(list(features.values()))

            whole_wall, whole_cpu = timed(whole, args.warmup, args.runs)
            forward_wall, forward_cpu = timed(forward, args.warmup, args.runs)
        results.append({
            "model": name, "input_size": size,
            "whole_path_ms_median_wall": round(whole_wall * 1e3, 2), "whole_path_ms_cpu_per_image": round(whole_cpu * 1e3, 2),
            "forward_ms_median_wall": round(forward_wall * 1e3, 2), "forward_ms_cpu_per_image": round(forward_cpu * 1e3, 2),
        })
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads, "results": results}))


if __name__ == "__main__":
    main()
