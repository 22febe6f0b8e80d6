"""torchvision side of `dotnet run -c Release --project bench/PixelBox.Bench -- nms`.

Reads the cases the C# harness wrote (bench/PixelBox.Bench/NmsBench.cs: a little-endian binary file per
case: int32 n, float32 boxes [n, 4] xyxy, float32 scores [n], int64 classes [n]) and times
torchvision.ops.nms and torchvision.ops.batched_nms on exactly those inputs (CPU tensors made once,
outside the timing). Prints one JSON object per case and op: {"case", "op", "seconds": [...], "keep": [...]}.
Needs Debian's python3-torchvision (apt-get install python3-torchvision).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
import torchvision


def load(path: str):
    with open(path, "rb") as f:
        n = int(np.frombuffer(f.read(4), dtype="<i4")[0])
        boxes = np.frombuffer(f.read(16 * n), dtype="<f4").reshape(n, 4)
        scores = np.frombuffer(f.read(4 * n), dtype="<f4")
        classes = np.frombuffer(f.read(8 * n), dtype="<i8")
    return torch.from_numpy(boxes.copy()), torch.from_numpy(scores.copy()), torch.from_numpy(classes.copy())


def timed(fn, warmup: int, runs: int):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, nargs="+", required=True, help="timed runs per case, one per --case")
    ap.add_argument("--case", nargs="+", required=True, help="NAME=FILE")
    args = ap.parse_args()
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                      "torch_threads": torch.get_num_threads()}), flush=True)
    for spec, runs in zip(args.case, args.runs):
        name, path = spec.split("=", 1)
        boxes, scores, classes = load(path)
        for op, fn in (("nms", lambda: torchvision.ops.nms(boxes, scores, args.iou)),
                       ("batched_nms", lambda: torchvision.ops.batched_nms(boxes, scores, classes, args.iou))):
            seconds = timed(fn, args.warmup, runs)
            print(json.dumps({"case": name, "op": op, "seconds": seconds, "keep": fn().tolist()}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
