"""Reference outputs of YOLOv8 for PixelBox's parity test (Models/YoloV8Tests.cs).

YOLOv8 as ultralytics defines it (ultralytics/nn/modules conv.py, block.py, head.py and parse_model of
cfg/models/v8/yolov8.yaml), transcribed here because ultralytics is not packaged by Debian. The transcription
is checked against ultralytics' published parameter counts (80 classes: n 3,157,200, s 11,166,560,
m 25,902,640, l 43,691,520, x 68,229,648) before anything is written.

Weights and input come from the integer formula of make_reference_outputs.py (ReferenceWeights.cs), so only
the three raw head outputs are stored. Run with Debian's python3-torch:
    /usr/bin/python3 make_yolo_reference.py [--shared PATH_TO_shared]
Writes yolov8n_c3.safetensors (tensors output0..output2) and yolov8n_c3.json beside this script.
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
sys.path.insert(0, HERE)
from make_reference_outputs import fill, value  # noqa: E402


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 3)
        self.cv2 = Conv(c_, c2, 3)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_)
        self.cv2 = Conv(c_ * 4, c2)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)


class Detect(nn.Module):
    """Training-mode output: per level cat(box distribution logits, class logits)."""

    def __init__(self, nc, ch):
        super().__init__()
        reg_max = 16
        c2, c3 = max((16, ch[0] // 4, reg_max * 4)), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(reg_max)

    def forward(self, x):
        return [torch.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1) for i in range(len(x))]


class Concat(nn.Module):
    def forward(self, x):
        return torch.cat(x, 1)


class YOLOv8(nn.Module):
    """parse_model of yolov8.yaml: layers model.0..model.22, inputs of the concatenations and the head by index."""

    SOURCES = {11: [-1, 6], 14: [-1, 4], 17: [-1, 12], 20: [-1, 9], 22: [15, 18, 21]}

    def __init__(self, nc, depth, width, max_channels):
        super().__init__()

        def ch(c):
            return math.ceil(min(c, max_channels) * width / 8) * 8

        def n(r):
            return max(round(r * depth), 1) if r > 1 else r

        self.model = nn.Sequential(
            Conv(3, ch(64), 3, 2), Conv(ch(64), ch(128), 3, 2), C2f(ch(128), ch(128), n(3), True),
            Conv(ch(128), ch(256), 3, 2), C2f(ch(256), ch(256), n(6), True), Conv(ch(256), ch(512), 3, 2),
            C2f(ch(512), ch(512), n(6), True), Conv(ch(512), ch(1024), 3, 2), C2f(ch(1024), ch(1024), n(3), True),
            SPPF(ch(1024), ch(1024), 5), nn.Upsample(None, 2, "nearest"), Concat(),
            C2f(ch(1024) + ch(512), ch(512), n(3)), nn.Upsample(None, 2, "nearest"), Concat(),
            C2f(ch(512) + ch(256), ch(256), n(3)), Conv(ch(256), ch(256), 3, 2), Concat(),
            C2f(ch(256) + ch(512), ch(512), n(3)), Conv(ch(512), ch(512), 3, 2), Concat(),
            C2f(ch(512) + ch(1024), ch(1024), n(3)), Detect(nc, [ch(256), ch(512), ch(1024)]))

    def forward(self, x):
        saved = []
        for i, m in enumerate(self.model):
            if i in self.SOURCES:
                x = [x if j == -1 else saved[j] for j in self.SOURCES[i]]
            x = m(x)
            saved.append(x)
        return x


SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "l": (1.0, 1.0, 512), "x": (1.0, 1.25, 512)}
ULTRALYTICS_COUNTS = {"n": 3157200, "s": 11166560, "m": 25902640, "l": 43691520, "x": 68229648}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, *[".."] * 5, "shared"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.abspath(args.shared), "fixtures", "torchvision"))
    from make_torch_fixtures import write_safetensors

    for scale, (d, w, mc) in SCALES.items():
        count = sum(p.numel() for p in YOLOv8(80, d, w, mc).parameters())
        assert count == ULTRALYTICS_COUNTS[scale], (scale, count)
    torch.set_num_threads(2)
    name, shape = "yolov8n_c3", (1, 3, 64, 96)
    model = YOLOv8(3, *SCALES["n"]).eval()
    listing = fill(model, lambda n: n)
    x = value("input", shape, "input")
    with torch.no_grad():
        outputs = model(x)
    write_safetensors(os.path.join(HERE, name + ".safetensors"), OrderedDict((f"output{i}", o) for i, o in enumerate(outputs)))
    info = {
        "producer": "make_yolo_reference.py",
        "torch": torch.__version__,
        "input_shape": list(shape),
        "output_shapes": [list(o.shape) for o in outputs],
        "output_absmax": [float(o.abs().max()) for o in outputs],
        "parameters": sum(p.numel() for p in model.parameters()),
        "state": listing,
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    print(name, {k: v for k, v in info.items() if k != "state"})


if __name__ == "__main__":
    main()
