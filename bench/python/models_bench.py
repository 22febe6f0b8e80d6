"""PyTorch side of `dotnet run -c Release --project bench/PixelBox.Bench -- models`.

Times the same networks and workloads as bench/PixelBox.Bench/Models/ModelBench.cs, using the shared
reference definitions (shared/fixtures/torchvision/ref_models.py): the benchmark U-Net
(unet_same32(5, 3), 7,760,229 parameters) training step (SGD momentum + cross-entropy, 4x3x256x256)
and inference (1x3x512x512), FCN-8s inference (1x3x384x384). Prints one JSON object per workload:
{"name", "description", "seconds": [...]}. Needs python3-torch (Debian: apt-get install python3-torch);
the C# harness runs this only when `import torch` works.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(step, warmup: int, runs: int) -> list:
    for _ in range(warmup):
        step()
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shared", default=os.environ.get("PIXELBOX_SHARED", os.path.join(HERE, "..", "..", "..", "shared")))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.abspath(args.shared), "fixtures", "torchvision"))
    import ref_models as rm

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    version = f"PyTorch {torch.__version__}"

    unet = rm.unet_same32(5, 3)
    assert rm.count_params(unet) == 7_760_229
    unet.train()
    sgd = torch.optim.SGD(unet.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(4, 3, 256, 256)
    y = torch.randint(0, 5, (4, 256, 256))

    def train_step():
        sgd.zero_grad()
        F.cross_entropy(unet(x), y).backward()
        sgd.step()

    what = "U-Net same-padded 32..512, no BN, 5 classes"
    emit("unet_train_step_pytorch", f"{what}: SGD momentum + cross-entropy step on 4x3x256x256 ({version})",
         timed(train_step, args.warmup, args.runs))

    unet.eval()
    x = torch.randn(1, 3, 512, 512)

    def unet_infer():
        with torch.no_grad():
            unet(x)

    emit("unet_inference_pytorch", f"{what}: inference (eval, no_grad) on 1x3x512x512 ({version})",
         timed(unet_infer, args.warmup, args.runs))
    del unet, sgd

    fcn = rm.fcn8s(21).eval()
    x = torch.randn(1, 3, 384, 384)

    def fcn_infer():
        with torch.no_grad():
            fcn(x)

    emit("fcn8s_inference_pytorch", f"FCN-8s VGG16, 21 classes: inference (eval, no_grad) on 1x3x384x384 ({version})",
         timed(fcn_infer, args.warmup, args.runs))


def emit(name: str, description: str, seconds: list) -> None:
    print(json.dumps({"name": name, "description": description, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
