"""Reference outputs of the shared PyTorch definitions (shared/fixtures/torchvision/ref_models.py) for
PixelBox's FCN and U-Net parity tests.

Weights and inputs are not stored: both sides fill every tensor from the same integer formula
(see ReferenceWeights.cs, which must stay in step with `fill` below), so only the outputs are kept
here (a few hundred KB instead of the FCNs' 0.5 GB). Float32 values of the formula are bit-identical
in Python and C# (integer hash, IEEE-rounded sqrt, float32 multiply/add).

Run with Debian's python3-torch (apt-get install python3-torch python3-torchvision):
    /usr/bin/python3 make_reference_outputs.py [--shared PATH_TO_shared]
Writes <name>.safetensors (tensor "output") and <name>.json (parameter names/shapes in our naming,
input shape, output statistics) beside this script.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
PERIOD = 9973


def pattern() -> torch.Tensor:
    vals = [((j * 2654435761 + 12345) % 2**32) / 2**32 - 0.5 for j in range(PERIOD)]
    return torch.tensor(vals, dtype=torch.float64).float()


def fnv1a(name: str) -> int:
    h = 2166136261
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 16777619) % 2**32
    return h


def base(name: str, shape) -> torch.Tensor:
    p = pattern()
    o = fnv1a(name) % PERIOD
    rolled = torch.cat([p[o:], p[:o]])
    n = int(math.prod(shape))
    reps = (n + PERIOD - 1) // PERIOD
    return rolled.repeat(reps)[:n].reshape(shape).contiguous()


def f32(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def value(name: str, shape, kind: str, fan: int = 0) -> torch.Tensor:
    """kind: "conv" (He variance 2/fan), "scale" (BatchNorm weight, running_var: 1 +- 0.25),
    "input" (+-1) or "shift" (biases, BatchNorm bias, running_mean: +-0.1)."""
    b = base(name, shape)
    if kind == "conv":
        return b * f32(math.sqrt(24.0 / fan))
    if kind == "scale":
        return f32(1.0) + b * f32(0.5)
    if kind == "input":
        return b * f32(2.0)
    return b * f32(0.2)


def fill(model: nn.Module, our_name) -> list:
    """Fills model's float state in place; our_name maps a reference name to PixelBox's. Returns [name, shape]."""
    kinds = {}
    for mname, m in model.named_modules():
        if isinstance(m, nn.ConvTranspose2d):
            # each output pixel sums in_channels * (k / s)^2 products
            kinds[mname + ".weight"] = ("conv", m.in_channels * (m.kernel_size[0] // m.stride[0]) ** 2)
        elif isinstance(m, nn.Conv2d):
            kinds[mname + ".weight"] = ("conv", m.in_channels * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.BatchNorm2d):
            kinds[mname + ".weight"] = ("scale", 0)
            kinds[mname + ".running_var"] = ("scale", 0)
    listing = []
    with torch.no_grad():
        for rname, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            name = our_name(rname)
            kind, fan = kinds.get(rname, ("shift", 0))
            t.copy_(value(name, t.shape, kind, fan))
            listing.append([name, list(t.shape)])
    return listing


def fcn_name(rname: str) -> str:
    # conv{b}_{i} -> torchvision vgg16 features index
    idx = iter([0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28])
    table = {}
    for b, widths in enumerate([2, 2, 3, 3, 3], start=1):
        for i in range(1, widths + 1):
            table[f"conv{b}_{i}"] = f"backbone.features.{next(idx)}"
    layer, _, rest = rname.partition(".")
    return f"{table[layer]}.{rest}" if layer in table else rname


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, *[".."] * 5, "shared"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.abspath(args.shared), "fixtures", "torchvision"))
    import ref_models as rm
    from make_torch_fixtures import write_safetensors

    torch.set_num_threads(2)
    cases = [
        ("fcn32s_c3", lambda: rm.fcn32s(3), fcn_name, (1, 3, 37, 53)),
        ("fcn16s_c3", lambda: rm.fcn16s(3), fcn_name, (1, 3, 37, 53)),
        ("fcn8s_c3", lambda: rm.fcn8s(3), fcn_name, (1, 3, 37, 53)),
        ("unet_paper_c2", lambda: rm.unet_original(2, 1), lambda n: n, (1, 1, 204, 220)),
        ("unet_same32_bn_c5", lambda: rm.unet_same32(5, 3, batch_norm=True), lambda n: n, (1, 3, 48, 64)),
    ]
    for name, ctor, our_name, shape in cases:
        model = ctor().eval()
        listing = fill(model, our_name)
        x = value("input", shape, "input")
        with torch.no_grad():
            y = model(x)
        write_safetensors(os.path.join(HERE, name + ".safetensors"), OrderedDict(output=y))
        info = {
            "producer": "make_reference_outputs.py with ref_models.py",
            "torch": torch.__version__,
            "input_shape": list(shape),
            "output_shape": list(y.shape),
            "output_absmax": float(y.abs().max()),
            "output_pixel_std": float(y.std(dim=(-2, -1)).mean()),
            "parameters": sum(p.numel() for p in model.parameters()),
            "state": listing,
        }
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(info, f, indent=1)
        print(name, {k: v for k, v in info.items() if k != "state"}, flush=True)
        del model


if __name__ == "__main__":
    main()
